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
	BotName   string              `yaml:"bot_name"`
	DemoClock string              `yaml:"demo_clock"`
	Calendar  campaign.Calendar   `yaml:"calendar"`
	Streets   []campaign.Street   `yaml:"streets"`
	Districts []campaign.District `yaml:"districts"`

	// Source names where the config came from (a path or DefaultName).
	Source string `yaml:"-"`
	// DemoStart is DemoClock parsed (zero if unset).
	DemoStart time.Time `yaml:"-"`

	idx *index
}

// index are the config's lookups across streets, built once at load: a 1:1 message from
// the last of 500 streets finds its street by one map lookup, not by asking each street.
type index struct {
	street   map[string]int    // street id → index
	chat     map[string][2]int // chatid → street index, group index
	district map[string][2]int // chatid → district index, group index
	person   map[string]int    // configured userid → street index
	official map[string]int    // district person's userid → district index
}

// Index builds the lookups; Load and Parse call it. Call it again after changing Streets.
func (c *Config) Index() {
	x := &index{street: map[string]int{}, chat: map[string][2]int{}, district: map[string][2]int{},
		person: map[string]int{}, official: map[string]int{}}
	for i := range c.Streets {
		s := &c.Streets[i]
		s.Index()
		x.street[s.ID] = i
		for j, g := range s.Groups {
			x.chat[g.ChatID] = [2]int{i, j}
		}
		for _, p := range s.People {
			if _, dup := x.person[p.UserID]; !dup {
				x.person[p.UserID] = i
			}
		}
	}
	for i, d := range c.Districts {
		for j, g := range d.Groups {
			x.district[g.ChatID] = [2]int{i, j}
		}
		for _, p := range d.People {
			x.official[p.UserID] = i
		}
	}
	c.idx = x
}

// The plan's types live in campaign; config only reads them from YAML and validates them.
type (
	Street    = campaign.Street
	Group     = campaign.Group
	Person    = campaign.Person
	Community = campaign.Community
	Calendar  = campaign.Calendar
	Reminders = campaign.Reminders
	Milestone = campaign.Milestone
	Texts     = campaign.Texts
)

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
	for di := range c.Districts {
		for gi := range c.Districts[di].Groups {
			g := &c.Districts[di].Groups[gi]
			if g.WebhookKeyEnv != "" {
				g.WebhookKey = strings.TrimSpace(env(g.WebhookKeyEnv))
			}
		}
	}
	c.Index()
	return &c, nil
}

func (c *Config) index() *index {
	if c.idx == nil {
		c.Index()
	}
	return c.idx
}

// Street returns the street with id. Streets added after load (tests) are found too.
func (c *Config) Street(id string) (*Street, bool) {
	if i, ok := c.index().street[id]; ok && i < len(c.Streets) && c.Streets[i].ID == id {
		return &c.Streets[i], true
	}
	for i := range c.Streets {
		if c.Streets[i].ID == id {
			return &c.Streets[i], true
		}
	}
	return nil, false
}

// StreetOfChat returns the street a group chat belongs to.
func (c *Config) StreetOfChat(chatID string) (*Street, *Group, bool) {
	if ij, ok := c.index().chat[chatID]; ok && ij[0] < len(c.Streets) && ij[1] < len(c.Streets[ij[0]].Groups) &&
		c.Streets[ij[0]].Groups[ij[1]].ChatID == chatID {
		return &c.Streets[ij[0]], &c.Streets[ij[0]].Groups[ij[1]], true
	}
	for i := range c.Streets {
		for j := range c.Streets[i].Groups {
			if c.Streets[i].Groups[j].ChatID == chatID {
				return &c.Streets[i], &c.Streets[i].Groups[j], true
			}
		}
	}
	return nil, nil, false
}

// StreetOfPerson returns the street whose config names userid.
func (c *Config) StreetOfPerson(userid string) (*Street, bool) {
	if i, ok := c.index().person[userid]; ok && i < len(c.Streets) {
		if _, named := c.Streets[i].Person(userid); named {
			return &c.Streets[i], true
		}
	}
	return nil, false
}

// DistrictOfChat returns the district a group chat belongs to.
func (c *Config) DistrictOfChat(chatID string) (*campaign.District, *Group, bool) {
	if ij, ok := c.index().district[chatID]; ok && ij[0] < len(c.Districts) {
		d := &c.Districts[ij[0]]
		return d, &d.Groups[ij[1]], true
	}
	return nil, nil, false
}

// DistrictOfPerson returns the district whose config names userid.
func (c *Config) DistrictOfPerson(userid string) (*campaign.District, bool) {
	if i, ok := c.index().official[userid]; ok && i < len(c.Districts) {
		return &c.Districts[i], true
	}
	return nil, false
}

