// Package config reads the campaign configuration: one YAML file with the streets, their
// groups, people, communities, rules and dates. It is validated at start; every error
// names the file, the line and the field. Secrets come from the environment.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"huanjie/campaign"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is how the embedded example is named in messages.
const DefaultName = "内置示例配置(城西街道 2021)"

// Config is the whole campaign configuration.
type Config struct {
	BotName   string   `yaml:"bot_name"`
	DemoClock string   `yaml:"demo_clock"`
	Calendar  Calendar `yaml:"calendar"`
	Streets   []Street `yaml:"streets"`

	// Source names where the config came from (a path or DefaultName).
	Source string `yaml:"-"`
	// DemoStart is DemoClock parsed (zero if unset).
	DemoStart time.Time `yaml:"-"`
}

// Street is one street office's campaign.
type Street struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name"`
	Office      string          `yaml:"office"` // whom people should ask, e.g. 街道计生协办公室（罗丽梅）
	Groups      []Group         `yaml:"groups"`
	People      []Person        `yaml:"people"`
	Communities []Community     `yaml:"communities"`
	Rules       campaign.Rules  `yaml:"rules"`
	Steps       []campaign.Step `yaml:"steps"`
	Reminders   Reminders       `yaml:"reminders"`
}

// Calendar lists the days off and the make-up working days (调休) from the official
// notices; weekends are days off unless listed as working days.
type Calendar struct {
	DaysOff  []campaign.Date `yaml:"days_off"`
	Workdays []campaign.Date `yaml:"workdays"`
}

// Reminders is when and what the scheduler pushes into a street's groups. Times are
// "HH:MM" in Asia/Shanghai; texts are Go templates (empty: the built-in wording).
type Reminders struct {
	SendAt        string      `yaml:"send_at"`         // phase reminders, late summaries, notices (09:00)
	BeforeDueDays []int       `yaml:"before_due_days"` // e.g. [3, 1, 0]: 3 days before, 1 day before, the morning of
	NudgeAt       string      `yaml:"nudge_at"`        // the daily nudge of late communities (09:30)
	NudgeForDays  int         `yaml:"nudge_for_days"`  // keep nudging this many days after a deadline
	Milestones    []Milestone `yaml:"milestones"`      // dates with nothing to file, e.g. 检查验收
	Texts         Texts       `yaml:"texts"`
}

// Milestone is a date everyone should prepare for, reminded like a deadline.
type Milestone struct {
	Name string        `yaml:"name"`
	Date campaign.Date `yaml:"date"`
	Text string        `yaml:"text"`
}

// Texts override the wording of each kind of reminder (Go text/template).
type Texts struct {
	Phase        string `yaml:"phase"`
	Nudge        string `yaml:"nudge"`
	Late         string `yaml:"late"`
	PublicityEnd string `yaml:"publicity_end"`
	Milestone    string `yaml:"milestone"`
}

// Group is one group chat of a street and the environment variable holding its webhook key.
type Group struct {
	ChatID        string   `yaml:"chatid"`
	Name          string   `yaml:"name"`
	WebhookKeyEnv string   `yaml:"webhook_key_env"`
	Communities   []string `yaml:"communities"` // whose secretaries are in this group; empty: all of the street's
	// WebhookKey is read from WebhookKeyEnv at load time ("" if unset).
	WebhookKey string `yaml:"-"`
}

// Person is someone known from the config file.
type Person struct {
	UserID    string        `yaml:"userid"`
	Name      string        `yaml:"name"`
	Role      campaign.Role `yaml:"role"`
	Community string        `yaml:"community"`
	Title     string        `yaml:"title"`
}

// Community is one community of a street.
type Community struct {
	Name       string   `yaml:"name"`
	Population int      `yaml:"population"`
	Aliases    []string `yaml:"aliases"`
}

// Default returns the embedded 城西 2021 example.
func Default(env func(string) string) (*Config, error) {
	return parse(defaultYAML, DefaultName, env)
}

// Load reads and validates the file at path; env looks up secrets (os.Getenv).
func Load(path string, env func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, path, env)
}

// Parse validates YAML from memory (for tests and tools).
func Parse(data []byte, name string, env func(string) string) (*Config, error) {
	return parse(data, name, env)
}

