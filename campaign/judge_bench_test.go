package campaign

import (
	"fmt"
	"testing"
	"time"
)

// bigStreet is the 城西 plan with n communities, each having filed the first few items
// in a mix of states (some with problems, some returned).
func bigStreet(n int) (*Street, map[string]*Record) {
	s := chengxi()
	s.Communities = nil
	recs := make(map[string]*Record, n)
	at := time.Date(2021, 7, 1, 9, 0, 0, 0, Shanghai)
	for i := range n {
		name := fmt.Sprintf("社区%05d", i)
		s.Communities = append(s.Communities, Community{Name: name, Population: 1000 + i%5000})
		rec := &Record{Filings: map[Item]*Filing{}, Photos: i % 8}
		file := func(item Item, v Value) Filing {
			f := Filing{Community: name, Item: item, Value: v, At: at}
			rec.Filings[item] = &f
			return f
		}
		file(ItemLeadingGroup, Value{Leader: "组长"})
		file(ItemMembers, Value{Members: 40 + i%100, Population: 1000 + i%5000})
		if i%3 > 0 {
			file(ItemRepresentatives, Value{Count: 40})
			file(ItemPublicity, Value{Start: Date{2021, 7, 2}})
		}
		if i%4 > 0 {
			c := file(ItemCandidates, Value{Roster: Roster{President: []string{"甲"}, VicePresidents: []string{"乙"}, SecretaryGeneral: []string{"丙"}}})
			status := ReviewApproved
			if i%7 == 0 {
				status = ReviewReturned
			}
			rec.Reviews = append(rec.Reviews, Review{Item: ItemCandidates, Of: c.Stamp(), Status: status, At: at})
		}
		recs[name] = rec
	}
	s.Index()
	return s, recs
}

// BenchmarkJudgeStreet measures the one judgement every view renders.
//
//	go test -run '^$' -bench JudgeStreet -benchmem ./campaign
func BenchmarkJudgeStreet(b *testing.B) {
	for _, n := range []int{15, 10000} {
		b.Run(fmt.Sprintf("communities=%d", n), func(b *testing.B) {
			s, recs := bigStreet(n)
			today := Date{2021, 7, 12}
			b.ReportAllocs()
			for b.Loop() {
				ss := s.JudgeStreet(recs, today)
				if len(ss.Communities) != n {
					b.Fatal(len(ss.Communities))
				}
			}
		})
	}
}

// BenchmarkJudgeStreetMemo measures judging again after one community changed, as 进度
// does between two questions.
//
//	go test -run '^$' -bench JudgeStreetMemo -benchmem ./campaign
func BenchmarkJudgeStreetMemo(b *testing.B) {
	for _, n := range []int{15, 10000} {
		b.Run(fmt.Sprintf("communities=%d", n), func(b *testing.B) {
			s, recs := bigStreet(n)
			today := Date{2021, 7, 12}
			var m Memo
			m.JudgeStreet(s, recs, today)
			name := s.Communities[n/2].Name
			b.ReportAllocs()
			for b.Loop() {
				changed := *recs[name]
				recs[name] = &changed // a new record, as storage hands out after a change
				if ss := m.JudgeStreet(s, recs, today); len(ss.Communities) != n {
					b.Fatal(len(ss.Communities))
				}
			}
		})
	}
}
