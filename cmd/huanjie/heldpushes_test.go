package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testclock"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/standin"
	"huanjie/storage"
)

// recordingSender plans pushes with the application's router and takes them as WeCom
// would, except into chats in fail, which answer with an error.
type recordingSender struct {
	router *bot.Router
	fail   map[string]bool
	mu     sync.Mutex
	sent   map[string]int
}

func (s *recordingSender) Plan(to bot.Target, p bot.Push) (bot.Target, []bot.Push, error) {
	return s.router.Plan(to, p)
}

func (s *recordingSender) Push(_ context.Context, to bot.Target, _ bot.Push) error {
	if s.fail[to.ChatID] {
		return errors.New("connection reset")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[to.ChatID]++
	return nil
}

// botStub stands for the long connection: the router may push through the bot.
type botStub struct{}

func (botStub) SendMarkdown(context.Context, string, string) error { return nil }

// TestHeldPushes queues bursts into groups on both push paths, lets the real deliverer
// send what WeCom's limits allow, and checks what the chat page is told waits, and
// until when: only pushes deferred by the rate limit, never those about to go out, those
// of a paused street or those waiting for a retry after an error.
func TestHeldPushes(t *testing.T) {
	client, prefix := testredis.Client(t)
	ctx := context.Background()
	store := storage.NewRedis(client, prefix)
	outbox := store.Outbox()
	t0 := time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)
	clock := testclock.New(t0)
	cfg := &config.Config{Streets: []campaign.Street{
		{ID: "chengxi", Groups: []campaign.Group{
			{ChatID: "hook", WebhookKey: "k1"}, {ChatID: "hook-big", WebhookKey: "k2"},
			{ChatID: "botchat"}, {ChatID: "quiet", WebhookKey: "k3"}, {ChatID: "broken", WebhookKey: "k4"},
		}},
		{ID: "dongcheng", Groups: []campaign.Group{{ChatID: "paused", WebhookKey: "k5"}}},
	}}
	sender := &recordingSender{router: &bot.Router{Bot: botStub{}}, fail: map[string]bool{"broken": true}, sent: map[string]int{}}
	d := &reminders.Deliverer{Outbox: outbox, Pusher: sender, Now: clock.Now, Log: slog.New(slog.DiscardHandler),
		Targets: func(street, chat string) (bot.Target, bool) {
			_, g, ok := cfg.StreetOfChat(chat)
			if !ok {
				return bot.Target{}, false
			}
			return pushTarget(*g), true
		},
		Streets: func() []string { return streetIDs(cfg) },
	}
	queue := func(street, chat string, n int, at time.Time) {
		t.Helper()
		msgs := make([]storage.OutMsg, n)
		for i := range msgs {
			msgs[i] = storage.OutMsg{ChatID: chat, Text: fmt.Sprintf("推送 %d", i+1), Created: at}
		}
		if err := outbox.Enqueue(ctx, street, msgs); err != nil {
			t.Fatal(err)
		}
	}
	queue("chengxi", "hook", 25, t0)     // 20 a minute through the webhook: 5 wait a minute
	queue("chengxi", "hook-big", 45, t0) // 25 wait: 20 go a minute later, the last 5 a minute after
	queue("chengxi", "botchat", 35, t0)  // 30 a minute through the bot: 5 wait
	queue("chengxi", "broken", 1, t0)    // fails: waits for its retry, not for the limit
	// A paused street holds its scheduled reminders, which are not "rate limited".
	scheduled := make([]storage.OutMsg, 3)
	for i := range scheduled {
		scheduled[i] = storage.OutMsg{ChatID: "paused", Text: fmt.Sprintf("提醒 %d", i+1), Created: t0}
	}
	if _, err := outbox.EnqueueOnce(ctx, "dongcheng", storage.Occurrence{ID: "phase:2021-07-05", Title: "提醒"}, scheduled); err != nil {
		t.Fatal(err)
	}
	if err := outbox.SetPaused(ctx, "dongcheng", true, "luolimei", t0); err != nil {
		t.Fatal(err)
	}
	held := newHeldPushes(cfg, outbox, clock.Now)

	want := func(step string, w map[string]standin.Held) {
		t.Helper()
		got, err := held.Held(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		same := func(a, b standin.Held) bool {
			return a.Count == b.Count && a.Next.Equal(b.Next) && a.Until.Equal(b.Until)
		}
		if !maps.EqualFunc(got, w, same) {
			t.Errorf("%s: held\n%v\nwant\n%v", step, got, w)
		}
	}
	want("queued, nothing sent yet: all due now, none held back", map[string]standin.Held{})

	runOnce(t, d)
	next := t0.Add(time.Minute)
	want("after the first pass", map[string]standin.Held{
		"hook":     {Count: 5, Next: next, Until: next},
		"hook-big": {Count: 25, Next: next, Until: next.Add(time.Minute)},
		"botchat":  {Count: 5, Next: next, Until: next},
	})
	if sender.sent["hook"] != 20 || sender.sent["hook-big"] != 20 || sender.sent["botchat"] != 30 || sender.sent["paused"] != 0 {
		t.Errorf("sent in the first minute: %v", sender.sent)
	}

	clock.Set(next)
	runOnce(t, d)
	want("a minute later", map[string]standin.Held{
		"hook-big": {Count: 5, Next: next.Add(time.Minute), Until: next.Add(time.Minute)},
	})
	clock.Set(next.Add(time.Minute))
	runOnce(t, d)
	want("two minutes later", map[string]standin.Held{})
	if sender.sent["hook"] != 25 || sender.sent["hook-big"] != 45 || sender.sent["botchat"] != 35 {
		t.Errorf("sent in the end: %v", sender.sent)
	}
}

func TestClearedBy(t *testing.T) {
	next := time.Date(2021, 7, 5, 9, 1, 0, 0, campaign.Shanghai)
	for _, c := range []struct {
		n      int
		limits []bot.Window
		want   time.Duration
	}{
		{1, bot.WebhookLimits, 0},
		{20, bot.WebhookLimits, 0},
		{21, bot.WebhookLimits, time.Minute},
		{45, bot.WebhookLimits, 2 * time.Minute},
		{30, bot.BotLimits, 0},
		{31, bot.BotLimits, time.Minute},
		{1001, bot.BotLimits, time.Hour},
	} {
		if got := clearedBy(next, c.n, c.limits); !got.Equal(next.Add(c.want)) {
			t.Errorf("%d pushes under %v: out by %v, want %v", c.n, c.limits, got, next.Add(c.want))
		}
	}
}

func runOnce(t *testing.T, d *reminders.Deliverer) {
	t.Helper()
	if _, err := d.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}
