package reminders

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/storage"
)

// The morning nudge: one message per group each working morning that names every late
// community with what it still owes, @-mentions each of its secretaries once, climbs the
// escalation ladder (the community's head, then the leaders) and says who has nobody to
// mention. Nothing is late on its due day: that morning's 「今天截止」 reminder is enough.

// audience is whom a community's nudge @-mentions on a day, and what its line says
// about it.
type audience struct {
	mention []string
	notes   []string
	nobody  bool // nobody to @: no secretary, or all away and no head to ask instead
}

// awayOn returns the leave of userid covering day.
func (s *streetState) awayOn(userid string, day campaign.Date) (campaign.Away, bool) {
	for _, a := range s.away {
		if a.UserID == userid && a.On(day) {
			return a, true
		}
	}
	return campaign.Away{}, false
}

// allAway reports whether community c has secretaries and every one is away on day.
func (s *streetState) allAway(c string, day campaign.Date) bool {
	secs := s.people.Secretaries(c)
	for _, id := range secs {
		if _, away := s.awayOn(id, day); !away {
			return false
		}
	}
	return len(secs) > 0
}

// workdaysLate counts the working days after due up to day on which community c was
// late: days when every secretary of c was away do not count.
func (s *streetState) workdaysLate(c string, due, day campaign.Date) int {
	n := 0
	for d := due.AddDays(1); !d.After(day); d = d.AddDays(1) {
		if s.days.isWorkday(d) && !s.allAway(c, d) {
			n++
		}
	}
	return n
}

// audience is whom a nudge of community c @-mentions on day: its secretaries who are not
// away, except its head while someone else files (the head who files himself is a
// secretary like any other); when every one of them is away, its head instead; and with
// escalate (lateness is workdays working days), its head too.
func (s *streetState) audience(c string, day campaign.Date, escalate bool, workdays int) audience {
	var a audience
	heads := s.people.Head(c)
	secs := s.people.Secretaries(c)
	var present, primary []string
	for _, id := range secs {
		if aw, away := s.awayOn(id, day); away {
			a.notes = append(a.notes, fmt.Sprintf(noteAway, s.people.Name(id), aw.Until))
			continue
		}
		present = append(present, id)
		if !slices.Contains(heads, id) {
			primary = append(primary, id)
		}
	}
	if len(primary) == 0 {
		primary = present
	}
	var extra []string // present heads not already mentioned
	for _, id := range heads {
		if _, away := s.awayOn(id, day); !away && !slices.Contains(primary, id) {
			extra = append(extra, id)
		}
	}
	a.mention = primary
	switch {
	case len(primary) == 0 && len(extra) > 0:
		a.mention = extra
		a.notes = append(a.notes, fmt.Sprintf(noteInstead, s.title(extra)))
	case len(primary) == 0:
		a.nobody = true
		if len(secs) == 0 {
			a.notes = append(a.notes, noteNoSecretary)
		} else {
			a.notes = append(a.notes, noteAllAway)
		}
	case escalate && len(extra) > 0:
		a.mention = append(slices.Clone(primary), extra...)
		a.notes = append(a.notes, fmt.Sprintf(noteEscalated, workdays, s.title(extra)))
	}
	return a
}

// title is how the people ids are called in a note: the first one's title (书记), else
// their names.
func (s *streetState) title(ids []string) string {
	if w, ok := s.people.Who(ids[0]); ok && w.Title != "" {
		return w.Title
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = s.people.Name(id)
	}
	return strings.Join(names, "、")
}

// nudgeLine is one community in a nudge: what it owes and whom to @.
type nudgeLine struct {
	community string
	items     []*campaign.ItemState
	aud       audience
}

// owed says how an item of a nudge line stands: 「被退回，逾期 2 天」.
func (s *streetState) owed(is *campaign.ItemState) string {
	var parts []string
	switch {
	case is.Status == campaign.StatusReturned:
		parts = append(parts, wordReturned)
	case is.Def.Kind == campaign.KindPhotos && is.Photos > 0:
		parts = append(parts, fmt.Sprintf(wordPhotosShort, s.st.Rules.Photos.Min-int(is.Photos)))
	}
	parts = append(parts, is.DueShort())
	return strings.Join(parts, "，")
}

