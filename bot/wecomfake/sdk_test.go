package wecomfake

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdkDir is where scripts/test.sh installs WeCom's SDK (npm ci in scripts/aibot-sdk).
func sdkDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AIBOT_SDK_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "scripts", "aibot-sdk")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@wecom", "aibot-node-sdk")); err != nil {
		if os.Getenv("AIBOT_SDK_DIR") != "" {
			t.Fatalf("AIBOT_SDK_DIR=%s has no @wecom/aibot-node-sdk: %v", dir, err)
		}
		t.Skip("WeCom's SDK is not installed: scripts/test.sh installs it (npm ci in scripts/aibot-sdk)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node: scripts/test.sh installs it")
	}
	return dir
}

// sdkLines collects what the SDK script prints.
type sdkLines struct {
	mu    sync.Mutex
	lines []string
}

func (s *sdkLines) has(prefix string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func (s *sdkLines) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

func waitFor(t *testing.T, what string, ok func() bool, out *sdkLines) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen; the SDK said:\n%s", what, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWeComSDKAgainstTheGateway points WeCom's own long-connection SDK
// (@wecom/aibot-node-sdk, run by Node) at the gateway stand-in: it subscribes, receives a
// text callback, answers with two frames of one stream (the stand-in acknowledges each,
// which the SDK waits for), pushes with aibot_send_msg, and after a disconnected_event it
// does not subscribe again. So the stand-in speaks what WeCom's client expects.
func TestWeComSDKAgainstTheGateway(t *testing.T) {
	dir := sdkDir(t)
	gw := NewGateway(WithLogger(slog.New(slog.DiscardHandler)))
	gw.AddBot("sdk-bot", "sdk-secret")
	srv := httptest.NewServer(gw)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "check.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WS_URL=ws"+strings.TrimPrefix(srv.URL, "http"), "BOT_ID=sdk-bot", "BOT_SECRET=sdk-secret",
		"CHECK_TIMEOUT_MS=30000")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := &sdkLines{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.mu.Lock()
			out.lines = append(out.lines, sc.Text())
			out.mu.Unlock()
		}
	}()
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	}()

	waitFor(t, "the SDK's subscription", func() bool { return gw.Connected("sdk-bot") && out.has("AUTHENTICATED") }, out)
	msg := map[string]any{"msgid": "sdk-1", "aibotid": "sdk-bot", "chatid": "wrkchat1", "chattype": "group",
		"from": map[string]string{"userid": "cuihong"}, "msgtype": "text", "text": map[string]string{"content": "@换届助手 进度"}}
	x, err := gw.Deliver("sdk-bot", msg)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	answer, err := x.Wait(wctx)
	wcancel()
	if err != nil {
		t.Fatalf("%v; the SDK said:\n%s", err, out)
	}
	frames := x.Frames()
	if len(frames) != 2 || frames[0].Finish || frames[0].StreamID != "sdk-stream-1" || answer.Content != "收到：@换届助手 进度" {
		t.Fatalf("frames %+v", frames)
	}
	waitFor(t, "the SDK's push", func() bool { return len(gw.Pushes()) == 1 && out.has("PUSHED") }, out)
	p := gw.Pushes()[0]
	var body map[string]any
	_ = json.Unmarshal(p.Body, &body)
	if p.ChatID != "wrkchat1" || p.Content != "**SDK 主动推送**" || body["msgtype"] != "markdown" {
		t.Fatalf("push %+v", p)
	}

	// Another instance takes the bot id: WeCom's SDK hears the disconnected_event and
	// stays down.
	if !gw.Kick("sdk-bot") {
		t.Fatal("not connected")
	}
	waitFor(t, "the SDK's disconnect", func() bool { return out.has("DISCONNECTED") }, out)
	time.Sleep(1500 * time.Millisecond) // several of its reconnect delays
	if n := gw.Subscriptions("sdk-bot"); n != 1 {
		t.Fatalf("the SDK subscribed %d times: it did not take the disconnected_event as a kick", n)
	}
}
