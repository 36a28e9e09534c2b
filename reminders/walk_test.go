package reminders_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

const webhookKey = "walk-key"

// world is the bot's reminder side on real Redis and the webhook stand-in, with one
// injected clock for the campaign, the delivery and the stand-in's rate limit.
type world struct {
	t      *testing.T
	now    time.Time
	cfg    *config.Config
	store  *storage.Redis
	fake   *wecomfake.Server
	scheds []*reminders.Scheduler
	dels   []*reminders.Deliverer
	seen   int
	lines  []string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newWorld starts n replicas (scheduler + deliverer each) on one Redis prefix, with the
// embedded 城西 2021 config.
func newWorld(t *testing.T, replicas int) *world {
	t.Helper()
	cfg, err := config.Default(func(k string) string {
		if k == "WECOM_WEBHOOK_CHENGXI" {
			return webhookKey
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return newWorldWith(t, cfg, replicas)
}

// newWorldWith is newWorld for any config; every group's webhook key is registered
// with the stand-in.
func newWorldWith(t *testing.T, cfg *config.Config, replicas int) *world {
	t.Helper()
	w := &world{t: t, cfg: cfg, now: time.Date(2021, 6, 10, 8, 0, 0, 0, campaign.Shanghai)}
	c, prefix := testredis.Client(t)
	w.store = storage.NewRedis(c, prefix)
	clock := func() time.Time { return w.now }
	w.fake = wecomfake.New(wecomfake.WithClock(clock), wecomfake.WithLogger(quiet()))
	for _, st := range cfg.Streets {
		for _, g := range st.Groups {
			w.fake.AddKey(g.WebhookKey)
		}
	}
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	if err := bot.SetWeComAPIBase(srv.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bot.SetWeComAPIBase("") })
	for range replicas {
		store := storage.NewRedis(c, prefix) // each replica its own client-side state
		w.scheds = append(w.scheds, &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(),
			Clock: clock, HowToFile: func(i campaign.Item) string { return "@换届助手 报" + i.Label() }, Log: quiet()})
		w.dels = append(w.dels, &reminders.Deliverer{Outbox: store.Outbox(), Pusher: &bot.Router{Webhook: bot.NewWebhook(quiet())}, Now: clock, Log: quiet(),
			Targets: func(street, chat string) (bot.Target, bool) {
				if s, g, ok := cfg.StreetOfChat(chat); ok && s.ID == street {
					return bot.Target{ChatID: g.ChatID, WebhookKey: g.WebhookKey, Via: g.Push}, true
				}
				return bot.Target{}, false
			},
			Streets: func() []string {
				var ids []string
				for _, st := range cfg.Streets {
					ids = append(ids, st.ID)
				}
				return ids
			}})
	}
	return w
}

// at moves the clock to t, lets every replica tick at once, and delivers until the queue
// is empty, a minute at a time (WeCom's 20 a minute), recording what the group received.
func (w *world) at(t time.Time) {
	w.t.Helper()
	w.now = t
	ctx := context.Background()
	errs := make(chan error, len(w.scheds))
	for _, s := range w.scheds {
		go func() { errs <- s.Tick(ctx) }()
	}
	for range w.scheds {
		if err := <-errs; err != nil {
			w.t.Fatalf("tick at %s: %v", t, err)
		}
	}
	for i := 0; ; i++ {
		for _, d := range w.dels {
			go func() { _, err := d.RunOnce(ctx); errs <- err }()
		}
		for range w.dels {
			if err := <-errs; err != nil {
				w.t.Fatalf("deliver at %s: %v", w.now, err)
			}
		}
		n := 0
		for _, st := range w.cfg.Streets {
			p, err := w.store.Outbox().Pending(ctx, st.ID)
			if err != nil {
				w.t.Fatal(err)
			}
			n += p
		}
		if n == 0 {
			break
		}
		if i > 30 {
			w.t.Fatalf("queue does not drain at %s: %d left", w.now, n)
		}
		w.now = w.now.Add(time.Minute)
	}
	w.record()
}

// record appends the group's new messages as "MM-DD HH:MM | text | @mentions"; a
// message of several lines continues on lines that start "            | ".
func (w *world) record() {
	msgs := w.fake.Messages(webhookKey)
	for _, m := range msgs[w.seen:] {
		text := strings.ReplaceAll(m.Content, "\n", "\n            | ")
		line := fmt.Sprintf("%s | %s", m.Time.In(campaign.Shanghai).Format("01-02 15:04"), text)
		if len(m.MentionedList) > 0 {
			line += " | @" + strings.Join(m.MentionedList, ",")
		}
		w.lines = append(w.lines, line)
	}
	w.seen = len(msgs)
}

// file stores a filing as a secretary's command would.
func (w *world) file(community string, item campaign.Item, v campaign.Value) {
	w.t.Helper()
	f := campaign.Filing{Street: "chengxi", Community: community, Item: item, Value: v, By: "test", At: w.now, Raw: "test"}
	if err := w.store.Save(context.Background(), f); err != nil {
		w.t.Fatal(err)
	}
}

// photos stores n photo records of a community, as the photo pipeline would.
func (w *world) photos(community string, n int) {
	w.t.Helper()
	for i := range n {
		p := storage.Photo{Hash: fmt.Sprintf("%s-%d", community, i), Name: fmt.Sprintf("%d.jpg", i), By: "test", At: w.now}
		if _, err := w.store.AddPhoto(context.Background(), "chengxi", community, p, 10); err != nil {
			w.t.Fatal(err)
		}
	}
}

// golden compares lines with testdata/name.golden (or rewrites it with -update).
func golden(t *testing.T, name string, lines []string) {
	t.Helper()
	path := "testdata/" + name + ".golden"
	got := strings.Join(lines, "\n") + "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, x string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				x = wl[i]
			}
			if g != x {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(%d lines, want %d)", path, i+1, g, x, len(gl), len(wl))
			}
		}
	}
}

