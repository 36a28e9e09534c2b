package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsFrame is a frame as the fake WeCom server sees it.
type wsFrame struct {
	Cmd     string `json:"cmd"`
	Headers struct {
		ReqID string `json:"req_id"`
	} `json:"headers"`
	Body json.RawMessage `json:"body"`
}

// fakeWeCom starts a loopback WebSocket server; play runs once per connection (n counts
// them from 1). It returns the ws:// URL.
func fakeWeCom(t *testing.T, play func(ctx context.Context, c *websocket.Conn, n int)) string {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		play(ctx, c, int(n.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func readFrame(ctx context.Context, c *websocket.Conn) (wsFrame, error) {
	_, data, err := c.Read(ctx)
	if err != nil {
		return wsFrame{}, err
	}
	var f wsFrame
	err = json.Unmarshal(data, &f)
	return f, err
}

func writeFrame(ctx context.Context, c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, data)
}

// expectSubscribe reads the subscribe frame, checks it and answers errcode.
func expectSubscribe(ctx context.Context, t *testing.T, c *websocket.Conn, secret string, errcode int) bool {
	f, err := readFrame(ctx, c)
	if err != nil {
		t.Errorf("reading subscribe: %v", err)
		return false
	}
	var body struct {
		BotID  string `json:"bot_id"`
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(f.Body, &body)
	if f.Cmd != "aibot_subscribe" || f.Headers.ReqID == "" || body.BotID != "bot-1" {
		t.Errorf("bad subscribe frame %+v %s", f, f.Body)
		return false
	}
	if body.Secret != secret && errcode == 0 {
		errcode = ErrCodeAuthFailed
	}
	msg := "ok"
	if errcode != 0 {
		msg = "invalid secret"
	}
	if err := writeFrame(ctx, c, map[string]any{"headers": map[string]string{"req_id": f.Headers.ReqID}, "errcode": errcode, "errmsg": msg}); err != nil {
		t.Errorf("ack: %v", err)
		return false
	}
	return errcode == 0
}

func callbackFrame(cmd, reqID string, m Message) map[string]any {
	return map[string]any{"cmd": cmd, "headers": map[string]string{"req_id": reqID}, "body": m}
}

func newTestLongConn(t *testing.T, url, secret string, h Handler, d Deduper) *LongConn {
	return NewLongConn(LongConnOptions{URL: url, BotID: "bot-1", Secret: secret, Handler: h, Dedup: d,
		Log: testLogger(t), PingEvery: 30 * time.Millisecond, BackoffMin: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond})
}

// runLongConn runs lc in the background; stop cancels it and returns Run's error.
func runLongConn(lc *LongConn) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lc.Run(ctx) }()
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			return errors.New("Run did not return after cancel")
		}
	}
}

