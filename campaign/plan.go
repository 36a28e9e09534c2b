package campaign

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Street is one street office's campaign: its groups, people, communities, rules, the
// steps every community files and the reminder settings. The config file is read into
// it; Index must be called once before lookups.
type Street struct {
	ID          string      `yaml:"id"`
	Name        string      `yaml:"name"`
	Office      string      `yaml:"office"` // whom people should ask, e.g. 街道计生协办公室（罗丽梅）
	Groups      []Group     `yaml:"groups"`
	People      []Person    `yaml:"people"`
	Communities []Community `yaml:"communities"`
	Rules       Rules       `yaml:"rules"`
	Steps       []Step      `yaml:"steps"`
	Reminders   Reminders   `yaml:"reminders"`
	// Exemptions known in advance: items a community need not file (the office can add
	// more in chat with 免报).
	Exemptions []ConfigExemption `yaml:"exemptions"`

	idx *streetIndex
}

// District groups streets (区/镇) with its own leaders, office and group chat: there 进度
// and 哪些社区还没报 answer per street, and a street's name drills in.
type District struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Groups  []Group  `yaml:"groups"`
	People  []Person `yaml:"people"` // leaders and office of the district
	Streets []string `yaml:"streets"`
}

// Person returns the district's person with userid.
func (d *District) Person(userid string) (*Person, bool) {
	for i := range d.People {
		if d.People[i].UserID == userid {
			return &d.People[i], true
		}
	}
	return nil, false
}

// Step is one item a street expects from every community, in the phase it belongs to,
// with its window: it may be filed from Start and is due on Due (both inclusive).
type Step struct {
	Item  Item   `yaml:"item"`
	Phase int    `yaml:"phase"`
	Name  string `yaml:"name"` // the phase as the plan names it, e.g. 夯实会员队伍
	Start Date   `yaml:"start"`
	Due   Date   `yaml:"due"`
}

// Open reports whether the step's window has started on day.
func (s Step) Open(day Date) bool { return s.Start.IsZero() || !day.Before(s.Start) }

// Overdue reports whether day is past the step's due date.
func (s Step) Overdue(day Date) bool { return !s.Due.IsZero() && day.After(s.Due) }

// StepState is where a step's window stands on a day, whatever anyone filed.
type StepState uint8

const (
	StepNotOpen  StepState = iota // before its start
	StepOpen                      // open, due later
	StepDueToday                  // open, due today
	StepClosed                    // past its due date
)

// StateOn says where the step's window stands on day.
func (s Step) StateOn(day Date) StepState {
	switch {
	case !s.Open(day):
		return StepNotOpen
	case s.Overdue(day):
		return StepClosed
	case !s.Due.IsZero() && day == s.Due:
		return StepDueToday
	}
	return StepOpen
}

// NextStep is the step whose window opens next after day: the earliest start still to
// come, the first listed among equals; nil when every window is open.
func (s *Street) NextStep(day Date) *Step {
	var next *Step
	for i := range s.Steps {
		if st := &s.Steps[i]; !st.Open(day) && (next == nil || st.Start.Before(next.Start)) {
			next = st
		}
	}
	return next
}

// Group is one group chat of a street and the environment variable holding its webhook key.
type Group struct {
	ChatID        string   `yaml:"chatid"`
	Name          string   `yaml:"name"`
	WebhookKeyEnv string   `yaml:"webhook_key_env"`
	Communities   []string `yaml:"communities"` // whose secretaries are in this group; empty: all of the street's
	// WebhookKey is read from WebhookKeyEnv at load time ("" if unset).
	WebhookKey string `yaml:"-"`
	// Push is how the bot pushes into the group: "webhook" (its key), "bot" (the bot
	// itself, over the long connection), or "" for the webhook when it has a key and
	// the bot otherwise. Pushes that @-mention people, and images and files, take the
	// webhook whenever the group has a key.
	Push string `yaml:"push"`
}

// Covers reports whether a group is where community's secretaries are.
func (g Group) Covers(community string) bool {
	if len(g.Communities) == 0 {
		return true
	}
	for _, c := range g.Communities {
		if c == community {
			return true
		}
	}
	return false
}

