package standin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
)

const (
	testToken = "QDG6eK"
	testKey   = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

var quiet = slog.New(slog.DiscardHandler)

func mustCrypto(t *testing.T, token string) *bot.Crypto {
	t.Helper()
	c, err := bot.NewCrypto(token, testKey, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// echo answers every message with what it received, so tests can see the wire message.
var echo = bot.HandlerFunc(func(_ context.Context, m bot.Message) bot.Reply {
	if m.MsgType == "event" && m.Event != nil && m.Event.EventType == bot.EventEnterChat {
		return bot.Reply{Markdown: "欢迎 <@" + m.From.UserID + ">"}
	}
	return bot.Reply{Markdown: "**收到** " + strings.Join([]string{m.AIBotID, m.From.UserID, m.ChatType, m.ChatID, m.PlainText()}, "|")}
})

// The webhook stand-in is what the app passes as Options.Pushes.
var (
	_ PushFeed    = (*wecomfake.Server)(nil)
	_ PushBacklog = (*wecomfake.Server)(nil)
)

type harness struct {
	url  string
	st   *Server
	hook *wecomfake.Server
}

// newHarness serves the stand-in at / and the real bot callback (with echo) at
// /wecom/callback; the callback's token is callbackToken. opts change the stand-in's
// options before it is built.
func newHarness(t *testing.T, callbackToken string, callback http.Handler, opts ...func(*Options)) *harness {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if callback == nil {
		callback = bot.NewCallback(mustCrypto(t, callbackToken), echo, nil, quiet)
	}
	mux.Handle(bot.CallbackPath, callback)
	hook := wecomfake.New(wecomfake.WithLogger(quiet))
	hook.AddKey("k1")
	hook.AddKey("k2")
	hook.AddKey("k3") // a key of a group the stand-in does not show
	mux.Handle(wecomfake.SendPath, hook)
	h := &harness{url: srv.URL, hook: hook}
	h.push(t, "k1", `{"msgtype":"text","text":{"content":"早先的推送"}}`)
	o := Options{
		CallbackURL: srv.URL + bot.CallbackPath,
		Crypto:      mustCrypto(t, testToken),
		BotName:     "换届助手",
		Personas:    []Persona{{"cuihong", "崔宏 · 大辛社区秘书长"}, {"wangli", "王丽 · 街道计生办"}},
		Chats:       []Chat{{"wrkchat1", "大辛社区换届工作群", "k1"}, {"wrkchat2", "小辛社区换届工作群", "k2"}},
		Pushes:      hook,
		Log:         quiet,
		StreamPoll:  10 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	st := New(o)
	t.Cleanup(func() { st.Close() })
	mux.Handle("/", st)
	h.st = st
	return h
}

// push sends body through the webhook stand-in as the bot would.
func (h *harness) push(t *testing.T, key, body string) {
	t.Helper()
	resp, err := http.Post(h.url+wecomfake.SendPath+"?key="+key, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct{ ErrCode int }
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || res.ErrCode != 0 {
		t.Fatalf("push to %s: errcode %d, %v", key, res.ErrCode, err)
	}
}

func (h *harness) send(t *testing.T, path string, req any) (int, sendResponse) {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := http.Post(h.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out sendResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: answer is not JSON: %v", path, err)
	}
	return resp.StatusCode, out
}

func TestSendGroupReachesRealCallback(t *testing.T) {
	h := newHarness(t, testToken, nil)
	code, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", ChatID: "wrkchat1", Text: " 进度 "})
	if code != 200 || res.Status != 200 || res.Error != "" {
		t.Fatalf("got %d %+v", code, res)
	}
	want := "**收到** local-aibot|cuihong|group|wrkchat1|@换届助手 进度"
	if res.Reply != want {
		t.Fatalf("reply %q, want %q", res.Reply, want)
	}
	if res.MsgID == "" {
		t.Error("no msgid")
	}
}

func TestSendSingleChatIsSentAsTyped(t *testing.T) {
	h := newHarness(t, testToken, nil)
	_, res := h.send(t, "/api/send", sendRequest{UserID: "wangli", Text: "帮助"})
	if want := "**收到** local-aibot|wangli|single||帮助"; res.Reply != want {
		t.Fatalf("reply %q, want %q (%+v)", res.Reply, want, res)
	}
}

func TestEnterChatWelcome(t *testing.T) {
	h := newHarness(t, testToken, nil)
	_, res := h.send(t, "/api/enter", sendRequest{UserID: "cuihong"})
	if res.Reply != "欢迎 @cuihong" || res.Error != "" { // <@id> is webhook markdown only
		t.Fatalf("got %+v", res)
	}
}

func TestWrongTokenIsShownAsRejection(t *testing.T) {
	h := newHarness(t, "otherToken", nil)
	code, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", ChatID: "wrkchat1", Text: "进度"})
	if code != http.StatusBadGateway || res.Status != http.StatusUnauthorized || res.Error != "机器人拒绝了消息（HTTP 401）" ||
		!strings.Contains(res.Warning, "Token") {
		t.Fatalf("got %d %+v", code, res)
	}
}

func TestUnreachableCallback(t *testing.T) {
	h := newHarness(t, testToken, nil)
	h.st.o.CallbackURL = "http://127.0.0.1:1/wecom/callback"
	code, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", Text: "进度"})
	if code != http.StatusBadGateway || res.Status != 0 || !strings.Contains(res.Error, "连不上机器人") {
		t.Fatalf("got %d %+v", code, res)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, testToken, nil)
	for _, tc := range []struct {
		req  sendRequest
		want string
	}{
		{sendRequest{Text: "x"}, msgNoUser},
		{sendRequest{UserID: "nobody", Text: "x"}, "没有这个人"},
		{sendRequest{UserID: "cuihong", ChatID: "nochat", Text: "x"}, "没有这个群"},
		{sendRequest{UserID: "cuihong", Text: "  "}, msgEmptyText},
	} {
		code, res := h.send(t, "/api/send", tc.req)
		if code != 400 || !strings.Contains(res.Error, tc.want) {
			t.Errorf("%+v: got %d %+v", tc.req, code, res)
		}
	}
	resp, err := http.Post(h.url+"/api/send", "application/x-www-form-urlencoded", strings.NewReader("userid=cuihong&text=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d", resp.StatusCode)
	}
}

// A callback whose first answer is an unfinished stream: the stand-in must poll with
// stream-refresh callbacks, as WeCom does, until it finishes.
func TestUnfinishedStreamIsPolled(t *testing.T) {
	c := mustCrypto(t, testToken)
	var refreshes int
	var mu sync.Mutex
	cb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Encrypt string }
		_ = json.NewDecoder(r.Body).Decode(&env)
		q := r.URL.Query()
		if !c.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), env.Encrypt) {
			http.Error(w, "bad", 401)
			return
		}
		plain, _, _ := c.Decrypt(env.Encrypt)
		var m bot.Message
		_ = json.Unmarshal(plain, &m)
		mu.Lock()
		finish, content := false, "思考中"
		if m.MsgType == "stream" {
			if m.Stream == nil || m.Stream.ID != "s1" {
				t.Errorf("refresh without the stream id: %s", plain)
			}
			refreshes++
			finish, content = refreshes == 2, "完成"
		}
		mu.Unlock()
		body, _ := json.Marshal(map[string]any{"msgtype": "stream", "stream": map[string]any{"id": "s1", "finish": finish, "content": content}})
		enc, _ := c.Encrypt(body)
		ts, nonce := q.Get("timestamp"), q.Get("nonce") // echoed, as doc 101033 asks
		_ = json.NewEncoder(w).Encode(map[string]any{"encrypt": enc, "msgsignature": c.Sign(ts, nonce, enc), "timestamp": ts, "nonce": nonce})
	})
	h := newHarness(t, testToken, cb)
	_, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", Text: "进度"})
	if res.Reply != "完成" || refreshes != 2 {
		t.Fatalf("got %+v after %d refreshes", res, refreshes)
	}
}

