package handlers

import (
	"fmt"
	"slices"
	"strings"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/exports"
)

// A district (区/镇) groups streets. Its leaders and office ask in the district's group
// chat (or 1:1): 进度 answers one line per street, 哪些社区还没报 groups the late
// communities by street, a street's name drills into that street's 进度, and 导出 makes a
// workbook with a sheet per street. Every answer renders the streets' judged states.

// districtCommands are what can be asked of a district, by command name.
var districtCommands = map[string]bool{"进度": true, "哪些社区还没报": true, "导出": true, "图表": true, "帮助": true}

// dispatchDistrict answers a message in a district's chat, or from a district's people.
func (b *Bot) dispatchDistrict(r *request) (string, error) {
	d := r.district
	if r.who.Role == "" {
		return fmt.Sprintf(msgDistrictUnknown, d.Name), nil
	}
	if r.line == "" {
		return fmt.Sprintf(msgGreeting, b.Config.BotName), nil
	}
	if s, ok := b.streetOfDistrict(d, r.line); ok {
		rr := *r
		rr.street = s
		return b.progress(&rr)
	}
	cmd, found := b.find(r.line, r.who.Role)
	if cmd == nil || !districtCommands[cmd.name] {
		return fmt.Sprintf(msgDistrictHelp, d.Name, b.districtStreetNames(d)), nil
	}
	r.cmd, r.rest = found, found.Rest
	switch cmd.name {
	case "进度":
		return b.districtProgress(r)
	case "哪些社区还没报":
		return b.districtMissing(r)
	case "导出":
		return b.districtWorkbook(r)
	case "图表":
		return b.districtChart(r)
	}
	return fmt.Sprintf(msgDistrictHelp, d.Name, b.districtStreetNames(d)), nil
}

// streetOfDistrict finds the street a message names: its name, or its name without
// 街道/镇/乡.
func (b *Bot) streetOfDistrict(d *campaign.District, line string) (*config.Street, bool) {
	line = strings.TrimSpace(line)
	for _, s := range b.Config.StreetsOf(d) {
		short := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s.Name, "街道"), "镇"), "乡")
		if line == s.Name || line == short || line == s.ID {
			return s, true
		}
	}
	return nil, false
}

func (b *Bot) districtStreetNames(d *campaign.District) string {
	var names []string
	for _, s := range b.Config.StreetsOf(d) {
		names = append(names, s.Name)
	}
	if len(names) > 8 {
		return strings.Join(names[:8], "、") + fmt.Sprintf(" 等 %d 个街道", len(names))
	}
	return strings.Join(names, "、")
}

// districtStates judges every street of the district on the request's day.
func (b *Bot) districtStates(r *request) ([]*campaign.StreetState, error) {
	streets := b.Config.StreetsOf(r.district)
	ids := make([]string, len(streets))
	for i, s := range streets {
		ids[i] = s.ID
	}
	all, err := b.Filings.RecordsOf(r.ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w", r.district.ID, err)
	}
	out := make([]*campaign.StreetState, len(streets))
	for i, s := range streets {
		out[i] = b.Memo.JudgeStreet(s, all[s.ID], r.today)
	}
	return out, nil
}

// districtTotals says the district's communities in one line.
func districtTotals(states []*campaign.StreetState) (communities, complete, problems, late int) {
	for _, ss := range states {
		communities += len(ss.Communities)
		complete += ss.Complete
		problems += ss.WithProblems
		late += ss.WithLate
	}
	return
}

func (b *Bot) districtProgress(r *request) (string, error) {
	states, err := b.districtStates(r)
	if err != nil {
		return "", err
	}
	n, complete, problems, late := districtTotals(states)
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s换届进度**（%s）\n共 %d 个街道、%d 个社区：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个。\n",
		r.district.Name, r.today, len(states), n, complete, problems, late)
	ordered := states
	if len(states) > maxLines {
		ordered = campaign.StreetsWorstFirst(states)
		sb.WriteString("\n最落后的街道：")
	}
	var lines []string
	for _, ss := range ordered[:min(len(ordered), maxLines+1)] {
		lines = append(lines, fmt.Sprintf("**%s** %d 个社区｜报齐 %d｜有问题 %d｜逾期 %d",
			ss.Street.Name, len(ss.Communities), ss.Complete, ss.WithProblems, ss.WithLate))
	}
	if shown := listing(&sb, lines); shown < len(states) {
		fmt.Fprintf(&sb, "\n\n其余 %d 个街道没有列出，发「导出」看全部。", len(states)-shown)
	}
	sb.WriteString("\n\n发街道名（例如「" + states[0].Street.Name + "」）看该街道各社区的进度。")
	return sb.String(), nil
}

