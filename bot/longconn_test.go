package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/internal/testclock"
)

// The long-connection tests run the bot's LongConn against the gateway stand-in
// wecomfake.Gateway, which speaks WeCom's protocol the way WeCom's SDK expects it.

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type gwEnv struct {
	gw    *wecomfake.Gateway
	url   string
	clock *testclock.Clock
	logs  *logBuf
}

func newGateway(t *testing.T) *gwEnv {
	t.Helper()
	clock := testclock.New(time.Now())
	logs := &logBuf{}
	gw := wecomfake.NewGateway(wecomfake.WithClock(clock.Now), wecomfake.WithLogger(slog.New(slog.DiscardHandler)))
	gw.AddBot("bot-1", "s3cret")
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &gwEnv{gw: gw, url: "ws" + strings.TrimPrefix(srv.URL, "http"), clock: clock, logs: logs}
}

func (e *gwEnv) longConn(t *testing.T, secret string, h bot.Handler, l bot.MsgLedger, tweak ...func(*bot.LongConnOptions)) *bot.LongConn {
	o := bot.LongConnOptions{URL: e.url, BotID: "bot-1", Secret: secret, Handler: h, Ledger: l,
		Log:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PingEvery: 50 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond}
	for _, f := range tweak {
		f(&o)
	}
	return bot.NewLongConn(o)
}

