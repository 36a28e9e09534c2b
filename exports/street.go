package exports

import (
	"fmt"
	"strings"

	"huanjie/campaign"
)

// The status grid's first rows: the title, the 填报单位 line, the legend, then three
// header rows (phase, item, due date); communities from gridFirst on.
const (
	gridHead  = 4
	gridFirst = 7
)

// grid fills a street's status grid: a row per community (config order), a column per
// step (campaign order) with a short word for the item's judged state, the number of
// items done, a 情况 column, and rows counting the communities that filed each item,
// have problems with it and are late with it.
func (b *book) grid(sheet, detailSheet string, d *campaign.StreetState) {
	if b.err != nil {
		return
	}
	_, err := b.f.NewSheet(sheet)
	b.fail(err)
	s := d.Street
	order := campaignOrder(s)
	const first = 3 // the first step's column
	doneCol := first + len(order)
	stateCol := doneCol + 1
	widths := []float64{5, 11}
	for range order {
		widths = append(widths, 7)
	}
	widths = append(widths, 7.5, 17)

	title := title(s.Year(), s.Name, "进度表")
	b.heading(sheet, title, s.Name, widths)
	b.note(sheet, 3, fmt.Sprintf("共 %d 个社区，每个社区报 %d 项。已报＝已报且没有问题；有问题＝已报但不符合要求；逾期＝过了截止日期还没报；"+
		"未报＝还没报、未过截止日期；未开始＝还没到开始日期；待初审、待批复＝等街道审核；通过＝街道审核通过；退回＝街道退回，需重报；"+
		"照片一栏是已收到的张数。问题和退回的原因见「%s」表的问题说明。", len(d.Communities), len(order), detailSheet), widths)

	// Header: phase runs over item labels over due dates.
	b.box(sheet, 1, gridHead, 1, gridHead+2, "序号", lkHead)
	b.box(sheet, 2, gridHead, 2, gridHead+2, "社区", lkHead)
	labelLines := 1
	for _, r := range runs(len(order), func(i, j int) bool { return s.Steps[order[i]].Phase == s.Steps[order[j]].Phase }) {
		b.box(sheet, first+r[0], gridHead, first+r[1], gridHead, fmt.Sprintf("第%d步", s.Steps[order[r[0]]].Phase), lkHead2)
	}
	for k, i := range order {
		st := &s.Steps[i]
		b.put(sheet, first+k, gridHead+1, st.Item.Label(), lkHead)
		b.put(sheet, first+k, gridHead+2, st.Due.String(), lkHead2)
		labelLines = max(labelLines, wrappedLines(st.Item.Label(), widths[first+k-1], bodySize))
	}
	b.box(sheet, doneCol, gridHead, doneCol, gridHead+1, "已完成", lkHead)
	b.put(sheet, doneCol, gridHead+2, fmt.Sprintf("共%d项", len(order)), lkHead2)
	b.box(sheet, stateCol, gridHead, stateCol, gridHead+2, "情况", lkHead)
	b.height(sheet, gridHead, rowHt)
	b.height(sheet, gridHead+1, rowHeight(labelLines, bodySize))
	b.height(sheet, gridHead+2, rowHt)

	doneFmt := look{Align: "center", Border: true, NumFmt: fmt.Sprintf(`0"/%d"`, len(order))}
	row := gridFirst - 1
	for ci := range d.Communities {
		cs := &d.Communities[ci]
		row++
		b.rowHead(sheet, row, ci+1, cs.Name)
		for k, i := range order {
			word, l := gridCell(itemAt(cs, s, i))
			b.put(sheet, first+k, row, word, l)
		}
		done := doneFmt
		if cs.Complete {
			done.Fill, done.Bold = fillDone, true
		}
		b.put(sheet, doneCol, row, cs.Done, done)
		state := situation(cs)
		b.put(sheet, stateCol, row, state, lkText)
		b.height(sheet, row, rowHeight(max(wrappedLines(cs.Name, widths[1], bodySize), wrappedLines(state, widths[stateCol-1], bodySize)), bodySize))
	}

	// Totals per step.
	totals := []struct {
		label string
		count func(campaign.ItemTally) int
		words string
		n     int
	}{
		{"已报社区数", func(t campaign.ItemTally) int { return t.Done }, "全部报齐 %d 个", d.Complete},
		{"有问题社区数", func(t campaign.ItemTally) int { return t.Problems }, "有问题 %d 个", d.WithProblems},
		{"逾期社区数", func(t campaign.ItemTally) int { return t.Late }, "有逾期 %d 个", d.WithLate},
	}
	for _, t := range totals {
		row++
		b.box(sheet, 1, row, 2, row, t.label, lkTotal)
		for k, i := range order {
			b.put(sheet, first+k, row, t.count(d.Tally(s.Steps[i].Item)), lkTotalN)
		}
		b.put(sheet, doneCol, row, nil, lkTotal)
		b.put(sheet, stateCol, row, fmt.Sprintf(t.words, t.n), lkTotalT)
		b.height(sheet, row, rowHt)
	}
	b.widths(sheet, widths...)
	b.printable(sheet, 1, gridHead+2, 2)
}

