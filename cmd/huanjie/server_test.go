package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/internal/testredis"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:80": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "192.168.1.10:8080": false,
		"bot.example:8080": false, "8080": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestLocalModeOnlyOnLoopback: with no credentials (compose with an empty .env, the
// Dockerfile's ADDR=:8080) the bot refuses to start in local mode on every interface,
// and says what to do; LOCAL=1 given explicitly starts it with a loud warning.
func TestLocalModeOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
		wantLog string
	}{
		{"no credentials, all interfaces", map[string]string{"ADDR": ":8080"}, "LOCAL=1", ""},
		{"no credentials, a LAN address", map[string]string{"ADDR": "192.168.1.10:8080"}, "WECOM_TOKEN", ""},
		{"no credentials, loopback", map[string]string{"ADDR": "127.0.0.1:8080"}, "", ""},
		{"LOCAL=1 on all interfaces", map[string]string{"ADDR": ":8080", "LOCAL": "1"}, "", "UNSAFE"},
		{"credentials on all interfaces", map[string]string{"ADDR": ":8080", "WECOM_TOKEN": testToken, "WECOM_AES_KEY": testAESKey}, "", ""},
		{"credentials and LOCAL=1 on all interfaces", map[string]string{"ADDR": ":8080", "LOCAL": "1", "WECOM_TOKEN": testToken, "WECOM_AES_KEY": testAESKey}, "", "UNSAFE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSettings(nil, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			err = checkLocalMode(s, slog.New(slog.NewTextHandler(&logs, nil)))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "loopback")):
				t.Errorf("error = %v, want one that mentions loopback and %s", err, tc.wantErr)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q: %s", tc.wantLog, logs.String())
			}
			if tc.wantLog == "" && logs.Len() > 0 {
				t.Errorf("unexpected log: %s", logs.String())
			}
		})
	}
	// The whole program refuses before it listens or opens a store.
	env := map[string]string{"ADDR": ":0", "DATA_FILE": t.TempDir() + "/data.json"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("run on :0 without credentials = %v, want a refusal", err)
	}
}

// cuttable is a TCP proxy to Redis that the test can cut, as a Redis that went away.
type cuttable struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	isCut bool
}

func newCuttable(t *testing.T, target string) *cuttable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttable{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.isCut { // accepted just before the cut: it must not outlive it
				p.mu.Unlock()
				c.Close()
				up.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cuttable) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for _, c := range p.conns {
		c.Close()
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthAndReadiness: /healthz only says the process is up; /readyz says whether
// Redis answers; neither shows an error text or an address.
func TestHealthAndReadiness(t *testing.T) {
	_, prefix := testredis.Client(t)
	proxy := newCuttable(t, testredis.Addr())
	base := startBot(t, prefix, "REDIS_URL", "redis://"+proxy.ln.Addr().String()+"/0")
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: %d %q", code, body)
	}
	proxy.cut()
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := get(t, base+path)
		if path == "/healthz" && code != 200 {
			t.Errorf("/healthz with Redis gone: %d, want 200 (the process is up)", code)
		}
		if path == "/readyz" && code != http.StatusServiceUnavailable {
			t.Errorf("/readyz with Redis gone: %d, want 503", code)
		}
		for _, secret := range []string{"redis", "127.0.0.1", "dial", "refused", proxy.ln.Addr().String()} {
			if strings.Contains(strings.ToLower(body), secret) {
				t.Errorf("%s tells %q to anyone: %q", path, secret, body)
			}
		}
	}
}

// TestServerDropsSlowAndIdleConnections: a body sent a byte at a time and a keep-alive
// connection left idle are closed by the server, not kept for ever.
func TestServerDropsSlowAndIdleConnections(t *testing.T) {
	defer func(h, r, w, i time.Duration) {
		readHeaderTimeout, readTimeout, writeTimeout, idleTimeout = h, r, w, i
	}(readHeaderTimeout, readTimeout, writeTimeout, idleTimeout)
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout = 300*time.Millisecond, 600*time.Millisecond, 2*time.Second, 600*time.Millisecond
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix)
	addr := strings.TrimPrefix(base, "http://")

	closedWithin := func(c net.Conn, d time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		// EOF, or a reset when the server closed it with our bytes still unread: closed.
		// Only our own read deadline passing means it is still open.
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_, _ = io.WriteString(slow, "POST /wecom/callback?msg_signature=a&timestamp=1&nonce=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
	stop := make(chan struct{})
	go func() { // a byte every 100 ms
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if _, err := slow.Write([]byte("{")); err != nil {
					return
				}
			}
		}
	}()
	if !closedWithin(slow, 5*time.Second) {
		t.Error("a slow body is still open after 5 s")
	}
	close(stop)

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_, _ = io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !closedWithin(idle, 5*time.Second) {
		t.Error("an idle keep-alive connection is still open after 5 s")
	}
}
