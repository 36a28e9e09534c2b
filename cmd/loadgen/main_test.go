package main

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
)

const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// seen is a message ledger that remembers every msgid and counts the ones it saw twice.
type seen struct {
	mu    sync.Mutex
	ids   map[string]bool
	twice int
}

func (s *seen) Begin(_ context.Context, id, _ string, _, _ time.Duration) (bot.MsgRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids[id] {
		s.twice++
		return bot.MsgRecord{Done: true}, false, nil
	}
	s.ids[id] = true
	return bot.MsgRecord{}, true, nil
}

func (s *seen) Finish(context.Context, string, string, time.Duration) error { return nil }
func (s *seen) Release(context.Context, string, string) error               { return nil }
func (s *seen) Lookup(context.Context, string) (bot.MsgRecord, bool, error) {
	return bot.MsgRecord{}, false, nil
}
func (s *seen) MarkDelivered(_ context.Context, _, via string) (string, error)     { return via, nil }
func (s *seen) SettleDelivered(_ context.Context, _, _, to string) (string, error) { return to, nil }

// target is the real bot.Callback with a handler that answers 进度 and stays silent on 空.
func target(t *testing.T) (*httptest.Server, *seen) {
	t.Helper()
	c, err := bot.NewCrypto(testToken, testAESKey, "")
	if err != nil {
		t.Fatal(err)
	}
	d := &seen{ids: map[string]bool{}}
	h := bot.HandlerFunc(func(_ context.Context, m bot.Message) bot.Reply {
		if strings.HasSuffix(m.PlainText(), "进度") {
			return bot.Reply{Markdown: "**城西街道换届进度**"}
		}
		if strings.HasSuffix(m.PlainText(), "忙") {
			return bot.Reply{Markdown: "系统繁忙，请稍后再发。"}
		}
		return bot.Reply{}
	})
	srv := httptest.NewServer(bot.NewCallback(c, h, d, nil))
	t.Cleanup(srv.Close)
	return srv, d
}

func opts(t *testing.T, url string, args ...string) options {
	t.Helper()
	o, err := parseOptions(append([]string{"-url", url + bot.CallbackPath, "-token", testToken, "-aes-key", testAESKey}, args...),
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestClosedLoop drives the real callback endpoint: every callback is accepted (so the
// signature and encryption are WeCom's), replies open, msgids never repeat, and the
// replies and empty answers are told apart.
func TestClosedLoop(t *testing.T) {
	srv, d := target(t)
	res, err := run(t.Context(), opts(t, srv.URL, "-c", "4", "-d", "300ms", "-text", "进度|空", "-open"))
	if err != nil {
		t.Fatal(err)
	}
	if res.sent < 8 || res.failed != 0 {
		t.Fatalf("sent %d, failed %d (%s)", res.sent, res.failed, res.firstErr)
	}
	if res.replied != (res.sent+1)/2 || res.empty != res.sent/2 {
		t.Errorf("replied %d and empty %d of %d, want every other one answered", res.replied, res.empty, res.sent)
	}
	if len(d.ids) != res.sent || d.twice != 0 {
		t.Errorf("%d distinct msgids for %d callbacks, %d repeated", len(d.ids), res.sent, d.twice)
	}
	if len(res.latencies) != res.sent || percentile(res.latencies, .99) < percentile(res.latencies, .5) {
		t.Errorf("latencies: %d for %d callbacks", len(res.latencies), res.sent)
	}
}

// TestBusyReplies: with -open, replies saying the bot is too busy are counted apart
// (and still as replies: the sender heard something).
func TestBusyReplies(t *testing.T) {
	srv, _ := target(t)
	res, err := run(t.Context(), opts(t, srv.URL, "-c", "2", "-d", "300ms", "-text", "进度|忙", "-open"))
	if err != nil {
		t.Fatal(err)
	}
	if res.sent < 4 || res.failed != 0 || res.replied != res.sent || res.busy != res.sent/2 {
		t.Fatalf("sent %d, replied %d, busy %d, failed %d (%s); want every other reply busy", res.sent, res.replied, res.busy, res.failed, res.firstErr)
	}
	var b strings.Builder
	res.print(&b, opts(t, srv.URL, "-c", "2", "-open"))
	if want := "busy=" + strconv.Itoa(res.busy); !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "said the bot was too busy") {
		t.Errorf("summary lacks %s:\n%s", want, b.String())
	}
}

// TestOpenLoop offers 200 callbacks a second for a quarter second: exactly 50 go out.
func TestOpenLoop(t *testing.T) {
	srv, d := target(t)
	res, err := run(t.Context(), opts(t, srv.URL, "-rate", "200", "-d", "250ms"))
	if err != nil {
		t.Fatal(err)
	}
	if res.sent != 50 || res.replied != 50 || len(d.ids) != 50 {
		t.Fatalf("sent %d, replied %d, %d msgids; want 50 each (failed %d: %s)", res.sent, res.replied, len(d.ids), res.failed, res.firstErr)
	}
	var b strings.Builder
	res.print(&b, opts(t, srv.URL, "-rate", "200", "-d", "250ms", "-label", "bot"))
	if !strings.Contains(b.String(), "RESULT label=bot sent=50 replied=50 empty=0 failed=0 ") {
		t.Errorf("summary:\n%s", b.String())
	}
}

func TestWrongCredentialsFail(t *testing.T) {
	srv, _ := target(t)
	o := opts(t, srv.URL, "-c", "2", "-d", "100ms")
	o.token = "not-the-token"
	res, err := run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.sent == 0 || res.failed != res.sent || res.firstErr != "HTTP 401" {
		t.Fatalf("sent %d, failed %d, first failure %q", res.sent, res.failed, res.firstErr)
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:8080/wecom/callback", "https://example.com/wecom/callback"} {
		if _, err := parseOptions([]string{"-url", u, "-token", testToken, "-aes-key", testAESKey}, func(string) string { return "" }); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}
