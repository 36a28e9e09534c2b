//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"huanjie/bot"
)

// MemoryBound is the most resident memory (VmHWM) the bot may reach in any step.
const MemoryBound = 256 << 20

// The credentials the bot runs with; the tests seal callbacks with them, as WeCom would.
const (
	token  = "QDG6eK"
	aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	group  = "wrkSFfCgAAchengxi2021"
	street = "chengxi"
	prefix = "hj:"
	// acked is in every reply that acknowledges a filing.
	acked = "已登记"
)

var binary string // the bot, built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "huanjie-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "huanjie")
	build := exec.Command("go", "build", "-o", binary, "huanjie/cmd/huanjie")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the bot:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// botProc is the bot running as its own process.
type botProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	log  string
	env  []string
}

// startBot runs the bot binary on a loopback port with env (KEY=value) added to the
// defaults, and waits until it answers /healthz.
func startBot(t *testing.T, dir string, env ...string) *botProc {
	t.Helper()
	port := freePort(t)
	b := &botProc{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), log: filepath.Join(dir, fmt.Sprintf("bot-%d.log", port))}
	b.env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"LOCAL=1", "WECOM_TOKEN=" + token, "WECOM_AES_KEY=" + aesKey, fmt.Sprintf("ADDR=127.0.0.1:%d", port),
		"DATA_FILE=" + filepath.Join(dir, "data.json"), "PHOTOS_DIR=" + filepath.Join(dir, "photos"),
		"DOWNLOADS_DIR=" + filepath.Join(dir, "downloads"), "AUDIT_ARCHIVE_DIR=" + filepath.Join(dir, "audit"),
	}, env...)
	logf, err := os.Create(b.log)
	if err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(binary)
	b.cmd.Env = b.env
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	t.Cleanup(func() {
		if b.cmd.ProcessState == nil {
			_ = b.cmd.Process.Kill()
			_ = b.cmd.Wait()
		}
		if t.Failed() {
			data, _ := os.ReadFile(b.log)
			if len(data) > 8000 {
				data = data[len(data)-8000:]
			}
			t.Logf("bot log (%s):\n%s", b.log, data)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(b.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bot did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL: no deferred save, no graceful anything.
func (b *botProc) kill() {
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	_ = b.cmd.Wait()
}

// stop sends SIGTERM and waits for a clean exit.
func (b *botProc) stop() {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.t.Errorf("the bot exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		b.kill()
		b.t.Error("the bot did not stop within 20 s of SIGTERM")
	}
}

// peak is the bot's VmHWM, its largest resident set so far.
func (b *botProc) peak() int64 { return vmHWM(b.t, b.cmd.Process.Pid) }

func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("peak memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// checkPeak fails the test when the bot's peak memory passed MemoryBound.
func (b *botProc) checkPeak(step string) {
	b.t.Helper()
	p := b.peak()
	b.t.Logf("%s: peak memory (VmHWM) %d MB, bound %d MB", step, p>>20, MemoryBound>>20)
	if p > MemoryBound {
		b.t.Errorf("%s: peak memory %d MB is over the bound of %d MB", step, p>>20, MemoryBound>>20)
	}
}

var crypto = func() *bot.Crypto {
	c, err := bot.NewCrypto(token, aesKey, "")
	if err != nil {
		panic(err)
	}
	return c
}()

var msgN struct {
	sync.Mutex
	n int
}

func nextID() string {
	msgN.Lock()
	defer msgN.Unlock()
	msgN.n++
	return fmt.Sprintf("fault-%d-%d", time.Now().UnixNano(), msgN.n)
}

// send posts m to the callback as WeCom would and returns the reply's text ("" for an
// empty answer) or an error when the bot could not be reached or failed.
func (b *botProc) send(ctx context.Context, m bot.Message) (string, error) {
	q, body, err := crypto.SealCallback(m)
	if err != nil {
		return "", err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+bot.CallbackPath+"?"+q.Encode(), bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if len(raw) == 0 {
		return "", nil
	}
	r, err := crypto.OpenReply(q, raw)
	if err != nil {
		return "", err
	}
	return r.Content, nil
}

// say sends text as userid into the group.
func (b *botProc) say(ctx context.Context, userid, text string) (string, error) {
	return b.send(ctx, bot.Message{MsgID: nextID(), AIBotID: "aibot", ChatID: group, ChatType: "group",
		From: bot.From{UserID: userid}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + text}})
}

// mustSay is say that fails the test on an error.
func (b *botProc) mustSay(userid, text string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := b.say(ctx, userid, text)
	if err != nil {
		b.t.Fatalf("%s「%s」: %v", userid, text, err)
	}
	return r
}

// ready reports whether /readyz answers 200.
func (b *botProc) ready() bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(b.base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// secretaries of the default config, one per community, who file in parallel, and
// their communities' populations (a filing far from it is held for 确认, not stored).
var secretaries = map[string]int{"cuihong": 6200, "yangyueheng": 4800, "yudunfu": 1500, "zhuxunyan": 3200}

// filer files 会员 <n> 人口 <population> with a fresh n each time (from 100 up, so
// below every population for the first 1400 filings), from several secretaries at
// once, and remembers which n were acknowledged.
type filer struct {
	mu    sync.Mutex
	acked map[string]bool // "会员 <n> " → acknowledged
	tried int
	next  int
}

func newFiler() *filer { return &filer{acked: map[string]bool{}, next: 100} }

// run files until ctx ends.
func (f *filer) run(ctx context.Context, b *botProc) {
	var wg sync.WaitGroup
	for sec, population := range secretaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				f.mu.Lock()
				f.next++
				n := f.next
				f.tried++
				f.mu.Unlock()
				key := fmt.Sprintf("会员 %d ", n)
				rctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
				reply, err := b.say(rctx, sec, fmt.Sprintf("%s人口 %d", key, population))
				cancel()
				if err == nil && strings.Contains(reply, acked) {
					f.mu.Lock()
					f.acked[key] = true
					f.mu.Unlock()
				} else if err != nil {
					time.Sleep(20 * time.Millisecond) // the bot is down: do not spin
				}
			}
		}()
	}
	wg.Wait()
}

func (f *filer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acked)
}

// missing lists the acknowledged filings whose raw text is in no file event.
func (f *filer) missing(raws []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for key := range f.acked {
		found := false
		for _, r := range raws {
			if strings.Contains(r, key) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, key)
		}
	}
	return out
}

// redisServer is a redis-server of its own, with AOF, in dir.
type redisServer struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, dir string, port int) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("the fault tests need redis-server (scripts/faults.sh installs it)")
	}
	r := &redisServer{t: t, dir: dir, port: port}
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--logfile", filepath.Join(dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", r.addr())
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 7)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not come up on %s", r.addr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *redisServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *redisServer) signal(s syscall.Signal) {
	if err := r.cmd.Process.Signal(s); err != nil {
		r.t.Fatal(err)
	}
	if s == syscall.SIGKILL {
		_ = r.cmd.Wait()
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
