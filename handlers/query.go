package handlers

import (
	"fmt"
	"strings"

	"huanjie/campaign"
	"huanjie/handlers/reader"
)

// judged is the street's state on the request's day, judged from current records.
func (b *Bot) judged(r *request) (*campaign.StreetState, error) {
	recs, err := b.Filings.Records(r.ctx, r.street.ID)
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w", r.street.ID, err)
	}
	return b.Memo.JudgeStreet(r.street, recs, r.today), nil
}

// Answers are bounded by what fits a phone and WeCom's 20 480 bytes: totals first, then
// one line per community — all of them in config order when they fit, else the worst
// maxLines — then how to see the rest. A reply is never cut mid-list.
const (
	maxLines    = 30
	replyBudget = 16 << 10 // bytes of lines, leaving room for the totals and the ending
)

// listing writes numbered lines while they fit; it returns how many were written.
func listing(sb *strings.Builder, lines []string) int {
	used := 0
	for i, l := range lines {
		if i == maxLines || used+len(l) > replyBudget {
			return i
		}
		fmt.Fprintf(sb, "\n%d. %s", i+1, l)
		used += len(l)
	}
	return len(lines)
}

func (b *Bot) progress(r *request) (string, error) {
	ss, err := b.judged(r)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s换届进度**（%s）\n共 %d 个社区：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个。\n",
		r.street.Name, r.today, len(ss.Communities), ss.Complete, ss.WithProblems, ss.WithLate)
	all := make([]*campaign.CommunityState, len(ss.Communities))
	for i := range ss.Communities {
		all[i] = &ss.Communities[i]
	}
	if len(all) > maxLines {
		all = campaign.WorstFirst(all)
		sb.WriteString("\n最落后的社区：")
	}
	lines := make([]string, 0, min(len(all), maxLines+1))
	for _, cs := range all[:min(len(all), maxLines+1)] {
		lines = append(lines, progressLine(cs))
	}
	if n := listing(&sb, lines); n < len(all) {
		fmt.Fprintf(&sb, "\n\n其余 %d 个社区没有列出，发「导出」看全部。", len(all)-n)
	}
	sb.WriteString("\n\n发「哪些社区还没报」看缺报名单，发社区名看详情。")
	return sb.String(), nil
}

// progressLine is one community in 进度: how far it got, what is done, its problems and lates.
func progressLine(cs *campaign.CommunityState) string {
	where := "尚未开始"
	if cs.Phase.Phase > 0 {
		where = fmt.Sprintf("第%d步 %s", cs.Phase.Phase, cs.Phase.Name)
	}
	parts := []string{where, fmt.Sprintf("已报 %d/%d", cs.Done, cs.Total)}
	if cs.Problems > 0 {
		parts = append(parts, fmt.Sprintf("⚠️ %d 项有问题", cs.Problems))
	}
	if cs.Late > 0 {
		parts = append(parts, fmt.Sprintf("⏰ 逾期 %d 项", cs.Late))
	}
	for j := range cs.Items {
		if w := cs.Items[j].ReviewWord(); w != "" {
			parts = append(parts, w)
		}
	}
	return fmt.Sprintf("**%s** %s", cs.Name, strings.Join(parts, "｜"))
}

func (b *Bot) missing(r *request) (string, error) {
	var item *campaign.Def
	if r.rest != "" {
		d, ok := plannedItem(r, r.rest)
		if !ok {
			// 「哪些社区还没报 大辛」: what that community still owes.
			switch m := reader.MatchCommunity(r.rest, r.street.CommunityNames()); m.Kind {
			case reader.Exact:
				return b.missingOf(r, m.Name)
			case reader.Close, reader.Several:
				return "", askf("%s", m.Question())
			}
			return "", badf(msgMissingUnknown, r.rest, itemWords(r))
		}
		item = d
	}
	ss, err := b.judged(r)
	if err != nil {
		return "", err
	}
	if item != nil {
		return missingOne(r, ss, item), nil
	}
	return missingAll(r, ss), nil
}