// rowHead writes a community row's 序号 and name.
func (b *book) rowHead(sheet string, row, n int, name string) {
	b.put(sheet, 1, row, n, lkCentre)
	b.put(sheet, 2, row, name, lkName)
}

// runs splits 0..n-1 into runs of neighbours that are the same (first and last index),
// for a header cell merged over them.
func runs(n int, same func(i, j int) bool) [][2]int {
	var out [][2]int
	for k := 0; k < n; {
		end := k
		for end+1 < n && same(k, end+1) {
			end++
		}
		out = append(out, [2]int{k, end})
		k = end + 1
	}
	return out
}

// situation says in a few words where a community stands: 全部报齐, or its late,
// flagged and returned items counted, or 进行中.
func situation(cs *campaign.CommunityState) string {
	if cs.Complete {
		return "全部报齐"
	}
	var parts []string
	if cs.Late > 0 {
		parts = append(parts, fmt.Sprintf("逾期 %d 项", cs.Late))
	}
	if cs.Problems > 0 {
		parts = append(parts, fmt.Sprintf("有问题 %d 项", cs.Problems))
	}
	if cs.Returned > 0 {
		parts = append(parts, fmt.Sprintf("退回 %d 项", cs.Returned))
	}
	if len(parts) == 0 {
		return "进行中"
	}
	return strings.Join(parts, "，")
}

// The 明细 sheet's header rows (a group over a column name) and first community row.
const (
	detailHead  = 4
	detailFirst = 6
)

// detailCol is one column of the 明细 sheet: its group and name, its width, the items
// its value is read from (the first one filed wins; the column is left out when the
// street plans none of them) and how the value is read.
type detailCol struct {
	group, head string
	width       float64
	items       []campaign.Item
	value       func(s *campaign.Street, is *campaign.ItemState) (any, look)
	sum         bool // the 合计 row adds the column up
}

// rosterItems is where the officers' names are read: the election, else the candidates.
var rosterItems = []campaign.Item{campaign.ItemElection, campaign.ItemCandidates}

// number reads an int field of a filing into a numeric cell (blank when zero).
func number(get func(v campaign.Value) int) func(*campaign.Street, *campaign.ItemState) (any, look) {
	return func(_ *campaign.Street, is *campaign.ItemState) (any, look) {
		n := get(is.Filing.Value)
		if n == 0 {
			return nil, flagged(is, lkNum)
		}
		return n, flagged(is, lkNum)
	}
}

// names reads a list of names from a filing's roster.
func names(get func(r campaign.Roster) []string) func(*campaign.Street, *campaign.ItemState) (any, look) {
	return func(_ *campaign.Street, is *campaign.ItemState) (any, look) {
		return strings.Join(get(is.Filing.Value.Roster), "、"), flagged(is, lkText)
	}
}

// flagged is l with the 有问题 fill when the item has problems.
func flagged(is *campaign.ItemState, l look) look {
	if len(is.Problems) > 0 {
		l.Fill = fillFlagged
	}
	return l
}

