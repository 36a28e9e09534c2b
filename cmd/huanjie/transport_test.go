package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

// slowMedia serves one encrypted photo after delay, as a slow WeCom media server would,
// and counts the downloads.
func slowMedia(t *testing.T, key, jpeg []byte, delay time.Duration) (url string, downloads *atomic.Int32) {
	t.Helper()
	enc, err := bot.EncryptMedia(key, jpeg)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(enc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/media/photo-1", &n
}

// responseURL records what is POSTed to it, as WeCom's response_url would take it.
func responseURL(t *testing.T) (url string, posted func() []string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(raw))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/cgi-bin/aibot/response?response_code=rc", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), bodies...)
	}
}

// TestSlowPhotoReachesTheUserOnceByURLCallback sends a photo whose download takes 6 s,
// longer than WeCom waits for the callback. WeCom gets an unfinished stream in time; its
// refreshes then finish that stream with the real answer; the photo is stored once and
// nothing is sent a second time through response_url.
func TestSlowPhotoReachesTheUserOnceByURLCallback(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix)
	c, _ := bot.NewCrypto(testToken, testAESKey, "")
	media, downloads := slowMedia(t, c.MediaKey(), photo(t, 21, false), 6*time.Second)
	rurl, posted := responseURL(t)

	m := bot.Message{MsgID: "slow-photo-1", AIBotID: "aibot", ChatType: "single", From: bot.From{UserID: "cuihong"},
		ResponseURL: rurl, MsgType: "image", Image: &bot.Image{URL: media}}
	q, body, _ := c.SealCallback(m)
	start := time.Now()
	status, first := post(t, base, q, body)
	if el := time.Since(start); status != 200 || first.Finish || first.ID == "" || el >= 5*time.Second {
		t.Fatalf("first answer after %v: HTTP %d %+v (WeCom waits 5 s)", el, status, first)
	}
	var last bot.StreamReply
	refreshes := 0
	for deadline := time.Now().Add(30 * time.Second); !last.Finish && time.Now().Before(deadline); refreshes++ {
		time.Sleep(time.Second) // WeCom refreshes an unfinished stream
		rq, rbody, _ := c.SealCallback(refreshMessage(first.ID))
		_, last = post(t, base, rq, rbody)
		if last.ID != first.ID {
			t.Fatalf("refresh answered stream %q, want %q", last.ID, first.ID)
		}
	}
	if !last.Finish || last.Content != "已收到第 1 张（还需 5 张）" {
		t.Fatalf("after %d refreshes: %+v", refreshes, last)
	}
	time.Sleep(bot.DefaultRefreshGrace + time.Second)
	if p := posted(); len(p) != 0 || downloads.Load() != 1 {
		t.Fatalf("response_url got %q, %d downloads: the answer went out twice", p, downloads.Load())
	}
	if list := pageSingle(t, base, "cuihong", "照片"); !strings.Contains(list, "1 张") {
		t.Fatalf("photo list:\n%s", list)
	}
}

// pageSingle sends text in the 1:1 chat through the chat page.
func pageSingle(t *testing.T, base, userid, text string) string {
	t.Helper()
	return pageIn(t, base, userid, "", text)
}

