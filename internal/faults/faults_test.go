//go:build faults

package faults

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/bot"
	"huanjie/internal/testjpeg"
	"huanjie/storage"
)

var requestCode = regexp.MustCompile(`编号 \*\*(\d{4})\*\*`)

// officeWork pauses the reminders and binds a newcomer, each acknowledged, as the
// issue's lost writes were: 暂停提醒 and a binding approval.
func officeWork(t *testing.T, b *botProc) {
	t.Helper()
	if r := b.mustSay("luolimei", "暂停提醒"); !strings.Contains(r, "已暂停") {
		t.Fatalf("暂停提醒: %s", r)
	}
	m := requestCode.FindStringSubmatch(b.mustSay("wx_fault_newcomer", "绑定 太平 秘书长 王丽"))
	if m == nil {
		t.Fatal("no binding request code")
	}
	if r := b.mustSay("luolimei", "同意绑定 "+m[1]); !strings.Contains(r, "已确认") {
		t.Fatalf("同意绑定: %s", r)
	}
}

// checkKept fails the test for every acknowledged write that r lacks.
func checkKept(t *testing.T, ctx context.Context, r *storage.Redis, f *filer) {
	t.Helper()
	events, err := r.Events(ctx, street, 0)
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, ev := range events {
		if ev.Action == storage.ActionFile {
			raws = append(raws, ev.Raw)
		}
	}
	missing := f.missing(raws)
	t.Logf("%d filings tried, %d acknowledged, %d of those missing", f.tried, f.count(), len(missing))
	for _, m := range missing {
		t.Errorf("acknowledged filing「%s…」is lost", m)
	}
	if bd, err := r.Binding(ctx, street, "wx_fault_newcomer"); err != nil || bd == nil {
		t.Errorf("the acknowledged binding is lost (%v)", err)
	}
	if paused, err := r.Outbox().Paused(ctx, street); err != nil || !paused {
		t.Errorf("the acknowledged 暂停提醒 is lost (%v)", err)
	}
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// startFiling has the secretaries file until stop is called, once at least n of their
// filings were acknowledged.
func startFiling(t *testing.T, b *botProc, n int) (f *filer, stop func()) {
	t.Helper()
	f = newFiler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.run(ctx, b); close(done) }()
	stop = func() { cancel(); <-done }
	if !waitFor(30*time.Second, func() bool { return f.count() >= n }) {
		stop()
		t.Fatalf("only %d filings acknowledged in 30 s", f.count())
	}
	return f, stop
}

// botOnRedis runs a redis-server with AOF and the bot on it, and does the office's work.
func botOnRedis(t *testing.T, dir string, port int) (*redisServer, *botProc) {
	t.Helper()
	rs := startRedis(t, dir, port)
	b := startBot(t, dir, "REDIS_URL=redis://"+rs.addr()+"/0")
	officeWork(t, b)
	return rs, b
}

// checkKeptInRedis is checkKept on the redis-server at addr.
func checkKeptInRedis(t *testing.T, addr string, f *filer) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	checkKept(t, context.Background(), storage.NewRedis(c, prefix), f)
}

