package reminders_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

// manyStreets is a campaign of n streets, each with one group of two communities that
// both miss the members deadline.
func manyStreets(t testing.TB, n int) *config.Config {
	var b strings.Builder
	b.WriteString("bot_name: 换届助手\nstreets:\n")
	for s := range n {
		fmt.Fprintf(&b, `  - id: s%03d
    name: 街道%03d
    office: 计生协%03d
    groups:
      - {chatid: g%03d, name: 群%03d, webhook_key_env: K%03d, communities: [甲%03d, 乙%03d]}
    people:
      - {userid: a%03d, role: secretary, community: 甲%03d}
      - {userid: b%03d, role: secretary, community: 乙%03d}
    communities:
      - {name: 甲%03d, population: 3000}
      - {name: 乙%03d, population: 3000}
    rules:
      member_share_min: 0.05
      representative_bands: [{representatives: 50}]
      publicity_days: 3
      council: {min: 9, max: 11}
    steps:
      - {item: members, phase: 2, name: 夯实会员队伍, start: 2021-06-21, due: 2021-06-30}
    reminders: {before_due_days: [0]}
`, s, s, s, s, s, s, s, s, s, s, s, s, s, s)
	}
	cfg, err := config.Parse([]byte(b.String()), "many.yaml", func(k string) string { return "key-" + k })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestTickCostIsConstant: the tick that runs every minute costs the same few round trips
// to Redis for 1 street as for 500, once the morning's reminders are queued (and the
// wave itself is one more write per occurrence due, not per street).
func TestTickCostIsConstant(t *testing.T) {
	trips := map[int]int64{}
	for _, n := range []int{1, 500} {
		cfg := manyStreets(t, n)
		_, prefix := testredis.Client(t)
		c := redis.NewClient(&redis.Options{Addr: testredis.Addr()})
		t.Cleanup(func() { c.Close() })
		hook := &tripHook{}
		c.AddHook(hook)
		store := storage.NewRedis(c, prefix)
		s := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(), Log: quiet(),
			Clock: func() time.Time { return at(7, 1, 9, 30) }}
		if err := s.Tick(context.Background()); err != nil { // the wave
			t.Fatal(err)
		}
		if p, _ := store.Outbox().Pending(context.Background(), cfg.Streets[n-1].ID); p == 0 {
			t.Fatalf("%d streets: the wave queued nothing in the last street", n)
		}
		hook.n.Store(0)
		if err := s.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		trips[n] = hook.n.Load()
	}
	if trips[500] != trips[1] || trips[500] > 3 {
		t.Errorf("a steady tick took %d round trips for 1 street and %d for 500; want the same, at most 3", trips[1], trips[500])
	}
}

// BenchmarkTickRoundTrips reports the round trips of a steady tick for 1 and 500 streets.
//
//	go test -run '^$' -bench TickRoundTrips ./reminders
func BenchmarkTickRoundTrips(b *testing.B) {
	for _, n := range []int{1, 500} {
		b.Run(fmt.Sprintf("streets=%d", n), func(b *testing.B) {
			cfg := manyStreets(b, n)
			_, prefix := testredis.Client(b)
			c := redis.NewClient(&redis.Options{Addr: testredis.Addr()})
			b.Cleanup(func() { c.Close() })
			hook := &tripHook{}
			c.AddHook(hook)
			store := storage.NewRedis(c, prefix)
			s := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(), Log: quiet(),
				Clock: func() time.Time { return at(7, 1, 9, 30) }}
			if err := s.Tick(context.Background()); err != nil {
				b.Fatal(err)
			}
			hook.n.Store(0)
			b.ResetTimer()
			for range b.N {
				if err := s.Tick(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(hook.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
