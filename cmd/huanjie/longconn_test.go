package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/internal/testredis"
)

// TestLongConnectionOneReplicaConnects runs three replicas with the long connection on
// one Redis against the gateway stand-in: only one subscribes (WeCom would kick the
// others' connections), and it answers the callback once.
func TestLongConnectionOneReplicaConnects(t *testing.T) {
	_, prefix := testredis.Client(t)
	gw := wecomfake.NewGateway(wecomfake.WithLogger(slog.New(slog.DiscardHandler)))
	gw.AddBot("bot", "secret")
	srv := httptest.NewServer(gw)
	defer srv.Close()
	env := map[string]string{
		"WECOM_BOT_ID": "bot", "WECOM_BOT_SECRET": "secret", "WECOM_WS_URL": "ws" + strings.TrimPrefix(srv.URL, "http"),
		"REDIS_URL": "redis://" + testredis.Addr() + "/0", "REDIS_PREFIX": prefix, "ADDR": "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var bases []string
	for range 3 {
		wg.Add(1)
		ready := make(chan string, 1)
		go func() {
			defer wg.Done()
			if err := run(ctx, nil, func(k string) string { return env[k] }, io.Discard, ready); err != nil {
				t.Errorf("run: %v", err)
			}
		}()
		bases = append(bases, "http://"+<-ready)
	}
	for deadline := time.Now().Add(10 * time.Second); !gw.Connected("bot"); {
		if time.Now().After(deadline) {
			t.Fatal("no replica subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	x, err := gw.Deliver("bot", bot.Message{MsgID: "lc-1", AIBotID: "bot", ChatID: groupChat, ChatType: "group",
		From: bot.From{UserID: "quxin"}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 进度"}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	answer, err := x.Wait(wctx)
	wcancel()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // give a wrongly competing replica time to show up
	// The metrics of the three: one subscribed, which answered 进度; two on standby.
	var states []string
	for _, b := range bases {
		text := scrape(t, b)
		for _, st := range []string{"subscribed", "standby", "connecting", "off"} {
			if v, _ := value(text, `huanjie_longconn_state{state="`+st+`"}`); v == 1 {
				states = append(states, st)
			}
		}
		n, _ := value(text, `huanjie_handler_duration_seconds_count{command="进度",transport="longconn"}`)
		if subscribed, _ := value(text, `huanjie_longconn_state{state="subscribed"}`); n != subscribed {
			t.Errorf("%s: subscribed %v, answered 进度 %v times", b, subscribed, n)
		}
	}
	slices.Sort(states)
	if strings.Join(states, " ") != "standby standby subscribed" {
		t.Errorf("long-connection states of the replicas: %v", states)
	}
	cancel()
	wg.Wait()
	if n := gw.Subscriptions("bot"); n != 1 {
		t.Errorf("%d replicas subscribed, want exactly 1", n)
	}
	if frames := x.Frames(); len(frames) != 1 || !strings.HasPrefix(answer.Content, "**城西街道换届进度**") {
		t.Errorf("answers: %+v", frames)
	}
}