// laggards: 太平 files every item two days late, 北山 never files; the other communities
// file the day before each deadline, at noon.
func (w *world) campaignFilings(day campaign.Date) {
	st, _ := w.cfg.Street("chengxi")
	for _, step := range st.Steps {
		for _, c := range st.CommunityNames() {
			fileOn := step.Due.AddDays(-1)
			switch c {
			case "北山":
				continue
			case "太平":
				fileOn = step.Due.AddDays(2)
			}
			if fileOn != day {
				continue
			}
			switch step.Item {
			case campaign.ItemPublicity: // a 3-day publicity starting the day it is filed
				w.file(c, step.Item, campaign.Value{Start: day})
			case campaign.ItemPhotos: // 8 photos received
				w.photos(c, 8)
			default:
				w.file(c, step.Item, campaign.Value{Date: day})
			}
		}
	}
}

// walk runs the 城西 2021 campaign from 6月10日 to 8月5日: every day the replicas tick
// at 09:00 and 09:30 (when reminders are due) and at noon the communities file.
func (w *world) walk() {
	for day := (campaign.Date{Year: 2021, Month: 6, Day: 10}); !day.After(campaign.Date{Year: 2021, Month: 8, Day: 5}); day = day.AddDays(1) {
		w.at(day.Time().Add(9 * time.Hour))
		w.at(day.Time().Add(9*time.Hour + 30*time.Minute))
		w.now = day.Time().Add(12 * time.Hour)
		w.campaignFilings(day)
	}
}

// TestWalkChengxi2021 asserts every message the group receives over the whole campaign,
// text and mentions, against a reviewed transcript.
func TestWalkChengxi2021(t *testing.T) {
	w := newWorld(t, 1)
	w.walk()
	golden(t, "chengxi2021", w.lines)
}

// TestWalkThreeReplicas runs the same campaign with three schedulers and three
// deliverers on one Redis: the group receives exactly the same messages, once each.
func TestWalkThreeReplicas(t *testing.T) {
	w := newWorld(t, 3)
	w.walk()
	golden(t, "chengxi2021", w.lines)
}