var detailCols = []detailCol{
	{group: "领导小组", head: "组长", width: 8, items: []campaign.Item{campaign.ItemLeadingGroup},
		value: func(_ *campaign.Street, is *campaign.ItemState) (any, look) { return is.Filing.Value.Leader, lkText }},
	{group: "会员队伍", head: "会员数", width: 6.5, items: []campaign.Item{campaign.ItemMembers}, sum: true,
		value: number(func(v campaign.Value) int { return v.Members })},
	{group: "会员队伍", head: "总人口", width: 7, items: []campaign.Item{campaign.ItemMembers}, sum: true,
		value: number(func(v campaign.Value) int { return v.Population })},
	{group: "会员队伍", head: "占比", width: 6.5, items: []campaign.Item{campaign.ItemMembers},
		value: func(s *campaign.Street, is *campaign.ItemState) (any, look) {
			v := is.Filing.Value
			if v.Population <= 0 {
				return nil, flagged(is, lkNum)
			}
			share := float64(v.Members) / float64(v.Population)
			l := flagged(is, lkNum)
			l.NumFmt = percentFormat(campaign.PercentAgainst(share, s.Rules.MemberShareMin))
			return share, l
		}},
	{group: "代表", head: "人数", width: 6, items: []campaign.Item{campaign.ItemRepresentatives}, sum: true,
		value: func(_ *campaign.Street, is *campaign.ItemState) (any, look) {
			if is.Filing.Value.Assembly {
				return "会员大会", flagged(is, lkCentre)
			}
			return is.Filing.Value.Count, flagged(is, lkNum)
		}},
	{group: "新一届班子", head: "名单", width: 5, items: rosterItems,
		value: func(_ *campaign.Street, is *campaign.ItemState) (any, look) {
			if is.Def.ID == campaign.ItemElection {
				return "当选", lkCentre
			}
			return "候选", lkCentre
		}},
	{group: "新一届班子", head: campaign.OfficePresident, width: 7, items: rosterItems,
		value: names(func(r campaign.Roster) []string { return r.President })},
	{group: "新一届班子", head: campaign.OfficeVicePresident, width: 9, items: rosterItems,
		value: names(func(r campaign.Roster) []string { return r.VicePresidents })},
	{group: "新一届班子", head: campaign.OfficeSecretaryGeneral, width: 7, items: rosterItems,
		value: names(func(r campaign.Roster) []string { return r.SecretaryGeneral })},
	{group: "新一届班子", head: "理事会\n人数", width: 6, items: rosterItems, sum: true,
		value: number(func(v campaign.Value) int { return v.Roster.Size() })},
	{group: "照片", head: "张数", width: 5, items: []campaign.Item{campaign.ItemPhotos}, sum: true,
		value: func(_ *campaign.Street, is *campaign.ItemState) (any, look) {
			l := lkNum
			if is.Late {
				l = look{Align: "right", Border: true, NumFmt: "0", Colour: textOverdue}
			}
			return int(is.Photos), flagged(is, l)
		}},
}

// source returns the state of the first of items the community filed (for photos, the
// photo item itself), or nil.
func source(cs *campaign.CommunityState, items []campaign.Item) *campaign.ItemState {
	for _, it := range items {
		is := cs.Item(it)
		if is != nil && (is.Filing != nil || is.Def.Kind == campaign.KindPhotos) {
			return is
		}
	}
	return nil
}

// percentFormat is the number format that shows a share as text did: "4.67%" → 0.00%.
func percentFormat(text string) string {
	decimals := 1
	if i := strings.IndexByte(text, '.'); i >= 0 {
		decimals = max(1, len(strings.TrimSuffix(text[i+1:], "%")))
	}
	return "0." + strings.Repeat("0", decimals) + "%"
}

