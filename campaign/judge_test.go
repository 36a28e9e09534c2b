package campaign

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// chengxi is the 城西 2021 street of the 000 plan (its steps as in config/default.yaml).
func chengxi() *Street {
	d := func(m, day int) Date { return Date{2021, time.Month(m), day} }
	s := &Street{ID: "chengxi", Name: "城西街道", Rules: chengxi2021,
		Communities: []Community{{Name: "大辛", Population: 6200}, {Name: "太平", Population: 1500}, {Name: "凤凰园", Population: 900}},
		Steps: []Step{
			{ItemLeadingGroup, 1, "成立领导小组", d(6, 11), d(6, 20)},
			{ItemMembers, 2, "夯实会员队伍", d(6, 21), d(6, 30)},
			{ItemMemberGroups, 2, "夯实会员队伍", d(6, 21), d(6, 30)},
			{ItemContactHouseholds, 2, "夯实会员队伍", d(6, 21), d(6, 30)},
			{ItemTraining, 3, "换届知识培训", d(6, 25), d(7, 8)},
			{ItemRepresentatives, 4, "推选会员代表", d(7, 1), d(7, 6)},
			{ItemPublicity, 4, "代表名单公示", d(7, 1), d(7, 9)},
			{ItemCandidates, 5, "候选人名单报街道初审", d(7, 1), d(7, 10)},
			{ItemElection, 6, "召开会员代表大会选举", d(7, 1), d(7, 15)},
			{ItemSummary, 11, "换届总结", d(7, 10), d(7, 20)},
			{ItemPhotos, 11, "换届照片", d(7, 10), d(7, 20)},
			{ItemDuties, 8, "职责落实", d(7, 16), d(7, 31)},
			{ItemOfficerTraining, 8, "新当选人员培训", d(7, 16), d(7, 25)},
			{ItemRegulations, 9, "修订居规民约", d(7, 16), d(7, 31)},
			{ItemSelfCheck, 10, "自查", d(7, 21), d(7, 31)},
		}}
	s.Index()
	return s
}

// book is a community's record being built by a test, one filing at a time.
type book struct {
	rec   Record
	clock time.Time
}

func newBook() *book {
	return &book{rec: Record{Filings: map[Item]*Filing{}}, clock: time.Date(2021, 7, 1, 9, 0, 0, 0, Shanghai)}
}

func (b *book) file(c string, item Item, v Value) *book {
	b.clock = b.clock.Add(time.Minute)
	b.rec.Filings[item] = &Filing{Community: c, Item: item, Value: v, At: b.clock}
	return b
}

func (b *book) review(item Item, status, reason string) *book {
	b.clock = b.clock.Add(time.Minute)
	b.rec.Reviews = append(b.rec.Reviews, Review{Item: item, Of: b.rec.Filings[item].Stamp(), Status: status, Reason: reason, At: b.clock})
	return b
}

func problemsOf(s *Street, c string, rec *Record, item Item, today Date) string {
	cs := s.Judge(c, rec, today)
	return strings.Join(cs.Item(item).Problems, "；")
}

func TestItemWordsNameOneItem(t *testing.T) {
	seen := map[string]Item{}
	for _, d := range Items() {
		for _, w := range append([]string{d.Label}, d.Words...) {
			if other, dup := seen[w]; dup && other != d.ID {
				t.Errorf("word %s names both %s and %s", w, other, d.ID)
			}
			seen[w] = d.ID
			// The word alone, the word followed by what people type after it, and glued to
			// a number: each must find the item the word belongs to, never one whose
			// word is a prefix of it (会员 in 会员代表, 代表 in 代表公示).
			for _, typed := range []string{w, w + " 已完成", w + "320", w + "，大辛"} {
				got, _, ok := ItemByWord(typed)
				if !ok || got.ID != d.ID {
					gotID := Item("")
					if got != nil {
						gotID = got.ID
					}
					t.Errorf("「%s」 finds %q, want %s", typed, gotID, d.ID)
				}
			}
		}
	}
	for typed, want := range map[string]Item{"会员代表": ItemRepresentatives, "代表公示": ItemPublicity,
		"会员小组": ItemMemberGroups, "会员联系户": ItemContactHouseholds, "新任培训": ItemOfficerTraining, "培训": ItemTraining} {
		if got, _, _ := ItemByWord(typed); got == nil || got.ID != want {
			t.Errorf("「%s」: want %s", typed, want)
		}
	}
}