// owedAll says a community's items, those that stand alike together:
// 「会员数和总人口、会员小组划分（逾期 7 天）、候选人名单（被退回，逾期 2 天）」.
func (s *streetState) owedAll(items []*campaign.ItemState) string {
	var parts []string
	for i := 0; i < len(items); {
		how := s.owed(items[i])
		labels := []string{items[i].Def.Label}
		j := i + 1
		for ; j < len(items) && s.owed(items[j]) == how; j++ {
			labels = append(labels, items[j].Def.Label)
		}
		parts = append(parts, strings.Join(labels, "、")+"（"+how+"）")
		i = j
	}
	return strings.Join(parts, "、")
}

// lineText renders a line: the full one, or (compact) only how many items and the
// worst.
func (s *streetState) lineText(l nudgeLine, compact bool) string {
	var what string
	if compact && len(l.items) > 1 {
		worst := l.items[0]
		for _, is := range l.items {
			if is.DaysLeft < worst.DaysLeft {
				worst = is
			}
		}
		what = fmt.Sprintf(lineCompact, len(l.items), worst.DueShort())
	} else {
		what = s.owedAll(l.items)
	}
	line := "· " + l.community + "：" + what
	if len(l.aud.notes) > 0 {
		line += "。" + strings.Join(l.aud.notes, "；")
	}
	if l.aud.nobody {
		line = "⚠️ " + strings.TrimPrefix(line, "· ")
	}
	return line
}

// mergedLines renders the lines with the communities that owe the same and need no
// note on one line: 「· 李家窑、柳杭：候选人名单（逾期 2 天）」.
func (s *streetState) mergedLines(lines []nudgeLine) []string {
	var out []string
	at := map[string]int{} // what is owed → its line in out
	for _, l := range lines {
		if len(l.aud.notes) > 0 || l.aud.nobody {
			out = append(out, s.lineText(l, false))
			continue
		}
		what := s.owedAll(l.items)
		if i, ok := at[what]; ok {
			head, tail, _ := strings.Cut(out[i], "：")
			out[i] = head + "、" + l.community + "：" + tail
			continue
		}
		at[what] = len(out)
		out = append(out, "· "+l.community+"："+what)
	}
	return out
}

// nudgeMessage renders one group's nudge: the lines (fitted into one WeCom text
// message), the leaders' part, and the office's part when someone has nobody to @. It
// returns the text and whom to @, each userid once.
func (s *streetState) nudgeMessage(lines []nudgeLine, leaders []nudgeLine) (string, []string) {
	var mentions []string
	add := func(ids ...string) {
		for _, id := range ids {
			if !slices.Contains(mentions, id) {
				mentions = append(mentions, id)
			}
		}
	}
	var nobody []string
	for _, l := range lines {
		add(l.aud.mention...)
		if l.aud.nobody {
			nobody = append(nobody, l.community)
		}
	}
	var after string // the leaders' and the office's parts
	if len(leaders) > 0 {
		d := textData{Bot: s.bot, Street: s.st.Name, Workdays: s.st.Reminders.Escalation.LeadersAfterWorkdays, MissingCount: len(leaders)}
		var list []string
		for _, l := range leaders {
			d.Missing = append(d.Missing, l.community)
			labels := make([]string, len(l.items))
			for i, is := range l.items {
				labels[i] = is.Def.Label
			}
			list = append(list, "· "+l.community+"："+strings.Join(labels, "、"))
		}
		d.Communities, d.List = joinNames(d.Missing), strings.Join(list, "\n")
		after = render(s.texts.late, d)
		add(s.people.Leaders()...)
	}
	if len(nobody) > 0 {
		after = joinParts(after, fmt.Sprintf(msgNobodyToMention, joinNames(nobody), s.st.Office))
		add(s.people.Office()...)
	}
	if len(lines) == 0 {
		return after, mentions
	}
	d := textData{Bot: s.bot, Street: s.st.Name, Overdue: true, MissingCount: len(lines)}
	items := map[campaign.Item]bool{}
	for _, l := range lines {
		d.Missing = append(d.Missing, l.community)
		for _, is := range l.items {
			items[is.Def.ID] = true
			d.Overdue = d.Overdue && is.Late
		}
	}
	d.Communities = joinNames(d.Missing)
	d.HowTo = fmt.Sprintf(howToHelp, s.bot)
	if len(items) == 1 {
		d.Item = lines[0].items[0].Def.Label
		d.HowTo = s.howTo(lines[0].items[0].Def.ID)
	}
	budget := bot.MaxTextBytes
	if after != "" {
		budget -= len(after) + 2
	}
	return joinParts(s.fitLines(d, lines, budget), after), mentions
}

