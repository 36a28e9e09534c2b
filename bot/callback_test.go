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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// memLedger is an in-memory MsgLedger; fail makes every call error like a Redis outage.
type memLedger struct {
	mu     sync.Mutex
	recs   map[string]*memRec
	fail   bool
	begins int             // calls of Begin
	leases []time.Duration // the lease of every Begin
	// finishDelay makes Finish and FinishFirst take this long, like a slow Redis.
	finishDelay time.Duration
}

type memRec struct {
	MsgRecord
	owner string
}

var errOutage = errors.New("redis: connection refused")

func (l *memLedger) Begin(_ context.Context, id, owner string, lease, ttl time.Duration) (MsgRecord, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.begins++
	l.leases = append(l.leases, lease)
	if l.fail {
		return MsgRecord{}, false, errOutage
	}
	if ttl != DedupTTL || lease <= 0 {
		return MsgRecord{}, false, errors.New("unexpected lease or ttl")
	}
	if l.recs == nil {
		l.recs = map[string]*memRec{}
	}
	r, ok := l.recs[id]
	if !ok || (!r.Done && (r.owner == owner || time.Now().After(r.Until))) {
		if !ok {
			r = &memRec{}
			l.recs[id] = r
		}
		r.owner, r.Until = owner, time.Now().Add(lease)
		return r.MsgRecord, true, nil
	}
	return r.MsgRecord, false, nil
}

func (l *memLedger) Finish(_ context.Context, id, answer string, _ time.Duration) error {
	time.Sleep(l.finishDelay)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errOutage
	}
	if l.recs == nil {
		l.recs = map[string]*memRec{}
	}
	r, ok := l.recs[id]
	if !ok {
		r = &memRec{}
		l.recs[id] = r
	}
	r.Done, r.Answer, r.owner, r.Until = true, answer, "", time.Time{}
	return nil
}

func (l *memLedger) FinishFirst(_ context.Context, id, answer string, _ time.Duration) (string, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return "", false, errOutage
	}
	if l.recs == nil {
		l.recs = map[string]*memRec{}
	}
	if r, ok := l.recs[id]; ok && r.Done {
		return r.Answer, false, nil
	}
	l.recs[id] = &memRec{MsgRecord: MsgRecord{Done: true, Answer: answer}}
	return answer, true, nil
}

func (l *memLedger) Release(_ context.Context, id, owner string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return errOutage
	}
	if r, ok := l.recs[id]; ok && !r.Done && r.owner == owner {
		delete(l.recs, id)
	}
	return nil
}

func (l *memLedger) Lookup(_ context.Context, id string) (MsgRecord, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return MsgRecord{}, false, errOutage
	}
	r, ok := l.recs[id]
	if !ok {
		return MsgRecord{}, false, nil
	}
	return r.MsgRecord, true, nil
}

func (l *memLedger) MarkDelivered(_ context.Context, id, via string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return "", errOutage
	}
	r, ok := l.recs[id]
	if !ok {
		return "", nil
	}
	if r.Delivered == "" {
		r.Delivered = via
	}
	return r.Delivered, nil
}

func (l *memLedger) SettleDelivered(_ context.Context, id, from, to string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail {
		return "", errOutage
	}
	r, ok := l.recs[id]
	if !ok {
		return "", nil
	}
	if r.Delivered == from {
		r.Delivered = to
	}
	return r.Delivered, nil
}

// MaxLease is the longest lease any Begin asked for.
func (l *memLedger) MaxLease() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m time.Duration
	for _, d := range l.leases {
		m = max(m, d)
	}
	return m
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

