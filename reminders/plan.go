package reminders

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/storage"
)

// occurrence is one reminder due at a moment: phase reminder, nudge, late summary,
// publicity-end notice or milestone. Its id is deterministic, so every replica and every
// restart computes the same one, and the store's record of it makes it go out once.
type occurrence struct {
	id    string
	title string
	at    time.Time // when it is due
	until time.Time // after this it is stale: recorded as skipped, never sent
	// build makes the messages now, from the current state; an empty result with a
	// reason records the occurrence as skipped.
	build func() ([]storage.OutMsg, string)
}

// streetState is what a street's reminders are computed from: the street's judged
// state (the same judgement every view renders) and its people.
type streetState struct {
	st      *config.Street
	records map[string]*campaign.Record
	judged  *campaign.StreetState
	people  *campaign.People
	away    []campaign.Away // stored leaves, past ones included
	bot     string
	howTo   func(campaign.Item) string
	days    workdays
	texts   templates
	sendAt  clock
	nudgeAt clock

	groups map[string][]int // community → the groups covering it (groupsOf)
}

// groupsOf lists the indexes of the street's groups where community's secretaries are,
// from an index built on first use (a city's wave would otherwise scan every group for
// every community).
func (s *streetState) groupsOf(community string) []int {
	if s.groups == nil {
		// Groups that list no communities cover them all; the others cover those listed.
		// Built once per tick in O(communities + listed), whatever the number of groups.
		var everyone []int
		for gi, g := range s.st.Groups {
			if len(g.Communities) == 0 {
				everyone = append(everyone, gi)
			}
		}
		s.groups = make(map[string][]int, len(s.st.Communities))
		for gi, g := range s.st.Groups {
			for _, c := range g.Communities {
				if gs := s.groups[c]; len(gs) == 0 || gs[len(gs)-1] != gi {
					s.groups[c] = append(gs, gi)
				}
			}
		}
		if len(everyone) > 0 {
			for _, c := range s.st.Communities {
				gs := append(slices.Clone(everyone), s.groups[c.Name]...)
				slices.Sort(gs)
				s.groups[c.Name] = slices.Compact(gs)
			}
		}
	}
	return s.groups[community]
}

type clock struct{ h, m int }

func (c clock) on(d campaign.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, c.h, c.m, 0, 0, campaign.Shanghai)
}

func endOfDay(d campaign.Date) time.Time { return d.AddDays(1).Time().Add(-time.Nanosecond) }

// templates are a street's parsed reminder texts.
type templates struct {
	phase, opening, nudge, late, publicityEnd, milestone *template.Template
}

func parseTemplates(t config.Texts) (templates, error) {
	var out templates
	var err error
	for _, x := range []struct {
		dst       **template.Template
		name, txt string
		def       string
	}{
		{&out.phase, "phase", t.Phase, defaultPhase},
		{&out.opening, "opening", t.Opening, defaultOpening},
		{&out.nudge, "nudge", t.Nudge, defaultNudge},
		{&out.late, "late", t.Late, defaultLate},
		{&out.publicityEnd, "publicity_end", t.PublicityEnd, defaultPublicityEnd},
		{&out.milestone, "milestone", t.Milestone, defaultMilestone},
	} {
		src := x.txt
		if src == "" {
			src = x.def
		}
		if *x.dst, err = template.New(x.name).Parse(src); err != nil {
			return out, fmt.Errorf("reminder text %s: %w", x.name, err)
		}
	}
	return out, nil
}

// textData is what a reminder template may use.
type textData struct {
	Bot          string   // the bot's name, for "@换届助手 …"
	Street       string   // 城西街道
	Item         string   // 换届知识培训, or a milestone's name
	Phase        string   // the plan's phase name
	Due          string   // 7月8日
	When         string   // 3 天后（7月8日 星期四）截止 / 今天截止 / 已于7月8日截止，逾期 2 天
	HowTo        string   // how to file, e.g. @换届助手 培训 已参加 [日期]
	Missing      []string // communities that have not filed
	MissingCount int
	Communities  string // Missing (or the notice's communities) joined with 、
	End          string // a publicity's last day
	Text         string // a milestone's own text
	// List is the message's lines, one per community (nudge, late) or phase (opening).
	List string
	// Overdue: every item the nudge names is past its due date.
	Overdue bool
	// Workdays is the leaders' rung of the escalation ladder, in working days late (late).
	Workdays int
}