// gatewayBot runs the bot in long-connection mode against the gateway stand-in.
func gatewayBot(t *testing.T, prefix string, extraEnv ...string) (*wecomfake.Gateway, string) {
	t.Helper()
	gw := wecomfake.NewGateway(wecomfake.WithLogger(slog.New(slog.DiscardHandler)))
	gw.AddBot("aibot-1", "gw-secret")
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	env := append([]string{"LOCAL", "", "WECOM_TOKEN", "", "WECOM_AES_KEY", "",
		"WECOM_BOT_ID", "aibot-1", "WECOM_BOT_SECRET", "gw-secret", "WECOM_WS_URL", "ws" + strings.TrimPrefix(srv.URL, "http")},
		extraEnv...)
	base := startBot(t, prefix, env...)
	for deadline := time.Now().Add(10 * time.Second); !gw.Connected("aibot-1"); {
		if time.Now().After(deadline) {
			t.Fatal("the bot did not subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return gw, base
}

// TestSlowPhotoReachesTheUserOnceByLongConnection: the same 6 s photo over the long
// connection: an unfinished stream first, then the same stream finished with the answer.
func TestSlowPhotoReachesTheUserOnceByLongConnection(t *testing.T) {
	_, prefix := testredis.Client(t)
	gw, _ := gatewayBot(t, prefix)
	key := []byte("0123456789abcdef0123456789abcdef")
	media, downloads := slowMedia(t, key, photo(t, 22, false), 6*time.Second)
	x, err := gw.Deliver("aibot-1", bot.Message{MsgID: "slow-photo-2", AIBotID: "aibot-1", ChatType: "single",
		From: bot.From{UserID: "cuihong"}, MsgType: "image",
		Image: &bot.Image{URL: media, AESKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last, err := x.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	frames := x.Frames()
	if len(frames) != 2 || frames[0].Finish || frames[0].Time.Sub(x.Sent) > 5*time.Second ||
		frames[1].StreamID != frames[0].StreamID || last.Content != "已收到第 1 张（还需 5 张）" {
		t.Fatalf("frames %+v", frames)
	}
	if downloads.Load() != 1 || len(gw.Pushes()) != 0 {
		t.Fatalf("%d downloads, pushes %+v", downloads.Load(), gw.Pushes())
	}
}

// TestKickedConnectionStaysDown: a second instance subscribes with the same bot id;
// WeCom sends ours a disconnected_event. The bot does not subscribe again, and /healthz
// says why.
func TestKickedConnectionStaysDown(t *testing.T) {
	_, prefix := testredis.Client(t)
	gw, base := gatewayBot(t, prefix)
	if !gw.Kick("aibot-1") {
		t.Fatal("not connected")
	}
	time.Sleep(3 * time.Second) // more than the reconnect backoff's first steps
	if n := gw.Subscriptions("aibot-1"); n != 1 || gw.Connected("aibot-1") {
		t.Fatalf("%d subscriptions: the kicked bot fought back", n)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(text), "another instance") {
		t.Fatalf("/healthz: HTTP %d %q", resp.StatusCode, text)
	}
}

// TestBothAPIModesRefused: the URL callback and the long connection both configured is
// refused at start, naming both and asking to pick one.
func TestBothAPIModesRefused(t *testing.T) {
	env := map[string]string{"WECOM_TOKEN": testToken, "WECOM_AES_KEY": testAESKey,
		"WECOM_BOT_ID": "aibot-1", "WECOM_BOT_SECRET": "s", "ADDR": "127.0.0.1:0"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "both API modes") || !strings.Contains(err.Error(), "pick") {
		t.Fatalf("run: %v", err)
	}
}

// TestRedisStallLosesNoMessage files a member count while Redis stalls for 7 seconds,
// through the chat page (which refreshes like WeCom). The secretary gets the answer
// once, and the filing is stored.
func TestRedisStallLosesNoMessage(t *testing.T) {
	proxy := testredis.Stall(t)
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix, "REDIS_URL", "redis://"+proxy.Addr()+"/0")
	if card := page(t, base, "quxin", "大辛"); strings.Contains(card, "会员 320 人") {
		t.Fatalf("filed before the test:\n%s", card)
	}
	proxy.For(7 * time.Second)
	start := time.Now()
	reply := page(t, base, "cuihong", "会员 320 人口 6200")
	if time.Since(start) < 7*time.Second || !strings.Contains(reply, "已登记") || strings.Count(reply, "已登记") != 1 {
		t.Fatalf("reply after %v:\n%s", time.Since(start), reply)
	}
	if card := page(t, base, "quxin", "大辛"); !strings.Contains(card, "会员 320 人，总人口 6200 人") {
		t.Fatalf("the filing made during the stall is not stored:\n%s", card)
	}
}

// TestPushesThroughTheBot: in long-connection mode a group without a webhook key gets
// the bot's pushes (aibot_send_msg): 催一下 queues a nudge, and it reaches the group.
func TestPushesThroughTheBot(t *testing.T) {
	_, prefix := testredis.Client(t)
	gw, _ := gatewayBot(t, prefix)
	x, err := gw.Deliver("aibot-1", bot.Message{MsgID: "nudge-1", AIBotID: "aibot-1", ChatID: groupChat, ChatType: "group",
		From: bot.From{UserID: "quxin"}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 催一下"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := x.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); len(gw.Pushes()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no push through the bot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := gw.Pushes()[0]
	if p.ChatID != groupChat || p.MsgType != "markdown" || strings.Contains(p.Content, "<@") || strings.Contains(p.Content, "<font") {
		t.Fatalf("push %+v", p)
	}
}

// TestLocalModeOverTheLongConnection: LOCAL_TRANSPORT=longconn runs the chat page over
// the long-connection stand-in: messages reach the bot as aibot_msg_callback, answers come
// back as stream frames, and the groups (no webhook keys) get the bot's own pushes.
func TestLocalModeOverTheLongConnection(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix, "WECOM_TOKEN", "", "WECOM_AES_KEY", "", "LOCAL_TRANSPORT", "longconn")
	var reply string
	for deadline := time.Now().Add(10 * time.Second); ; { // the bot subscribes in the background
		body := `{"userid":"quxin","chatid":"` + groupChat + `","text":"催一下"}`
		resp, err := http.Post(base+"/api/send", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			reply = string(raw)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("send: HTTP %d %s", resp.StatusCode, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(reply, `"reply":"`) {
		t.Fatalf("no answer: %s", reply)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/api/pushes")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(raw), `"via":"bot"`) && strings.Contains(string(raw), `"chatid":"`+groupChat+`"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push through the bot on the page: %s", raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDuplicateOfADeadReplicasMessage: WeCom delivers a message again while the ledger
// (real Redis) says another replica holds it, and that replica is dead. The user gets
// exactly one answer on the long connection: the message handled here once the dead
// replica's claim lapses, or the answer it recorded but never sent.
func TestDuplicateOfADeadReplicasMessage(t *testing.T) {
	client, prefix := testredis.Client(t)
	store := storage.NewRedis(client, prefix)
	gw, _ := gatewayBot(t, prefix)
	ctx := context.Background()
	tests := []struct {
		name     string
		lease    time.Duration // the dead replica's claim
		recorded string        // the answer it recorded after the delivery arrived here
	}{
		{name: "died before answering", lease: 300 * time.Millisecond},
		{name: "died after recording its answer", lease: time.Hour, recorded: "已登记（死去的副本记下的答复）"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("dead-replica-%d", i)
			if _, mine, err := store.BeginMsg(ctx, id, "dead-replica", tt.lease, bot.DedupTTL); err != nil || !mine {
				t.Fatalf("BeginMsg: %v %v", mine, err)
			}
			pushes := len(gw.Pushes())
			x, err := gw.Deliver("aibot-1", bot.Message{MsgID: id, AIBotID: "aibot-1", ChatID: groupChat, ChatType: "group",
				From: bot.From{UserID: "quxin"}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 进度"}})
			if err != nil {
				t.Fatal(err)
			}
			if tt.recorded != "" {
				time.Sleep(200 * time.Millisecond)
				if err := store.FinishMsg(ctx, id, tt.recorded, bot.DedupTTL); err != nil {
					t.Fatal(err)
				}
			}
			wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			last, err := x.Wait(wctx)
			if err != nil {
				t.Fatalf("the user got no answer: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
			finished := 0
			for _, f := range x.Frames() {
				if f.Finish {
					finished++
				}
			}
			if finished != 1 || len(gw.Pushes()) != pushes {
				t.Fatalf("frames %+v, pushes %+v", x.Frames(), gw.Pushes()[pushes:])
			}
			if tt.recorded != "" && last.Content != tt.recorded || tt.recorded == "" && !strings.Contains(last.Content, "进度") {
				t.Fatalf("answer %q", last.Content)
			}
		})
	}
}
