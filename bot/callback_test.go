package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// memDedup is an in-memory Deduper; fail makes Claim error like a Redis outage.
type memDedup struct {
	mu   sync.Mutex
	seen map[string]bool
	fail bool
}

func (d *memDedup) Claim(_ context.Context, id string, ttl time.Duration) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return false, errors.New("redis: connection refused")
	}
	if ttl != DedupTTL {
		return false, errors.New("unexpected ttl")
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if d.seen[id] {
		return false, nil
	}
	d.seen[id] = true
	return true, nil
}

// recorder is a Handler that counts calls and remembers the last message.
type recorder struct {
	calls atomic.Int32
	mu    sync.Mutex
	last  Message
	reply func(ctx context.Context, m Message) Reply
}

func (h *recorder) Handle(ctx context.Context, m Message) Reply {
	h.calls.Add(1)
	h.mu.Lock()
	h.last = m
	h.mu.Unlock()
	if h.reply == nil {
		return Reply{Markdown: "收到：" + m.PlainText()}
	}
	return h.reply(ctx, m)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testCrypto(t *testing.T) *Crypto {
	t.Helper()
	c, err := NewCrypto(vectorToken, vectorKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func textMsg(id, content string) Message {
	return Message{MsgID: id, AIBotID: "bot1", ChatID: "chat1", ChatType: "group",
		From: From{UserID: "zhangsan"}, MsgType: "text", Text: &Text{Content: content}}
}

// post sends query+body to h and returns the recorded response.
func post(h http.Handler, q url.Values, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, CallbackPath+"?"+q.Encode(), bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCallbackVerifyURL(t *testing.T) {
	c := testCrypto(t)
	good, err := c.SealEcho("1616140317555161061")
	if err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	// A validly signed echostr that does not decrypt.
	garbage := url.Values{"timestamp": {"1"}, "nonce": {"2"}, "echostr": {"AAAA"}}
	garbage.Set("msg_signature", c.Sign("1", "2", "AAAA"))
	// WeCom's own vector: receiveid wx5823bf96d3bd56c7 must be tolerated by a bot crypto.
	official := url.Values{
		"msg_signature": {"5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"},
		"timestamp":     {"1409659589"},
		"nonce":         {"263014780"},
		"echostr":       {"P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="},
	}
	for _, tc := range []struct {
		name   string
		q      url.Values
		status int
		body   string
	}{
		{"ok", good, 200, "1616140317555161061"},
		{"official vector", official, 200, "1616140317555161061"},
		{"bad signature", with("msg_signature", strings.Repeat("0", 40)), 401, ""},
		{"other nonce", with("nonce", "1"), 401, ""},
		{"missing signature", with("msg_signature", ""), 400, ""},
		{"missing echostr", with("echostr", ""), 400, ""},
		{"missing timestamp", with("timestamp", ""), 400, ""},
		{"undecryptable", garbage, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			cb := NewCallback(c, h, nil, testLogger(t))
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, CallbackPath+"?"+tc.q.Encode(), nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 {
				if rec.Body.String() != tc.body {
					t.Errorf("body %q, want %q (no newline)", rec.Body.String(), tc.body)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q", ct)
				}
			}
			if h.calls.Load() != 0 {
				t.Error("URL verification must not call the handler")
			}
		})
	}
}

func TestCallbackPostRejects(t *testing.T) {
	c := testCrypto(t)
	q, body, err := c.SealCallback(textMsg("m1", "@换届助手 进度"))
	if err != nil {
		t.Fatal(err)
	}
	// The same signature with another (validly encrypted) payload: a replay attempt.
	_, otherBody, _ := c.SealCallback(textMsg("m2", "@换届助手 删除全部"))
	// A payload that is encrypted and signed correctly but is not JSON.
	encNotJSON, _ := c.Encrypt([]byte("not json"))
	qNotJSON := url.Values{"timestamp": {"1"}, "nonce": {"2"}, "msg_signature": {c.Sign("1", "2", encNotJSON)}}
	// Signed garbage ciphertext.
	qGarbage := url.Values{"timestamp": {"1"}, "nonce": {"2"}, "msg_signature": {c.Sign("1", "2", "AAAA")}}
	noNonce := url.Values{"timestamp": q["timestamp"], "msg_signature": q["msg_signature"]}
	huge := append([]byte(`{"encrypt":"`), bytes.Repeat([]byte("A"), MaxCallbackBody)...)
	huge = append(huge, `"}`...)

	for _, tc := range []struct {
		name   string
		q      url.Values
		body   []byte
		status int
	}{
		{"replayed signature, different body", q, otherBody, 401},
		{"tampered signature", url.Values{"timestamp": q["timestamp"], "nonce": q["nonce"], "msg_signature": {strings.Repeat("a", 40)}}, body, 401},
		{"missing nonce", noNonce, body, 400},
		{"body not JSON", q, []byte("encrypt=abc"), 400},
		{"no encrypt field", q, []byte(`{"Encrypt2":"x"}`), 400},
		{"undecryptable", qGarbage, []byte(`{"encrypt":"AAAA"}`), 400},
		{"plaintext not JSON", qNotJSON, []byte(`{"encrypt":"` + encNotJSON + `"}`), 400},
		{"body too large", q, huge, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			cb := NewCallback(c, h, &memDedup{}, testLogger(t))
			rec := post(cb, tc.q, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if n := h.calls.Load(); n != 0 {
				t.Fatalf("handler called %d times on a rejected request", n)
			}
		})
	}

	t.Run("method", func(t *testing.T) {
		cb := NewCallback(c, &recorder{}, nil, testLogger(t))
		rec := httptest.NewRecorder()
		cb.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, CallbackPath, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
			t.Fatalf("PUT: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
		}
	})
}

func TestCallbackReplies(t *testing.T) {
	c := testCrypto(t)
	long := strings.Repeat("进度表", 3000) // 27000 bytes
	enter := Message{MsgID: "e1", MsgType: "event", ChatType: "single", From: From{UserID: "lisi"}}
	enter.Event = &struct {
		EventType string `json:"eventtype"`
	}{EventEnterChat}
	feedback := enter
	feedback.MsgID = "e2"
	feedback.Event = &struct {
		EventType string `json:"eventtype"`
	}{"feedback_event"}
	refresh := Message{MsgID: "s1", MsgType: "stream", ChatType: "group"}
	refresh.Stream = &struct {
		ID string `json:"id"`
	}{"stream-42"}

	for _, tc := range []struct {
		name    string
		msg     Message
		reply   string
		empty   bool   // want an empty body
		msgType string // of the passive reply
		content string // "" = the reply itself
		id      string // "" = any non-empty id
	}{
		{name: "text", msg: textMsg("t1", "@换届助手 进度"), reply: "**进度**：3/5 <font color=\"warning\">待报</font> <@zhangsan>", msgType: "stream"},
		{name: "empty reply", msg: textMsg("t2", "@换届助手 嗯"), reply: "  \n", empty: true},
		{name: "enter_chat welcome", msg: enter, reply: "欢迎使用换届助手", msgType: "text"},
		{name: "other event with reply", msg: feedback, reply: "谢谢", empty: true},
		{name: "other event without reply", msg: feedback, reply: "", empty: true},
		{name: "stream refresh reuses id", msg: refresh, reply: "仍在计算", msgType: "stream", id: "stream-42"},
		{name: "stream refresh without reply", msg: refresh, reply: "", empty: true},
		{name: "truncated", msg: textMsg("t3", "@换届助手 全部"), reply: long, msgType: "stream",
			content: long[:MaxStreamContent-len(TruncationNote)-2] + TruncationNote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{reply: func(context.Context, Message) Reply { return Reply{Markdown: tc.reply} }}
			cb := NewCallback(c, h, &memDedup{}, testLogger(t))
			q, body, err := c.SealCallback(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			rec := post(cb, q, body)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			if h.calls.Load() != 1 {
				t.Fatalf("handler called %d times", h.calls.Load())
			}
			h.mu.Lock()
			got := h.last
			h.mu.Unlock()
			if got.MsgID != tc.msg.MsgID || got.MsgType != tc.msg.MsgType || got.PlainText() != tc.msg.PlainText() {
				t.Errorf("handler got %+v, want %+v", got, tc.msg)
			}
			if tc.empty {
				if rec.Body.Len() != 0 {
					t.Fatalf("want an empty body, got %q", rec.Body)
				}
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			r, err := c.OpenReply(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			want := tc.content
			if want == "" {
				want = tc.reply
			}
			if r.MsgType != tc.msgType || !r.Finish || r.Content != want || r.Empty {
				t.Fatalf("reply %+v (content %d bytes), want %s %d bytes", r, len(r.Content), tc.msgType, len(want))
			}
			if len(r.Content) > MaxStreamContent || !utf8.ValidString(r.Content) {
				t.Fatalf("content of %d bytes, valid UTF-8 %v", len(r.Content), utf8.ValidString(r.Content))
			}
			if tc.msgType == "stream" && (r.ID == "" || (tc.id != "" && r.ID != tc.id)) {
				t.Errorf("stream id %q, want %q", r.ID, tc.id)
			}
			// The markdown must travel unescaped inside the plaintext (no \u003c).
			plain := decryptReply(t, c, rec.Body.Bytes())
			if strings.Contains(plain, `\u003c`) {
				t.Errorf("HTML-escaped plaintext: %s", plain)
			}
		})
	}
}

func decryptReply(t *testing.T, c *Crypto, body []byte) string {
	t.Helper()
	var env passiveReply
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	plain, _, err := c.Decrypt(env.Encrypt)
	if err != nil {
		t.Fatal(err)
	}
	return string(plain)
}

func TestCallbackDedup(t *testing.T) {
	c := testCrypto(t)
	for _, tc := range []struct {
		name      string
		dedup     Deduper
		wantCalls int32
		second    string // "empty" or "reply"
	}{
		{"duplicate answered empty", &memDedup{}, 1, "empty"},
		{"redis down handles both", &memDedup{fail: true}, 2, "reply"},
		{"no deduper handles both", nil, 2, "reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			cb := NewCallback(c, h, tc.dedup, testLogger(t))
			q, body, _ := c.SealCallback(textMsg("same", "@换届助手 进度"))
			first := post(cb, q, body)
			// WeCom's retry: same msgid, new envelope (same timestamp is allowed: no age check).
			q2, body2, _ := c.SealCallback(textMsg("same", "@换届助手 进度"))
			q2.Set("timestamp", "1409659589")
			q2.Set("msg_signature", c.Sign("1409659589", q2.Get("nonce"), mustEncrypt(t, body2)))
			second := post(cb, q2, body2)
			if first.Code != 200 || second.Code != 200 {
				t.Fatalf("status %d, %d", first.Code, second.Code)
			}
			if r, err := c.OpenReply(first.Body.Bytes()); err != nil || r.Empty {
				t.Fatalf("first answer: %+v %v", r, err)
			}
			if got := second.Body.Len() == 0; got != (tc.second == "empty") {
				t.Fatalf("second body %q, want %s", second.Body, tc.second)
			}
			if n := h.calls.Load(); n != tc.wantCalls {
				t.Fatalf("handler called %d times, want %d", n, tc.wantCalls)
			}
		})
	}
}

func mustEncrypt(t *testing.T, body []byte) string {
	t.Helper()
	var env struct{ Encrypt string }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Encrypt
}

func TestCallbackHandlerPanicsAndTimeouts(t *testing.T) {
	c := testCrypto(t)
	t.Run("panic is a 500, and the server lives on", func(t *testing.T) {
		h := &recorder{reply: func(_ context.Context, m Message) Reply {
			if m.MsgID == "boom" {
				panic("nil map")
			}
			return Reply{Markdown: "ok"}
		}}
		srv := httptest.NewServer(NewCallback(c, h, &memDedup{}, testLogger(t)))
		defer srv.Close()
		for _, tc := range []struct {
			id     string
			status int
		}{{"boom", 500}, {"fine", 200}} {
			q, body, _ := c.SealCallback(textMsg(tc.id, "x"))
			resp, err := http.Post(srv.URL+CallbackPath+"?"+q.Encode(), "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("%s: status %d, want %d", tc.id, resp.StatusCode, tc.status)
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		var deadline atomic.Bool
		h := &recorder{reply: func(ctx context.Context, _ Message) Reply {
			_, ok := ctx.Deadline()
			deadline.Store(ok)
			<-ctx.Done()
			time.Sleep(20 * time.Millisecond) // a handler that overruns a little
			return Reply{Markdown: "too late"}
		}}
		cb := NewCallback(c, h, nil, testLogger(t))
		cb.Timeout = 50 * time.Millisecond
		q, body, _ := c.SealCallback(textMsg("slow", "x"))
		start := time.Now()
		rec := post(cb, q, body)
		if rec.Code != 200 || rec.Body.Len() != 0 {
			t.Fatalf("status %d body %q", rec.Code, rec.Body)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("answered after %v", el)
		}
		if !deadline.Load() {
			t.Error("handler context had no deadline")
		}
		if NewCallback(c, h, nil, nil).Timeout != DefaultHandlerTimeout || DefaultHandlerTimeout >= 5*time.Second {
			t.Error("the default deadline must be under WeCom's 5 s")
		}
		time.Sleep(50 * time.Millisecond) // let the late result be logged while t is alive
	})
}

func TestTruncateContent(t *testing.T) {
	note := len(TruncationNote)
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcdefghij", 10, "abcdefghij"},
		{"ascii", strings.Repeat("a", 100), note + 5, "aaaaa" + TruncationNote},
		{"rune boundary", strings.Repeat("进", 20), note + 7, "进进" + TruncationNote}, // 7 bytes hold two 3-byte runes
		{"tiny max", strings.Repeat("a", 100), 3, TruncationNote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateContent(tc.in, tc.max)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.max >= note && len(got) > tc.max {
				t.Fatalf("%d bytes > %d", len(got), tc.max)
			}
		})
	}
}

func TestOpenReply(t *testing.T) {
	c := testCrypto(t)
	good, err := c.sealReply([]byte(`{"msgtype":"stream","stream":{"id":"a","finish":true,"content":"hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var env passiveReply
	_ = json.Unmarshal(good, &env)
	tampered := env
	tampered.Nonce += "1"
	tamperedBody, _ := json.Marshal(tampered)
	stringTS, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt, "msgsignature": env.MsgSignature,
		"timestamp": strings.TrimSpace(string(mustJSON(env.Timestamp))), "nonce": env.Nonce})
	notStream, _ := c.sealReply([]byte(`{"msgtype":"markdown","markdown":{"content":"x"}}`))

	for _, tc := range []struct {
		name    string
		body    []byte
		want    StreamReply
		wantErr error // nil with errAny false: success
		errAny  bool
	}{
		{name: "stream", body: good, want: StreamReply{MsgType: "stream", ID: "a", Finish: true, Content: "hi"}},
		{name: "timestamp as string", body: stringTS, want: StreamReply{MsgType: "stream", ID: "a", Finish: true, Content: "hi"}},
		{name: "empty", body: nil, want: StreamReply{Empty: true}},
		{name: "white space", body: []byte(" \n"), want: StreamReply{Empty: true}},
		{name: "tampered", body: tamperedBody, wantErr: ErrBadSignature},
		{name: "not JSON", body: []byte("<xml/>"), errAny: true},
		{name: "not a stream", body: notStream, errAny: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.OpenReply(tc.body)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
			case tc.errAny:
				if err == nil {
					t.Fatalf("want an error, got %+v", got)
				}
			default:
				if err != nil || got != tc.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSealCallbackRoundTrip(t *testing.T) {
	c := testCrypto(t)
	for _, in := range []any{textMsg("r1", "@换届助手 进度 <b>"), []byte(`{"msgid":"raw"}`), json.RawMessage(`{"msgid":"raw2"}`)} {
		q, body, err := c.SealCallback(in)
		if err != nil {
			t.Fatal(err)
		}
		enc := mustEncrypt(t, body)
		if !c.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), enc) {
			t.Fatal("SealCallback's signature does not verify")
		}
		plain, _, err := c.Decrypt(enc)
		if err != nil {
			t.Fatal(err)
		}
		var m Message
		if err := json.Unmarshal(plain, &m); err != nil || m.MsgID == "" {
			t.Fatalf("plaintext %s: %v", plain, err)
		}
	}
}