func render(t *template.Template, d textData) string {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return fmt.Sprintf("（提醒模板 %s 出错：%v）", t.Name(), err)
	}
	return b.String()
}

// when says how a due date relates to day.
func when(due, day campaign.Date) string {
	wd := weekdays[due.Time().Weekday()]
	switch n := day.DaysUntil(due); {
	case n == 0:
		return fmt.Sprintf("今天（%s %s）截止", due, wd)
	case n == 1:
		return fmt.Sprintf("明天（%s %s）截止", due, wd)
	case n > 1:
		return fmt.Sprintf("%d 天后（%s %s）截止", n, due, wd)
	default:
		return fmt.Sprintf("已于%s截止，逾期 %d 天", due, -n)
	}
}

// perGroup builds one message per group of the street: text(communities in that group)
// with mentions of those communities' secretaries. Groups with none of the communities
// get nothing (unless all is set: a message for everyone, no mentions).
func (s *streetState) perGroup(occID string, communities []string, all bool, text func(in []string) string, mentionOf func(c string) []string) []storage.OutMsg {
	ins := make([][]string, len(s.st.Groups))
	for _, c := range communities {
		for _, gi := range s.groupsOf(c) {
			ins[gi] = append(ins[gi], c)
		}
	}
	var msgs []storage.OutMsg
	for gi, g := range s.st.Groups {
		in := ins[gi]
		if len(in) == 0 && !all {
			continue
		}
		var mentions []string
		if mentionOf != nil {
			seen := map[string]bool{}
			for _, c := range in {
				for _, u := range mentionOf(c) {
					if !seen[u] {
						mentions, seen[u] = append(mentions, u), true
					}
				}
			}
		}
		msgs = append(msgs, storage.OutMsg{Street: s.st.ID, ChatID: g.ChatID, Text: text(in), Mentions: mentions, Occurrence: occID})
	}
	return msgs
}

// notDone lists, in config order, the communities that have not done item (nothing
// filed, too few photos, or returned by the office), as judged now.
func (s *streetState) notDone(item campaign.Item) []string {
	var out []string
	for i := range s.judged.Communities {
		if is := s.judged.Communities[i].Item(item); is != nil && !is.Done {
			out = append(out, s.judged.Communities[i].Name)
		}
	}
	return out
}