func parse(data []byte, name string, env func(string) string) (*Config, error) {
	if env == nil {
		env = os.Getenv
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	c.Source = name
	v := validator{root: &root, name: name}
	v.check(&c)
	if len(v.errs) > 0 {
		return nil, fmt.Errorf("config %s 有 %d 处错误:\n%w", name, len(v.errs), errors.Join(v.errs...))
	}
	for si := range c.Streets {
		for gi := range c.Streets[si].Groups {
			g := &c.Streets[si].Groups[gi]
			if g.WebhookKeyEnv != "" {
				g.WebhookKey = strings.TrimSpace(env(g.WebhookKeyEnv))
			}
		}
	}
	return &c, nil
}

// Street returns the street with id.
func (c *Config) Street(id string) (*Street, bool) {
	for i := range c.Streets {
		if c.Streets[i].ID == id {
			return &c.Streets[i], true
		}
	}
	return nil, false
}

// StreetOfChat returns the street a group chat belongs to.
func (c *Config) StreetOfChat(chatID string) (*Street, *Group, bool) {
	for i := range c.Streets {
		for j := range c.Streets[i].Groups {
			if c.Streets[i].Groups[j].ChatID == chatID {
				return &c.Streets[i], &c.Streets[i].Groups[j], true
			}
		}
	}
	return nil, nil, false
}

// Community finds a community by name, by name + 社区, or by alias.
func (s *Street) Community(word string) (*Community, bool) {
	word = strings.TrimSpace(word)
	base := strings.TrimSuffix(word, "社区")
	for i := range s.Communities {
		c := &s.Communities[i]
		if c.Name == word || c.Name == base {
			return c, true
		}
		for _, a := range c.Aliases {
			if a == word || a == base {
				return c, true
			}
		}
	}
	return nil, false
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
	for i := range s.People {
		if s.People[i].UserID == userid {
			return &s.People[i], true
		}
	}
	return nil, false
}

// SecretariesOf lists the userids that file for a community: the configured ones, then
// those bound in chat (bound may be nil).
func (s *Street) SecretariesOf(community string, bound []campaign.Binding) []string {
	return s.withRole(campaign.RoleSecretary, community, bound)
}

// Leaders lists the userids of the leaders, configured and bound.
func (s *Street) Leaders(bound []campaign.Binding) []string {
	return s.withRole(campaign.RoleLeader, "", bound)
}

func (s *Street) withRole(role campaign.Role, community string, bound []campaign.Binding) []string {
	var ids []string
	seen := map[string]bool{}
	for _, p := range s.People {
		if p.Role == role && p.Community == community && !seen[p.UserID] {
			ids, seen[p.UserID] = append(ids, p.UserID), true
		}
	}
	for _, b := range bound {
		if b.Role == role && b.Community == community && !seen[b.UserID] {
			ids, seen[b.UserID] = append(ids, b.UserID), true
		}
	}
	return ids
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

// Missing lists, in config order, the communities that still owe item: nothing filed, or
// a filing that does not fulfil it yet (campaign.Rules.Done: too few photos).
func (s *Street) Missing(item campaign.Item, filings map[string]map[campaign.Item]campaign.Filing) []string {
	var out []string
	for _, c := range s.Communities {
		if f, ok := filings[c.Name][item]; !ok || !s.Rules.Done(f) {
			out = append(out, c.Name)
		}
	}
	return out
}

// FilingSteps are the steps a table shows one per column: all but the photos, which
// tables show as a count against the rule in a column of their own.
func (s *Street) FilingSteps() []campaign.Step {
	out := make([]campaign.Step, 0, len(s.Steps))
	for _, st := range s.Steps {
		if st.Item != campaign.ItemPhotos {
			out = append(out, st)
		}
	}
	return out
}

// Step returns the configured step of item.
func (s *Street) Step(item campaign.Item) (campaign.Step, bool) {
	for _, st := range s.Steps {
		if st.Item == item {
			return st, true
		}
	}
	return campaign.Step{}, false
}

// Year is the campaign year (of the first step), used for dates typed without one.
func (s *Street) Year() int {
	for _, st := range s.Steps {
		if !st.Due.IsZero() {
			return st.Due.Year
		}
	}
	return time.Now().In(campaign.Shanghai).Year()
}

// validator collects every problem with its line.
type validator struct {
	root    *yaml.Node
	name    string
	errs    []error
	streets []Street
}

var streetID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

func (v *validator) fail(msg string, path ...any) {
	line := lineOf(v.root, path)
	v.errs = append(v.errs, fmt.Errorf("%s:%d: %s: %s", v.name, line, pathString(path), msg))
}

func (v *validator) check(c *Config) {
	v.streets = c.Streets
	if strings.TrimSpace(c.BotName) == "" {
		v.fail("不能为空（机器人在群里的名字，例如 换届助手）", "bot_name")
	}
	if c.DemoClock != "" {
		t, err := time.Parse(time.RFC3339, c.DemoClock)
		if err != nil {
			v.fail("应写成 2021-07-05T09:00:00+08:00", "demo_clock")
		}
		c.DemoStart = t
	}
	if len(c.Streets) == 0 {
		v.fail("至少要有一个街道", "streets")
	}
	ids := map[string]bool{}
	chats := map[string]bool{}
	for si := range c.Streets {
		s := &c.Streets[si]
		at := func(p ...any) []any { return append([]any{"streets", si}, p...) }
		if !streetID.MatchString(s.ID) {
			v.fail("应为小写字母、数字、- 或 _（例如 chengxi）", at("id")...)
		} else if ids[s.ID] {
			v.fail("与前面的街道重复", at("id")...)
		}
		ids[s.ID] = true
		if s.Name == "" {
			v.fail("不能为空", at("name")...)
		}
		if s.Office == "" {
			v.fail("不能为空（找谁办理绑定，例如 街道计生协办公室（罗丽梅））", at("office")...)
		}
		for gi, g := range s.Groups {
			if g.ChatID == "" {
				v.fail("不能为空", at("groups", gi, "chatid")...)
			} else if chats[g.ChatID] {
				v.fail("同一个群不能出现两次", at("groups", gi, "chatid")...)
			}
			chats[g.ChatID] = true
		}
		names := map[string]bool{}
		if len(s.Communities) == 0 {
			v.fail("至少要有一个社区", at("communities")...)
		}
		for ci, cm := range s.Communities {
			if cm.Name == "" {
				v.fail("不能为空", at("communities", ci, "name")...)
			} else if names[cm.Name] {
				v.fail("社区重名", at("communities", ci, "name")...)
			}
			names[cm.Name] = true
			if cm.Population < 0 {
				v.fail("不能为负数", at("communities", ci, "population")...)
			}
		}
		users := map[string]bool{}
		for pi, p := range s.People {
			if p.UserID == "" {
				v.fail("不能为空", at("people", pi, "userid")...)
			} else if users[p.UserID] {
				v.fail("同一街道里重复出现", at("people", pi, "userid")...)
			}
			users[p.UserID] = true
			switch p.Role {
			case campaign.RoleSecretary:
				if !names[p.Community] {
					v.fail(fmt.Sprintf("社区 %q 不在本街道的 communities 里", p.Community), at("people", pi, "community")...)
				}
			case campaign.RoleOffice, campaign.RoleLeader:
			default:
				v.fail("应为 secretary（社区）、office（街道办）或 leader（领导）", at("people", pi, "role")...)
			}
		}
		v.checkRules(s.Rules, at("rules"))
		v.checkReminders(s, at("reminders"))
		seen := map[campaign.Item]bool{}
		for ti, st := range s.Steps {
			if !st.Item.Known() || strings.HasPrefix(string(st.Item), "review.") {
				v.fail(fmt.Sprintf("不认识的事项 %q，可用: %s", st.Item, strings.Join(knownItems(), ", ")), at("steps", ti, "item")...)
			} else if seen[st.Item] {
				v.fail("事项重复", at("steps", ti, "item")...)
			}
			seen[st.Item] = true
			if st.Due.IsZero() {
				v.fail("缺少截止日期", at("steps", ti)...)
			} else if !st.Start.IsZero() && st.Due.Before(st.Start) {
				v.fail("截止日期早于开始日期", at("steps", ti, "due")...)
			}
		}
	}
}

func (v *validator) checkRules(r campaign.Rules, at []any) {
	p := func(s ...any) []any { return append(append([]any{}, at...), s...) }
	if r.MemberShareMin <= 0 || r.MemberShareMin > 1 {
		v.fail("应为 0 到 1 之间的小数（5% 写 0.05）", p("member_share_min")...)
	}
	if len(r.RepresentativeBands) == 0 {
		v.fail("至少要有一档", p("representative_bands")...)
	}
	last := 0
	for i, b := range r.RepresentativeBands {
		if b.Representatives <= 0 {
			v.fail("代表人数应为正整数", p("representative_bands", i, "representatives")...)
		}
		final := i == len(r.RepresentativeBands)-1
		switch {
		case final && b.MaxPopulation != 0:
			v.fail("最后一档不写 max_population（表示以上全部）", p("representative_bands", i)...)
		case !final && b.MaxPopulation <= last:
			v.fail("max_population 应逐档增大", p("representative_bands", i, "max_population")...)
		}
		last = b.MaxPopulation
	}
	if r.PublicityDays <= 0 {
		v.fail("应为正整数", p("publicity_days")...)
	}
	if r.Council.HasMakeup() {
		for i, m := range r.Council.Makeup {
			if m.Name == "" || m.Count <= 0 {
				v.fail("每组要有 name 和正整数 count", p("council", "makeup", i)...)
			}
		}
	} else if r.Council.Min <= 0 || r.Council.Max < r.Council.Min {
		v.fail("要么写 min/max（如 9 和 11），要么写 makeup", p("council")...)
	}
	if r.Photos.Min < 0 || r.Photos.Max < r.Photos.Min {
		v.fail("min 不能大于 max", p("photos")...)
	}
}

// ClockTime reads "HH:MM" as hours and minutes.
func ClockTime(s string) (h, m int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, fmt.Errorf("时间应写成 09:00 的形式")
	}
	return t.Hour(), t.Minute(), nil
}

func (v *validator) checkReminders(s *Street, at []any) {
	p := func(x ...any) []any { return append(append([]any{}, at...), x...) }
	r := &s.Reminders
	if r.SendAt == "" {
		r.SendAt = "09:00"
	}
	if r.NudgeAt == "" {
		r.NudgeAt = "09:30"
	}
	if r.BeforeDueDays == nil {
		r.BeforeDueDays = []int{3, 1, 0}
	}
	for _, f := range []struct{ name, val string }{{"send_at", r.SendAt}, {"nudge_at", r.NudgeAt}} {
		if _, _, err := ClockTime(f.val); err != nil {
			v.fail(err.Error(), p(f.name)...)
		}
	}
	for i, d := range r.BeforeDueDays {
		if d < 0 || d > 60 {
			v.fail("应为 0 到 60 之间的天数", p("before_due_days", i)...)
		}
	}
	if r.NudgeForDays < 0 {
		v.fail("不能为负数", p("nudge_for_days")...)
	}
	for i, m := range r.Milestones {
		if m.Name == "" || m.Date.IsZero() {
			v.fail("每个节点要有 name 和 date", p("milestones", i)...)
		}
	}
	for name, text := range map[string]string{"phase": r.Texts.Phase, "nudge": r.Texts.Nudge, "late": r.Texts.Late,
		"publicity_end": r.Texts.PublicityEnd, "milestone": r.Texts.Milestone} {
		if text == "" {
			continue
		}
		if _, err := template.New(name).Option("missingkey=error").Parse(text); err != nil {
			v.fail(fmt.Sprintf("模板写错了: %v", err), p("texts", name)...)
		}
	}
	communities := map[string]bool{}
	for _, c := range s.Communities {
		communities[c.Name] = true
	}
	for gi, g := range s.Groups {
		for ci, c := range g.Communities {
			if !communities[c] {
				v.fail(fmt.Sprintf("社区 %q 不在本街道的 communities 里", c), "streets", v.streetIndex(s), "groups", gi, "communities", ci)
			}
		}
	}
}

// streetIndex finds s among the config's streets being validated (for error paths).
func (v *validator) streetIndex(s *Street) int {
	for i := range v.streets {
		if &v.streets[i] == s {
			return i
		}
	}
	return 0
}

func knownItems() []string {
	var out []string
	for _, it := range []campaign.Item{campaign.ItemLeadingGroup, campaign.ItemMembers, campaign.ItemTraining,
		campaign.ItemRepresentatives, campaign.ItemPublicity, campaign.ItemCandidates, campaign.ItemElection,
		campaign.ItemDuties, campaign.ItemOfficerTraining, campaign.ItemRegulations, campaign.ItemSelfCheck,
		campaign.ItemSummary, campaign.ItemPhotos} {
		out = append(out, string(it))
	}
	sort.Strings(out)
	return out
}

// lineOf walks the YAML tree along path (map keys and sequence indices) and returns the
// line of the deepest node found, so an error points as close to the field as it can.
func lineOf(root *yaml.Node, path []any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						line = n.Content[i].Line
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

func pathString(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}
