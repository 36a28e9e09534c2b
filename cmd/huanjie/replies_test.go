package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
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
// queued in the outbox and pushed, within the chat's limits, into the chat it answers:
// a street's group, a district's group, or the 1:1 chat of its sender (aibot_send_msg
// takes the userid as the chatid of a 1:1 chat), whoever the sender is.
func TestUndeliveredAnswersBecomePushes(t *testing.T) {
	cfg := &config.Config{
		Streets: []campaign.Street{
			{ID: "chengxi", Groups: []campaign.Group{{ChatID: "botchat"}}},
			{ID: "dongguan", Groups: []campaign.Group{{ChatID: "dgchat"}},
				People: []campaign.Person{{UserID: "lihua", Name: "李华", Role: campaign.RoleOffice}}},
		},
		Districts: []campaign.District{{ID: "boshan", Groups: []campaign.Group{{ChatID: "distchat"}},
			People: []campaign.Person{{UserID: "zhangming", Name: "张明", Role: campaign.RoleLeader}}, Streets: []string{"dongguan", "chengxi"}}},
	}
	bound := fakeBindings{"cuihong": "dongguan"}
	single := func(user string) bot.Message {
		return bot.Message{MsgID: "m-" + user, ChatType: "single", From: bot.From{UserID: user}}
	}
	tests := []struct {
		name               string
		m                  bot.Message
		wantStreet, wantTo string // wantTo "": refused
	}{
		{"a street's group", bot.Message{MsgID: "m1", ChatID: "botchat", ChatType: "group", From: bot.From{UserID: "cuihong"}}, "chengxi", "botchat"},
		{"a district's group", bot.Message{MsgID: "m2", ChatID: "distchat", ChatType: "group", From: bot.From{UserID: "zhangming"}}, "dongguan", "distchat"},
		{"1:1 with a person of a street", single("lihua"), "dongguan", "lihua"},
		{"1:1 with a person of a district", single("zhangming"), "dongguan", "zhangming"},
		{"1:1 with a bound secretary", single("cuihong"), "dongguan", "cuihong"},
		{"1:1 with a newcomer", single("newbie"), "chengxi", "newbie"},
		{"a group nobody configured", bot.Message{MsgID: "m3", ChatID: "stranger", ChatType: "group", From: bot.From{UserID: "x"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, prefix := testredis.Client(t)
			ctx := context.Background()
			outbox := storage.NewRedis(client, prefix).Outbox()
			t0 := time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)
			hand := answersAsPushes(cfg, outbox, bound, func() time.Time { return t0 })
			err := hand(ctx, tt.m, "已登记：大辛社区 会员 320 人")
			if tt.wantTo == "" {
				if !errors.Is(err, errNoChat) {
					t.Fatalf("an answer into an unknown chat: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n, err := outbox.Pending(ctx, tt.wantStreet); err != nil || n != 1 {
				t.Fatalf("%d queued in %s, %v", n, tt.wantStreet, err)
			}
			sent := &recordingBot{}
			d := &reminders.Deliverer{Outbox: outbox, Pusher: &bot.Router{Bot: sent, Log: slog.New(slog.DiscardHandler)},
				Targets: outboxTargets(cfg), Streets: func() []string { return streetIDs(cfg) },
				Now: func() time.Time { return t0 }, Log: slog.New(slog.DiscardHandler)}
			if _, err := d.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if len(sent.got) != 1 || sent.got[0] != tt.wantTo+": 已登记：大辛社区 会员 320 人" {
				t.Fatalf("pushed %q, want one into %s", sent.got, tt.wantTo)
			}
		})
	}
}

type fakeBindings map[string]string

func (f fakeBindings) BindingAny(_ context.Context, streets []string, userid string) (*campaign.Binding, error) {
	if st, ok := f[userid]; ok && slices.Contains(streets, st) {
		return &campaign.Binding{UserID: userid, Street: st}, nil
	}
	return nil, nil
}

// recordingBot is the bot's push path (aibot_send_msg), recording "chat: markdown".
type recordingBot struct {
	mu  sync.Mutex
	got []string
}

func (r *recordingBot) SendMarkdown(_ context.Context, chatID, markdown string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, chatID+": "+markdown)
	return nil
}