func TestProblemsAreJudgedFromCurrentData(t *testing.T) {
	s := chengxi()
	today := Date{2021, 7, 8}

	// 太平 files a population of 2001 and 40 representatives (the band says 50), then
	// corrects the population to 1500: the representatives are right after all.
	b := newBook().file("太平", ItemMembers, Value{Members: 101, Population: 2001}).
		file("太平", ItemRepresentatives, Value{Count: 40})
	if got := problemsOf(s, "太平", &b.rec, ItemRepresentatives, today); !strings.Contains(got, "总人口 2001 人对应会员代表 50 名") {
		t.Fatalf("40 representatives of 2001 people: %q", got)
	}
	b.file("太平", ItemMembers, Value{Members: 75, Population: 1500})
	cs := s.Judge("太平", &b.rec, today)
	if p := cs.Item(ItemRepresentatives).Problems; len(p) != 0 {
		t.Errorf("after the population is corrected to 1500, 40 representatives are right; still: %q", p)
	}
	if cs.Problems != 0 {
		t.Errorf("太平 counts %d problems, want 0", cs.Problems)
	}

	// An election filed before the candidates were approved: the problem holds only
	// until they are.
	b = newBook().file("大辛", ItemPublicity, Value{Start: Date{2021, 7, 2}}).
		file("大辛", ItemCandidates, Value{Roster: Roster{President: []string{"崔宏"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}}}).
		file("大辛", ItemElection, Value{Date: Date{2021, 7, 6}, Roster: Roster{President: []string{"崔宏"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}, CouncilSize: 11}})
	if got := problemsOf(s, "大辛", &b.rec, ItemElection, today); got != "候选人名单还没有通过街道初审" {
		t.Fatalf("election before 初审: %q", got)
	}
	b.review(ItemCandidates, ReviewApproved, "")
	if got := problemsOf(s, "大辛", &b.rec, ItemElection, today); got != "" {
		t.Errorf("after 初审通过 the election still shows %q", got)
	}
}

func TestReviewBelongsToTheVersionReviewed(t *testing.T) {
	s := chengxi()
	today := Date{2021, 7, 8}
	roster := Roster{President: []string{"崔宏"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}}
	b := newBook().file("大辛", ItemCandidates, Value{Roster: roster})
	is := func() *ItemState { cs := s.Judge("大辛", &b.rec, today); return cs.Item(ItemCandidates) }
	if got := is(); got.Status != StatusPending || !got.Done || got.Owing || got.Word() != "待初审" {
		t.Fatalf("filed, not reviewed: %+v %s", got.Status, got.Word())
	}
	b.review(ItemCandidates, ReviewReturned, "副会长人选需调整")
	got := is()
	if got.Status != StatusReturned || got.Done || !got.Owing || got.ReviewRecord.Reason != "副会长人选需调整" {
		t.Fatalf("returned: status %v done %v owing %v", got.Status, got.Done, got.Owing)
	}
	ss := s.JudgeStreet(map[string]*Record{"大辛": &b.rec}, today)
	if owing := ss.Owing(ItemCandidates); len(owing) != 3 || owing[0].Name != "大辛" {
		t.Errorf("a returned list is owed: owing %d communities", len(owing))
	}
	b.file("大辛", ItemCandidates, Value{Roster: roster})
	if got := is(); got.Status != StatusPending {
		t.Errorf("re-filed after the return: %v, want pending", got.Status)
	}
	b.review(ItemCandidates, ReviewApproved, "")
	if got := is(); got.Status != StatusApproved || got.Word() != "初审已通过" {
		t.Errorf("approved: %v", got.Status)
	}
	b.file("大辛", ItemCandidates, Value{Roster: roster})
	if got := is(); got.Status != StatusPending {
		t.Errorf("re-filed after approval: %v, want pending again", got.Status)
	}
}