func TestLongConnAnswersCallbacks(t *testing.T) {
	type answer struct {
		f       wsFrame
		content string
		msgType string
		finish  bool
		id      string
	}
	got := make(chan answer, 8)
	pinged := make(chan struct{}, 1)
	enter := Message{MsgID: "ev1", MsgType: "event", ChatType: "single", From: From{UserID: "lisi"}}
	enter.Event = &struct {
		EventType string `json:"eventtype"`
	}{EventEnterChat}
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		if !expectSubscribe(ctx, t, c, "s3cret", 0) {
			return
		}
		_ = writeFrame(ctx, c, callbackFrame("aibot_msg_callback", "R-msg", textMsg("m1", "@换届助手 进度")))
		_ = writeFrame(ctx, c, callbackFrame("aibot_event_callback", "R-enter", enter))
		for {
			f, err := readFrame(ctx, c)
			if err != nil {
				return
			}
			switch f.Cmd {
			case "ping":
				if f.Headers.ReqID == "" {
					t.Error("ping without req_id")
				}
				_ = writeFrame(ctx, c, map[string]any{"headers": f.Headers, "errcode": 0, "errmsg": "ok"})
				select {
				case pinged <- struct{}{}:
				default:
				}
			case "aibot_respond_msg", "aibot_respond_welcome_msg":
				var b replyBody
				if err := json.Unmarshal(f.Body, &b); err != nil {
					t.Errorf("respond body: %v", err)
				}
				a := answer{f: f, msgType: b.MsgType}
				if b.Stream != nil {
					a.content, a.finish, a.id = b.Stream.Content, b.Stream.Finish, b.Stream.ID
				}
				if b.Text != nil {
					a.content = b.Text.Content
				}
				got <- a
			}
		}
	})
	h := &recorder{reply: func(_ context.Context, m Message) Reply {
		if m.MsgType == "event" {
			return Reply{Markdown: "欢迎！"}
		}
		return Reply{Markdown: "**进度** " + m.PlainText()}
	}}
	stop := runLongConn(newTestLongConn(t, url, "s3cret", h, &memDedup{}))
	want := map[string]answer{
		"R-msg":   {msgType: "stream", content: "**进度** @换届助手 进度", finish: true},
		"R-enter": {msgType: "text", content: "欢迎！"},
	}
	for range want {
		select {
		case a := <-got:
			w, ok := want[a.f.Headers.ReqID]
			if !ok {
				t.Fatalf("answer with unknown req_id %q", a.f.Headers.ReqID)
			}
			wantCmd := "aibot_respond_msg"
			if w.msgType == "text" {
				wantCmd = "aibot_respond_welcome_msg"
			}
			if a.f.Cmd != wantCmd || a.msgType != w.msgType || a.content != w.content || a.finish != w.finish {
				t.Errorf("answer to %s: %s %+v, want %s %+v", a.f.Headers.ReqID, a.f.Cmd, a, wantCmd, w)
			}
			if w.msgType == "stream" && a.id == "" {
				t.Error("stream without id")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no answer")
		}
	}
	select {
	case <-pinged:
	case <-time.After(5 * time.Second):
		t.Fatal("no ping")
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}

func TestLongConnAuthFailureStops(t *testing.T) {
	var conns atomic.Int32
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		conns.Add(1)
		expectSubscribe(ctx, t, c, "right", 0)
		_, _, _ = c.Read(ctx) // until the client hangs up
	})
	lc := newTestLongConn(t, url, "wrong", &recorder{}, nil)
	done := make(chan error, 1)
	go func() { done <- lc.Run(context.Background()) }()
	select {
	case err := <-done:
		var auth *AuthError
		if !errors.As(err, &auth) || auth.Code != ErrCodeAuthFailed || auth.Msg != "invalid secret" {
			t.Fatalf("Run returned %v, want *AuthError 853000", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept retrying after an auth failure")
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestLongConnOtherSubscribeErrorRetries(t *testing.T) {
	retried := make(chan struct{})
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		if n == 1 {
			expectSubscribe(ctx, t, c, "s", 600001) // a transient refusal
			_, _, _ = c.Read(ctx)
			return
		}
		if expectSubscribe(ctx, t, c, "s", 0) && n == 2 {
			close(retried)
		}
		_, _, _ = c.Read(ctx)
	})
	stop := runLongConn(newTestLongConn(t, url, "s", &recorder{}, nil))
	select {
	case <-retried:
	case <-time.After(5 * time.Second):
		t.Fatal("no retry after a non-auth subscribe error")
	}
	_ = stop()
}

func TestLongConnDedup(t *testing.T) {
	answers := make(chan string, 8)
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		if !expectSubscribe(ctx, t, c, "s", 0) {
			return
		}
		_ = writeFrame(ctx, c, callbackFrame("aibot_msg_callback", "R1", textMsg("dup", "a")))
		_ = writeFrame(ctx, c, callbackFrame("aibot_msg_callback", "R2", textMsg("dup", "a")))
		_ = writeFrame(ctx, c, callbackFrame("aibot_msg_callback", "R3", textMsg("other", "b")))
		for {
			f, err := readFrame(ctx, c)
			if err != nil {
				return
			}
			if f.Cmd == "aibot_respond_msg" {
				answers <- f.Headers.ReqID
			}
		}
	})
	h := &recorder{}
	stop := runLongConn(newTestLongConn(t, url, "s", h, &memDedup{}))
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < 2 {
		select {
		case id := <-answers:
			got = append(got, id)
		case <-timeout:
			t.Fatalf("answers %v", got)
		}
	}
	time.Sleep(150 * time.Millisecond) // room for a wrong second answer to the duplicate
	_ = stop()
	close(answers)
	for id := range answers {
		got = append(got, id)
	}
	dup := 0
	for _, id := range got {
		if id == "R1" || id == "R2" {
			dup++
		}
	}
	if dup != 1 || len(got) != 2 || h.calls.Load() != 2 {
		t.Fatalf("answers %v, handler calls %d: want one answer to msgid dup and one to other", got, h.calls.Load())
	}
}