// plan lists the occurrences of a street whose time falls in [from, to], oldest first.
func (s *streetState) plan(from, to time.Time) []occurrence {
	in := func(t time.Time) bool { return !t.Before(from) && !t.After(to) }
	rem := s.st.Reminders
	base := textData{Bot: s.bot, Street: s.st.Name}
	out := s.openings(in) // first: a phase opens before its deadlines are reminded

	// Phase reminders before each deadline, moved to the previous working day; all the
	// items reminded on one day go out as one message per group.
	type reminded struct {
		step campaign.Step
		data textData
	}
	remindOn := map[campaign.Date][]reminded{}
	for _, step := range s.st.Steps {
		d := base
		d.Item, d.Phase, d.Due, d.HowTo = step.Item.Label(), step.Name, step.Due.String(), s.howTo(step.Item)
		seen := map[campaign.Date]bool{}
		offsets := append([]int{}, rem.BeforeDueDays...)
		sort.Ints(offsets)
		for _, off := range offsets {
			day := s.days.onOrBefore(step.Due.AddDays(-off))
			if seen[day] || day.After(step.Due) || !in(s.sendAt.on(day)) {
				continue
			}
			seen[day] = true
			remindOn[day] = append(remindOn[day], reminded{step, d})
		}
	}
	for day, items := range remindOn {
		var labels []string
		for _, it := range items {
			labels = append(labels, fmt.Sprintf(titlePhaseItem, it.step.Item.Label(), it.step.Due))
		}
		id := "phase:" + day.ISO()
		out = append(out, occurrence{id: id, title: fmt.Sprintf(titlePhase, strings.Join(labels, "、")), at: s.sendAt.on(day), until: endOfDay(day),
			build: func() ([]storage.OutMsg, string) {
				var texts []string
				for _, it := range items {
					m := s.notDone(it.step.Item)
					if len(m) == 0 {
						continue
					}
					d := it.data
					d.When, d.Missing, d.MissingCount, d.Communities = when(it.step.Due, day), m, len(m), strings.Join(m, "、")
					texts = append(texts, render(s.texts.phase, d))
				}
				if len(texts) == 0 {
					return nil, reasonAllFiled
				}
				return s.perGroup(id, nil, true, func([]string) string { return joinReminders(texts) }, nil), ""
			}})
	}

	out = append(out, s.nudges(in)...)

	// Publicity ends: on the first working day after a community's publicity, tell its
	// secretaries they may hold the election; all communities of that day in one message
	// per group.
	byDay := map[campaign.Date][]string{}
	ends := map[string]campaign.Date{}
	for _, c := range s.st.CommunityNames() {
		f, ok := s.records[c].Filing(campaign.ItemPublicity)
		if !ok || f.Value.Start.IsZero() {
			continue
		}
		end := s.st.PublicityEnd(f)
		day := s.days.onOrAfter(end.AddDays(1))
		byDay[day] = append(byDay[day], c)
		ends[c] = end
	}
	for day, communities := range byDay {
		day, communities := day, communities
		at := s.sendAt.on(day)
		if !in(at) {
			continue
		}
		id := fmt.Sprintf("publicity:%s", day.ISO())
		out = append(out, occurrence{id: id, title: fmt.Sprintf(titlePublicityEnd, joinNames(communities)), at: at, until: endOfDay(day),
			build: func() ([]storage.OutMsg, string) {
				var ready []string
				for _, c := range communities {
					if _, done := s.records[c].Filing(campaign.ItemElection); !done {
						ready = append(ready, c)
					}
				}
				if len(ready) == 0 {
					return nil, reasonElected
				}
				return s.perGroup(id, ready, false, func(in []string) string {
					d := base
					d.Item, d.Communities, d.HowTo = campaign.ItemPublicity.Label(), joinNames(in), s.howTo(campaign.ItemElection)
					d.Missing, d.MissingCount = in, len(in)
					d.End = ends[in[0]].String()
					if !sameEnd(in, ends) {
						d.End = "近日"
					}
					return render(s.texts.publicityEnd, d)
				}, func(c string) []string { return s.audience(c, day, false, 0).mention }), ""
			}})
	}

	// Milestones (e.g. 检查验收), reminded like deadlines but to everyone.
	for _, ms := range rem.Milestones {
		ms := ms
		seen := map[campaign.Date]bool{}
		for _, off := range rem.BeforeDueDays {
			day := s.days.onOrBefore(ms.Date.AddDays(-off))
			if seen[day] {
				continue
			}
			seen[day] = true
			at := s.sendAt.on(day)
			if !in(at) {
				continue
			}
			id := fmt.Sprintf("milestone:%s:%s", ms.Name, day.ISO())
			out = append(out, occurrence{id: id, title: fmt.Sprintf(titleMilestone, ms.Name), at: at, until: endOfDay(day),
				build: func() ([]storage.OutMsg, string) {
					d := base
					d.Item, d.Due, d.Text = ms.Name, ms.Date.String(), ms.Text
					d.When = strings.Replace(when(ms.Date, day), "截止", "开始", 1)
					return s.perGroup(id, nil, true, func([]string) string { return render(s.texts.milestone, d) }, nil), ""
				}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

func joinNames(names []string) string { return strings.Join(names, "、") }

// joinReminders puts several reminders of one morning in one message: one heading, then
// each reminder on a line of its own without the heading it repeats.
func joinReminders(texts []string) string {
	if len(texts) == 1 {
		return texts[0]
	}
	var lines []string
	for _, t := range texts {
		lines = append(lines, "· "+strings.TrimPrefix(t, phaseHeading))
	}
	return phaseHeading + "\n" + strings.Join(lines, "\n")
}

// sameEnd reports whether all the communities' publicities ended on the same day.
func sameEnd(cs []string, ends map[string]campaign.Date) bool {
	for _, c := range cs {
		if ends[c] != ends[cs[0]] {
			return false
		}
	}
	return true
}