// missingAll lists, one line per community, what each still owes now — late items first
// and marked — worst communities first; totals before the list.
func missingAll(r *request, ss *campaign.StreetState) string {
	var owing []*campaign.CommunityState
	items, late := 0, 0
	for i := range ss.Communities {
		cs := &ss.Communities[i]
		n := 0
		for j := range cs.Items {
			if cs.Items[j].Owing {
				n++
			}
		}
		if n > 0 {
			owing = append(owing, cs)
			items += n
			late += cs.Late
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**还没报的社区**（%s）", r.today)
	if len(owing) == 0 {
		sb.WriteString("\n\n已经开始的事项，所有社区都报齐了。")
	} else {
		if late > 0 {
			fmt.Fprintf(&sb, "\n%d 个社区还有 %d 项没报，其中 %d 项已逾期（⏰）。\n", len(owing), items, late)
		} else {
			fmt.Fprintf(&sb, "\n%d 个社区还有 %d 项没报，都还没到截止日期。\n", len(owing), items)
		}
		lines := make([]string, 0, min(len(owing), maxLines+1))
		for _, cs := range campaign.WorstFirst(owing)[:min(len(owing), maxLines+1)] {
			lines = append(lines, owesLine(cs))
		}
		if n := listing(&sb, lines); n < len(owing) {
			fmt.Fprintf(&sb, "\n\n其余 %d 个社区没有列出，发「哪些社区还没报 事项」按事项看，或发「导出」看全部。", len(owing)-n)
		}
	}
	if next := r.street.NextStep(r.today); next != nil {
		fmt.Fprintf(&sb, "\n\n下一项：%s，%s开始，%s截止。", next.Item.Label(), next.Start, next.Due)
	}
	return sb.String()
}

// owesLine is one community and what it owes: 「**太平**：⏰会员小组、⏰联系户、培训」, or
// for a community that owes many, how many and the first few: 「**北山**：未报 13 项（⏰ 逾期
// 11 项），最早的：⏰领导小组、⏰会员、⏰会员小组……」.
func owesLine(cs *campaign.CommunityState) string {
	owes := cs.Owes()
	words := owedWords(owes)
	if len(words) > manyOwed {
		return fmt.Sprintf("**%s**：未报 %d 项（⏰ 逾期 %d 项），最早的：%s……", cs.Name, len(owes), cs.Late, strings.Join(words[:3], "、"))
	}
	return fmt.Sprintf("**%s**：%s", cs.Name, strings.Join(words, "、"))
}

// owedWords names the items owed by their first word, returned ones and late ones marked.
func owedWords(owes []*campaign.ItemState) []string {
	words := make([]string, 0, len(owes))
	for _, is := range owes {
		w := is.Def.Words[0]
		if is.Status == campaign.StatusReturned {
			w += "（被退回）"
		}
		if is.Late {
			w = "⏰" + w
		}
		words = append(words, w)
	}
	return words
}

// missingOf lists what one community owes now, late items marked, in step order.
func (b *Bot) missingOf(r *request, community string) (string, error) {
	rec, err := b.record(r, community)
	if err != nil {
		return "", err
	}
	cs := r.street.Judge(community, rec, r.today)
	words := owedWords(cs.Owes())
	if len(words) == 0 {
		return fmt.Sprintf(msgMissingOfNone, community, r.today, community), nil
	}
	return fmt.Sprintf(msgMissingOf, community, r.today, len(words), strings.Join(words, "、"), community), nil
}

// manyOwed is how many owed items a line lists before it counts them instead.
const manyOwed = 6

// names lists communities owing item, marking those whose filing was returned.
func names(cs []*campaign.CommunityState, item campaign.Item) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
		if is := c.Item(item); is != nil && is.Status == campaign.StatusReturned {
			out[i] += "（被退回）"
		}
	}
	return strings.Join(out, "、")
}

func missingOne(r *request, ss *campaign.StreetState, d *campaign.Def) string {
	st, _ := r.street.Step(d.ID)
	owing := ss.NotDone(d.ID)
	shown := owing
	if len(shown) > 200 {
		shown = shown[:200] // the rest are counted, not named: a reply fits a phone
	}
	var flagged []string
	for i := range ss.Communities {
		if is := ss.Communities[i].Item(d.ID); is != nil && len(is.Problems) > 0 && is.Done {
			flagged = append(flagged, ss.Communities[i].Name)
		}
	}
	var sb strings.Builder
	switch {
	case len(owing) == 0:
		fmt.Fprintf(&sb, "所有社区都已报「%s」。", d.Label)
	case !st.Open(r.today):
		fmt.Fprintf(&sb, "**还没报「%s」的社区**（%s开始，%s截止）：共 %d 个\n\n%s", d.Label, st.Start, st.Due, len(owing), names(shown, d.ID))
	default:
		fmt.Fprintf(&sb, "**还没报「%s」的社区**（%s）：共 %d 个\n\n%s", d.Label, owing[0].Item(d.ID).Due(), len(owing), names(shown, d.ID))
	}
	if len(shown) < len(owing) {
		fmt.Fprintf(&sb, " 等（其余 %d 个没有列出，发「导出」看全部）", len(owing)-len(shown))
	}
	if len(flagged) > 0 {
		more := ""
		if len(flagged) > 50 {
			more = fmt.Sprintf(" 等 %d 个", len(flagged))
			flagged = flagged[:50]
		}
		fmt.Fprintf(&sb, "\n\n已报但有问题：%s%s", strings.Join(flagged, "、"), more)
	}
	return sb.String()
}

// card shows everything about one community, judged now.
func (b *Bot) card(r *request, community string) (string, error) {
	s := r.street
	rec, err := b.record(r, community)
	if err != nil {
		return "", err
	}
	people, err := b.people(r)
	if err != nil {
		return "", err
	}
	cs := s.Judge(community, rec, r.today)
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s社区 换届情况**（%s）", community, r.today)
	for i := range cs.Items {
		is := &cs.Items[i]
		line := fmt.Sprintf("\n\n%s **%s**：%s", is.Status.Icon(), is.Def.Label, s.Summary(is))
		if is.Filing != nil {
			line += fmt.Sprintf("（%s %s）", campaign.DateOf(is.Filing.At), people.Name(is.Filing.By))
		}
		sb.WriteString(line)
		for _, p := range is.Problems {
			sb.WriteString("\n\n　⚠️ " + p)
		}
		if rl := is.ReviewWord(); rl != "" {
			if is.ReviewRecord != nil && is.ReviewRecord.Reason != "" {
				rl += "，原因：" + is.ReviewRecord.Reason
			}
			sb.WriteString("\n\n　↳ " + rl)
		}
	}
	return sb.String(), nil
}

// The words of 哪些社区还没报 about one community.
const (
	msgMissingUnknown = "不认识事项「%s」（也不是社区名），可以写：%s"
	msgMissingOf      = "**%s社区还没报的**（%s）：共 %d 项\n\n%s\n\n发「%s」看详情。"
	msgMissingOfNone  = "**%s社区**（%s）已经开始的事项都报齐了。发「%s」看详情。"
)