// newCallback is NewCallback whose background work (ledger bookkeeping, late answers)
// is over before the test ends, so nothing logs to a finished test.
func newCallback(t *testing.T, c *Crypto, h Handler, l MsgLedger, log *slog.Logger) *Callback {
	cb := NewCallback(c, h, l, log)
	t.Cleanup(func() { waitSettled(t, cb) })
	return cb
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
			cb := newCallback(t, c, h, nil, testLogger(t))
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
	now := strconv.FormatInt(time.Now().Unix(), 10)
	qNotJSON := url.Values{"timestamp": {now}, "nonce": {"2"}, "msg_signature": {c.Sign(now, "2", encNotJSON)}}
	// Signed garbage ciphertext.
	qGarbage := url.Values{"timestamp": {now}, "nonce": {"2"}, "msg_signature": {c.Sign(now, "2", "AAAA")}}
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
			cb := newCallback(t, c, h, &memLedger{}, testLogger(t))
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

	for _, tc := range []struct {
		name    string
		msg     Message
		reply   string
		empty   bool   // want an empty body
		msgType string // of the passive reply
		content string // "" = the reply itself
		id      string // "" = any non-empty id
	}{
		{name: "text", msg: textMsg("t1", "@换届助手 进度"), reply: "**进度**：3/5 <font color=\"warning\">待报</font> <@zhangsan>", msgType: "stream",
			content: "**进度**：3/5 **待报** @zhangsan"},
		{name: "lines", msg: textMsg("t4", "@换届助手 大辛"), reply: "大辛社区\n会员 320 人", msgType: "stream", content: "大辛社区\n\n会员 320 人"},
		{name: "empty reply", msg: textMsg("t2", "@换届助手 嗯"), reply: "  \n", empty: true},
		{name: "enter_chat welcome", msg: enter, reply: "欢迎使用换届助手", msgType: "text"},
		{name: "other event with reply", msg: feedback, reply: "谢谢", empty: true},
		{name: "other event without reply", msg: feedback, reply: "", empty: true},
		{name: "truncated", msg: textMsg("t3", "@换届助手 全部"), reply: long, msgType: "stream",
			content: long[:MaxStreamContent-len(TruncationNote)-2] + TruncationNote},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{reply: func(context.Context, Message) Reply { return Reply{Markdown: tc.reply} }}
			cb := newCallback(t, c, h, &memLedger{}, testLogger(t))
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
			r, err := c.OpenReply(q, rec.Body.Bytes())
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

// TestCallbackDedup delivers the same msgid twice, as WeCom retries: answered once by the
// handler, and the retry gets the same answer in the same stream; with the ledger down
// both are handled (at least once beats never).
func TestCallbackDedup(t *testing.T) {
	c := testCrypto(t)
	for _, tc := range []struct {
		name      string
		ledger    MsgLedger
		wantCalls int32
	}{
		{"retry answered from the ledger", &memLedger{}, 1},
		{"ledger down handles both", &memLedger{fail: true}, 2},
		{"no ledger handles both", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			cb := newCallback(t, c, h, tc.ledger, testLogger(t))
			q, body, _ := c.SealCallback(textMsg("same", "@换届助手 进度"))
			first := post(cb, q, body)
			q2, body2, _ := c.SealCallback(textMsg("same", "@换届助手 进度"))
			waitSettled(t, cb)
			second := post(cb, q2, body2)
			r1, err1 := c.OpenReply(q, first.Body.Bytes())
			r2, err2 := c.OpenReply(q2, second.Body.Bytes())
			if err1 != nil || err2 != nil || !r1.Finish || !r2.Finish || r1.Content != "收到：@换届助手 进度" || r2.Content != r1.Content {
				t.Fatalf("answers %+v %v / %+v %v", r1, err1, r2, err2)
			}
			if tc.ledger != nil && r1.ID != r2.ID {
				t.Errorf("stream ids %q and %q: one message, one stream", r1.ID, r2.ID)
			}
			if n := h.calls.Load(); n != tc.wantCalls {
				t.Fatalf("handler called %d times, want %d", n, tc.wantCalls)
			}
		})
	}
}

// waitSettled waits until the callback's bookkeeping of finished work is done.
func waitSettled(t *testing.T, cb *Callback) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cb.Shutdown(ctx); err != nil {
		t.Fatal(err)
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

// TestCallbackFailedAttemptIsRetried: a handler that panics gets WeCom a 500; WeCom's
// retry of the same msgid is processed again (the first attempt released it), and the
// server lives on.
func TestCallbackFailedAttemptIsRetried(t *testing.T) {
	c := testCrypto(t)
	var calls atomic.Int32
	h := &recorder{reply: func(_ context.Context, m Message) Reply {
		if calls.Add(1) == 1 {
			panic("nil map")
		}
		return Reply{Markdown: "已登记"}
	}}
	ledger := &memLedger{}
	srv := httptest.NewServer(newCallback(t, c, h, ledger, testLogger(t)))
	defer srv.Close()
	for i, want := range []int{500, 200} {
		q, body, _ := c.SealCallback(textMsg("boom", "x"))
		resp, err := http.Post(srv.URL+CallbackPath+"?"+q.Encode(), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("delivery %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == 200 {
			if r, err := c.OpenReply(q, raw); err != nil || r.Content != "已登记" {
				t.Fatalf("retry answered %+v %v", r, err)
			}
		}
		time.Sleep(50 * time.Millisecond) // the release is recorded in the background
	}
}

// lateEnv is a URL callback whose handler takes longer than the reply deadline, a
// response_url that records what is posted to it, and a WeCom that refreshes.
type lateEnv struct {
	c      *Crypto
	cb     *Callback
	h      *recorder
	mu     sync.Mutex
	posted []string // bodies posted to response_url
	url    string
}

func newLateEnv(t *testing.T, ledger MsgLedger, handlerTime time.Duration) *lateEnv {
	e := &lateEnv{c: testCrypto(t)}
	e.h = &recorder{reply: func(ctx context.Context, m Message) Reply {
		select {
		case <-time.After(handlerTime):
		case <-ctx.Done():
			return Reply{Markdown: "abandoned: " + ctx.Err().Error()}
		}
		return Reply{Markdown: "已登记：大辛社区 会员 320 人\n> <font color=\"warning\">低于 5%</font>"}
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.posted = append(e.posted, string(raw))
		e.mu.Unlock()
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/cgi-bin/aibot/response?response_code=RC1"
	e.cb = NewCallback(e.c, e.h, ledger, testLogger(t))
	e.cb.Timeout = 100 * time.Millisecond
	e.cb.RefreshGrace = 300 * time.Millisecond
	t.Cleanup(func() { waitSettled(t, e.cb) })
	return e
}

func (e *lateEnv) send(t *testing.T, m Message) StreamReply {
	t.Helper()
	q, body, err := e.c.SealCallback(m)
	if err != nil {
		t.Fatal(err)
	}
	rec := post(e.cb, q, body)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	r, err := e.c.OpenReply(q, rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refreshOf(id string) Message {
	m := Message{MsgID: "refresh-" + newID(), MsgType: "stream", ChatType: "group", ChatID: "chat1"}
	m.Stream = &struct {
		ID string `json:"id"`
	}{id}
	return m
}

func (e *lateEnv) postedBodies() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.posted...)
}

const lateAnswer = "已登记：大辛社区 会员 320 人\n\n> **低于 5%**"

// TestCallbackLateAnswerByRefresh: the handler misses the reply deadline; WeCom gets an
// unfinished stream within it, and its refreshes finish the stream with the answer,
// once the handler is done. Nothing goes to response_url.
func TestCallbackLateAnswerByRefresh(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger MsgLedger
	}{{"ledger", &memLedger{}}, {"no ledger", nil}, {"ledger down", &memLedger{fail: true}}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLateEnv(t, tc.ledger, 400*time.Millisecond)
			m := textMsg("late-1", "@换届助手 会员 320 人口 6200")
			m.ResponseURL = e.url
			start := time.Now()
			first := e.send(t, m)
			if el := time.Since(start); first.Finish || first.Content != msgWorking || first.ID == "" || el > 3*time.Second {
				t.Fatalf("first answer %+v after %v", first, el)
			}
			var got StreamReply
			for i := 0; i < 50; i++ {
				got = e.send(t, refreshOf(first.ID))
				if got.ID != first.ID {
					t.Fatalf("refresh answered stream %q, want %q", got.ID, first.ID)
				}
				if got.Finish {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !got.Finish || got.Content != lateAnswer {
				t.Fatalf("after refreshes: %+v", got)
			}
			// A late refresh finishes it the same way: the same message, not a second one.
			if again := e.send(t, refreshOf(first.ID)); !again.Finish || again.Content != lateAnswer {
				t.Fatalf("a later refresh: %+v", again)
			}
			time.Sleep(e.cb.RefreshGrace + 200*time.Millisecond)
			if p := e.postedBodies(); len(p) != 0 {
				t.Fatalf("also posted to response_url: %q", p)
			}
			if n := e.h.calls.Load(); n != 1 {
				t.Fatalf("handler called %d times", n)
			}
		})
	}
}

// TestCallbackLateAnswerByResponseURL: no refresh comes to take the late answer, so it
// is POSTed once to response_url as markdown; a refresh afterwards finishes the stream
// with a note instead of a second copy of the answer.
func TestCallbackLateAnswerByResponseURL(t *testing.T) {
	e := newLateEnv(t, &memLedger{}, 300*time.Millisecond)
	m := textMsg("late-2", "@换届助手 导出")
	m.ResponseURL = e.url
	first := e.send(t, m)
	if first.Finish {
		t.Fatalf("first answer %+v", first)
	}
	for deadline := time.Now().Add(5 * time.Second); len(e.postedBodies()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("nothing posted to response_url")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	p := e.postedBodies()
	if err := json.Unmarshal([]byte(p[0]), &body); err != nil || body.MsgType != "markdown" || body.Markdown.Content != lateAnswer {
		t.Fatalf("posted %q", p)
	}
	if r := e.send(t, refreshOf(first.ID)); !r.Finish || r.Content != msgSentSeparately {
		t.Fatalf("refresh after the post: %+v", r)
	}
	time.Sleep(100 * time.Millisecond)
	if p := e.postedBodies(); len(p) != 1 {
		t.Fatalf("posted %d times", len(p))
	}
}

// TestCallbackRetryWhileLate: WeCom retries the message while the late handler runs
// (on this replica or another): the retry gets the same unfinished stream, and the
// handler runs once.
func TestCallbackRetryWhileLate(t *testing.T) {
	ledger := &memLedger{}
	e := newLateEnv(t, ledger, 400*time.Millisecond)
	other := newCallback(t, e.c, e.h, ledger, testLogger(t)) // another replica on the same ledger
	m := textMsg("late-3", "@换届助手 进度")
	first := e.send(t, m)
	q, body, _ := e.c.SealCallback(m)
	rec := post(other, q, body)
	retry, err := e.c.OpenReply(q, rec.Body.Bytes())
	if err != nil || retry.Finish || retry.ID != first.ID {
		t.Fatalf("retry on another replica: %+v %v, first %+v", retry, err, first)
	}
	// The other replica's refreshes find the answer in the ledger once it is done.
	var got StreamReply
	for i := 0; i < 50 && !got.Finish; i++ {
		time.Sleep(50 * time.Millisecond)
		q, body, _ := e.c.SealCallback(refreshOf(first.ID))
		got, _ = e.c.OpenReply(q, post(other, q, body).Body.Bytes())
	}
	if !got.Finish || got.Content != lateAnswer || e.h.calls.Load() != 1 {
		t.Fatalf("refresh on the other replica: %+v, handler calls %d", got, e.h.calls.Load())
	}
}

// TestCallbackLostWork: a refresh of a stream whose work is gone (the replica died and
// its hold lapsed, or the stream is not ours) ends the stream with a note.
func TestCallbackLostWork(t *testing.T) {
	e := newLateEnv(t, &memLedger{}, 0)
	for _, id := range []string{streamIDOf("never-seen"), "someone-elses-stream"} {
		if r := e.send(t, refreshOf(id)); !r.Finish || r.Content != msgInterrupted || r.ID != id {
			t.Fatalf("refresh of %s: %+v", id, r)
		}
	}
}

func TestStreamIDRoundTrip(t *testing.T) {
	for _, id := range []string{"CAIQ16HMjQYY/NGagIOAgAMgq4KM0AI=", "a", "消息"} {
		got, ok := msgOfStream(streamIDOf(id))
		if !ok || got != id {
			t.Fatalf("%q → %q %v", id, got, ok)
		}
	}
	for _, bad := range []string{"", "hj", "hjzz", "xx61"} {
		if _, ok := msgOfStream(bad); ok {
			t.Errorf("%q read as ours", bad)
		}
	}
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
	callback := url.Values{"timestamp": {"1718000000"}, "nonce": {"1234567"}}
	good, err := c.sealReply([]byte(`{"msgtype":"stream","stream":{"id":"a","finish":true,"content":"hi"}}`), "1718000000", "1234567")
	if err != nil {
		t.Fatal(err)
	}
	var env passiveReply
	_ = json.Unmarshal(good, &env)
	if string(env.Timestamp) != "1718000000" {
		t.Errorf("timestamp %s, want the number 1718000000", env.Timestamp)
	}
	stringTS, _ := json.Marshal(map[string]string{"encrypt": env.Encrypt, "msgsignature": env.MsgSignature,
		"timestamp": "1718000000", "nonce": env.Nonce})
	// Correctly signed, but with a nonce or a time of its own instead of the callback's:
	// what the bot did before, and what WeCom may drop.
	ownNonce, _ := c.sealReply([]byte(`{"msgtype":"stream","stream":{"id":"a","finish":true,"content":"hi"}}`), "1718000000", "999")
	ownTime, _ := c.sealReply([]byte(`{"msgtype":"stream","stream":{"id":"a","finish":true,"content":"hi"}}`), "1718000003", "1234567")
	tampered := env
	tampered.Encrypt = strings.Replace(tampered.Encrypt, tampered.Encrypt[:4], "AAAA", 1)
	tamperedBody, _ := json.Marshal(tampered)
	notStream, _ := c.sealReply([]byte(`{"msgtype":"markdown","markdown":{"content":"x"}}`), "1718000000", "1234567")
	emptyObject, _ := c.sealReply([]byte(`{}`), "1718000000", "1234567")

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
		{name: "encrypted {}", body: emptyObject, want: StreamReply{Empty: true}},
		{name: "tampered", body: tamperedBody, wantErr: ErrBadSignature},
		{name: "own nonce", body: ownNonce, wantErr: ErrReplyEnvelope},
		{name: "own timestamp", body: ownTime, wantErr: ErrReplyEnvelope},
		{name: "not JSON", body: []byte("<xml/>"), errAny: true},
		{name: "not a stream", body: notStream, errAny: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.OpenReply(callback, tc.body)
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

// TestCallbackReplayWindow replays a correctly signed callback with an old, a far future
// or a nonsense timestamp: each is refused before anything is decrypted or handled.
func TestCallbackReplayWindow(t *testing.T) {
	c := testCrypto(t)
	now := time.Date(2021, 7, 5, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		at     time.Time
		window time.Duration
		status int
	}{
		{"now", now, 0, 200},
		{"4 minutes old", now.Add(-4 * time.Minute), 0, 200},
		{"4 minutes ahead", now.Add(4 * time.Minute), 0, 200},
		{"6 minutes old", now.Add(-6 * time.Minute), 0, 403},
		{"2 hours old", now.Add(-2 * time.Hour), 0, 403},
		{"10 years ahead", now.AddDate(10, 0, 0), 0, 403},
		{"epoch", time.Unix(0, 0), 0, 403},
		{"before the epoch", time.Unix(-5, 0), 0, 403},
		{"2 hours old, window 3h", now.Add(-2 * time.Hour), 3 * time.Hour, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &recorder{}
			cb := newCallback(t, c, h, &memLedger{}, testLogger(t))
			cb.Now = func() time.Time { return now }
			if tc.window > 0 {
				cb.ReplayWindow = tc.window
			}
			q, body, err := c.SealCallbackAt(textMsg("r-"+tc.name, "@换届助手 进度"), tc.at)
			if err != nil {
				t.Fatal(err)
			}
			rec := post(cb, q, body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if want := int32(0); tc.status != 200 && h.calls.Load() != want {
				t.Fatalf("handler called %d times for a refused callback", h.calls.Load())
			}
		})
	}
	t.Run("not a number", func(t *testing.T) {
		h := &recorder{}
		cb := newCallback(t, c, h, &memLedger{}, testLogger(t))
		_, body, _ := c.SealCallback(textMsg("r-nan", "x"))
		enc := mustEncrypt(t, body)
		q := url.Values{"timestamp": {"yesterday"}, "nonce": {"1"}, "msg_signature": {c.Sign("yesterday", "1", enc)}}
		if rec := post(cb, q, body); rec.Code != 403 || h.calls.Load() != 0 {
			t.Fatalf("status %d, calls %d", rec.Code, h.calls.Load())
		}
	})
}

// TestCallbackBusy: with one place for work and it taken, the next message is answered at
// once with 「系统繁忙」 — finished, not started, nothing half-done — and, its claim given
// back, the same message sent again after the place frees is handled.
func TestCallbackBusy(t *testing.T) {
	release := make(chan struct{})
	e := newLateEnv(t, &memLedger{}, 0)
	e.h.reply = func(ctx context.Context, m Message) Reply {
		if m.MsgID == "slow" {
			<-release
		}
		return Reply{Markdown: "好的：" + m.MsgID}
	}
	e.cb.MaxInFlight = 1
	e.cb.Timeout = 400 * time.Millisecond
	busy := 0
	e.cb.Busy = func(context.Context) { busy++ }

	first := e.send(t, textMsg("slow", "进度"))
	if first.Finish || first.Content != msgWorking {
		t.Fatalf("the slow message: %+v", first)
	}
	start := time.Now()
	refused := e.send(t, textMsg("next", "进度"))
	if !refused.Finish || refused.Content != msgBusy || time.Since(start) > e.cb.Timeout {
		t.Fatalf("while full: %+v after %v, want 系统繁忙 at once", refused, time.Since(start))
	}
	if busy != 1 || e.h.calls.Load() != 1 {
		t.Fatalf("busy heard %d times, handler called %d times", busy, e.h.calls.Load())
	}
	close(release)
	waitSettled(t, e.cb)
	if again := e.send(t, textMsg("next", "进度")); !again.Finish || again.Content != "好的：next" {
		t.Fatalf("the same message sent again once there is room: %+v", again)
	}
}