// run runs lc in the background until the test ends; done yields Run's error (once).
func run(t *testing.T, lc *bot.LongConn) (done <-chan error, stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	ended := make(chan struct{})
	var runErr error
	go func() {
		runErr = lc.Run(ctx)
		close(ended)
		ch <- runErr
	}()
	stop = func() error {
		cancel()
		select {
		case <-ended:
			return runErr
		case <-time.After(10 * time.Second):
			return errors.New("Run did not return after cancel")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return ch, stop
}

func (e *gwEnv) waitConnected(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !e.gw.Connected("bot-1"); {
		if time.Now().After(deadline) {
			t.Fatal("the bot did not subscribe")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func groupText(id, content string) bot.Message {
	return bot.Message{MsgID: id, AIBotID: "bot-1", ChatID: "chat1", ChatType: "group",
		From: bot.From{UserID: "zhangsan"}, MsgType: "text", Text: &bot.Text{Content: content}}
}

func waitAnswer(t *testing.T, x *wecomfake.Exchange, within time.Duration) wecomfake.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	f, err := x.Wait(ctx)
	if err != nil {
		t.Fatalf("%v; frames %+v", err, x.Frames())
	}
	return f
}

type countingHandler struct {
	calls atomic.Int32
	fn    func(ctx context.Context, m bot.Message) bot.Reply
}

func (h *countingHandler) Handle(ctx context.Context, m bot.Message) bot.Reply {
	h.calls.Add(1)
	if h.fn == nil {
		return bot.Reply{Markdown: "收到：" + m.PlainText()}
	}
	return h.fn(ctx, m)
}

func TestLongConnAnswersCallbacks(t *testing.T) {
	e := newGateway(t)
	var replied []string
	var mu sync.Mutex
	h := &countingHandler{fn: func(_ context.Context, m bot.Message) bot.Reply {
		if m.MsgType == "event" {
			return bot.Reply{Markdown: "欢迎 <@" + m.From.UserID + ">"}
		}
		return bot.Reply{Markdown: "**进度** <font color=\"warning\">" + m.PlainText() + "</font>\n第二行"}
	}}
	_, stop := run(t, e.longConn(t, "s3cret", h, nil, func(o *bot.LongConnOptions) {
		o.OnReply = func(chat string) { mu.Lock(); replied = append(replied, chat); mu.Unlock() }
	}))
	e.waitConnected(t)

	x, err := e.gw.Deliver("bot-1", groupText("m1", "@换届助手 进度"))
	if err != nil {
		t.Fatal(err)
	}
	if f := waitAnswer(t, x, 5*time.Second); f.Cmd != "aibot_respond_msg" || f.Content != "**进度** **@换届助手 进度**\n\n第二行" || f.StreamID == "" {
		t.Fatalf("answer %+v", f)
	}
	enter := bot.Message{MsgID: "ev1", MsgType: "event", ChatType: "single", From: bot.From{UserID: "lisi"}}
	enter.Event = &struct {
		EventType string `json:"eventtype"`
	}{bot.EventEnterChat}
	x, err = e.gw.Deliver("bot-1", enter)
	if err != nil {
		t.Fatal(err)
	}
	if f := waitAnswer(t, x, 5*time.Second); f.Cmd != "aibot_respond_welcome_msg" || f.Content != "欢迎 @lisi" {
		t.Fatalf("welcome %+v", f)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(replied, ",") != "chat1" {
		t.Errorf("replies counted for %q, want chat1 once (the welcome is not a chat message)", replied)
	}
}

// TestLongConnLateAnswer: a handler slower than Timeout is first answered with an
// unfinished stream, then the same stream finishes with the answer; the user sees it
// once, and the handler ran once on a context that outlived the reply deadline.
func TestLongConnLateAnswer(t *testing.T) {
	e := newGateway(t)
	var hadDeadline atomic.Bool
	h := &countingHandler{fn: func(ctx context.Context, m bot.Message) bot.Reply {
		d, ok := ctx.Deadline()
		hadDeadline.Store(ok && time.Until(d) > time.Minute)
		time.Sleep(600 * time.Millisecond)
		if ctx.Err() != nil {
			return bot.Reply{Markdown: "abandoned"}
		}
		return bot.Reply{Markdown: "已登记：大辛社区 会员 320 人"}
	}}
	run(t, e.longConn(t, "s3cret", h, &bot.MemLedger{}, func(o *bot.LongConnOptions) { o.Timeout = 100 * time.Millisecond }))
	e.waitConnected(t)
	x, err := e.gw.Deliver("bot-1", groupText("slow-1", "@换届助手 会员 320 人口 6200"))
	if err != nil {
		t.Fatal(err)
	}
	f := waitAnswer(t, x, 5*time.Second)
	frames := x.Frames()
	if len(frames) != 2 || frames[0].Finish || frames[0].Content != "正在处理，请稍候……" ||
		frames[1].StreamID != frames[0].StreamID || f.Content != "已登记：大辛社区 会员 320 人" {
		t.Fatalf("frames %+v", frames)
	}
	if h.calls.Load() != 1 || !hadDeadline.Load() {
		t.Fatalf("handler calls %d, generous deadline %v", h.calls.Load(), hadDeadline.Load())
	}
}

// TestLongConnExpiredStreamFallsBackToSend: when the stream may no longer be finished
// (846608: 6 minutes after its first frame), the answer goes to the chat as a push.
func TestLongConnExpiredStreamFallsBackToSend(t *testing.T) {
	e := newGateway(t)
	var delivered atomic.Pointer[wecomfake.Exchange]
	h := &countingHandler{fn: func(ctx context.Context, m bot.Message) bot.Reply {
		// Once the unfinished stream is in, 7 minutes pass on the gateway's clock: the
		// stream window is over when the answer comes.
		for x := delivered.Load(); x == nil || len(x.Frames()) == 0; x = delivered.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		e.clock.Advance(7 * time.Minute)
		return bot.Reply{Markdown: "结果：3 个社区待报"}
	}}
	run(t, e.longConn(t, "s3cret", h, nil, func(o *bot.LongConnOptions) { o.Timeout = 50 * time.Millisecond }))
	e.waitConnected(t)
	x, err := e.gw.Deliver("bot-1", groupText("slow-2", "@换届助手 哪些社区还没报"))
	if err != nil {
		t.Fatal(err)
	}
	delivered.Store(x)
	for deadline := time.Now().Add(5 * time.Second); len(e.gw.Pushes()) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no push; frames %+v; subscriptions %d; the bot's log:\n%s", x.Frames(), e.gw.Subscriptions("bot-1"), e.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p := e.gw.Pushes()
	frames := x.Frames()
	if len(p) != 1 || p[0].ChatID != "chat1" || p[0].Content != "结果：3 个社区待报" ||
		len(frames) != 2 || frames[1].ErrCode != wecomfake.CodeStreamExpired {
		t.Fatalf("pushes %+v, frames %+v", p, frames)
	}
}

// TestLongConnKickedStaysDown: after WeCom's disconnected_event (another instance
// subscribed with the same bot id) Run ends with ErrKicked, logs why, and never
// subscribes again.
func TestLongConnKickedStaysDown(t *testing.T) {
	e := newGateway(t)
	done, _ := run(t, e.longConn(t, "s3cret", &countingHandler{}, nil))
	e.waitConnected(t)
	if !e.gw.Kick("bot-1") {
		t.Fatal("nothing to kick")
	}
	select {
	case err := <-done:
		if !errors.Is(err, bot.ErrKicked) {
			t.Fatalf("Run returned %v, want ErrKicked", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after disconnected_event")
	}
	time.Sleep(300 * time.Millisecond) // many BackoffMax periods
	if n := e.gw.Subscriptions("bot-1"); n != 1 {
		t.Fatalf("%d subscriptions: the kicked connection fought back", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "another instance holds this bot id") {
		t.Fatalf("no error saying another instance holds the bot id:\n%s", logs)
	}
}

// TestLongConnSubscribeRefusals: an invalid bot id stops at once; a wrong secret (no
// single documented code) stops after MaxAuthFailures refusals in a row, as WeCom's SDK
// does; the rate limit is waited out.
func TestLongConnSubscribeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, botID, secret string
		subscribes          int // connection attempts before Run ends
		code                int
	}{
		{"invalid bot id", "bot-x", "s3cret", 1, bot.ErrCodeInvalidBotID},
		{"wrong secret", "bot-1", "wrong", 3, bot.ErrCodeInvalidSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGateway(t)
			lc := e.longConn(t, tc.secret, &countingHandler{}, nil, func(o *bot.LongConnOptions) {
				o.BotID, o.MaxAuthFailures = tc.botID, 3
			})
			done, _ := run(t, lc)
			select {
			case err := <-done:
				var auth *bot.AuthError
				if !errors.As(err, &auth) || auth.Code != tc.code {
					t.Fatalf("Run returned %v, want *AuthError %d", err, tc.code)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run kept retrying")
			}
			if logs := e.logs.String(); strings.Count(logs, "msg=\"wecom long connection: disconnected\"") != tc.subscribes-1 {
				t.Errorf("want %d reconnects:\n%s", tc.subscribes-1, logs)
			}
		})
	}
	t.Run("rate limited, then accepted", func(t *testing.T) {
		e := newGateway(t)
		e.gw.SubscribesPerMinute = 1
		lc := e.longConn(t, "s3cret", &countingHandler{}, nil, func(o *bot.LongConnOptions) { o.BackoffMax = 200 * time.Millisecond })
		run(t, lc)
		e.waitConnected(t)
		e.gw.Kick("bot-1") // ends that Run; start a new one that is refused with 45009
		time.Sleep(50 * time.Millisecond)
		lc2 := e.longConn(t, "s3cret", &countingHandler{}, nil, func(o *bot.LongConnOptions) { o.BackoffMax = 200 * time.Millisecond })
		done, _ := run(t, lc2)
		time.Sleep(100 * time.Millisecond)
		e.clock.Advance(time.Minute)
		e.waitConnected(t)
		select {
		case err := <-done:
			t.Fatalf("Run ended on the rate limit: %v", err)
		default:
		}
		if !strings.Contains(e.logs.String(), "errcode=45009") {
			t.Errorf("the rate limit was not logged:\n%s", e.logs.String())
		}
	})
}

// TestLongConnControlCharacters: frames carrying control characters are read after
// stripping them, as WeCom's SDK does, instead of being dropped as not JSON.
func TestLongConnControlCharacters(t *testing.T) {
	e := newGateway(t)
	got := make(chan string, 1)
	h := &countingHandler{fn: func(_ context.Context, m bot.Message) bot.Reply {
		got <- m.PlainText()
		return bot.Reply{}
	}}
	run(t, e.longConn(t, "s3cret", h, nil))
	e.waitConnected(t)
	raw := "{\"cmd\":\"aibot_msg_callback\",\x01\"headers\":{\"req_id\":\"R\x0b1\"},\"body\":{\"msgid\":\"cc1\",\"chattype\":\"single\"," +
		"\"from\":{\"userid\":\"lisi\"},\"msgtype\":\"text\",\t\"text\":{\"content\":\"会员\x0c 320\x1f ok\"}}}\r\n"
	if err := e.gw.SendRaw("bot-1", []byte(raw)); err != nil {
		t.Fatal(err)
	}
	select {
	case text := <-got:
		if text != "会员 320 ok" {
			t.Fatalf("text %q", text)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the frame was dropped:\n%s", e.logs.String())
	}
}

// TestLongConnDedup: the same msgid delivered again while another attempt holds it is
// handled once and the user gets exactly one answer, whether the holder answers it (on
// this process), died before answering (its claim lapses and the waiting delivery takes
// the message over) or died after recording its answer but before sending it (the
// waiting delivery sends the recorded answer). Delivered again after it was answered, it
// gets the recorded answer.
func TestLongConnDedup(t *testing.T) {
	const lease = 300 * time.Millisecond
	tests := []struct {
		name string
		// holder, when set, is an attempt of another (dead) replica that holds the
		// message before it is delivered here; it may record an answer afterwards.
		holder    func(l *bot.MemLedger)
		afterDup  func(l *bot.MemLedger) // runs once the delivery that must wait arrived
		local     bool                   // the first delivery is handled here
		wantCalls int32
	}{
		{name: "holder on this process answers", local: true, wantCalls: 1},
		{name: "holder died before answering", wantCalls: 1,
			holder: func(l *bot.MemLedger) { begin(t, l, "dead-replica", lease) }},
		{name: "holder died after recording its answer", wantCalls: 0,
			holder: func(l *bot.MemLedger) { begin(t, l, "dead-replica", time.Hour) },
			afterDup: func(l *bot.MemLedger) {
				if err := l.Finish(context.Background(), "dup", "答复一", bot.DedupTTL); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newGateway(t)
			release := make(chan struct{})
			h := &countingHandler{fn: func(context.Context, bot.Message) bot.Reply {
				<-release
				return bot.Reply{Markdown: "答复一"}
			}}
			l := &bot.MemLedger{}
			run(t, e.longConn(t, "s3cret", h, l, func(o *bot.LongConnOptions) {
				o.Timeout = time.Second
				o.ClaimLease = lease
			}))
			e.waitConnected(t)
			var xs []*wecomfake.Exchange
			if tt.holder != nil {
				tt.holder(l)
			}
			if tt.local {
				x1, _ := e.gw.Deliver("bot-1", groupText("dup", "a"))
				xs = append(xs, x1)
				time.Sleep(100 * time.Millisecond)
			}
			x2, _ := e.gw.Deliver("bot-1", groupText("dup", "a"))
			xs = append(xs, x2)
			time.Sleep(100 * time.Millisecond)
			if tt.afterDup != nil {
				tt.afterDup(l)
			}
			close(release)
			// The answer comes on one of the deliveries, within the claim's lapse and
			// the grace a recorded answer gets.
			deadline := time.Now().Add(8 * time.Second)
			for answers(xs, e.gw.Pushes()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(lease + 3500*time.Millisecond) // a second answer would be out by now
			if n := answers(xs, e.gw.Pushes()); n != 1 {
				t.Fatalf("the user got %d answers; frames %+v %+v, pushes %+v", n, xs[0].Frames(), xs[len(xs)-1].Frames(), e.gw.Pushes())
			}
			for _, x := range xs {
				for _, f := range x.Frames() {
					if f.Finish && f.Content != "答复一" {
						t.Fatalf("answer %+v", f)
					}
				}
			}
			x3, _ := e.gw.Deliver("bot-1", groupText("dup", "a"))
			if f := waitAnswer(t, x3, 5*time.Second); f.Content != "答复一" {
				t.Fatalf("answer after done %+v", f)
			}
			if n := h.calls.Load(); n != tt.wantCalls {
				t.Fatalf("handler called %d times, want %d", n, tt.wantCalls)
			}
		})
	}
}

// begin makes msgid "dup" held by owner in l, as another replica's attempt would.
func begin(t *testing.T, l *bot.MemLedger, owner string, lease time.Duration) {
	t.Helper()
	if _, mine, err := l.Begin(context.Background(), "dup", owner, lease, bot.DedupTTL); err != nil || !mine {
		t.Fatalf("Begin: mine %v, %v", mine, err)
	}
}

// answers counts the finished answers the user sees: finished streams and pushes.
func answers(xs []*wecomfake.Exchange, pushes []wecomfake.Push) int {
	n := len(pushes)
	for _, x := range xs {
		for _, f := range x.Frames() {
			if f.ErrCode == 0 && f.Finish {
				n++
			}
		}
	}
	return n
}

// TestLongConnSendMarkdown pushes through aibot_send_msg: into a chat the bot was
// spoken to in; refused (permanently) elsewhere; refused with the rate limit after 30 a
// minute in one chat, replies included; and not at all without a connection.
func TestLongConnSendMarkdown(t *testing.T) {
	e := newGateway(t)
	lc := e.longConn(t, "s3cret", &countingHandler{}, nil)
	ctx := context.Background()
	// Before Run (a standby replica) there is no connection to wait for: the push is
	// refused at once, not after a wait.
	start := time.Now()
	err := lc.SendMarkdown(ctx, "chat1", "x")
	if !errors.Is(err, bot.ErrNotConnected) || time.Since(start) > time.Second {
		t.Fatalf("send before Run: %v after %v", err, time.Since(start))
	}
	if err := lc.SendMedia(ctx, "chat1", bot.MediaFile, "a.txt", []byte("hello world")); !errors.Is(err, bot.ErrNotConnected) || time.Since(start) > time.Second {
		t.Fatalf("media before Run: %v after %v", err, time.Since(start))
	}
	run(t, lc)
	e.waitConnected(t)
	var api *bot.APIError
	if err := lc.SendMarkdown(ctx, "chat1", "提醒"); !errors.As(err, &api) || api.Code != bot.ErrCodeInvalidChatID || !api.Permanent() {
		t.Fatalf("send into a chat nobody spoke in: %v", err)
	}
	x, _ := e.gw.Deliver("bot-1", groupText("s1", "进度")) // someone speaks; the reply counts
	waitAnswer(t, x, 5*time.Second)
	for i := range 29 {
		if err := lc.SendMarkdown(ctx, "chat1", fmt.Sprintf("第 %d 条 <font color=\"info\">提醒</font>", i+1)); err != nil {
			t.Fatalf("push %d: %v", i+1, err)
		}
	}
	if err := lc.SendMarkdown(ctx, "chat1", "第 30 条"); !errors.As(err, &api) || !api.RateLimited() {
		t.Fatalf("the 31st message of the minute: %v", err)
	}
	p := e.gw.Pushes()
	if len(p) != 29 || p[0].Content != "第 1 条 **提醒**" {
		t.Fatalf("%d pushes, first %+v", len(p), p[0])
	}
}

// TestLongConnFrameShapes checks the frames themselves, as WeCom's SDK writes them.
func TestLongConnFrameShapes(t *testing.T) {
	frames := make(chan map[string]any, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var f map[string]any
			_ = json.Unmarshal(data, &f)
			frames <- f
			ack, _ := json.Marshal(map[string]any{"headers": f["headers"], "errcode": 0, "errmsg": "ok"})
			_ = c.Write(ctx, websocket.MessageText, ack)
		}
	}))
	defer srv.Close()
	lc := bot.NewLongConn(bot.LongConnOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), BotID: "bot-1", Secret: "s",
		Handler: &countingHandler{}, Log: slog.New(slog.DiscardHandler), PingEvery: 20 * time.Millisecond})
	run(t, lc)
	seen := map[string]map[string]any{}
	for deadline := time.After(5 * time.Second); seen["ping"] == nil; {
		select {
		case f := <-frames:
			seen[fmt.Sprint(f["cmd"])] = f
		case <-deadline:
			t.Fatalf("frames %v", seen)
		}
	}
	sub := seen["aibot_subscribe"]
	body, _ := sub["body"].(map[string]any)
	headers, _ := sub["headers"].(map[string]any)
	if body["bot_id"] != "bot-1" || body["secret"] != "s" || !strings.HasPrefix(fmt.Sprint(headers["req_id"]), "aibot_subscribe_") {
		t.Fatalf("subscribe frame %v", sub)
	}
	if err := lc.SendMarkdown(context.Background(), "wrkchat", "**提醒**"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.After(5 * time.Second); seen["aibot_send_msg"] == nil; {
		select {
		case f := <-frames:
			seen[fmt.Sprint(f["cmd"])] = f
		case <-deadline:
			t.Fatal("no aibot_send_msg frame")
		}
	}
	send, _ := json.Marshal(seen["aibot_send_msg"]["body"])
	if string(send) != `{"chatid":"wrkchat","markdown":{"content":"**提醒**"},"msgtype":"markdown"}` {
		t.Fatalf("aibot_send_msg body %s", send)
	}
}

// TestLongConnSendMedia: through the router, a group without a webhook key gets the bot's
// chart (an image) and workbook (a file of several upload chunks) over the long
// connection; WeCom's checks (size, md5, every chunk, the media_id's type) pass.
func TestLongConnSendMedia(t *testing.T) {
	e := newGateway(t)
	lc := e.longConn(t, "s3cret", &countingHandler{}, nil)
	run(t, lc)
	e.waitConnected(t)
	x, _ := e.gw.Deliver("bot-1", groupText("m-media", "图表"))
	waitAnswer(t, x, 5*time.Second)

	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 3000)...)
	file := bytes.Repeat([]byte("大辛,320,6200\n"), 70000) // ~1.3 MB: 3 chunks
	r := &bot.Router{Webhook: bot.NewWebhook(nil), Bot: lc}
	if err := r.Push(context.Background(), bot.Target{ChatID: "chat1"}, bot.Push{Text: "进度表如下", Image: png, File: file, FileName: "进度.csv"}); err != nil {
		t.Fatal(err)
	}
	p := e.gw.Pushes()
	if len(p) != 3 || p[0].Content != "进度表如下" || p[1].MsgType != "image" || !bytes.Equal(p[1].Media.Data, png) ||
		p[2].MsgType != "file" || p[2].Media.Name != "进度.csv" || !bytes.Equal(p[2].Media.Data, file) {
		t.Fatalf("pushes %+v", p)
	}
	if err := lc.SendMedia(context.Background(), "chat1", bot.MediaImage, "", []byte("GIF89a not ours")); !errors.Is(err, bot.ErrImageFormat) {
		t.Fatalf("a GIF: %v", err)
	}
}

// TestLongConnBusy: with one place for work and it taken, the next message is answered at
// once with 「系统繁忙」, finished, and its handler never runs; reading the connection does
// not wait for a place.
func TestLongConnBusy(t *testing.T) {
	e := newGateway(t)
	release := make(chan struct{})
	h := &countingHandler{fn: func(ctx context.Context, m bot.Message) bot.Reply {
		if m.MsgID == "slow" {
			<-release
		}
		return bot.Reply{Markdown: "好的：" + m.MsgID}
	}}
	var busy atomic.Int32
	run(t, e.longConn(t, "s3cret", h, &bot.MemLedger{}, func(o *bot.LongConnOptions) {
		o.MaxInFlight, o.Timeout = 1, 400*time.Millisecond
		o.Busy = func(context.Context) { busy.Add(1) }
	}))
	e.waitConnected(t)
	if _, err := e.gw.Deliver("bot-1", groupText("slow", "@换届助手 进度")); err != nil {
		t.Fatal(err)
	}
	for h.calls.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	x, err := e.gw.Deliver("bot-1", groupText("next", "@换届助手 进度"))
	if err != nil {
		t.Fatal(err)
	}
	if f := waitAnswer(t, x, 2*time.Second); !f.Finish || !strings.Contains(f.Content, "系统繁忙") {
		t.Fatalf("while full: %+v", f)
	}
	if busy.Load() != 1 || h.calls.Load() != 1 {
		t.Fatalf("busy heard %d times, handler called %d times", busy.Load(), h.calls.Load())
	}
	close(release)
}

// TestLongConnClaimIsShortAndRenewed: the claim on a message is short (a replica that
// dies gives its messages up soon) and renewed while the handler runs (a slow handler
// keeps its message past one lease and answers it once).
func TestLongConnClaimIsShortAndRenewed(t *testing.T) {
	e := newGateway(t)
	ledger := &bot.MemLedger{}
	h := &countingHandler{fn: func(ctx context.Context, m bot.Message) bot.Reply {
		if m.MsgID == "slow-claim" {
			time.Sleep(900 * time.Millisecond)
		}
		return bot.Reply{Markdown: "已登记：大辛社区 会员 320 人"}
	}}
	run(t, e.longConn(t, "s3cret", h, ledger, func(o *bot.LongConnOptions) {
		o.Timeout, o.ClaimLease = 100*time.Millisecond, 150*time.Millisecond
	}))
	e.waitConnected(t)
	x, err := e.gw.Deliver("bot-1", groupText("slow-claim", "@换届助手 会员 320 人口 6200"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // three leases and more; the handler still works
	if rec, mine, _ := ledger.Begin(context.Background(), "slow-claim", "other-replica", time.Second, bot.DedupTTL); mine || rec.Done {
		t.Fatalf("another replica took the message of a running handler: %+v mine=%v", rec, mine)
	}
	if f := waitAnswer(t, x, 5*time.Second); f.Content != "已登记：大辛社区 会员 320 人" || h.calls.Load() != 1 {
		t.Fatalf("answer %+v, handler calls %d", f, h.calls.Load())
	}

	e2 := newGateway(t)
	quick := &bot.MemLedger{}
	run(t, e2.longConn(t, "s3cret", &countingHandler{}, quick))
	e2.waitConnected(t)
	x2, _ := e2.gw.Deliver("bot-1", groupText("quick", "@换届助手 进度"))
	waitAnswer(t, x2, 5*time.Second)
	if d := quick.MaxLease(); d <= 0 || d > time.Minute {
		t.Fatalf("a message is claimed for %v: a replica that dies keeps it that long", d)
	}
}

// TestLongConnOwedAnswersOutliveRun: Run's context ends (shutdown, or the lease moved to
// another replica) while a slow handler works. The connection stays up until its answer
// is out, and a message arriving meanwhile is told the bot is busy; when the connection
// cannot wait that long, the answer is handed on (Undelivered) instead of dropped.
func TestLongConnOwedAnswersOutliveRun(t *testing.T) {
	const answer = "已登记：大辛社区 会员 320 人"
	for _, tc := range []struct {
		name  string
		drain time.Duration // 0: the default
	}{{"connection kept", 0}, {"handed on", 50 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGateway(t)
			release := make(chan struct{})
			h := &countingHandler{fn: func(ctx context.Context, m bot.Message) bot.Reply {
				<-release
				return bot.Reply{Markdown: answer}
			}}
			var mu sync.Mutex
			var handed []string
			_, stop := run(t, e.longConn(t, "s3cret", h, &bot.MemLedger{}, func(o *bot.LongConnOptions) {
				o.Timeout, o.DrainTimeout = 100*time.Millisecond, tc.drain
				o.Undelivered = func(_ context.Context, m bot.Message, markdown string) error {
					mu.Lock()
					defer mu.Unlock()
					handed = append(handed, m.ChatID+": "+markdown)
					return nil
				}
			}))
			e.waitConnected(t)
			x, err := e.gw.Deliver("bot-1", groupText("owed-1", "@换届助手 会员 320 人口 6200"))
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); len(x.Frames()) == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no unfinished stream")
				}
			}
			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			time.Sleep(200 * time.Millisecond)
			if tc.drain == 0 {
				late, err := e.gw.Deliver("bot-1", groupText("owed-2", "@换届助手 进度"))
				if err != nil {
					t.Fatalf("the connection closed with an answer owed: %v", err)
				}
				if f := waitAnswer(t, late, 5*time.Second); f.Content != "系统繁忙，请稍后再发。这条消息没有处理，也没有保存任何内容。" {
					t.Fatalf("a message while stopping got %+v", f)
				}
			}
			close(release)
			if err := <-stopped; err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v", err)
			}
			frames := x.Frames()
			last := frames[len(frames)-1]
			mu.Lock()
			defer mu.Unlock()
			switch {
			case tc.drain == 0 && (!last.Finish || last.Content != answer || len(handed) != 0):
				t.Fatalf("frames %+v, handed on %q", frames, handed)
			case tc.drain > 0 && (len(handed) != 1 || handed[0] != "chat1: "+answer):
				t.Fatalf("handed on %q, frames %+v", handed, frames)
			}
		})
	}
}