// Person is someone known from the config file.
type Person struct {
	UserID    string `yaml:"userid"`
	Name      string `yaml:"name"`
	Role      Role   `yaml:"role"`
	Community string `yaml:"community"`
	Title     string `yaml:"title"`
}

// Community is one community of a street.
type Community struct {
	Name       string   `yaml:"name"`
	Population int      `yaml:"population"`
	Aliases    []string `yaml:"aliases"`
}

// Calendar lists the days off and the make-up working days (调休) from the official
// notices; weekends are days off unless listed as working days.
type Calendar struct {
	DaysOff  []Date `yaml:"days_off"`
	Workdays []Date `yaml:"workdays"`
}

// Reminders is when and what the scheduler pushes into a street's groups. Times are
// "HH:MM" in Asia/Shanghai; texts are Go templates (empty: the built-in wording).
type Reminders struct {
	SendAt        string `yaml:"send_at"`         // phase reminders, openings, notices (09:00)
	BeforeDueDays []int  `yaml:"before_due_days"` // e.g. [3, 1, 0]: 3 days before, 1 day before, the morning of
	// AnnounceOpenings tells the groups, on the working day a phase's window opens (or
	// the last one before), what may be filed from then on. Unset: on.
	AnnounceOpenings *bool       `yaml:"announce_openings"`
	NudgeAt          string      `yaml:"nudge_at"`       // the one morning message to late communities (09:30)
	NudgeForDays     int         `yaml:"nudge_for_days"` // keep nudging an item this many days after its deadline (unset: 10; 0: no nudges)
	Escalation       Escalation  `yaml:"escalation"`
	Milestones       []Milestone `yaml:"milestones"` // dates with nothing to file, e.g. 检查验收
	Texts            Texts       `yaml:"texts"`
}

// Openings reports whether phase openings are announced.
func (r Reminders) Openings() bool { return r.AnnounceOpenings == nil || *r.AnnounceOpenings }

// Escalation is the ladder of the morning nudge: a community late for HeadAfterWorkdays
// working days has its head @-mentioned too; one late for LeadersAfterWorkdays working
// days is named to the leaders (once per item). Zero turns a rung off.
type Escalation struct {
	HeadAfterWorkdays int `yaml:"head_after_workdays"`
	// Head says who a community's head is: each entry is a title (书记: the community's
	// person with that title, configured or bound) or the userid of a configured person;
	// the first entry that finds someone counts. The head is also nudged instead when
	// every other secretary of the community is away.
	Head                 []string `yaml:"head"`
	LeadersAfterWorkdays int      `yaml:"leaders_after_workdays"`
}

// Milestone is a date everyone should prepare for, reminded like a deadline.
type Milestone struct {
	Name string `yaml:"name"`
	Date Date   `yaml:"date"`
	Text string `yaml:"text"`
}

// Texts override the wording of each kind of reminder (Go text/template).
type Texts struct {
	Phase        string `yaml:"phase"`
	Opening      string `yaml:"opening"`
	Nudge        string `yaml:"nudge"`
	Late         string `yaml:"late"` // the leaders' part of the morning nudge
	PublicityEnd string `yaml:"publicity_end"`
	Milestone    string `yaml:"milestone"`
}

// streetIndex are a street's lookups, built once.
type streetIndex struct {
	community map[string]int // name, name+社区, alias → index in Communities
	person    map[string]int // userid → index in People
	roster                   // the configured people by role
	step      map[Item]int
}

// roster lists userids by role: secretaries by community, leaders, office.
type roster struct {
	secretaries map[string][]string
	leaders     []string
	office      []string
}

// add lists userid under role.
func (r *roster) add(userid string, role Role, community string) {
	switch role {
	case RoleSecretary:
		if r.secretaries == nil {
			r.secretaries = map[string][]string{}
		}
		r.secretaries[community] = append(r.secretaries[community], userid)
	case RoleLeader:
		r.leaders = append(r.leaders, userid)
	case RoleOffice:
		r.office = append(r.office, userid)
	}
}