// TestKillBotOnEmbeddedStore: kill -9 the bot on the embedded store while secretaries
// file; after a restart every acknowledged filing, binding and pause is there.
func TestKillBotOnEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	b := startBot(t, dir)
	officeWork(t, b)
	f, stop := startFiling(t, b, 200)
	b.checkPeak("kill -9 on the embedded store")
	b.kill()
	stop()

	b2 := startBot(t, dir)
	if r := b2.mustSay("cuihong", "会员 320 人口 6200"); !strings.Contains(r, acked) {
		t.Errorf("the restarted bot does not take a filing: %s", r)
	}
	b2.stop()
	e, err := storage.OpenEmbedded(context.Background(), filepath.Join(dir, "data.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	checkKept(t, context.Background(), storage.NewRedis(e.Client(), prefix), f)
}

// TestKillRedisWithAOF: kill -9 a Redis with AOF (as compose runs it) while secretaries
// file; the bot answers errors meanwhile, carries on once Redis is back, and every
// acknowledged write is in Redis.
func TestKillRedisWithAOF(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	rs, b := botOnRedis(t, dir, port)
	f, stop := startFiling(t, b, 200)
	rs.signal(syscall.SIGKILL)
	time.Sleep(2 * time.Second) // the bot answers errors meanwhile: those are not acknowledged
	before := f.count()
	startRedis(t, dir, port)
	if !waitFor(20*time.Second, func() bool { return f.count() >= before+50 }) {
		t.Errorf("after Redis came back only %d more filings were acknowledged in 20 s", f.count()-before)
	}
	stop()
	b.checkPeak("kill -9 of Redis")
	checkKeptInRedis(t, rs.addr(), f)
}

// TestStalledRedis: Redis stops answering (SIGSTOP) for 6 s while secretaries file:
// /readyz says so, the bot's memory stays bounded, it carries on after SIGCONT, and
// every acknowledged filing is in Redis.
func TestStalledRedis(t *testing.T) {
	dir := t.TempDir()
	rs, b := botOnRedis(t, dir, freePort(t))
	f, stop := startFiling(t, b, 100)
	rs.signal(syscall.SIGSTOP)
	stalled := time.Now()
	if !waitFor(5*time.Second, func() bool { return !b.ready() }) {
		t.Error("/readyz still says ready 5 s into the stall")
	}
	time.Sleep(time.Until(stalled.Add(6 * time.Second)))
	during := f.count()
	rs.signal(syscall.SIGCONT)
	if !waitFor(15*time.Second, b.ready) {
		t.Error("/readyz not ready 15 s after Redis resumed")
	}
	if !waitFor(20*time.Second, func() bool { return f.count() >= during+50 }) {
		t.Errorf("after the stall only %d more filings were acknowledged in 20 s", f.count()-during)
	}
	stop()
	b.checkPeak("Redis stalled")
	checkKeptInRedis(t, rs.addr(), f)
}

// mediaServer serves encrypted files at /<name>, as WeCom serves what people send.
func mediaServer(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	enc := map[string][]byte{}
	for name, plain := range files {
		e, err := bot.EncryptMedia(crypto.MediaKey(), plain)
		if err != nil {
			t.Fatal(err)
		}
		enc["/"+name] = e
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := enc[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sendImage(ctx context.Context, b *botProc, userid, url string) (string, error) {
	return b.send(ctx, bot.Message{MsgID: nextID(), AIBotID: "aibot", ChatType: "single",
		From: bot.From{UserID: userid}, MsgType: "image", Image: &bot.Image{URL: url}})
}

// TestJPEGBomb: three 12240×12240 progressive JPEGs of a few hundred bytes, sent at
// once, are refused from their headers, in time, and the bot's memory stays bounded.
func TestJPEGBomb(t *testing.T) {
	b := startBot(t, t.TempDir())
	media := mediaServer(t, map[string][]byte{"bomb.jpg": testjpeg.Bomb(12240, 12240)})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			reply, err := sendImage(ctx, b, "cuihong", media.URL+"/bomb.jpg")
			took := time.Since(start)
			if err != nil || !strings.Contains(reply, "照片像素太多（12240×12240）") {
				t.Errorf("bomb %d: %q, %v", i+1, reply, err)
			}
			if took > 4*time.Second {
				t.Errorf("bomb %d answered after %v", i+1, took)
			}
		}()
	}
	wg.Wait()
	b.checkPeak("three JPEG bombs at once")
	if r := b.mustSay("quxin", "照片 大辛"); !strings.Contains(r, "已收到 0 张") {
		t.Errorf("a bomb was kept: %s", r)
	}
}

// noisePhoto is a real JPEG of about 9.6 MB (random pixels do not compress).
func noisePhoto(t *testing.T, seed uint64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2560, 1900))
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 10<<20-64 {
		t.Fatalf("the photo is %d bytes, over what the bot downloads", buf.Len())
	}
	return buf.Bytes()
}

var link = regexp.MustCompile(`(http://[^\s（]+)`)

// TestRepeatedPhotoZip: 10 photos of ~9.6 MB, then 照片打包 13 times, each download
// fetched in full: the zips go to disk and stream from there, so memory stays bounded.
func TestRepeatedPhotoZip(t *testing.T) {
	b := startBot(t, t.TempDir(), "DOWNLOADS_MAX_MB=400")
	files := map[string][]byte{}
	total := 0
	for i := range 10 {
		files[fmt.Sprintf("p%d.jpg", i)] = noisePhoto(t, uint64(i+1))
		total += len(files[fmt.Sprintf("p%d.jpg", i)])
	}
	media := mediaServer(t, files)
	clear(files) // the test's own copies need not stay in its memory
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		reply, err := sendImage(ctx, b, "cuihong", fmt.Sprintf("%s/p%d.jpg", media.URL, i))
		cancel()
		if err != nil || !strings.Contains(reply, fmt.Sprintf("已收到第 %d 张", i+1)) {
			t.Fatalf("photo %d: %q, %v", i+1, reply, err)
		}
	}
	b.checkPeak("10 photos of 9.6 MB received")
	for i := range 13 {
		reply := b.mustSay("quxin", "照片打包 大辛")
		u := link.FindString(reply)
		if u == "" {
			t.Fatalf("照片打包 %d: no link in %q", i+1, reply)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || n < int64(total) {
			t.Fatalf("download %d: HTTP %d, %d bytes (photos: %d), %v", i+1, resp.StatusCode, n, total, err)
		}
	}
	b.checkPeak("照片打包 13 times, each downloaded")
}
