package campaign

import (
	"testing"
	"time"
)

// TestExemptionsInTheJudgement: an excused item is neither owed nor late and reads
// 「免报（原因）」 wherever it is shown; the election no longer waits for an excused
// publicity or 初审; an exemption from the config counts like one the office typed; the
// street's counts and tallies follow.
func TestExemptionsInTheJudgement(t *testing.T) {
	s := chengxi()
	s.Exemptions = []ConfigExemption{{Community: "太平", Item: ItemRepresentatives, Reason: "会员大会代替"}}
	s.Index()
	day := Date{2021, 7, 12}
	at := time.Date(2021, 7, 5, 9, 0, 0, 0, Shanghai)
	fenghuang := newBook()
	fenghuang.rec.Exemptions = map[Item]*Exemption{
		ItemPublicity:  {Item: ItemPublicity, Reason: "会员大会，无需公示", By: "luolimei", At: at},
		ItemCandidates: {Item: ItemCandidates, Reason: "等额选举已报区里", By: "luolimei", At: at},
	}
	fenghuang.file("凤凰园", ItemElection, Value{Date: Date{2021, 7, 10}, Roster: Roster{President: []string{"徐海峰"},
		VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}, CouncilSize: 9}})

	for _, tc := range []struct {
		name      string
		community string
		rec       *Record
		item      Item
		status    Status
		word      string
		summary   string
	}{
		{"excused by the office", "凤凰园", &fenghuang.rec, ItemPublicity, StatusExempt, "免报", "免报（会员大会，无需公示）"},
		{"excused in the config", "太平", nil, ItemRepresentatives, StatusExempt, "免报", "免报（会员大会代替）"},
		{"not excused: late", "太平", nil, ItemPublicity, StatusOverdue, "逾期未报", "未报，7月9日截止，已逾期 3 天"},
		{"the election waits for nothing excused", "凤凰园", &fenghuang.rec, ItemElection, StatusPending, "待批复", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := s.Judge(tc.community, tc.rec, day)
			is := cs.Item(tc.item)
			if is.Status != tc.status || is.Word() != tc.word {
				t.Errorf("%s/%s: %v %q, want %v %q (problems %q)", tc.community, tc.item, is.Status, is.Word(), tc.status, tc.word, is.Problems)
			}
			exempt := tc.status == StatusExempt
			if exempt && (!is.Done || is.Owing || is.Late || is.DaysLate != 0 || is.Status.Icon() != "➖") {
				t.Errorf("an excused item: done %v owing %v late %v (%d days) icon %s", is.Done, is.Owing, is.Late, is.DaysLate, is.Status.Icon())
			}
			if tc.summary != "" && s.Summary(is) != tc.summary {
				t.Errorf("summary %q, want %q", s.Summary(is), tc.summary)
			}
			if tc.item == ItemElection && len(is.Problems) != 0 {
				t.Errorf("the election has problems %q", is.Problems)
			}
		})
	}
	ss := s.JudgeStreet(map[string]*Record{"凤凰园": &fenghuang.rec}, day)
	if cs := ss.Community("凤凰园"); cs.Exempt != 2 || cs.Late != 6 {
		t.Errorf("凤凰园: exempt %d late %d, want 2 and 6", cs.Exempt, cs.Late)
	}
	if got := ss.Tally(ItemRepresentatives); got.Exempt != 1 || got.Late != 2 || got.Owing != 2 {
		t.Errorf("tally of the representatives %+v: 太平 excused, 大辛 and 凤凰园 late", got)
	}
	for _, cs := range ss.NotDone(ItemRepresentatives) {
		if cs.Name == "太平" {
			t.Errorf("the excused 太平 is listed as not done")
		}
	}
	// Without the exemption the same election has the two problems it was spared.
	fenghuang.rec.Exemptions = nil
	if got := problemsOf(s, "凤凰园", &fenghuang.rec, ItemElection, day); got == "" {
		t.Errorf("without the exemptions the election should wait for the publicity and 初审")
	}
}

// TestRecordWithKeepsTheRest: a record with one more filing (what a filing's reply is
// judged on) is judged as the stored record will be: excused items stay excused, photos
// and reviews stay, and the record it came from is untouched.
func TestRecordWithKeepsTheRest(t *testing.T) {
	s := chengxi()
	day := Date{2021, 7, 12}
	at := time.Date(2021, 7, 5, 9, 0, 0, 0, Shanghai)
	b := newBook()
	b.file("凤凰园", ItemCandidates, Value{Roster: Roster{President: []string{"徐海峰"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}}}).
		review(ItemCandidates, ReviewApproved, "")
	b.rec.Photos = 7
	b.rec.Exemptions = map[Item]*Exemption{ItemPublicity: {Item: ItemPublicity, Reason: "会员大会，无需公示", By: "luolimei", At: at}}
	election := Filing{Community: "凤凰园", Item: ItemElection, At: at, Value: Value{Date: Date{2021, 7, 10},
		Roster: Roster{President: []string{"徐海峰"}, VicePresidents: []string{"王芳"}, SecretaryGeneral: []string{"李丽"}, CouncilSize: 9}}}

	for _, tc := range []struct {
		name   string
		rec    *Record
		item   Item
		status Status
	}{
		{"the excused publicity stays excused", &b.rec, ItemPublicity, StatusExempt},
		{"the election waits for nothing excused", &b.rec, ItemElection, StatusPending},
		{"the approval stays", &b.rec, ItemCandidates, StatusApproved},
		{"the photos stay", &b.rec, ItemPhotos, StatusFiled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := s.Judge("凤凰园", tc.rec.With(election), day)
			is := cs.Item(tc.item)
			if is.Status != tc.status || len(is.Problems) > 0 {
				t.Errorf("%s: %s %q, want %s", tc.item, is.Word(), is.Problems, (&ItemState{Def: is.Def, Status: tc.status}).Word())
			}
			if tc.rec.Ref(ItemElection) != nil {
				t.Errorf("With changed the record it copied")
			}
		})
	}
	var none *Record
	if f := none.With(election).Ref(ItemElection); f == nil || f.Value.Date != election.Value.Date {
		t.Errorf("an empty record with the election: %+v", f)
	}
}
