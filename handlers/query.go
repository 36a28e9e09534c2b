package handlers

import (
	"fmt"
	"strings"

	"huanjie/campaign"
	"huanjie/config"
)

// reviewWords says a review state in a few characters, per reviewed item.
var reviewWords = map[campaign.Item]map[string]string{
	campaign.ItemCandidates: {campaign.ReviewPending: "待初审", campaign.ReviewApproved: "初审已通过", campaign.ReviewReturned: "初审被退回"},
	campaign.ItemElection:   {campaign.ReviewPending: "待批复", campaign.ReviewApproved: "已批复备案", campaign.ReviewReturned: "批复被退回"},
}

// progressOf summarises one community for 进度.
type progressOf struct {
	filed, total, flagged, overdue int
	phase                          campaign.Step // the furthest step filed
	reviews                        []string
}

func (b *Bot) summarise(s *config.Street, cur map[campaign.Item]campaign.Filing, today campaign.Date) progressOf {
	var p progressOf
	for _, st := range s.Steps {
		p.total++
		f, ok := cur[st.Item]
		if !ok || !s.Rules.Done(f) {
			if st.Overdue(today) {
				p.overdue++
			}
			if ok && f.Flagged() {
				p.flagged++
			}
			continue
		}
		p.filed++
		if f.Flagged() {
			p.flagged++
		}
		if st.Phase > p.phase.Phase {
			p.phase = st
		}
	}
	for _, item := range []campaign.Item{campaign.ItemCandidates, campaign.ItemElection} {
		if status, _ := campaign.ReviewStatus(cur, item); status != campaign.ReviewNone {
			p.reviews = append(p.reviews, reviewWords[item][status])
		}
	}
	return p
}

