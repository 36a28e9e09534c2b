package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

// TestPausedStreetStillAnswers: 暂停提醒 holds the street's scheduled reminders, nothing
// else. On 6月17日 the 09:00 reminder is queued, then the office pauses the street before
// it went out. While paused, an answer the long connection could not send (into the
// group, and into a 1:1 chat) and a 催一下 a leader asked for go out at once; the held
// reminder stands aside without blocking the group's answer behind it, and goes out
// when the office sends 恢复提醒.
func TestPausedStreetStillAnswers(t *testing.T) {
	cfg, err := config.Default(func(string) string { return "" }) // no webhook keys: all through the bot
	if err != nil {
		t.Fatal(err)
	}
	client, prefix := testredis.Client(t)
	ctx := context.Background()
	store := storage.NewRedis(client, prefix)
	outbox := store.Outbox()
	now := time.Date(2021, 6, 17, 9, 0, 0, 0, campaign.Shanghai)
	clock := func() time.Time { return now }
	quiet := slog.New(slog.DiscardHandler)
	sched := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: outbox, Clock: clock, Log: quiet}
	sent := &recordingBot{}
	d := &reminders.Deliverer{Outbox: outbox, Pusher: &bot.Router{Bot: sent, Log: quiet},
		Targets: outboxTargets(cfg), Streets: func() []string { return streetIDs(cfg) }, Now: clock, Log: quiet}
	group := cfg.Streets[0].Groups[0].ChatID
	reminder := group + ": 【换届提醒】「成立领导小组」"

	// 09:00 the reminder is queued; the office pauses before it went out.
	if err := sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	if err := sched.SetPaused(ctx, "chengxi", true, "luolimei"); err != nil {
		t.Fatal(err)
	}
	// Answers the long connection could not send, and a 催一下.
	answer := answersAsPushes(cfg, outbox, fakeBindings{}, clock)
	if err := answer(ctx, bot.Message{MsgID: "m1", ChatID: group, ChatType: "group", From: bot.From{UserID: "cuihong"}}, "已登记：大辛社区 成立领导小组"); err != nil {
		t.Fatal(err)
	}
	if err := answer(ctx, bot.Message{MsgID: "m2", ChatType: "single", From: bot.From{UserID: "luolimei"}}, "已暂停城西街道的群提醒。"); err != nil {
		t.Fatal(err)
	}
	if n, err := sched.NudgeNow(ctx, "chengxi", ""); err != nil || n.Messages == 0 {
		t.Fatalf("催一下 queued %+v, %v", n, err)
	}
	run := func(passes int) {
		t.Helper()
		for range passes {
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Minute)
		}
	}
	run(3)
	got := strings.Join(sent.got, "\n")
	for _, want := range []string{group + ": 已登记：大辛社区 成立领导小组", "luolimei: 已暂停城西街道的群提醒。", group + ": 【催报】"} {
		if !strings.Contains(got, want) {
			t.Errorf("paused street: %q did not go out; sent:\n%s", want, got)
		}
	}
	if strings.Contains(got, reminder) {
		t.Errorf("paused street: the scheduled reminder went out:\n%s", got)
	}

	if err := sched.SetPaused(ctx, "chengxi", false, "luolimei"); err != nil {
		t.Fatal(err)
	}
	run(1)
	got = strings.Join(sent.got, "\n")
	if n := strings.Count(got, reminder); n != 1 {
		t.Errorf("after 恢复提醒 the held reminder went out %d times, want once:\n%s", n, got)
	}
	if n, err := outbox.Pending(ctx, "chengxi"); err != nil || n != 0 {
		t.Errorf("after 恢复提醒 %d messages still queued, %v", n, err)
	}
}