func joinParts(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}

// fitLines renders the nudge template within budget bytes, so that the nudge stays one
// WeCom text message: one full line per community; else communities that owe the same
// on one line; else one count per community; else as many counts as fit and how many
// more.
func (s *streetState) fitLines(d textData, lines []nudgeLine, budget int) string {
	full := make([]string, len(lines))
	counts := make([]string, len(lines))
	for i, l := range lines {
		full[i], counts[i] = s.lineText(l, false), s.lineText(l, true)
	}
	var text string
	for _, list := range [][]string{full, s.mergedLines(lines), counts} {
		d.List = strings.Join(list, "\n")
		if text = render(s.texts.nudge, d); len(text) <= budget {
			return text
		}
	}
	for n := len(lines) - 1; n > 0; n-- {
		d.List = strings.Join(append(slices.Clone(counts[:n]), fmt.Sprintf(lineMore, len(lines)-n, s.bot)), "\n")
		if text = render(s.texts.nudge, d); len(text) <= budget {
			return text
		}
	}
	return text
}

// nudges are the morning nudge occurrences: one a working day while some item may be
// late and nudged (its due date passed, within nudge_for_days), or may reach the
// leaders' rung of the ladder.
func (s *streetState) nudges(in func(time.Time) bool) []occurrence {
	rem := s.st.Reminders
	days := map[campaign.Date]bool{}
	for _, step := range s.st.Steps {
		last := step.Due.AddDays(rem.NudgeForDays)
		if m := rem.Escalation.LeadersAfterWorkdays; m > 0 {
			if d := s.days.nthAfter(step.Due, m); d.After(last) {
				last = d
			}
		}
		for day := step.Due.AddDays(1); !day.After(last); day = day.AddDays(1) {
			if s.days.isWorkday(day) {
				days[day] = true
			}
		}
	}
	var out []occurrence
	for day := range days {
		at := s.nudgeAt.on(day)
		if !in(at) {
			continue
		}
		id := "nudge:" + day.ISO()
		out = append(out, occurrence{id: id, title: titleNudge, at: at, until: endOfDay(day),
			build: func() ([]storage.OutMsg, string) { return s.morning(id, day) }})
	}
	return out
}

// morning builds a day's nudge from the state judged now.
func (s *streetState) morning(id string, day campaign.Date) ([]storage.OutMsg, string) {
	rem := s.st.Reminders
	esc := rem.Escalation
	var lines, leaders []nudgeLine
	for i := range s.judged.Communities {
		cs := &s.judged.Communities[i]
		var items, toLeaders []*campaign.ItemState
		most := 0
		for j := range cs.Items {
			is := &cs.Items[j]
			if !is.Late {
				continue
			}
			wd := s.workdaysLate(cs.Name, is.Step.Due, day)
			if int(is.DaysLate) <= rem.NudgeForDays {
				items = append(items, is)
				most = max(most, wd)
			}
			// The leaders hear of an item once: on the working day it reaches their rung.
			if esc.LeadersAfterWorkdays > 0 && wd == esc.LeadersAfterWorkdays && s.days.isWorkday(day) && !s.allAway(cs.Name, day) {
				toLeaders = append(toLeaders, is)
			}
		}
		if len(items) > 0 {
			escalate := esc.HeadAfterWorkdays > 0 && most >= esc.HeadAfterWorkdays
			lines = append(lines, nudgeLine{community: cs.Name, items: items, aud: s.audience(cs.Name, day, escalate, most)})
		}
		if len(toLeaders) > 0 {
			leaders = append(leaders, nudgeLine{community: cs.Name, items: toLeaders})
		}
	}
	if len(lines) == 0 && len(leaders) == 0 {
		return nil, reasonNobodyLate
	}
	return s.perGroupLines(id, lines, leaders), ""
}