func TestLongConnReconnects(t *testing.T) {
	resubscribed := make(chan int, 1)
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		if !expectSubscribe(ctx, t, c, "s", 0) {
			return
		}
		if n == 1 {
			_ = c.Close(websocket.StatusGoingAway, "server restart")
			return
		}
		select {
		case resubscribed <- n:
		default:
		}
		_, _, _ = c.Read(ctx)
	})
	stop := runLongConn(newTestLongConn(t, url, "s", &recorder{}, nil))
	select {
	case n := <-resubscribed:
		if n != 2 {
			t.Fatalf("connection %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnect after the server dropped the connection")
	}
	_ = stop()
}

func TestLongConnKickedBacksOff(t *testing.T) {
	kicked := make(chan time.Time, 1)
	again := make(chan time.Time, 1)
	url := fakeWeCom(t, func(ctx context.Context, c *websocket.Conn, n int) {
		if !expectSubscribe(ctx, t, c, "s", 0) {
			return
		}
		if n == 1 {
			ev := Message{MsgID: "k1", MsgType: "event"}
			ev.Event = &struct {
				EventType string `json:"eventtype"`
			}{EventDisconnected}
			kicked <- time.Now()
			_ = writeFrame(ctx, c, callbackFrame("aibot_event_callback", "K", ev))
			_, _, _ = c.Read(ctx)
			return
		}
		select {
		case again <- time.Now():
		default:
		}
		_, _, _ = c.Read(ctx)
	})
	h := &recorder{}
	lc := NewLongConn(LongConnOptions{URL: url, BotID: "bot-1", Secret: "s", Handler: h, Log: testLogger(t),
		PingEvery: time.Second, BackoffMin: 5 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	stop := runLongConn(lc)
	defer stop()
	var k, a time.Time
	select {
	case k = <-kicked:
	case <-time.After(5 * time.Second):
		t.Fatal("not connected")
	}
	select {
	case a = <-again:
	case <-time.After(5 * time.Second):
		t.Fatal("never reconnected after being replaced")
	}
	if d := a.Sub(k); d < 350*time.Millisecond {
		t.Fatalf("reconnected %v after disconnected_event; want about BackoffMax (400ms)", d)
	}
	if h.calls.Load() != 0 {
		t.Error("disconnected_event must not reach the handler")
	}
}

func TestLongConnBackoff(t *testing.T) {
	lc := NewLongConn(LongConnOptions{BackoffMin: time.Second, BackoffMax: time.Minute})
	if lc.o.URL != DefaultLongConnURL || lc.o.PingEvery != 30*time.Second {
		t.Fatalf("defaults: %+v", lc.o)
	}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 500 * time.Millisecond, time.Second},
		{1, time.Second, 2 * time.Second},
		{3, 4 * time.Second, 8 * time.Second},
		{6, 30 * time.Second, 60 * time.Second},
		{50, 30 * time.Second, 60 * time.Second},
	} {
		for i := 0; i < 50; i++ {
			if d := lc.backoff(tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("attempt %d: %v not in [%v, %v]", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}