func TestDatesAndConfiguredDays(t *testing.T) {
	s := chengxi()
	s.Rules.PublicityDays = 5
	today := Date{2021, 7, 20}
	b := newBook().file("大辛", ItemElection, Value{Date: Date{2021, 7, 10}, Roster: Roster{President: []string{"崔宏"},
		VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}, CouncilSize: 11}})
	if got := problemsOf(s, "大辛", &b.rec, ItemElection, today); !strings.Contains(got, "公示 5 天期满后") {
		t.Errorf("the election check must say the configured 5 days: %q", got)
	}
	// A publicity that starts after its deadline and after the election.
	b.file("大辛", ItemPublicity, Value{Start: Date{2021, 8, 1}})
	got := problemsOf(s, "大辛", &b.rec, ItemPublicity, today)
	for _, want := range []string{"晚于截止日期 7月9日", "选举已在7月10日举行"} {
		if !strings.Contains(got, want) {
			t.Errorf("publicity 8月1日: %q lacks %q", got, want)
		}
	}
	if got := problemsOf(s, "大辛", &b.rec, ItemElection, today); !strings.Contains(got, "公示到8月5日才结束") {
		t.Errorf("election before the publicity ends: %q", got)
	}
	// A training filed with a day in the future is a problem whenever shown.
	b.file("大辛", ItemTraining, Value{Date: Date{2021, 7, 25}})
	if got := problemsOf(s, "大辛", &b.rec, ItemTraining, today); !strings.Contains(got, "还没到") {
		t.Errorf("future training: %q", got)
	}
}

func TestPhotosBelowTheMinimumAreOwed(t *testing.T) {
	s := chengxi()
	today := Date{2021, 7, 21}
	b := newBook()
	for _, st := range s.Steps {
		switch st.Item.Def().Kind {
		case KindPhotos:
		case KindMembers:
			b.file("大辛", st.Item, Value{Members: 320, Population: 6200})
		case KindRepresentatives:
			b.file("大辛", st.Item, Value{Count: 50})
		case KindPublicity:
			b.file("大辛", st.Item, Value{Start: Date{2021, 7, 2}})
		case KindCandidates:
			b.file("大辛", st.Item, Value{Roster: Roster{President: []string{"崔宏"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}}})
			b.review(st.Item, ReviewApproved, "")
		case KindElection:
			b.file("大辛", st.Item, Value{Date: Date{2021, 7, 10}, Roster: Roster{President: []string{"崔宏"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}, CouncilSize: 11}})
		default:
			b.file("大辛", st.Item, Value{Date: Date{2021, 7, 6}})
		}
	}
	b.rec.Photos = 3
	cs := s.Judge("大辛", &b.rec, today)
	ph := cs.Item(ItemPhotos)
	if ph.Done || !ph.Owing || !ph.Late || cs.Complete || cs.Done != cs.Total-1 || cs.Late != 1 {
		t.Fatalf("3 of 6 photos after the deadline: done %v owing %v late %v; community %d/%d late %d complete %v",
			ph.Done, ph.Owing, ph.Late, cs.Done, cs.Total, cs.Late, cs.Complete)
	}
	if got := s.Summary(ph); got != "照片 3 张（还需 3 张）" {
		t.Errorf("photo summary %q", got)
	}
	b.rec.Photos = 6
	if cs := s.Judge("大辛", &b.rec, today); !cs.Complete {
		t.Errorf("with 6 photos 大辛 is complete; problems %d done %d/%d", cs.Problems, cs.Done, cs.Total)
	}
}