// A reply signed with a nonce and time of its own, not the callback's, is what WeCom may
// drop (doc 101033): the stand-in shows it as an error instead of the reply.
func TestReplyWithItsOwnNonceIsAnError(t *testing.T) {
	c := mustCrypto(t, testToken)
	cb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := json.Marshal(map[string]any{"msgtype": "stream", "stream": map[string]any{"id": "s1", "finish": true, "content": "进度如下"}})
		enc, _ := c.Encrypt(body)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		_ = json.NewEncoder(w).Encode(map[string]any{"encrypt": enc, "msgsignature": c.Sign(ts, "n1", enc), "timestamp": ts, "nonce": "n1"})
	})
	h := newHarness(t, testToken, cb)
	code, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", Text: "进度"})
	if code != http.StatusBadGateway || res.Reply != "" || !strings.Contains(res.Error, "nonce") {
		t.Fatalf("got %d %+v", code, res)
	}
}

func getPushes(t *testing.T, url string) []pushView {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []pushView
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPushesBacklogAndStream(t *testing.T) {
	h := newHarness(t, testToken, nil)

	backlog := getPushes(t, h.url+"/api/pushes")
	if len(backlog) != 1 || backlog[0].Text != "早先的推送" || backlog[0].ChatID != "wrkchat1" {
		t.Fatalf("backlog %+v", backlog)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", h.url+"/api/pushes?since="+strconv.FormatInt(backlog[0].Seq, 10), nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	h.push(t, "k3", `{"msgtype":"text","text":{"content":"别的群"}}`)
	h.push(t, "k2", `{"msgtype":"text","text":{"content":"请尽快上报候选人","mentioned_list":["cuihong","@all"]}}`)

	sc := bufio.NewScanner(resp.Body)
	var id string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var p pushView
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			t.Fatal(err)
		}
		if p.ChatID != "wrkchat2" || p.Chat != "小辛社区换届工作群" || p.Text != "请尽快上报候选人" ||
			strings.Join(p.Mentions, ",") != "cuihong,@all" || id != strconv.FormatInt(p.Seq, 10) {
			t.Fatalf("push %+v (id %s)", p, id)
		}
		break
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	all := getPushes(t, h.url+"/api/pushes")
	if len(all) != 2 {
		t.Fatalf("pushes %+v", all)
	}
	if later := getPushes(t, h.url+"/api/pushes?since="+strconv.FormatInt(all[1].Seq, 10)); len(later) != 0 {
		t.Fatalf("since last: %+v", later)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	h := newHarness(t, testToken, nil)
	req, _ := http.NewRequest("GET", h.url+"/api/pushes?stream=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h.st.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, resp.Body); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
}

func TestParsePush(t *testing.T) {
	for _, tc := range []struct{ body, field, want string }{
		{`{"msgtype":"markdown","markdown":{"content":"**进度** <@cuihong>"}}`, "markdown", "**进度** <@cuihong>"},
		{`{"msgtype":"markdown_v2","markdown_v2":{"content":"| a |"}}`, "markdown", "| a |"},
		{`{"msgtype":"image","image":{"base64":"/9j/4AAQ","md5":"x"}}`, "image", "data:image/jpeg;base64,/9j/4AAQ"},
		{`{"msgtype":"file","file":{"media_id":"m1"}}`, "text", "[文件] media_id=m1"},
		{`{"msgtype":"news","news":{"articles":[{"title":"通知","url":"https://example.org"}]}}`, "title", "通知"},
		{`not json`, "text", "[无法解析的推送] not json"},
	} {
		p := parsePush([]byte(tc.body))
		got := map[string]string{"markdown": p.Markdown, "image": p.Image, "text": p.Text}[tc.field]
		if tc.field == "title" && len(p.Articles) == 1 {
			got = p.Articles[0].Title
		}
		if got != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.body, tc.field, got, tc.want)
		}
	}
}

func TestPageAndPersonas(t *testing.T) {
	h := newHarness(t, testToken, nil)
	resp, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"我是：", "崔宏 · 大辛社区秘书长", "王丽 · 街道计生办", "大辛社区换届工作群", "单聊", "发送",
		"群机器人推送", `id="input"`, "api/send", "api/pushes", "EventSource"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{`src="http`, `href="http`, "cdn", "k1"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}

	resp, err = http.Get(h.url + "/api/personas")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d pageData
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.BotName != "换届助手" || len(d.Personas) != 2 || d.Personas[0].Name != "崔宏" || len(d.Chats) != 2 {
		t.Fatalf("personas %+v", d)
	}
}

// The campaign-clock bar is in the page, hidden until GET api/clock answers (local mode only).
func TestPageHasClockBar(t *testing.T) {
	h := newHarness(t, testToken, nil)
	resp, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{`id="clock" hidden`, `id="clock-label"`, `id="clock-next"`, `id="clock-err"`,
		"+1小时", "+1天", "⏩ 下一个提醒", `data-advance="1h"`, `data-advance="24h"`, `data-next="1"`,
		"api/clock", "30000", "Noto Color Emoji"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "max-width:220px") {
		t.Error("the chat dropdown is still limited to 220px")
	}
	// The stand-in itself does not serve the clock: without the bot's local mode the bar stays hidden.
	resp, err = http.Get(h.url + "/api/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/clock on the bare stand-in: %d, want 404", resp.StatusCode)
	}
}