func (b *Bot) progress(r *request) (string, error) {
	s := r.street
	all, err := b.Filings.CurrentAll(r.ctx, s.ID, s.CommunityNames())
	if err != nil {
		return "", fmt.Errorf("progress of %s: %w", s.ID, err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s换届进度**（%s）", s.Name, r.today)
	var done, problems, late int
	for i, c := range s.CommunityNames() {
		p := b.summarise(s, all[c], r.today)
		where := "尚未开始"
		if p.phase.Phase > 0 {
			where = fmt.Sprintf("第%d步 %s", p.phase.Phase, p.phase.Name)
		}
		parts := []string{where, fmt.Sprintf("已报 %d/%d", p.filed, p.total)}
		if p.flagged > 0 {
			parts = append(parts, fmt.Sprintf("<font color=\"warning\">%d 项有问题</font>", p.flagged))
			problems++
		}
		if p.overdue > 0 {
			parts = append(parts, fmt.Sprintf("<font color=\"warning\">逾期 %d 项</font>", p.overdue))
			late++
		}
		parts = append(parts, p.reviews...)
		if p.filed == p.total && p.flagged == 0 {
			done++
		}
		fmt.Fprintf(&sb, "\n%d. **%s** %s", i+1, c, strings.Join(parts, "｜"))
	}
	fmt.Fprintf(&sb, "\n共 %d 个社区：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个。\n发「哪些社区还没报」看缺报名单，发社区名看详情。",
		len(s.Communities), done, problems, late)
	return sb.String(), nil
}

func (b *Bot) missing(r *request) (string, error) {
	s := r.street
	all, err := b.Filings.CurrentAll(r.ctx, s.ID, s.CommunityNames())
	if err != nil {
		return "", fmt.Errorf("missing of %s: %w", s.ID, err)
	}
	if len(r.args) > 0 {
		item, ok := b.itemOfWord(r.args[0])
		st, inPlan := s.Step(item)
		if !ok || !inPlan {
			return "", badf("不认识事项「%s」，可以写：%s", r.args[0], b.itemWords(s))
		}
		return b.missingOne(r, st, all), nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**还没报的社区**（%s）", r.today)
	any := false
	var next *campaign.Step
	for _, st := range s.Steps {
		if !st.Open(r.today) {
			if next == nil || st.Start.Before(next.Start) {
				st := st
				next = &st
			}
			continue
		}
		names := s.Missing(st.Item, all)
		if len(names) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(&sb, "\n\n**%s**（%s）：%s（%d 个）", st.Item.Label(), dueText(st, r.today), strings.Join(names, "、"), len(names))
	}
	if !any {
		sb.WriteString("\n已经开始的事项，所有社区都报齐了。")
	}
	if next != nil {
		fmt.Fprintf(&sb, "\n\n下一项：%s，%s开始，%s截止。", next.Item.Label(), next.Start, next.Due)
	}
	return sb.String(), nil
}

func (b *Bot) missingOne(r *request, st campaign.Step, all map[string]map[campaign.Item]campaign.Filing) string {
	names := r.street.Missing(st.Item, all)
	var flagged []string
	for _, c := range r.street.CommunityNames() {
		if f, ok := all[c][st.Item]; ok && f.Flagged() {
			flagged = append(flagged, c)
		}
	}
	var sb strings.Builder
	if len(names) == 0 {
		fmt.Fprintf(&sb, "所有社区都已报「%s」。", st.Item.Label())
	} else {
		fmt.Fprintf(&sb, "**还没报「%s」的社区**（%s）：%s（共 %d 个）", st.Item.Label(), dueText(st, r.today), strings.Join(names, "、"), len(names))
	}
	if len(flagged) > 0 {
		fmt.Fprintf(&sb, "\n已报但有问题：%s", strings.Join(flagged, "、"))
	}
	return sb.String()
}

// dueText says when a step is due relative to today.
func dueText(st campaign.Step, today campaign.Date) string {
	switch n := today.DaysUntil(st.Due); {
	case n < 0:
		return fmt.Sprintf("%s截止，<font color=\"warning\">已逾期 %d 天</font>", st.Due, -n)
	case n == 0:
		return fmt.Sprintf("今天（%s）截止", st.Due)
	default:
		return fmt.Sprintf("%s截止，还有 %d 天", st.Due, n)
	}
}

// itemWords lists the words 哪些社区还没报 accepts.
func (b *Bot) itemWords(s *config.Street) string {
	var words []string
	for _, st := range s.Steps {
		for _, c := range b.commands {
			if c.item == st.Item {
				words = append(words, c.name)
			}
		}
	}
	return strings.Join(words, "、")
}

// card shows everything about one community.
func (b *Bot) card(r *request, community string) (string, error) {
	s := r.street
	cur, err := b.state(r, community)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s社区 换届情况**（%s）", community, r.today)
	for _, st := range s.Steps {
		f, ok := cur[st.Item]
		switch {
		case ok && f.Flagged():
			fmt.Fprintf(&sb, "\n⚠️ **%s**：%s（%s %s）", st.Item.Label(), f.Summary, campaign.DateOf(f.At), b.personName(s, f.By))
			for _, fl := range f.Flags {
				fmt.Fprintf(&sb, "\n> <font color=\"warning\">%s</font>", fl)
			}
		case ok:
			fmt.Fprintf(&sb, "\n✅ **%s**：%s（%s %s）", st.Item.Label(), f.Summary, campaign.DateOf(f.At), b.personName(s, f.By))
		case !st.Open(r.today):
			fmt.Fprintf(&sb, "\n▫️ %s：%s开始，%s截止", st.Item.Label(), st.Start, st.Due)
		case st.Overdue(r.today):
			fmt.Fprintf(&sb, "\n⏰ **%s**：未报，%s", st.Item.Label(), dueText(st, r.today))
		default:
			fmt.Fprintf(&sb, "\n⏳ %s：未报，%s", st.Item.Label(), dueText(st, r.today))
		}
		if words, reviewed := reviewWords[st.Item]; reviewed && ok {
			status, rv := campaign.ReviewStatus(cur, st.Item)
			line := words[status]
			if rv != nil && rv.Fields["reason"] != "" {
				line += "，原因：" + rv.Fields["reason"]
			}
			fmt.Fprintf(&sb, "\n　　↳ %s", line)
		}
	}
	return sb.String(), nil
}

// personName shows who filed: a configured name, else the userid.
func (b *Bot) personName(s *config.Street, uid string) string {
	if p, ok := s.Person(uid); ok && p.Name != "" {
		return p.Name
	}
	return uid
}