// TestMemoJudgesChangesOnly: the memo's answer is the full judgement's, after a change
// of one record and on a new day.
func TestMemoJudgesChangesOnly(t *testing.T) {
	s, recs := bigStreet(40)
	var m Memo
	today := Date{2021, 7, 12}
	same := func(what string, got *StreetState) {
		t.Helper()
		want := s.JudgeStreet(recs, got.Today)
		if got.Complete != want.Complete || got.WithProblems != want.WithProblems || got.WithLate != want.WithLate {
			t.Fatalf("%s: memo %d/%d/%d, full %d/%d/%d", what, got.Complete, got.WithProblems, got.WithLate,
				want.Complete, want.WithProblems, want.WithLate)
		}
		for i := range want.Communities {
			g, w := &got.Communities[i], &want.Communities[i]
			if g.Done != w.Done || g.Problems != w.Problems || g.Late != w.Late || g.Complete != w.Complete {
				t.Fatalf("%s: %s differs", what, w.Name)
			}
		}
	}
	first := m.JudgeStreet(s, recs, today)
	same("first", first)
	// Asked again with nothing changed (every view of every request), the last
	// judgement is the answer: nothing is judged or copied again.
	if again := m.JudgeStreet(s, recs, today); again != first {
		t.Fatalf("nothing changed, yet the memo made a new state")
	}
	if n := testing.AllocsPerRun(10, func() { m.JudgeStreet(s, recs, today) }); n != 0 {
		t.Fatalf("nothing changed, yet judging again allocates %v times", n)
	}
	c := s.Communities[3].Name
	changed := *recs[c]
	changed.Filings = map[Item]*Filing{}
	recs[c] = &changed
	ss := m.JudgeStreet(s, recs, today)
	same("after a change", ss)
	if ss.Communities[3].Done != 0 {
		t.Fatalf("%s emptied still shows %d done", c, ss.Communities[3].Done)
	}
	same("next day", m.JudgeStreet(s, recs, today.AddDays(30)))
}

