package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testclock"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

// TestRepliesCountOnTheDeliverersClock: the bot's 30 answers in a minute fill the group's
// window on the bot's path, and a minute later on the same clock (the campaign clock in
// local mode) the queued pushes have room again, instead of waiting for a window counted
// on another clock that never empties.
func TestRepliesCountOnTheDeliverersClock(t *testing.T) {
	client, prefix := testredis.Client(t)
	ctx := context.Background()
	outbox := storage.NewRedis(client, prefix).Outbox()
	clock := testclock.New(time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai))
	cfg := &config.Config{Streets: []campaign.Street{{ID: "chengxi", Groups: []campaign.Group{{ChatID: "botchat"}}}}}
	count := countReplies(cfg, outbox, clock.Now, slog.New(slog.DiscardHandler))
	for range 30 {
		count("botchat")
	}
	windows := []storage.Window{{N: 30, Per: time.Minute}, {N: 1000, Per: time.Hour}}
	take := func() (bool, time.Time) {
		t.Helper()
		ok, free, err := outbox.TakeSlots(ctx, "chengxi", reminders.BotBucket("botchat"), clock.Now(), 1, windows, false)
		if err != nil {
			t.Fatal(err)
		}
		return ok, free
	}
	if ok, _ := take(); ok {
		t.Fatal("30 answers in a minute left room for a push: the answers were not counted")
	}
	clock.Advance(time.Minute + time.Second)
	if ok, free := take(); !ok {
		t.Fatalf("a minute after the answers the push waits until %v", free.In(campaign.Shanghai))
	}
}

// TestUndeliveredAnswersBecomePushes: an answer the long connection could not send is
// queued for its group, to go out within the group's limits; one in a 1:1 chat cannot
// go that way and says so.
func TestUndeliveredAnswersBecomePushes(t *testing.T) {
	client, prefix := testredis.Client(t)
	ctx := context.Background()
	outbox := storage.NewRedis(client, prefix).Outbox()
	t0 := time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)
	cfg := &config.Config{Streets: []campaign.Street{{ID: "chengxi", Groups: []campaign.Group{{ChatID: "botchat"}}}}}
	hand := answersAsPushes(cfg, outbox, func() time.Time { return t0 })
	group := bot.Message{MsgID: "m1", ChatID: "botchat", ChatType: "group", From: bot.From{UserID: "cuihong"}}
	if err := hand(ctx, group, "已登记：大辛社区 会员 320 人"); err != nil {
		t.Fatal(err)
	}
	msgs, err := outbox.Claim(ctx, "chengxi", t0, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].ChatID != "botchat" || msgs[0].Markdown != "已登记：大辛社区 会员 320 人" {
		t.Fatalf("queued %+v, %v", msgs, err)
	}
	single := bot.Message{MsgID: "m2", ChatType: "single", From: bot.From{UserID: "cuihong"}}
	if err := hand(ctx, single, "x"); !errors.Is(err, errNotAGroup) {
		t.Fatalf("a 1:1 answer: %v", err)
	}
}