// fork is a copy of r that add can grow without touching r: the map is copied and every
// list clipped to its length, so an append to one copies it first.
func (r roster) fork() roster {
	out := roster{leaders: slices.Clip(r.leaders), office: slices.Clip(r.office),
		secretaries: make(map[string][]string, len(r.secretaries))}
	for c, ids := range r.secretaries {
		out.secretaries[c] = slices.Clip(ids)
	}
	return out
}

// Index builds the street's lookups; call it once after the street is read, before it
// is shared.
func (s *Street) Index() {
	x := &streetIndex{community: map[string]int{}, person: map[string]int{}, step: map[Item]int{}}
	for i, c := range s.Communities {
		for _, w := range append([]string{c.Name}, c.Aliases...) {
			if _, taken := x.community[w]; !taken {
				x.community[w] = i
			}
			if _, taken := x.community[w+"社区"]; !taken {
				x.community[w+"社区"] = i
			}
		}
	}
	for i, p := range s.People {
		if _, dup := x.person[p.UserID]; dup {
			continue
		}
		x.person[p.UserID] = i
		x.add(p.UserID, p.Role, p.Community)
	}
	for i, st := range s.Steps {
		if _, dup := x.step[st.Item]; !dup {
			x.step[st.Item] = i
		}
	}
	s.idx = x
}

func (s *Street) index() *streetIndex {
	if s.idx == nil {
		s.Index() // streets built by hand in tests
	}
	return s.idx
}

// Community finds a community by name, by name + 社区, or by alias.
func (s *Street) Community(word string) (*Community, bool) {
	i, ok := s.index().community[strings.TrimSpace(word)]
	if !ok {
		return nil, false
	}
	return &s.Communities[i], true
}

// CommunityNames lists the communities in config order.
func (s *Street) CommunityNames() []string {
	out := make([]string, len(s.Communities))
	for i, c := range s.Communities {
		out[i] = c.Name
	}
	return out
}

// Person returns the configured person with userid.
func (s *Street) Person(userid string) (*Person, bool) {
	i, ok := s.index().person[userid]
	if !ok {
		return nil, false
	}
	return &s.People[i], true
}

// Step returns the configured step of item.
func (s *Street) Step(item Item) (Step, bool) {
	i, ok := s.index().step[item]
	if !ok {
		return Step{}, false
	}
	return s.Steps[i], true
}

// Year is the campaign year (of the first step), used for dates typed without one.
func (s *Street) Year() int {
	for _, st := range s.Steps {
		if !st.Due.IsZero() {
			return st.Due.Year
		}
	}
	return time.Now().In(Shanghai).Year()
}

// Span is the first and the last day of the campaign: the earliest step start and the
// latest due date or milestone.
func (s *Street) Span() (first, last Date) {
	for _, st := range s.Steps {
		for _, d := range []Date{st.Start, st.Due} {
			if d.IsZero() {
				continue
			}
			if first.IsZero() || d.Before(first) {
				first = d
			}
			if last.IsZero() || d.After(last) {
				last = d
			}
		}
	}
	for _, m := range s.Reminders.Milestones {
		if !m.Date.IsZero() && (last.IsZero() || m.Date.After(last)) {
			last = m.Date
		}
	}
	return first, last
}

// People are who is who in a street: the configured people and those bound in chat.
type People struct {
	street     *Street
	bound      map[string]Binding
	boundOrder []string // bound userids in the order given
	roster              // configured, then bound
}

// PeopleOf indexes the street's configured people with the bindings made in chat (bound
// may be nil). Configured people come first; a binding never overrides them.
func (s *Street) PeopleOf(bound []Binding) *People {
	x := s.index()
	p := &People{street: s, bound: map[string]Binding{}, roster: x.roster.fork()}
	for _, b := range bound {
		if _, configured := x.person[b.UserID]; configured {
			continue
		}
		if _, dup := p.bound[b.UserID]; dup {
			continue
		}
		p.bound[b.UserID] = b
		p.boundOrder = append(p.boundOrder, b.UserID)
		p.add(b.UserID, b.Role, b.Community)
	}
	return p
}