// detail fills a street's 明细 sheet: per community the filed figures and names, and
// what is wrong in words (问题说明), then a 合计 row.
func (b *book) detail(sheet string, d *campaign.StreetState) {
	if b.err != nil {
		return
	}
	_, err := b.f.NewSheet(sheet)
	b.fail(err)
	s := d.Street
	var cols []detailCol
	for _, c := range detailCols {
		for _, it := range c.items {
			if _, planned := s.Step(it); planned {
				cols = append(cols, c)
				break
			}
		}
	}
	const first = 3
	problemCol := first + len(cols)

	widths := []float64{4.5, 10.5}
	for _, c := range cols {
		widths = append(widths, c.width)
	}
	widths = append(widths, 62)

	title := title(s.Year(), s.Name, "报送明细表")
	b.heading(sheet, title, s.Name, widths)
	b.note(sheet, 3, fmt.Sprintf("会员数、总人口、占比来自「%[1]s」；代表人数来自「%[2]s」；会长、副会长、秘书长、理事会人数来自「%[3]s」，"+
		"还没报%[3]s的来自「%[4]s」（名单一栏写“候选”）。空白＝还没报；黄色＝有问题，原因写在问题说明里。合计为已报社区之和。",
		campaign.ItemMembers.Label(), campaign.ItemRepresentatives.Label(), campaign.ItemElection.Label(), campaign.ItemCandidates.Label()), widths)

	b.box(sheet, 1, detailHead, 1, detailHead+1, "序号", lkHead)
	b.box(sheet, 2, detailHead, 2, detailHead+1, "社区", lkHead)
	for _, r := range runs(len(cols), func(i, j int) bool { return cols[i].group == cols[j].group }) {
		b.box(sheet, first+r[0], detailHead, first+r[1], detailHead, cols[r[0]].group, lkHead)
	}
	for k, c := range cols {
		b.put(sheet, first+k, detailHead+1, c.head, lkHead)
	}
	b.box(sheet, problemCol, detailHead, problemCol, detailHead+1, "问题说明", lkHead)
	b.height(sheet, detailHead, rowHt)
	b.height(sheet, detailHead+1, rowHeight(2, bodySize))

	sums := make([]int, len(cols))
	row := detailFirst - 1
	for ci := range d.Communities {
		cs := &d.Communities[ci]
		row++
		b.rowHead(sheet, row, ci+1, cs.Name)
		lines := wrappedLines(cs.Name, widths[1], bodySize)
		for k, c := range cols {
			is := source(cs, c.items)
			if is == nil {
				b.put(sheet, first+k, row, nil, lkText)
				continue
			}
			v, l := c.value(s, is)
			b.put(sheet, first+k, row, v, l)
			if n, ok := v.(int); ok && c.sum {
				sums[k] += n
			}
			if text, ok := v.(string); ok {
				lines = max(lines, wrappedLines(text, c.width, bodySize))
			}
		}
		problems := problemText(s, cs)
		b.put(sheet, problemCol, row, problems, lkProblem)
		b.height(sheet, row, max(rowHeight(lines, bodySize), rowHeight(wrappedLines(problems, widths[problemCol-1], smallSize), smallSize)))
	}

	row++
	b.box(sheet, 1, row, 2, row, "合计", lkTotal)
	var members, population int
	for k, c := range cols {
		switch {
		case c.head == "会员数":
			members = sums[k]
		case c.head == "总人口":
			population = sums[k]
		}
	}
	for k, c := range cols {
		switch {
		case c.sum:
			b.put(sheet, first+k, row, sums[k], lkTotalN)
		case c.head == "占比" && population > 0:
			share := float64(members) / float64(population)
			l := lkTotalN
			l.NumFmt = percentFormat(campaign.PercentAgainst(share, s.Rules.MemberShareMin))
			b.put(sheet, first+k, row, share, l)
		default:
			b.put(sheet, first+k, row, nil, lkTotal)
		}
	}
	b.put(sheet, problemCol, row, fmt.Sprintf("全部报齐 %d 个社区，有问题 %d 个，有逾期 %d 个", d.Complete, d.WithProblems, d.WithLate), lkTotalT)
	b.height(sheet, row, rowHt)
	b.widths(sheet, widths...)
	b.printable(sheet, 1, detailHead+1, 2)
}

// problemText says, one line each in campaign order, what is wrong with a community's
// items (the judged problems, the office's returns with their reason) and then which
// items are late.
func problemText(s *campaign.Street, cs *campaign.CommunityState) string {
	var lines, late []string
	for _, i := range campaignOrder(s) {
		is := itemAt(cs, s, i)
		if is == nil {
			continue
		}
		label := is.Def.Label
		if len(is.Problems) > 0 {
			lines = append(lines, label+"："+strings.Join(is.Problems, "；"))
		}
		if is.Status == campaign.StatusReturned {
			text := label + "：" + is.ReviewWord()
			if rv := is.ReviewRecord; rv != nil {
				text += "（" + campaign.DateOf(rv.At).String() + "）"
				if rv.Reason != "" {
					text += "，" + rv.Reason
				}
			}
			lines = append(lines, text)
		}
		if is.Late {
			late = append(late, label)
		}
	}
	if len(late) > 0 {
		lines = append(lines, "逾期未报："+strings.Join(late, "、"))
	}
	for i := range lines {
		lines[i] = fmt.Sprintf("%d. %s", i+1, lines[i])
	}
	return strings.Join(lines, "\n")
}