// StreetsOf lists a district's streets, in the district's order.
func (c *Config) StreetsOf(d *campaign.District) []*Street {
	var out []*Street
	for _, id := range d.Streets {
		if s, ok := c.Street(id); ok {
			out = append(out, s)
		}
	}
	return out
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
		v.checkGroups(s.Groups, chats, at)
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
		v.checkExemptions(s, at("exemptions"))
		v.checkReminders(s, at("reminders"))
		seen := map[campaign.Item]bool{}
		for ti, st := range s.Steps {
			if !st.Item.Known() {
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
	v.checkDistricts(c, chats)
}

func (v *validator) checkDistricts(c *Config, chats map[string]bool) {
	streets := map[string]bool{}
	for _, s := range c.Streets {
		streets[s.ID] = true
	}
	ids, inDistrict := map[string]bool{}, map[string]bool{}
	for di, d := range c.Districts {
		at := func(p ...any) []any { return append([]any{"districts", di}, p...) }
		if !streetID.MatchString(d.ID) {
			v.fail("应为小写字母、数字、- 或 _（例如 boshan）", at("id")...)
		} else if ids[d.ID] || streets[d.ID] {
			v.fail("与前面的区或街道重复", at("id")...)
		}
		ids[d.ID] = true
		if d.Name == "" {
			v.fail("不能为空", at("name")...)
		}
		v.checkGroups(d.Groups, chats, at)
		for pi, p := range d.People {
			if p.UserID == "" {
				v.fail("不能为空", at("people", pi, "userid")...)
			}
			if p.Role != campaign.RoleLeader && p.Role != campaign.RoleOffice {
				v.fail("区里的人员应为 leader（领导）或 office（办公室）", at("people", pi, "role")...)
			}
		}
		if len(d.Streets) == 0 {
			v.fail("至少要有一个街道", at("streets")...)
		}
		for si, id := range d.Streets {
			switch {
			case !streets[id]:
				v.fail(fmt.Sprintf("街道 %q 不在 streets 里", id), at("streets", si)...)
			case inDistrict[id]:
				v.fail(fmt.Sprintf("街道 %q 已经属于另一个区", id), at("streets", si)...)
			}
			inDistrict[id] = true
		}
	}
}

// checkGroups checks a street's or a district's group chats; chats holds every chatid
// seen so far, streets' and districts' alike.
func (v *validator) checkGroups(groups []Group, chats map[string]bool, at func(...any) []any) {
	for gi, g := range groups {
		if g.ChatID == "" {
			v.fail("不能为空", at("groups", gi, "chatid")...)
		} else if chats[g.ChatID] {
			v.fail("同一个群不能出现两次（街道和区的群也不能相同）", at("groups", gi, "chatid")...)
		}
		chats[g.ChatID] = true
		switch {
		case g.Push != "" && g.Push != "webhook" && g.Push != "bot":
			v.fail("只能是 webhook（群的消息推送 webhook）或 bot（机器人长连接主动推送），不填按有无 webhook key 决定", at("groups", gi, "push")...)
		case g.Push == "webhook" && g.WebhookKeyEnv == "":
			v.fail("push: webhook 需要 webhook_key_env", at("groups", gi, "push")...)
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
	if !v.has(p("nudge_for_days")...) {
		r.NudgeForDays = defaultNudgeForDays
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
	v.checkEscalation(s, p("escalation"))
	for name, text := range map[string]string{"phase": r.Texts.Phase, "opening": r.Texts.Opening, "nudge": r.Texts.Nudge,
		"late": r.Texts.Late, "publicity_end": r.Texts.PublicityEnd, "milestone": r.Texts.Milestone} {
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

// checkEscalation checks the nudge's ladder: rungs are working days, the leaders' rung
// comes after the head's, and a head rung says who the head is.
func (v *validator) checkEscalation(s *Street, at []any) {
	p := func(x ...any) []any { return append(append([]any{}, at...), x...) }
	e := s.Reminders.Escalation
	for _, f := range []struct {
		name string
		n    int
	}{{"head_after_workdays", e.HeadAfterWorkdays}, {"leaders_after_workdays", e.LeadersAfterWorkdays}} {
		if f.n < 0 || f.n > 60 {
			v.fail("应为 0 到 60 之间的工作日数（0 表示不启用）", p(f.name)...)
		}
	}
	if e.HeadAfterWorkdays > 0 && e.LeadersAfterWorkdays > 0 && e.LeadersAfterWorkdays <= e.HeadAfterWorkdays {
		v.fail(fmt.Sprintf("应大于 head_after_workdays（%d）：先提醒社区书记，再报领导", e.HeadAfterWorkdays), p("leaders_after_workdays")...)
	}
	if e.HeadAfterWorkdays > 0 && len(e.Head) == 0 {
		v.fail("写了 head_after_workdays 就要写 head：社区书记的职务（如 [书记, 主任]）或某人的 userid", p("head")...)
	}
	for i, h := range e.Head {
		if strings.TrimSpace(h) == "" {
			v.fail("不能为空：写职务（如 书记）或 people 里某人的 userid", p("head", i)...)
		}
	}
}

// checkExemptions checks the exemptions known in advance: a community of the street, an
// item it plans, a reason, each once.
func (v *validator) checkExemptions(s *Street, at []any) {
	p := func(x ...any) []any { return append(append([]any{}, at...), x...) }
	communities := map[string]bool{}
	for _, c := range s.Communities {
		communities[c.Name] = true
	}
	planned := map[campaign.Item]bool{}
	for _, st := range s.Steps {
		planned[st.Item] = true
	}
	seen := map[string]bool{}
	for i, e := range s.Exemptions {
		if !communities[e.Community] {
			v.fail(fmt.Sprintf("社区 %q 不在本街道的 communities 里", e.Community), p(i, "community")...)
		}
		if !planned[e.Item] {
			v.fail(fmt.Sprintf("事项 %q 不在本街道的 steps 里", e.Item), p(i, "item")...)
		}
		if strings.TrimSpace(e.Reason) == "" {
			v.fail("要写免报原因（例如 会员大会代替）", p(i)...)
		}
		if k := e.Community + "\n" + string(e.Item); seen[k] {
			v.fail("重复的免报", p(i)...)
		} else {
			seen[k] = true
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
	for _, d := range campaign.Items() {
		out = append(out, string(d.ID))
	}
	sort.Strings(out)
	return out
}

// defaultNudgeForDays is how long a late item is nudged when the config does not say
// (nudge_for_days: 0 turns the nudges off).
const defaultNudgeForDays = 10

// has reports whether the YAML has a node at path (map keys and sequence indices).
func (v *validator) has(path ...any) bool {
	n := v.root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
					break
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
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
