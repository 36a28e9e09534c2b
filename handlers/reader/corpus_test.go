package reader

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"huanjie/campaign"
	"huanjie/internal/corpus"
)

// The corpus (handlers/testdata/corpus.yaml) is run through the readers here, the way a
// filing command would use them, to show what the reader itself understands. The bot's own
// runner (in handlers) checks the stored filings; this test checks that no number, date or
// community the reader reports with certainty disagrees with what a careful person reads.

// example is the part of config/default.yaml the reader test needs.
type example struct {
	Streets []struct {
		People []struct {
			UserID    string `yaml:"userid"`
			Role      string `yaml:"role"`
			Community string `yaml:"community"`
		} `yaml:"people"`
		Communities []struct {
			Name       string `yaml:"name"`
			Population int    `yaml:"population"`
		} `yaml:"communities"`
		Steps []struct {
			Item  string        `yaml:"item"`
			Start campaign.Date `yaml:"start"`
			Due   campaign.Date `yaml:"due"`
		} `yaml:"steps"`
	} `yaml:"streets"`
}

func loadYAML(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The vocabularies a handler would pass, by the sender's role: the registry's words plus
// the ones the corpus shows people use (代表名单 and 会员代表名单 for 公示, 会员代表大会 for 选举).
var (
	secretaryWords = Vocabulary{
		"领导小组": "leading_group", "成立领导小组": "leading_group", "换届领导小组": "leading_group",
		"会员": "members", "会员数": "members", "会员人数": "members",
		"代表": "representatives", "会员代表": "representatives", "代表人数": "representatives", "推选代表": "representatives",
		"公示": "publicity", "名单公示": "publicity", "公示开始": "publicity", "代表公示": "publicity", "代表名单": "publicity", "会员代表名单": "publicity",
		"培训": "training", "换届培训": "training", "知识培训": "training", "换届知识培训": "training", "参加培训": "training",
		"候选人": "candidates", "候选人名单": "candidates", "报候选人": "candidates",
		"选举": "election", "选举结果": "election", "换届选举": "election", "选举完成": "election", "会员代表大会": "election", "代表大会": "election",
		"职责": "duties", "职责落实": "duties", "分工": "duties", "岗位分工": "duties",
		"新任培训": "officer_training", "新当选培训": "officer_training", "新当选人员培训": "officer_training", "新班子培训": "officer_training",
		"居规民约": "regulations", "修订居规民约": "regulations", "居规": "regulations",
		"自查": "selfcheck", "自查完成": "selfcheck",
		"总结": "summary", "换届总结": "summary", "工作总结": "summary",
		"撤销": "undo", "撤回": "undo",
	}
	officeWords = Vocabulary{
		"初审通过": "approve_candidates", "通过初审": "approve_candidates", "初审同意": "approve_candidates",
		"退回": "return", "驳回": "return", "打回": "return",
		"批复": "approve_election", "批复备案": "approve_election", "同意备案": "approve_election",
		"进度": "progress", "导出": "export",
	}
	leaderWords = Vocabulary{"进度": "progress", "导出": "export", "哪些社区还没报": "missing"}
	itemWords   = Vocabulary{"候选人": "candidates", "候选人名单": "candidates", "选举": "election", "选举结果": "election", "换届选举": "election"}
)

// slots per item: the counts a filing takes, by the words that name them.
var itemSlots = map[string][]Slot{
	"members": {
		{Key: "members", Labels: []string{"会员", "会员数", "会员人数", "会员总数"}, Bare: true, Max: 1_000_000},
		{Key: "population", Labels: []string{"总人口", "人口", "常住人口", "户籍人口", "人口数"}, Max: 1_000_000},
	},
	"representatives": {{Key: "count", Labels: []string{"代表", "会员代表", "代表人数", "会员代表人数"}, Bare: true, Max: 1000}},
	"election":        {{Key: "council_size", Labels: []string{"理事会", "理事", "理事会成员", "理事人数", "理事会人数", "理事会成员人数"}, Max: 100}},
}

// dateKey is the date value each item takes, and whether it must lie in the past.
var dateKey = map[string]struct {
	key  string
	done bool
}{
	"publicity": {"start", false}, "training": {"date", true}, "officer_training": {"date", true}, "election": {"date", true},
}

// reading is what the readers made of one message.
type reading struct {
	item     string
	values   map[string]string
	asks     []string // what the reader itself would ask back
	mentions []Mention
}

type world struct {
	community map[string]string // userid → community
	role      map[string]string
	pop       map[string]int
	names     []string
	first     campaign.Date
	last      campaign.Date
}

func loadWorld(t testing.TB) world {
	var ex example
	loadYAML(t, "../../config/default.yaml", &ex)
	st := ex.Streets[0]
	w := world{community: map[string]string{}, role: map[string]string{}, pop: map[string]int{}}
	for _, p := range st.People {
		w.community[p.UserID], w.role[p.UserID] = p.Community, p.Role
	}
	for _, c := range st.Communities {
		w.pop[c.Name] = c.Population
		w.names = append(w.names, c.Name)
	}
	for _, s := range st.Steps {
		if w.first.IsZero() || s.Start.Before(w.first) {
			w.first = s.Start
		}
		if s.Due.After(w.last) {
			w.last = s.Due
		}
	}
	return w
}

// read runs a secretary's message through the readers as a filing command would.
func (w world) read(e corpus.Entry, today campaign.Date) reading {
	r := reading{values: map[string]string{}}
	vocab := secretaryWords
	switch w.role[e.From] {
	case "office":
		vocab = officeWords
	case "leader":
		vocab = leaderWords
	}
	cmd, ok := FindCommand(e.Text, vocab)
	if !ok {
		r.asks = append(r.asks, "没看懂")
		return r
	}
	r.item = cmd.Key
	r.mentions = FindCommunities(e.Text, w.names)
	for _, m := range r.mentions {
		if m.Name != w.community[e.From] {
			r.asks = append(r.asks, "另一个社区："+m.Name)
		}
	}
	if slots, ok := itemSlots[r.item]; ok {
		a := Assign(Numbers(e.Text), slots)
		for k, v := range a.Values {
			r.values[k] = strconv.Itoa(v)
		}
		for _, p := range a.Problems {
			r.asks = append(r.asks, p.Why)
		}
		for _, m := range a.Missing {
			if r.item == "representatives" && strings.Contains(e.Text, "会员大会") {
				r.values["assembly"] = "yes"
				continue
			}
			r.asks = append(r.asks, "缺少 "+m)
		}
	}
	if dk, ok := dateKey[r.item]; ok {
		var certain []Date
		for _, d := range Dates(e.Text, Clock{Today: today, Year: 2021}) {
			if d.Status != Certain {
				r.asks = append(r.asks, d.Why)
				continue
			}
			certain = append(certain, d)
		}
		switch pick, ok, several := About(certain); {
		case ok:
			r.values[dk.key] = pick.Day.ISO()
		case several:
			r.asks = append(r.asks, "几个日期")
		default:
			r.asks = append(r.asks, "缺少日期")
		}
	}
	return r
}

// outcome classifies one entry at the reader level.
type outcome int

const (
	understood outcome = iota // every value the reader gave agrees with want, none missing
	asked                     // the reader itself asks back (want asks, or it could not be sure)
	surfaced                  // want asks; the reader read it and gave the caller what it checks
	falseAsk                  // want has values; the reader could not be sure of one: not wrong, but a question too many
	misread                   // the reader gave a certain value that disagrees, or a full reading where a person would ask
)

var outcomeNames = []string{"understood", "asked", "surfaced", "false-ask", "misread"}

func TestCorpus(t *testing.T) {
	entries := corpus.Load(t, "../testdata/corpus.yaml")
	if len(entries) < 300 {
		t.Errorf("the corpus has %d messages, want at least 300", len(entries))
	}
	w := loadWorld(t)
	counts := map[string][]int{}
	total := make([]int, len(outcomeNames))
	for i, e := range entries {
		today, err := campaign.ParseISODate(e.Today)
		if err != nil {
			t.Fatalf("entry %d: today %q: %v", i, e.Today, err)
		}
		if _, ok := w.role[e.From]; !ok {
			t.Fatalf("entry %d: from %q is nobody in default.yaml", i, e.From)
		}
		o, why := w.judge(e, today)
		if counts[e.Tag] == nil {
			counts[e.Tag] = make([]int, len(outcomeNames))
		}
		counts[e.Tag][o]++
		total[o]++
		switch o {
		case misread:
			t.Errorf("misread %q (from %s, %s): %s", e.Text, e.From, e.Today, why)
		case falseAsk:
			t.Logf("asks although a person reads it: %q: %s", e.Text, why)
		}
	}
	tags := make([]string, 0, len(counts))
	for k := range counts {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-22s %5s", "tag", "n")
	for _, n := range outcomeNames {
		fmt.Fprintf(&sb, " %10s", n)
	}
	for _, tag := range append(tags, "total") {
		c := counts[tag]
		if tag == "total" {
			c = total
		}
		n := 0
		for _, x := range c {
			n += x
		}
		fmt.Fprintf(&sb, "\n%-22s %5d", tag, n)
		for _, x := range c {
			fmt.Fprintf(&sb, " %10d", x)
		}
	}
	t.Logf("reader-level results on %d messages:\n%s", len(entries), sb.String())
	if total[falseAsk] > 0 {
		t.Errorf("%d messages a person reads were not understood by the reader (see the log)", total[falseAsk])
	}
}

// judge runs one entry and classifies it, with the reason when it is not plain.
func (w world) judge(e corpus.Entry, today campaign.Date) (outcome, string) {
	if e.Want.Review != "" || strings.HasPrefix(e.Tag, "office") && w.role[e.From] == "office" {
		return w.judgeReview(e)
	}
	if e.Want.Away != "" || e.Tag == "ask-leave" {
		return judgeLeave(e, today)
	}
	r := w.read(e, today)
	if !e.Want.Ask {
		if r.item != e.Want.Item {
			if r.item == "" {
				return falseAsk, "no command word found"
			}
			return misread, fmt.Sprintf("item %s, want %s", r.item, e.Want.Item)
		}
		for k, want := range e.Want.Values {
			got, ok := r.values[k]
			switch {
			case k == "president" || k == "vice_president" || k == "secretary_general" || k == "leader" || k == "text_chars":
				continue // read by handlers
			case !ok:
				return falseAsk, fmt.Sprintf("%s unread (%s)", k, strings.Join(r.asks, "；"))
			case got != want:
				return misread, fmt.Sprintf("%s = %s, want %s", k, got, want)
			}
		}
		if len(r.asks) > 0 {
			return falseAsk, strings.Join(r.asks, "；")
		}
		return understood, ""
	}
	// want asks back.
	switch e.Tag {
	case "ask-not-a-name", "ask-question", "ask-done-only":
		return surfaced, "" // names, questions and what stands for a value are read by handlers
	}
	if len(r.asks) > 0 {
		if e.Want.Says != "" && !slices.ContainsFunc(r.asks, func(a string) bool { return strings.Contains(a, e.Want.Says) }) &&
			!slices.ContainsFunc(r.mentions, func(m Mention) bool { return strings.Contains(e.Want.Says, m.Name) }) {
			return misread, fmt.Sprintf("asks %q but not about %q", r.asks, e.Want.Says)
		}
		return asked, ""
	}
	// The reader read it all: the caller's checks must have what they need to ask.
	switch e.Tag {
	case "ask-implausible":
		m, _ := strconv.Atoi(r.values["members"])
		p, hasPop := r.values["population"]
		pop, _ := strconv.Atoi(p)
		cfg := w.pop[w.community[e.From]]
		if hasPop && (pop <= 0 || m > pop || absInt(pop-cfg)*4 > cfg) {
			return surfaced, ""
		}
	case "ask-outside-campaign":
		for _, k := range []string{"start", "date"} {
			v, ok := r.values[k]
			if !ok {
				continue
			}
			d, _ := campaign.ParseISODate(v)
			if d.Before(w.first) || d.After(w.last) || (dateKey[r.item].done && d.After(today)) {
				return surfaced, ""
			}
		}
		if r.item == "training" && !strings.Contains(e.Text, "已") {
			return surfaced, "" // 「培训 明天参加」: not done yet
		}
	case "ask-missing":
		if _, counts := itemSlots[r.item]; !counts && dateKey[r.item].key == "" {
			return surfaced, "" // names and text are read by handlers: 「候选人」 alone has none
		}
	case "ask-publicity-end":
		return surfaced, "" // the caller compares a written end with the rules' length
	case "ask-shorter-summary", "ask-role":
		return surfaced, "" // the previous summary and the sender's role are the caller's
	case "ask-unreadable":
		if r.item == "summary" {
			return surfaced, "" // 300 letters: the caller compares with the summary it replaces
		}
	}
	return misread, fmt.Sprintf("read %v with certainty where a person would ask", r.values)
}

// judgeLeave reads the office's 「请假 <姓名> 到<日期>」 as the handler does: the dates,
// read towards the future; one that ends the leave, or a range from one day to another.
func judgeLeave(e corpus.Entry, today campaign.Date) (outcome, string) {
	ds := Dates(e.Text, Clock{Today: today, Year: 2021, Lean: Future})
	var asks []string
	for _, d := range ds {
		if d.Status != Certain {
			asks = append(asks, d.Why)
		}
	}
	var from, until campaign.Date
	switch {
	case len(asks) > 0:
	case len(ds) == 1 && ds[0].Role != Start:
		from, until = today, ds[0].Day
	case len(ds) == 2 && ds[0].Role == Start && ds[1].Role == End:
		from, until = ds[0].Day, ds[1].Day
	}
	if e.Want.Ask {
		switch {
		case len(asks) > 0 && e.Want.Says != "" && !slices.ContainsFunc(asks, func(a string) bool { return strings.Contains(a, e.Want.Says) }):
			return misread, fmt.Sprintf("asks %q but not about %q", asks, e.Want.Says)
		case len(asks) > 0:
			return asked, ""
		case until.IsZero() || until.Before(today):
			return surfaced, "" // no day, several, or one past: the caller asks
		}
		return misread, fmt.Sprintf("read %s to %s with certainty where a person would ask", from, until)
	}
	if len(asks) > 0 || until.IsZero() {
		return falseAsk, strings.Join(asks, "；")
	}
	got := map[string]string{"from": from.ISO(), "until": until.ISO()}
	for k, want := range e.Want.Values {
		if got[k] != want {
			return misread, fmt.Sprintf("%s = %s, want %s", k, got[k], want)
		}
	}
	return understood, ""
}

func (w world) judgeReview(e corpus.Entry) (outcome, string) {
	cmd, ok := FindCommand(e.Text, officeWords)
	if !ok {
		if e.Want.Ask {
			return asked, ""
		}
		return falseAsk, "no command word found"
	}
	rv := ReadReview(e.Text, cmd, w.names, itemWords)
	item := rv.Item
	if item == "" {
		// The bot takes the election when one awaits 批复, else the candidates.
		item = "candidates"
		for _, s := range e.Setup {
			if strings.HasPrefix(Normalize(s.Text), "选举") {
				item = "election"
			}
		}
	}
	review := map[string]string{"approve_candidates": "approve", "approve_election": "approve", "return": "return"}[cmd.Key]
	if cmd.Key == "approve_candidates" {
		item = "candidates"
	} else if cmd.Key == "approve_election" {
		item = "election"
	}
	if e.Want.Ask {
		switch {
		case rv.Community.Kind != Exact:
			if e.Want.Says != "" && !strings.Contains(rv.Community.Question()+rv.Community.Name+strings.Join(rv.Community.Candidates, ""), strings.Trim(e.Want.Says, "您是不是要找「」？")) {
				return misread, fmt.Sprintf("community %+v, want a question about %q", rv.Community, e.Want.Says)
			}
			if e.Want.Says != "" && rv.Community.Kind == Close && strings.Contains(e.Want.Says, "您是不是要找") && !strings.Contains(rv.Community.Question(), e.Want.Says) {
				return misread, fmt.Sprintf("question %q, want %q", rv.Community.Question(), e.Want.Says)
			}
			return asked, ""
		case review == "return" && rv.Reason == "":
			return asked, ""
		}
		// A community written exactly, nothing missing: the caller asks from the state
		// (nothing filed to review, an election not filed).
		return surfaced, ""
	}
	switch {
	case rv.Community.Kind != Exact:
		return falseAsk, fmt.Sprintf("community %+v", rv.Community)
	case rv.Community.Name != e.Want.Community:
		return misread, fmt.Sprintf("community %s, want %s", rv.Community.Name, e.Want.Community)
	case review != e.Want.Review:
		return misread, fmt.Sprintf("review %s, want %s", review, e.Want.Review)
	case item != e.Want.Item:
		return misread, fmt.Sprintf("item %s, want %s", item, e.Want.Item)
	case review == "return" && rv.Reason != e.Want.Reason:
		return misread, fmt.Sprintf("reason %q, want %q", rv.Reason, e.Want.Reason)
	}
	return understood, ""
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
