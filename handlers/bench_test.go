package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

// benchBot is the 城西 plan with n communities in real Redis, each having filed a few
// items in a mix of states.
func benchBot(b *testing.B, n int) *Bot {
	b.Helper()
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	st := &cfg.Streets[0]
	st.Communities = nil
	for i := range n {
		st.Communities = append(st.Communities, config.Community{Name: fmt.Sprintf("社区%05d", i), Population: 1000 + i%5000})
	}
	st.Index()
	c, prefix := testredis.Client(b)
	store := storage.NewRedis(c, prefix)
	at := time.Date(2021, 7, 1, 9, 0, 0, 0, campaign.Shanghai)
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				name := st.Communities[i].Name
				save := func(item campaign.Item, v campaign.Value) {
					f := campaign.Filing{Street: st.ID, Community: name, Item: item, Value: v, By: "bench", At: at, Version: campaign.NewVersion(at)}
					if err := store.Save(context.Background(), f); err != nil {
						b.Error(err)
					}
				}
				save(campaign.ItemLeadingGroup, campaign.Value{Leader: "组长"})
				save(campaign.ItemMembers, campaign.Value{Members: 40 + i%100, Population: 1000 + i%5000})
				if i%3 > 0 {
					save(campaign.ItemRepresentatives, campaign.Value{Count: 40})
					save(campaign.ItemPublicity, campaign.Value{Start: campaign.Date{Year: 2021, Month: 7, Day: 2}})
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return New(Deps{Config: cfg, Filings: store, Bindings: store, Confirmations: store,
		Clock: func() time.Time { return time.Date(2021, 7, 12, 9, 0, 0, 0, campaign.Shanghai) },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// BenchmarkProgress measures 进度 and 哪些社区还没报 through the handler on real Redis,
// with one community filing between two questions (as in a live group).
//
//	go test -run '^$' -bench 'Progress|Missing' -benchmem ./handlers
func BenchmarkProgress(b *testing.B) { benchAsk(b, "进度") }

// BenchmarkMissing is 哪些社区还没报 the same way.
func BenchmarkMissing(b *testing.B) { benchAsk(b, "哪些社区还没报") }

func benchAsk(b *testing.B, text string) {
	for _, n := range []int{15, 10000} {
		b.Run(fmt.Sprintf("communities=%d", n), func(b *testing.B) {
			bt := benchBot(b, n)
			ask := func(i int) string {
				m := bot.Message{MsgID: fmt.Sprint(i), ChatID: chat, ChatType: "group", From: bot.From{UserID: "quxin"},
					MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + text}}
				return bt.Handle(context.Background(), m).Markdown
			}
			if got := ask(0); !strings.Contains(got, "城西街道") && !strings.Contains(got, "还没报") {
				b.Fatalf("reply: %.200s", got)
			}
			st := &bt.Config.Streets[0]
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				b.StopTimer()
				f := campaign.Filing{Street: st.ID, Community: st.Communities[i%n].Name, Item: campaign.ItemTraining,
					Value: campaign.Value{Date: campaign.Date{Year: 2021, Month: 7, Day: 6}}, By: "bench", At: time.Now(), Version: fmt.Sprint(i)}
				if err := bt.Filings.Save(context.Background(), f); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ask(i)
			}
		})
	}
}

// benchDistrict is a district of nStreets streets of perStreet communities each, every
// community with a few filings, one group chat per street and one for the district.
func benchDistrict(b *testing.B, nStreets, perStreet int) (*Bot, *config.Config) {
	b.Helper()
	base, err := config.Default(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	proto := base.Streets[0]
	cfg := &config.Config{BotName: base.BotName, Calendar: base.Calendar}
	d := campaign.District{ID: "district", Name: "某区", Groups: []config.Group{{ChatID: "g-district", Name: "区群"}},
		People: []config.Person{{UserID: "district-leader", Name: "区长", Role: campaign.RoleLeader, Title: "区长"}}}
	for s := range nStreets {
		st := proto
		st.ID, st.Name = fmt.Sprintf("st%03d", s), fmt.Sprintf("第%03d街道", s)
		st.Groups = []config.Group{{ChatID: fmt.Sprintf("g-%03d", s), Name: st.Name + "群"}}
		st.People = []config.Person{{UserID: fmt.Sprintf("leader-%03d", s), Role: campaign.RoleLeader, Title: "组长"}}
		st.Communities = nil
		for c := range perStreet {
			st.Communities = append(st.Communities, config.Community{Name: fmt.Sprintf("社区%05d", c), Population: 2000})
		}
		cfg.Streets = append(cfg.Streets, st)
		d.Streets = append(d.Streets, st.ID)
	}
	cfg.Districts = []campaign.District{d}
	cfg.Index()
	c, prefix := testredis.Client(b)
	store := storage.NewRedis(c, prefix)
	at := time.Date(2021, 7, 1, 9, 0, 0, 0, campaign.Shanghai)
	var wg sync.WaitGroup
	work := make(chan [2]int)
	for range 16 {
		wg.Go(func() {
			for w := range work {
				st := &cfg.Streets[w[0]]
				f := campaign.Filing{Street: st.ID, Community: st.Communities[w[1]].Name, Item: campaign.ItemMembers,
					Value: campaign.Value{Members: 40 + w[1]%100, Population: 2000}, By: "bench", At: at, Version: campaign.NewVersion(at)}
				if err := store.Save(context.Background(), f); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for s := range nStreets {
		for c := range perStreet {
			work <- [2]int{s, c}
		}
	}
	close(work)
	wg.Wait()
	bt := New(Deps{Config: cfg, Filings: store, Bindings: store, Confirmations: store,
		Clock: func() time.Time { return time.Date(2021, 7, 12, 9, 0, 0, 0, campaign.Shanghai) },
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil))})
	return bt, cfg
}

// BenchmarkDistrictProgress is 进度 in a district of 500 streets and 10 000 communities.
//
//	go test -run '^$' -bench 'District|LastStreet' -benchmem ./handlers
func BenchmarkDistrictProgress(b *testing.B) {
	benchDistrictAsk(b, "进度", "共 500 个街道、10000 个社区")
}

// BenchmarkDistrictMissing is 哪些社区还没报 there.
func BenchmarkDistrictMissing(b *testing.B) {
	benchDistrictAsk(b, "哪些社区还没报", "500 个街道")
}

func benchDistrictAsk(b *testing.B, text, want string) {
	bt, _ := benchDistrict(b, 500, 20)
	m := bot.Message{ChatID: "g-district", ChatType: "group", From: bot.From{UserID: "district-leader"}, MsgType: "text",
		Text: &bot.Text{Content: "@换届助手 " + text}}
	if got := bt.Handle(context.Background(), m).Markdown; !strings.Contains(got, want) || len(got) > bot.MaxStreamContent {
		b.Fatalf("%d bytes: %.300s", len(got), got)
	}
	b.ReportAllocs()
	for b.Loop() {
		bt.Handle(context.Background(), m)
	}
}

// BenchmarkLastStreet1to1 is a 1:1 进度 from a leader of the last of 500 streets (found by
// the config's index) and from someone bound in chat there (one pipelined look).
func BenchmarkLastStreet1to1(b *testing.B) {
	bt, cfg := benchDistrict(b, 500, 20)
	last := &cfg.Streets[len(cfg.Streets)-1]
	code, _, err := bt.Bindings.RequestBinding(context.Background(), campaign.Binding{UserID: "bound-last", Street: last.ID,
		Role: campaign.RoleLeader, Title: "副组长"}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bt.Bindings.ApproveBinding(context.Background(), last.ID, code, "office", time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, who := range []string{last.People[0].UserID, "bound-last"} {
		b.Run(who, func(b *testing.B) {
			m := bot.Message{ChatType: "single", From: bot.From{UserID: who}, MsgType: "text", Text: &bot.Text{Content: "进度"}}
			if got := bt.Handle(context.Background(), m).Markdown; !strings.Contains(got, last.Name) {
				b.Fatalf("%.300s", got)
			}
			b.ReportAllocs()
			for b.Loop() {
				bt.Handle(context.Background(), m)
			}
		})
	}
}