// TestWorstFirst: the one order of every worst-first list — most items late, then the
// longest overdue, then most problems or returns, then fewest done; config order among
// equals — judged from real records.
func TestWorstFirst(t *testing.T) {
	s := chengxi()
	day := Date{2021, 7, 12}
	roster := Roster{President: []string{"甲"}, VicePresidents: []string{"乙"}, SecretaryGeneral: []string{"丙"}}
	files := func(c string, v Value, items ...Item) *book {
		b := newBook()
		for _, it := range items {
			b.file(c, it, v)
		}
		return b
	}
	ok := Value{Leader: "甲", Members: 60, Population: 900, Count: 30, Roster: roster}
	bad := Value{Members: 10, Population: 900, Count: 20, Roster: roster} // both too few
	recs := map[string]*Record{
		// late with the representatives, publicity and candidates, 6 days at most
		"只欠最近的": &files("只欠最近的", ok, ItemLeadingGroup, ItemMembers, ItemMemberGroups, ItemContactHouseholds, ItemTraining).rec,
		// late with the leading group (22 days), the publicity and the returned candidates
		"被退回": &files("被退回", ok, ItemMembers, ItemMemberGroups, ItemContactHouseholds, ItemTraining, ItemRepresentatives, ItemCandidates).
			review(ItemCandidates, ReviewReturned, "重报").rec,
		// late with the first 4 phases' items done, 4 items late
		"前四项": &files("前四项", ok, ItemLeadingGroup, ItemMembers, ItemMemberGroups, ItemContactHouseholds).rec,
		// late with the leading group, the training and the publicity; two problems
		"有问题": &files("有问题", bad, ItemMembers, ItemMemberGroups, ItemContactHouseholds, ItemRepresentatives, ItemCandidates).
			review(ItemCandidates, ReviewApproved, "").rec,
		"什么都没报": nil,
	}
	s.Communities = nil
	for _, c := range []string{"只欠最近的", "被退回", "前四项", "有问题", "什么都没报"} { // config order
		s.Communities = append(s.Communities, Community{Name: c, Population: 900})
	}
	s.Index()
	ss := s.JudgeStreet(recs, day)
	var got []string
	for _, cs := range ss.WorstFirst() {
		got = append(got, fmt.Sprintf("%s 逾期%d(%d天) 问题%d 退回%d 已报%d", cs.Name, cs.Late, cs.MostDaysLate, cs.Problems, cs.Returned, cs.Done))
	}
	want := []string{
		"什么都没报 逾期8(22天) 问题0 退回0 已报0",
		"前四项 逾期4(6天) 问题0 退回0 已报4",
		"有问题 逾期3(22天) 问题2 退回0 已报5",
		"被退回 逾期3(22天) 问题0 退回1 已报5",
		"只欠最近的 逾期3(6天) 问题0 退回0 已报5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("worst first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A subset keeps the same order.
	sub := WorstFirst([]*CommunityState{ss.Community("只欠最近的"), ss.Community("被退回"), ss.Community("前四项")})
	if sub[0].Name != "前四项" || sub[1].Name != "被退回" || sub[2].Name != "只欠最近的" {
		t.Errorf("subset: %s %s %s", sub[0].Name, sub[1].Name, sub[2].Name)
	}
}

// TestStepStateOn: a step's window on a day, and the step that opens next, with the
// steps listed by phase (the summary, phase 11, after steps that open later).
func TestStepStateOn(t *testing.T) {
	s := chengxi()
	slices.SortStableFunc(s.Steps, func(a, b Step) int { return a.Phase - b.Phase })
	s.Index()
	rep, _ := s.Step(ItemRepresentatives) // 7月1日 to 7月6日
	for _, tc := range []struct {
		day  Date
		want string
		next Item
	}{
		{Date{2021, 6, 30}, "未开始", ItemRepresentatives},
		{Date{2021, 7, 1}, "进行中", ItemSummary},
		{Date{2021, 7, 6}, "今天截止", ItemSummary},
		{Date{2021, 7, 7}, "已截止", ItemSummary},
		{Date{2021, 7, 12}, "已截止", ItemDuties},
		{Date{2021, 7, 21}, "已截止", ""},
	} {
		if got := rep.StateOn(tc.day).Word(); got != tc.want {
			t.Errorf("%s: the representatives %s, want %s", tc.day, got, tc.want)
		}
		var next Item
		if st := s.NextStep(tc.day); st != nil {
			next = st.Item
		}
		var cnext Item
		cs := s.Judge("大辛", nil, tc.day)
		if is := cs.Next(); is != nil {
			cnext = is.Def.ID
		}
		if next != tc.next || cnext != tc.next {
			t.Errorf("%s: next step %q, the community's next %q, want %q", tc.day, next, cnext, tc.next)
		}
	}
}

// TestStreetsWorstFirst: the one order of streets in every district view — the larger
// share of late communities first (a small street with half its communities late before
// a large one with more late communities in all), then the larger share with problems,
// then the smaller share complete; given order among equals.
func TestStreetsWorstFirst(t *testing.T) {
	street := func(name string, communities, late, problems, complete int) *StreetState {
		return &StreetState{Street: &Street{Name: name}, Communities: make([]CommunityState, communities),
			WithLate: late, WithProblems: problems, Complete: complete}
	}
	for _, tc := range []struct {
		name   string
		states []*StreetState
		want   string
	}{
		{"share of late, not count", []*StreetState{street("大街道", 10, 3, 0, 0), street("小街道", 2, 1, 0, 0)}, "小街道 大街道"},
		{"then problems", []*StreetState{street("甲", 4, 1, 0, 2), street("乙", 8, 2, 2, 0)}, "乙 甲"},
		{"then fewer complete", []*StreetState{street("甲", 4, 0, 0, 3), street("乙", 2, 0, 0, 1)}, "乙 甲"},
		{"equals keep their order", []*StreetState{street("甲", 3, 1, 0, 0), street("乙", 6, 2, 0, 0)}, "甲 乙"},
		{"an empty street last", []*StreetState{street("空", 0, 0, 0, 0), street("甲", 3, 1, 0, 0)}, "甲 空"},
	} {
		var got []string
		for _, ss := range StreetsWorstFirst(tc.states) {
			got = append(got, ss.Street.Name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, strings.Join(got, " "), tc.want)
		}
	}
}