// perGroupLines makes one nudge message per group from the lines of the communities it
// covers.
func (s *streetState) perGroupLines(id string, lines, leaders []nudgeLine) []storage.OutMsg {
	byGroup := func(ls []nudgeLine) [][]nudgeLine {
		out := make([][]nudgeLine, len(s.st.Groups))
		for _, l := range ls {
			for _, gi := range s.groupsOf(l.community) {
				out[gi] = append(out[gi], l)
			}
		}
		return out
	}
	inGroup, leadGroup := byGroup(lines), byGroup(leaders)
	var msgs []storage.OutMsg
	for gi, g := range s.st.Groups {
		ls, lead := inGroup[gi], leadGroup[gi]
		if len(ls) == 0 && len(lead) == 0 {
			continue
		}
		text, mentions := s.nudgeMessage(ls, lead)
		msgs = append(msgs, storage.OutMsg{Street: s.st.ID, ChatID: g.ChatID, Text: text, Mentions: mentions, Occurrence: id})
	}
	return msgs
}

// openings are the phase-opening announcements: for each day some steps' windows
// open, one message on that day (or the last working day before it) listing them.
func (s *streetState) openings(in func(time.Time) bool) []occurrence {
	if !s.st.Reminders.Openings() {
		return nil
	}
	byStart := map[campaign.Date][]campaign.Step{}
	for _, st := range s.st.Steps {
		if !st.Start.IsZero() {
			byStart[st.Start] = append(byStart[st.Start], st)
		}
	}
	var out []occurrence
	for start, steps := range byStart {
		day := s.days.onOrBefore(start)
		at := s.sendAt.on(day)
		if !in(at) {
			continue
		}
		id := "open:" + start.ISO()
		var names []string
		for _, st := range steps {
			if !slices.Contains(names, st.Name) {
				names = append(names, st.Name)
			}
		}
		out = append(out, occurrence{id: id, title: fmt.Sprintf(titleOpening, strings.Join(names, "、")), at: at, until: endOfDay(day),
			build: func() ([]storage.OutMsg, string) {
				var lines []string
				var open []campaign.Step
				for _, st := range steps {
					if len(s.notDone(st.Item)) > 0 {
						open = append(open, st)
					}
				}
				if len(open) == 0 {
					return nil, reasonAllFiled
				}
				for i := 0; i < len(open); {
					j := i
					var labels []string
					for ; j < len(open) && open[j].Name == open[i].Name && open[j].Due == open[i].Due; j++ {
						labels = append(labels, open[j].Item.Label())
					}
					line := "· " + open[i].Name
					if len(labels) > 1 || !strings.Contains(open[i].Name, labels[0]) {
						line += "：" + strings.Join(labels, "、")
					}
					due := fmt.Sprintf(lineDue, open[i].Due)
					if base, ok := strings.CutSuffix(line, "）"); ok { // 换届照片（JPG 6-10 张，7月20日截止）
						line, due = base, "，"+strings.TrimPrefix(due, "（")
					}
					lines = append(lines, line+due)
					i = j
				}
				d := textData{Bot: s.bot, Street: s.st.Name, When: starting(start, day), List: strings.Join(lines, "\n"),
					Phase: strings.Join(names, "、"), Due: open[0].Due.String()}
				if len(open) == 1 {
					d.Item, d.HowTo = open[0].Item.Label(), s.howTo(open[0].Item)
				} else {
					d.HowTo = fmt.Sprintf(howToHelp, s.bot)
				}
				return s.perGroup(id, nil, true, func([]string) string { return render(s.texts.opening, d) }, nil), ""
			}})
	}
	return out
}

// starting says when a window opens, seen from day: 今天（7月1日 星期四）, 明天（…）, 3 天后（…）.
func starting(start, day campaign.Date) string {
	wd := weekdays[start.Time().Weekday()]
	switch n := day.DaysUntil(start); {
	case n <= 0:
		return fmt.Sprintf("今天（%s %s）", start, wd)
	case n == 1:
		return fmt.Sprintf("明天（%s %s）", start, wd)
	default:
		return fmt.Sprintf("%d 天后（%s %s）", n, start, wd)
	}
}