// Secretaries lists the userids that file for a community: configured, then bound.
func (p *People) Secretaries(community string) []string { return p.secretaries[community] }

// Leaders lists the leaders' userids.
func (p *People) Leaders() []string { return p.leaders }

// Office lists the street office's userids.
func (p *People) Office() []string { return p.office }

// Find returns the people (configured, then bound) called name or with userid name.
func (p *People) Find(name string) []Person {
	var out []Person
	for _, c := range p.street.People {
		if c.Name == name || c.UserID == name {
			out = append(out, c)
		}
	}
	for _, id := range p.boundOrder {
		if b := p.bound[id]; b.Name == name || b.UserID == name {
			out = append(out, Person{UserID: b.UserID, Name: b.Name, Role: b.Role, Community: b.Community, Title: b.Title})
		}
	}
	return out
}

// Titled lists the userids of community's people (configured, then bound) with title.
func (p *People) Titled(community, title string) []string {
	var out []string
	for _, c := range p.street.People {
		if c.Community == community && c.Title == title {
			out = append(out, c.UserID)
		}
	}
	for _, id := range p.boundOrder {
		if b := p.bound[id]; b.Community == community && b.Title == title {
			out = append(out, b.UserID)
		}
	}
	return out
}

// Head lists the userids of community's head by the escalation's Head entries: the
// first entry that names a configured userid or a title someone of the community has.
func (p *People) Head(community string) []string {
	for _, h := range p.street.Reminders.Escalation.Head {
		if c, ok := p.street.Person(h); ok && (c.Community == "" || c.Community == community) {
			return []string{c.UserID}
		}
		if ids := p.Titled(community, h); len(ids) > 0 {
			return ids
		}
	}
	return nil
}

// Who describes a userid: name, role, community and title, as configured or bound.
func (p *People) Who(userid string) (Person, bool) {
	if c, ok := p.street.Person(userid); ok {
		return *c, true
	}
	if b, ok := p.bound[userid]; ok {
		return Person{UserID: b.UserID, Name: b.Name, Role: b.Role, Community: b.Community, Title: b.Title}, true
	}
	return Person{}, false
}

// Name is how a person is called in replies and tables: their name, else their
// community and title, else the userid.
func (p *People) Name(userid string) string {
	if w, ok := p.Who(userid); ok {
		switch {
		case w.Name != "":
			return w.Name
		case w.Title != "":
			return w.Community + w.Title
		}
	}
	return userid
}

// sampleDay is how the item table writes a day in an example: 7月6日.
var sampleDay = regexp.MustCompile(`(\d{1,2})月(\d{1,2})日`)

// Example is d's one-line example for this street, and Says its sentence: the item
// table's sample day stays when it falls in the window of its step in this plan, else it
// becomes the first day of that window, so an example copied as it is files in any
// street and year rather than being refused as outside the campaign.
func (s *Street) Example(d *Def) string { return s.sampled(d, d.Example) }

// Says: see Example.
func (s *Street) Says(d *Def) string { return s.sampled(d, d.Says) }

// OnDay writes every day of an example's text (7月20日) as day.
func OnDay(text string, day Date) string { return sampleDay.ReplaceAllString(text, day.String()) }

func (s *Street) sampled(d *Def, text string) string {
	if s == nil {
		return text
	}
	of := d.SampleOf
	if of == "" {
		of = d.ID
	}
	st, ok := s.Step(of)
	if !ok {
		return text
	}
	return sampleDay.ReplaceAllStringFunc(text, func(w string) string {
		m := sampleDay.FindStringSubmatch(w)
		month, _ := strconv.Atoi(m[1])
		day, _ := strconv.Atoi(m[2])
		sample := Date{Year: s.Year(), Month: time.Month(month), Day: day}
		if (st.Start.IsZero() || !sample.Before(st.Start)) && (st.Due.IsZero() || !sample.After(st.Due)) {
			return w
		}
		if !st.Start.IsZero() {
			return st.Start.String()
		}
		return st.Due.String()
	})
}