// districtMissing groups the communities that owe something (or the item asked) by
// street, the streets with the most late communities first, totals before them.
func (b *Bot) districtMissing(r *request) (string, error) {
	var item *campaign.Def
	if r.rest != "" {
		d, _, ok := campaign.ItemByWord(r.rest)
		if !ok {
			return fmt.Sprintf("不认识事项「%s」。", r.rest) + "\n\n" + msgNothingStored, nil
		}
		item = d
	}
	states, err := b.districtStates(r)
	if err != nil {
		return "", err
	}
	type group struct {
		street string
		names  []string
		late   int
	}
	var groups []group
	total, totalLate := 0, 0
	for _, ss := range campaign.StreetsWorstFirst(states) {
		g := group{street: ss.Street.Name}
		for i := range ss.Communities {
			cs := &ss.Communities[i]
			owes, late := cs.OwesAny(), cs.Late > 0
			if item != nil {
				is := cs.Item(item.ID)
				owes, late = is != nil && !is.Done, is != nil && is.Late
			}
			if !owes {
				continue
			}
			name := cs.Name
			if late {
				name, g.late = "⏰"+name, g.late+1
			}
			g.names = append(g.names, name)
		}
		if len(g.names) > 0 {
			groups = append(groups, g)
			total += len(g.names)
			totalLate += g.late
		}
	}
	if item != nil { // the streets furthest behind with this item first
		slices.SortStableFunc(groups, func(a, b group) int { return b.late - a.late })
	}
	what := "还没报的社区"
	if item != nil {
		what = "还没报「" + item.Label + "」的社区"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s%s**（%s）\n%d 个街道、%d 个社区，其中 %d 个已逾期（⏰）。\n", r.district.Name, what, r.today, len(groups), total, totalLate)
	var lines []string
	for _, g := range groups[:min(len(groups), maxLines+1)] {
		names := g.names
		more := ""
		if len(names) > 12 {
			more = fmt.Sprintf(" 等 %d 个", len(names))
			names = names[:12]
		}
		lines = append(lines, fmt.Sprintf("**%s**（%d 个）：%s%s", g.street, len(g.names), strings.Join(names, "、"), more))
	}
	if shown := listing(&sb, lines); shown < len(groups) {
		fmt.Fprintf(&sb, "\n\n其余 %d 个街道没有列出，发「导出」看全部。", len(groups)-shown)
	}
	if len(groups) > 0 {
		sb.WriteString("\n\n发街道名看该街道各社区的进度。")
	}
	return sb.String(), nil
}

func (b *Bot) districtWorkbook(r *request) (string, error) {
	states, err := b.districtStates(r)
	if err != nil {
		return "", err
	}
	data, err := exports.DistrictWorkbook(b.Config, r.district.Name, states, r.now)
	if err != nil {
		return "", fmt.Errorf("export %s: %w", r.district.ID, err)
	}
	name := fmt.Sprintf(msgWorkbookName, r.district.Name, r.now.In(campaign.Shanghai).Format("20060102_1504"))
	b.Log.InfoContext(r.ctx, "district workbook exported", "district", r.district.ID, "by", r.who.UserID, "bytes", len(data))
	reply := fmt.Sprintf(msgDistrictExported, r.district.Name, r.today, len(states))
	if b.Links == nil {
		return reply + "\n\n" + msgFileNowhere, nil
	}
	link, _, err := b.Links.Keep(name, writeBytes(data))
	if err != nil {
		b.Log.ErrorContext(r.ctx, "keeping the district workbook failed", "err", err)
		return reply + "\n\n" + msgFileKeepFailed, nil
	}
	return reply + "\n\n" + fmt.Sprintf(msgFileLink, name, link), nil
}

// districtChart draws one bar per street (complete / with problems / late) and posts it
// into the district's group that asked, with a download link.
func (b *Bot) districtChart(r *request) (string, error) {
	states, err := b.districtStates(r)
	if err != nil {
		return "", err
	}
	png, err := exports.StreetsChart(r.district.Name, states, r.now)
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", r.district.ID, err)
	}
	name := fmt.Sprintf(msgChartName, r.district.Name, r.now.In(campaign.Shanghai).Format("20060102_1504"))
	return fmt.Sprintf(msgDistrictChartMade, r.district.Name, r.today, len(states)) + "\n\n" + b.deliverImage(r, name, png), nil
}
