package wecomfake

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFake() (*Server, *clock) {
	c := &clock{t: time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)}
	return New(WithClock(c.now), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))), c
}

// send posts body to the fake and returns the HTTP status and WeCom errcode.
func send(t *testing.T, h http.Handler, method, target, body string) (int, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		return rec.Code, -1
	}
	var res struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.ErrMsg == "" {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	return rec.Code, res.ErrCode
}

func TestValidation(t *testing.T) {
	s, _ := newFake()
	s.AddKey("k")
	const url = SendPath + "?key=k"
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, method, target, body string
		status, code               int
	}{
		{"text", "POST", url, `{"msgtype":"text","text":{"content":"hi","mentioned_list":["u1","@all"]}}`, 200, CodeOK},
		{"text at limit", "POST", url, `{"msgtype":"text","text":{"content":"` + long(MaxTextBytes) + `"}}`, 200, CodeOK},
		{"text too long", "POST", url, `{"msgtype":"text","text":{"content":"` + long(MaxTextBytes+1) + `"}}`, 200, CodeInvalidParam},
		{"markdown at limit", "POST", url, `{"msgtype":"markdown","markdown":{"content":"` + long(MaxMarkdownBytes) + `"}}`, 200, CodeOK},
		{"markdown too long", "POST", url, `{"msgtype":"markdown","markdown":{"content":"` + long(MaxMarkdownBytes+1) + `"}}`, 200, CodeInvalidParam},
		{"markdown_v2", "POST", url, `{"msgtype":"markdown_v2","markdown_v2":{"content":"| a |"}}`, 200, CodeOK},
		{"empty text", "POST", url, `{"msgtype":"text","text":{"content":""}}`, 200, CodeEmptyContent},
		{"news", "POST", url, `{"msgtype":"news","news":{"articles":[{"title":"t","url":"u"}]}}`, 200, CodeOK},
		{"image without image", "POST", url, `{"msgtype":"image"}`, 200, CodeInvalidParam},
		{"unknown type", "POST", url, `{"msgtype":"video","video":{}}`, 200, CodeInvalidMsgType},
		{"not JSON", "POST", url, `msgtype=text`, 200, CodeInvalidParam},
		{"unknown key", "POST", SendPath + "?key=nope", `{"msgtype":"text","text":{"content":"hi"}}`, 200, CodeInvalidWebhook},
		{"no key", "POST", SendPath, `{"msgtype":"text","text":{"content":"hi"}}`, 200, CodeInvalidWebhook},
		{"GET", "GET", url, "", 405, -1},
		{"other path", "POST", "/cgi-bin/webhook/upload_media?key=k", "", 404, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := send(t, s, tc.method, tc.target, tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("HTTP %d errcode %d, want %d %d", status, code, tc.status, tc.code)
			}
		})
	}
	got := s.Messages("k")
	if len(got) != 5 {
		t.Fatalf("%d accepted, want 5", len(got))
	}
	if m := got[0]; m.MsgType != "text" || m.Content != "hi" || len(m.MentionedList) != 2 || m.Key != "k" || m.Seq != 1 || m.Time.IsZero() {
		t.Fatalf("first record %+v", m)
	}
	if got[3].MsgType != "markdown_v2" || got[3].Content != "| a |" || !strings.Contains(got[4].Content, `"title":"t"`) {
		t.Fatalf("records %+v", got[3:])
	}
}

func TestRateLimit(t *testing.T) {
	s, c := newFake()
	s.AddKey("a")
	s.AddKey("b")
	msg := `{"msgtype":"text","text":{"content":"x"}}`
	for i := 0; i < PerMinute; i++ {
		if _, code := send(t, s, "POST", SendPath+"?key=a", msg); code != CodeOK {
			t.Fatalf("message %d: errcode %d", i+1, code)
		}
		c.add(2 * time.Second) // 20 messages over 40 s
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		key     string
		code    int
	}{
		{"21st within the minute", 0, "a", CodeFreqLimit},
		{"refusals do not count, still limited", 19 * time.Second, "a", CodeFreqLimit}, // first message is 59 s old
		{"other key unaffected", 0, "b", CodeOK},
		{"first message left the window", time.Second, "a", CodeOK},
		{"second one has not", 0, "a", CodeFreqLimit},
	} {
		c.add(tc.advance)
		if _, code := send(t, s, "POST", SendPath+"?key="+tc.key, msg); code != tc.code {
			t.Fatalf("%s: errcode %d, want %d", tc.name, code, tc.code)
		}
	}
	if n := len(s.Messages("a")); n != PerMinute+1 {
		t.Fatalf("%d recorded for a", n)
	}
}

func TestSubscribeAndBacklog(t *testing.T) {
	s, _ := newFake()
	s.AddKey("k")
	post := func(content string) {
		t.Helper()
		if _, code := send(t, s, "POST", SendPath+"?key=k", `{"msgtype":"markdown","markdown":{"content":"`+content+`"}}`); code != CodeOK {
			t.Fatalf("errcode %d", code)
		}
	}
	post("before")
	var mu sync.Mutex
	var seen []string
	cancel := s.Subscribe(func(key string, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, key+" "+string(body))
	})
	post("during")
	send(t, s, "POST", SendPath+"?key=other", `{"msgtype":"text","text":{"content":"refused"}}`)
	cancel()
	cancel() // idempotent
	post("after")

	mu.Lock()
	defer mu.Unlock()
	want := `k {"msgtype":"markdown","markdown":{"content":"during"}}`
	if len(seen) != 1 || seen[0] != want {
		t.Fatalf("subscriber saw %q", seen)
	}
	backlog := s.Backlog("k")
	if len(backlog) != 3 || !strings.Contains(string(backlog[0]), "before") || !strings.Contains(string(backlog[2]), "after") {
		t.Fatalf("backlog %q", backlog)
	}
	backlog[0][0] = 'X'
	if s.Backlog("k")[0][0] == 'X' {
		t.Fatal("Backlog exposes internal storage")
	}
	msgs := s.Messages("k")
	msgs[0].Content = "changed"
	if s.Messages("k")[0].Content != "before" {
		t.Fatal("Messages exposes internal storage")
	}
}
