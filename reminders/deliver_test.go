package reminders_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	pngpkg "image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/internal/testclock"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

// The Deliverer tests run against the real Redis and the webhook stand-in wecomfake, with
// one fake clock shared by the Deliverer and wecomfake. bot.SetWeComAPIBase is process
// wide, so these tests do not run in parallel.

const deliverStreet = "chengguan"

var deliverT0 = time.Date(2021, 6, 10, 9, 0, 0, 0, time.UTC)

// deliverEnv is a Redis prefix, a wecomfake server and the groups' keys.
type deliverEnv struct {
	prefix string
	t      testing.TB
	c      *testclock.Clock
	outbox storage.Outbox
	store  *storage.Redis
	fake   *wecomfake.Server
	keys   map[string]string // chatid → webhook key
	client func() *storage.Redis
	log    *slog.Logger
}

// deliverLogBuffer collects log output and can tell whether a string was ever logged.
type deliverLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (b *deliverLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	return b.out.Write(p)
}

func (b *deliverLogBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func newDeliverEnv(t testing.TB, logTo io.Writer) *deliverEnv {
	t.Helper()
	c, prefix := testredis.Client(t)
	clock := testclock.New(deliverT0)
	log := slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &deliverEnv{t: t, c: clock, store: storage.NewRedis(c, prefix), prefix: prefix, keys: map[string]string{}, log: log,
		fake:   wecomfake.New(wecomfake.WithClock(clock.Now), wecomfake.WithLogger(log)),
		client: func() *storage.Redis { return storage.NewRedis(c, prefix) }}
	e.outbox = e.store.Outbox()
	srv := httptest.NewServer(e.fake)
	t.Cleanup(srv.Close)
	if err := bot.SetWeComAPIBase(srv.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bot.SetWeComAPIBase("") })
	return e
}

// group gives chat a webhook key known to wecomfake.
func (e *deliverEnv) group(chat string) string {
	key := "key-" + chat + "-0123456789abcdef"
	e.keys[chat] = key
	e.fake.AddKey(key)
	return key
}

// router is the application's pusher in URL-callback mode: webhooks only.
func (e *deliverEnv) router() *bot.Router {
	return &bot.Router{Webhook: bot.NewWebhook(e.log), Log: e.log}
}

// deliverer returns a Deliverer on its own store instance, as another replica would have.
func (e *deliverEnv) deliverer(p reminders.Sender) *reminders.Deliverer {
	if p == nil {
		p = e.router()
	}
	return &reminders.Deliverer{
		Outbox: e.client().Outbox(), Pusher: p, Now: e.c.Now, Log: e.log,
		Targets: func(street, chat string) (bot.Target, bool) {
			k, ok := e.keys[chat]
			return bot.Target{ChatID: chat, WebhookKey: k}, ok && street == deliverStreet
		},
		Streets: func() []string { return []string{deliverStreet, "empty-street"} },
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * 10 * time.Second },
	}
}

func (e *deliverEnv) enqueue(msgs ...storage.OutMsg) {
	e.t.Helper()
	if err := e.outbox.Enqueue(context.Background(), deliverStreet, msgs); err != nil {
		e.t.Fatal(err)
	}
}

func (e *deliverEnv) pending() int {
	e.t.Helper()
	n, err := e.outbox.Pending(context.Background(), deliverStreet)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func runOnce(t testing.TB, d *reminders.Deliverer, want int) {
	t.Helper()
	n, err := d.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("RunOnce sent %d, want %d", n, want)
	}
}

func numbered(chat string, from, to int, at time.Time) []storage.OutMsg {
	var msgs []storage.OutMsg
	for i := from; i < to; i++ {
		msgs = append(msgs, storage.OutMsg{ChatID: chat, Text: fmt.Sprintf("%s 第%02d条", chat, i), Created: at})
	}
	return msgs
}

func contents(ms []wecomfake.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Content
	}
	return out
}

func msgTexts(ms []storage.OutMsg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

func TestDeliverRateLimitQueues(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	key := e.group("chat-a")
	all := numbered("chat-a", 0, 45, deliverT0)
	e.enqueue(all...)
	d := e.deliverer(nil)
	want := msgTexts(all)

	runOnce(t, d, 20)
	if got := contents(e.fake.Messages(key)); !slices.Equal(got, want[:20]) {
		t.Fatalf("first window delivered %q, want %q", got, want[:20])
	}
	if n := e.pending(); n != 25 {
		t.Errorf("Pending = %d, want 25 waiting", n)
	}
	e.c.Advance(30 * time.Second)
	runOnce(t, d, 0) // window still full
	e.c.Advance(30 * time.Second)
	runOnce(t, d, 20)
	e.c.Advance(time.Minute)
	runOnce(t, d, 5)
	if got := contents(e.fake.Messages(key)); !slices.Equal(got, want) {
		t.Fatalf("delivered %q,\nwant %q", got, want)
	}
	if n := e.pending(); n != 0 {
		t.Errorf("Pending = %d after all went out", n)
	}
	sent, err := e.outbox.Sent(context.Background(), deliverStreet, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 45 {
		t.Fatalf("Sent has %d, want 45", len(sent))
	}
	for _, m := range sent {
		if m.Attempts != 0 || m.LastError != "" {
			t.Errorf("%s: attempts %d, error %q; waiting for the window is not a failed attempt", m.Text, m.Attempts, m.LastError)
		}
	}
	// wecomfake never had to refuse one: its window and ours agree.
	if f, _ := e.outbox.Failures(context.Background(), deliverStreet, 0); len(f) != 0 {
		t.Errorf("Failures = %q", msgTexts(f))
	}
}

// countingPusher counts pushes and fails the first failFirst of them.
type countingPusher struct {
	*bot.Router
	calls     atomic.Int64
	failFirst int64
	err       error
}

func (p *countingPusher) Push(ctx context.Context, to bot.Target, m bot.Push) error {
	if n := p.calls.Add(1); n <= p.failFirst {
		return p.err
	}
	return p.Router.Push(ctx, to, m)
}

func TestDeliverRemovedKeyFails(t *testing.T) {
	logs := &deliverLogBuffer{out: t.Output()}
	e := newDeliverEnv(t, logs)
	dead := e.group("chat-dead")
	e.fake.RemoveKey(dead) // the robot was removed from the group: 93000
	ok := e.group("chat-ok")
	e.keys["chat-nokey"] = "" // configured without a key
	e.enqueue(append(append(numbered("chat-dead", 0, 2, deliverT0), numbered("chat-ok", 0, 1, deliverT0)...),
		numbered("chat-nokey", 0, 1, deliverT0)...)...)
	p := &countingPusher{Router: e.router()}
	d := e.deliverer(p)
	runOnce(t, d, 1)
	if got := contents(e.fake.Messages(ok)); len(got) != 1 {
		t.Errorf("healthy group got %q", got)
	}
	f, err := e.outbox.Failures(context.Background(), deliverStreet, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, m := range f {
		reasons[m.Text] = m.LastError
		if m.Done.IsZero() {
			t.Errorf("failure %s has no Done", m.Text)
		}
	}
	for _, text := range []string{"chat-dead 第00条", "chat-dead 第01条"} {
		if !strings.Contains(reasons[text], "93000") {
			t.Errorf("failure of %s = %q, want errcode 93000", text, reasons[text])
		}
	}
	if r := reasons["chat-nokey 第00条"]; r != reminders.ReasonNoPushPath {
		t.Errorf("failure of the group without key = %q, want %q", r, reminders.ReasonNoPushPath)
	}
	if len(f) != 3 || e.pending() != 0 {
		t.Errorf("Failures = %q, Pending = %d; want 3 failures, nothing queued", msgTexts(f), e.pending())
	}
	calls := p.calls.Load()
	if calls != 3 {
		t.Errorf("%d pushes, want 3 (two refused, one sent, none without a key)", calls)
	}
	for range 3 {
		e.c.Advance(time.Hour)
		runOnce(t, d, 0)
	}
	if p.calls.Load() != calls {
		t.Errorf("a failed message was pushed again: %d pushes", p.calls.Load())
	}
	if strings.Contains(logs.String(), dead) {
		t.Errorf("the webhook key appears in the logs:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "chat-dead") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the dead group is not logged at error level:\n%s", logs.String())
	}
}

func TestDeliverTransientRetried(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	key := e.group("chat-a")
	e.enqueue(numbered("chat-a", 0, 2, deliverT0)...)
	p := &countingPusher{Router: e.router(), failFirst: 2, err: errors.New("connection reset by peer")}
	d := e.deliverer(p) // backoff: attempt·10s

	runOnce(t, d, 0) // 第00条 fails (1); 第01条 waits behind it
	e.c.Advance(9 * time.Second)
	runOnce(t, d, 0)
	if p.calls.Load() != 1 {
		t.Fatalf("%d pushes before the first backoff ended, want 1", p.calls.Load())
	}
	e.c.Advance(time.Second)
	runOnce(t, d, 0) // fails again (2): next try 20s later
	e.c.Advance(19 * time.Second)
	runOnce(t, d, 0)
	if p.calls.Load() != 2 {
		t.Fatalf("%d pushes before the second backoff ended, want 2", p.calls.Load())
	}
	e.c.Advance(time.Second)
	runOnce(t, d, 2)
	if got, want := contents(e.fake.Messages(key)), []string{"chat-a 第00条", "chat-a 第01条"}; !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q once each, in order", got, want)
	}
	sent, _ := e.outbox.Sent(context.Background(), deliverStreet, 0)
	if len(sent) != 2 || sent[1].Attempts != 2 || sent[1].LastError != "connection reset by peer" || sent[0].Attempts != 0 {
		t.Errorf("Sent = %+v; want 第00条 after 2 failed attempts, 第01条 with none", sent)
	}
	e.c.Advance(time.Hour)
	runOnce(t, d, 0)
	if n := len(e.fake.Messages(key)); n != 2 {
		t.Errorf("%d messages delivered, want 2", n)
	}
}

func TestDeliverGivesUpAfterMaxAttempts(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	e.group("chat-a")
	e.enqueue(numbered("chat-a", 0, 1, deliverT0)...)
	p := &countingPusher{Router: e.router(), failFirst: 1 << 30, err: &bot.WebhookError{Code: -1, Msg: "system busy"}}
	d := e.deliverer(p)
	d.MaxAttempts = 3
	for range 5 {
		runOnce(t, d, 0)
		e.c.Advance(time.Hour)
	}
	if p.calls.Load() != 3 {
		t.Errorf("%d pushes, want 3", p.calls.Load())
	}
	f, _ := e.outbox.Failures(context.Background(), deliverStreet, 0)
	if len(f) != 1 || !strings.Contains(f[0].LastError, "system busy") || f[0].Attempts != 2 {
		t.Errorf("Failures = %+v; want the message, its last error, 2 retries recorded", f)
	}
}

func TestDeliverWeComRateLimitDefers(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	e.group("chat-a")
	e.enqueue(numbered("chat-a", 0, 2, deliverT0)...)
	p := &countingPusher{Router: e.router(), failFirst: 1, err: &bot.WebhookError{Code: bot.ErrCodeFreqLimit, Msg: "api freq out of limit"}}
	d := e.deliverer(p)
	runOnce(t, d, 0)
	e.c.Advance(59 * time.Second)
	runOnce(t, d, 0)
	e.c.Advance(time.Second)
	runOnce(t, d, 2)
	sent, _ := e.outbox.Sent(context.Background(), deliverStreet, 0)
	if got := msgTexts(sent); !slices.Equal(got, []string{"chat-a 第01条", "chat-a 第00条"}) {
		t.Errorf("Sent = %q", got)
	}
	for _, m := range sent {
		if m.Attempts != 0 {
			t.Errorf("%s: %d attempts counted for WeCom's rate limit", m.Text, m.Attempts)
		}
	}
}

func TestDeliverTwoDeliverersExactlyOnce(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	chats := []string{"chat-a", "chat-b", "chat-c", "chat-d", "chat-e"}
	want := map[string][]string{}
	for _, c := range chats {
		e.group(c)
		msgs := numbered(c, 0, 50, deliverT0)
		want[c] = msgTexts(msgs)
		e.enqueue(msgs...)
	}
	ds := []*reminders.Deliverer{e.deliverer(nil), e.deliverer(nil)}
	for _, d := range ds {
		d.Batch = 7 // many small claims, so the two interleave
	}
	total := 0
	for minute := 0; e.pending() > 0; minute++ {
		if minute > 5 {
			t.Fatalf("queue does not drain: %d left", e.pending())
		}
		var wg sync.WaitGroup
		sent := make([]int, len(ds))
		for i, d := range ds {
			wg.Go(func() {
				n, err := d.RunOnce(context.Background())
				if err != nil {
					t.Error(err)
				}
				sent[i] = n
			})
		}
		wg.Wait()
		total += sent[0] + sent[1]
		if got := sent[0] + sent[1]; got > 20*len(chats) {
			t.Errorf("minute %d: %d sent, more than 20 a group", minute, got)
		}
		e.c.Advance(time.Minute)
	}
	if total != 250 {
		t.Errorf("RunOnce reported %d sent, want 250", total)
	}
	for _, c := range chats {
		if got := contents(e.fake.Messages(e.keys[c])); !slices.Equal(got, want[c]) {
			t.Errorf("%s got %d messages %q,\nwant each once in order", c, len(got), got)
		}
	}
	if f, _ := e.outbox.Failures(context.Background(), deliverStreet, 0); len(f) != 0 {
		t.Errorf("Failures = %q", msgTexts(f))
	}
}

func TestDeliverRunConcurrently(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	want := map[string][]string{}
	for _, c := range []string{"chat-a", "chat-b", "chat-c"} {
		e.group(c)
		msgs := numbered(c, 0, 15, deliverT0)
		want[c] = msgTexts(msgs)
		e.enqueue(msgs...)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for range 2 {
		d := e.deliverer(nil)
		d.Batch = 4
		wg.Go(func() {
			if err := d.Run(ctx, 5*time.Millisecond); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more passes, which must send nothing
	cancel()
	wg.Wait()
	for c, w := range want {
		if got := contents(e.fake.Messages(e.keys[c])); !slices.Equal(got, w) {
			t.Errorf("%s got %q, want each once in order", c, got)
		}
	}
}

// TestDeliverPausedStreet: a paused street holds its scheduled reminders only. The
// answers and 催一下 queued after a held reminder in its group go out at once, within the
// group's rate limit (20 a minute: the 25th waits a minute), and in their order; the
// reminders go out on resume.
func TestDeliverPausedStreet(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	keyA, keyB := e.group("chat-a"), e.group("chat-b")
	ctx := context.Background()
	reminder := []storage.OutMsg{{ChatID: "chat-a", Text: "【换届提醒】chat-a", Created: deliverT0},
		{ChatID: "chat-b", Text: "【换届提醒】chat-b", Created: deliverT0}}
	if _, err := e.outbox.EnqueueOnce(ctx, deliverStreet, storage.Occurrence{ID: "phase:2021-06-10", Title: "提醒"}, reminder); err != nil {
		t.Fatal(err)
	}
	if err := e.outbox.SetPaused(ctx, deliverStreet, true, "office", deliverT0); err != nil {
		t.Fatal(err)
	}
	e.enqueue(numbered("chat-a", 0, 25, deliverT0)...)
	e.enqueue(numbered("chat-b", 0, 1, deliverT0)...)
	d := e.deliverer(nil)
	runOnce(t, d, 21)
	e.c.Advance(time.Minute)
	runOnce(t, d, 5)
	e.c.Advance(time.Minute)
	runOnce(t, d, 0)
	if got, want := contents(e.fake.Messages(keyA)), msgTexts(numbered("chat-a", 0, 25, deliverT0)); !slices.Equal(got, want) {
		t.Errorf("paused street: chat-a got %q, want its 25 answers in order", got)
	}
	if got := contents(e.fake.Messages(keyB)); !slices.Equal(got, []string{"chat-b 第00条"}) {
		t.Errorf("paused street: chat-b got %q, want its answer", got)
	}
	if e.pending() != 2 {
		t.Fatalf("paused street: %d pending, want the 2 held reminders", e.pending())
	}
	if err := e.outbox.SetPaused(ctx, deliverStreet, false, "office", e.c.Now()); err != nil {
		t.Fatal(err)
	}
	runOnce(t, d, 2)
	if a, b := e.fake.Messages(keyA), e.fake.Messages(keyB); len(a) != 26 || a[25].Content != "【换届提醒】chat-a" ||
		len(b) != 2 || b[1].Content != "【换届提醒】chat-b" {
		t.Errorf("after resuming: chat-a got %d, chat-b %q; want each its reminder last", len(a), contents(b))
	}
}

func TestDeliverDefaultBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 8 * time.Second, 12 * time.Second},
		{2, 16 * time.Second, 24 * time.Second},
		{5, 128 * time.Second, 192 * time.Second},
		{12, 24 * time.Minute, 36 * time.Minute},
		{100, 24 * time.Minute, 36 * time.Minute},
	} {
		for range 20 {
			if d := reminders.DefaultBackoff(c.attempt); d < c.min || d > c.max {
				t.Errorf("DefaultBackoff(%d) = %v, want within [%v, %v]", c.attempt, d, c.min, c.max)
			}
		}
	}
}

// BenchmarkDeliverWave sends one queued message to each of 300 groups per RunOnce.
func BenchmarkDeliverWave(b *testing.B) {
	e := newDeliverEnv(b, io.Discard)
	chats := make([]string, 300)
	for i := range chats {
		chats[i] = fmt.Sprintf("chat-%03d", i)
		e.group(chats[i])
	}
	d := e.deliverer(nil)
	d.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	sent := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		e.c.Advance(time.Minute) // a fresh rate-limit window for every group
		msgs := make([]storage.OutMsg, len(chats))
		for i, c := range chats {
			msgs[i] = storage.OutMsg{ChatID: c, Text: "【换届提醒】请于今天下班前报送会员代表名单。", Created: e.c.Now()}
		}
		e.enqueue(msgs...)
		b.StartTimer()
		n, err := d.RunOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n != len(chats) {
			b.Fatalf("RunOnce sent %d, want %d", n, len(chats))
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/float64(b.N), "msgs/op")
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
}

// TestDeliverLongMessageInParts: a late summary too long for one webhook message (25
// parts, more than the 20 a minute a key takes) goes out part by part: 20 in the first
// minute, the rest in the next, none twice; the group's next message follows the last
// part instead of waiting for ever.
func TestDeliverLongMessageInParts(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	key := e.group("chat-a")
	var long strings.Builder
	for i := range 25 {
		fmt.Fprintf(&long, "第%02d段 %s\n", i+1, strings.Repeat("社区名单", 160)) // 2048 bytes a line
	}
	e.enqueue(storage.OutMsg{ChatID: "chat-a", Text: long.String(), Mentions: []string{"cuihong"}, Created: deliverT0},
		storage.OutMsg{ChatID: "chat-a", Text: "下一条提醒", Created: deliverT0})
	d := e.deliverer(nil)

	runOnce(t, d, 20)
	if n := len(e.fake.Messages(key)); n != 20 {
		t.Fatalf("first minute: %d messages", n)
	}
	e.c.Advance(time.Minute)
	runOnce(t, d, 6)
	msgs := e.fake.Messages(key)
	var got strings.Builder
	for _, m := range msgs[:25] {
		got.WriteString(m.Content)
	}
	if len(msgs) != 26 || got.String() != long.String() || msgs[25].Content != "下一条提醒" {
		t.Fatalf("%d messages; the parts add up: %v; last %q", len(msgs), got.String() == long.String(), msgs[len(msgs)-1].Content)
	}
	if !slices.Equal(msgs[0].MentionedList, []string{"cuihong"}) || len(msgs[1].MentionedList) != 0 {
		t.Errorf("mentions: first part %v, second %v; want them on the first part only", msgs[0].MentionedList, msgs[1].MentionedList)
	}
	sent, _ := e.outbox.Sent(context.Background(), deliverStreet, 0)
	parts := 0
	for _, m := range sent {
		if m.Part != "" {
			parts++
		}
	}
	if parts != 25 || e.pending() != 0 {
		t.Errorf("%d parts in the sent list, %d pending", parts, e.pending())
	}
	e.c.Advance(time.Hour)
	runOnce(t, d, 0)
	if n := len(e.fake.Messages(key)); n != 26 {
		t.Errorf("%d messages after an hour: a part went out twice", n)
	}
}

// TestDeliverPartsResumeAfterARefusal: when WeCom refuses part 3 (its rate limit), parts
// 1 and 2 are not sent again; delivery resumes at part 3.
func TestDeliverPartsResumeAfterARefusal(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	key := e.group("chat-a")
	text := strings.Repeat(strings.Repeat("名", 600)+"\n", 5) // 5 lines of 1801 bytes: 5 parts
	e.enqueue(storage.OutMsg{ChatID: "chat-a", Text: text, Created: deliverT0})
	p := &refusingPusher{Router: e.router(), refuse: 3, err: &bot.WebhookError{Code: bot.ErrCodeFreqLimit, Msg: "api freq out of limit"}}
	d := e.deliverer(p)
	runOnce(t, d, 2)
	e.c.Advance(time.Minute)
	runOnce(t, d, 3)
	var got strings.Builder
	for _, m := range e.fake.Messages(key) {
		got.WriteString(m.Content)
	}
	if n := len(e.fake.Messages(key)); n != 5 || got.String() != text {
		t.Fatalf("%d messages, complete %v", n, got.String() == text)
	}
}

// refusingPusher refuses the refuse-th push with err, once.
type refusingPusher struct {
	*bot.Router
	calls  atomic.Int64
	refuse int64
	err    error
}

func (p *refusingPusher) Push(ctx context.Context, to bot.Target, m bot.Push) error {
	if p.calls.Add(1) == p.refuse {
		return p.err
	}
	return p.Router.Push(ctx, to, m)
}

// botPushes records what the bot pushed (aibot_send_msg); refuse answers that errcode.
type botPushes struct {
	mu     sync.Mutex
	sent   []string
	refuse int
}

func (b *botPushes) SendMarkdown(_ context.Context, chat, markdown string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.refuse != 0 {
		return &bot.APIError{Cmd: "aibot_send_msg", Code: b.refuse, Msg: "refused"}
	}
	b.sent = append(b.sent, chat+"|"+markdown)
	return nil
}

func (b *botPushes) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sent...)
}

// TestDeliverThroughTheBot: in long-connection mode a group without a webhook key gets
// its pushes from the bot, at most 30 a minute, replies counted in; a push that mentions
// people in a group with a key takes the webhook, which can mention.
func TestDeliverThroughTheBot(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	e.keys["chat-bot"] = ""
	key := e.group("chat-mixed")
	pushes := &botPushes{}
	router := e.router()
	router.Bot = pushes
	d := e.deliverer(router)
	ctx := context.Background()
	// 4 replies the bot gave in chat-bot this minute count against its 30.
	if ok, _, err := e.outbox.TakeSlots(ctx, deliverStreet, reminders.BotBucket("chat-bot"), deliverT0, 4,
		[]storage.Window{{N: 30, Per: time.Minute}, {N: 1000, Per: time.Hour}}, true); err != nil || !ok {
		t.Fatal(ok, err)
	}
	e.enqueue(numbered("chat-bot", 0, 30, deliverT0)...)
	runOnce(t, d, 26)
	if n := len(pushes.all()); n != 26 || !strings.HasPrefix(pushes.all()[0], "chat-bot|chat-bot 第00条") {
		t.Fatalf("%d bot pushes in the first minute, first %q", n, pushes.all()[0])
	}
	e.c.Advance(time.Minute)
	runOnce(t, d, 4)

	// chat-mixed asks for the bot but has a key: the nudge that mentions goes through the
	// webhook, the plain reminder through the bot.
	e.keys["chat-mixed"] = key
	mixed := e.deliverer(router)
	mixed.Targets = func(street, chat string) (bot.Target, bool) {
		return bot.Target{ChatID: chat, WebhookKey: e.keys[chat], Via: bot.ViaBot}, true
	}
	e.enqueue(storage.OutMsg{ChatID: "chat-mixed", Text: "请尽快报送", Mentions: []string{"cuihong"}, Created: e.c.Now()},
		storage.OutMsg{ChatID: "chat-mixed", Markdown: "**提醒**：明天截止", Created: e.c.Now()})
	runOnce(t, mixed, 2)
	if m := e.fake.Messages(key); len(m) != 1 || m[0].Content != "请尽快报送" || m[0].MentionedList[0] != "cuihong" {
		t.Fatalf("webhook got %+v", m)
	}
	if last := pushes.all()[len(pushes.all())-1]; last != "chat-mixed|**提醒**：明天截止" {
		t.Fatalf("the bot's last push %q", last)
	}

	// A chat nobody spoke in (93006) is a permanent refusal: given up, with the reason.
	pushes.refuse = bot.ErrCodeInvalidChatID
	e.enqueue(storage.OutMsg{ChatID: "chat-bot", Text: "提醒", Created: e.c.Now()})
	runOnce(t, d, 0)
	f, _ := e.outbox.Failures(ctx, deliverStreet, 0)
	if len(f) != 1 || !strings.Contains(f[0].LastError, "93006") {
		t.Fatalf("failures %+v", f)
	}
}

// countingHook counts the Redis commands a client sends (a pipeline's commands each).
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// TestDeliverDueQueue: with 500 streets and nothing to send, a pass after the first
// sweep costs one Redis command; a message queued in one street is delivered by the next
// pass, the due-queue naming that street only.
func TestDeliverDueQueue(t *testing.T) {
	e := newDeliverEnv(t, io.Discard)
	e.group("chat-a")
	streets := []string{deliverStreet}
	for i := range 499 {
		streets = append(streets, fmt.Sprintf("idle-%03d", i))
	}
	c := redis.NewClient(&redis.Options{Addr: testredis.Addr()})
	t.Cleanup(func() { c.Close() })
	hook := &countingHook{}
	c.AddHook(hook)
	d := e.deliverer(nil)
	d.Outbox = storage.NewRedis(c, e.prefix).Outbox()
	d.Streets = func() []string { return streets }
	d.Sweep = time.Hour

	runOnce(t, d, 0) // the first pass sweeps every street
	hook.n.Store(0)
	runOnce(t, d, 0)
	if n := hook.n.Load(); n != 1 {
		t.Errorf("an idle pass over 500 streets sent %d Redis commands, want 1", n)
	}
	e.enqueue(numbered("chat-a", 0, 1, deliverT0)...)
	hook.n.Store(0)
	runOnce(t, d, 1)
	if n := hook.n.Load(); n > 20 {
		t.Errorf("delivering one message sent %d Redis commands", n)
	}
	hook.n.Store(0)
	runOnce(t, d, 0)
	if n := hook.n.Load(); n != 1 {
		t.Errorf("idle again: %d commands, want 1", n)
	}
	if got := contents(e.fake.Messages(e.keys["chat-a"])); len(got) != 1 {
		t.Fatalf("chat-a got %q", got)
	}
}

// tripHook counts round trips to Redis: a command or a whole pipeline is one.
type tripHook struct{ n atomic.Int64 }

func (h *tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestDeliverSweepIsOnePipeline: the periodic sweep that finds what a lost due-queue hint
// (or a claim whose deliverer died) left behind checks every street in one pipeline, not
// one round trip per street, and still delivers the message whose hint was lost.
func TestDeliverSweepIsOnePipeline(t *testing.T) {
	e := newDeliverEnv(t, io.Discard)
	e.group("chat-a")
	c := redis.NewClient(&redis.Options{Addr: testredis.Addr()})
	t.Cleanup(func() { c.Close() })
	trips := &tripHook{}
	c.AddHook(trips)
	d := e.deliverer(nil)
	d.Outbox = storage.NewRedis(c, e.prefix).Outbox()
	d.Sweep = time.Nanosecond // every pass sweeps
	for _, n := range []int{1, 500} {
		streets := []string{deliverStreet}
		for i := range n - 1 {
			streets = append(streets, fmt.Sprintf("idle-%03d", i))
		}
		d.Streets = func() []string { return streets }
		runOnce(t, d, 0)
		trips.n.Store(0)
		runOnce(t, d, 0)
		if got := trips.n.Load(); got > 3 {
			t.Errorf("a sweep over %d idle streets took %d round trips, want at most 3", n, got)
		}
	}
	// A message whose due-queue hint was lost is found by the sweep.
	e.enqueue(numbered("chat-a", 0, 1, deliverT0)...)
	if err := c.ZRem(context.Background(), e.prefix+"out:due", deliverStreet).Err(); err != nil {
		t.Fatal(err)
	}
	runOnce(t, d, 1)
	if got := contents(e.fake.Messages(e.keys["chat-a"])); len(got) != 1 {
		t.Fatalf("chat-a got %q", got)
	}
}

// downBot is the bot's sender while the long connection is not up (a standby replica,
// or after WeCom dropped it): every push fails with bot.ErrNotConnected until up.
type downBot struct {
	botPushes
	up    atomic.Bool
	tries atomic.Int64
}

func (b *downBot) SendMarkdown(ctx context.Context, chat, markdown string) error {
	b.tries.Add(1)
	if !b.up.Load() {
		return fmt.Errorf("wecom bot push: %w", bot.ErrNotConnected)
	}
	return b.botPushes.SendMarkdown(ctx, chat, markdown)
}

// TestDeliverWaitsForTheLongConnection: pushes through the bot while no long connection
// is up (this replica is on standby, or the connection was dropped) stay queued, however
// long that lasts, and no attempt is counted; one refused push is enough to hold the
// other groups on the bot's path for the pass; the group's rate limit is not used up by
// pushes that never left; once the connection is there they all go out, in order.
func TestDeliverWaitsForTheLongConnection(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	e.keys["chat-bot"] = ""
	e.keys["chat-bot2"] = ""
	pushes := &downBot{}
	router := e.router()
	router.Bot = pushes
	d := e.deliverer(router)
	e.enqueue(append(numbered("chat-bot", 0, 30, deliverT0), numbered("chat-bot2", 0, 1, deliverT0)...)...)
	for range 40 { // far more passes than MaxAttempts, for over a day
		runOnce(t, d, 0)
		e.c.Advance(time.Hour)
	}
	if f, _ := e.outbox.Failures(context.Background(), deliverStreet, 0); len(f) != 0 {
		t.Fatalf("pushes given up while the long connection was down: %q (%s)", msgTexts(f), f[0].LastError)
	}
	if n := e.pending(); n != 31 {
		t.Fatalf("Pending = %d, want all 31 still queued", n)
	}
	if n := pushes.tries.Load(); n != 40 {
		t.Errorf("%d pushes tried in 40 passes, want one a pass: the other group waits with the first", n)
	}
	// A minute of passes against a connection still down uses up none of the 30 a minute.
	for range 12 {
		e.c.Advance(5 * time.Second)
		runOnce(t, d, 0)
	}
	pushes.up.Store(true)
	e.c.Advance(5 * time.Second)
	runOnce(t, d, 31) // chat-bot's 30 fill its whole minute
	var want, got []string
	for _, m := range numbered("chat-bot", 0, 30, deliverT0) {
		want = append(want, "chat-bot|"+m.Text)
	}
	for _, p := range pushes.all() {
		if strings.HasPrefix(p, "chat-bot|") {
			got = append(got, p)
		}
	}
	if !slices.Equal(got, want) || len(pushes.all()) != 31 {
		t.Errorf("pushed %q, want chat-bot's 30 in order and chat-bot2's one", pushes.all())
	}
	sent, _ := e.outbox.Sent(context.Background(), deliverStreet, 0)
	for _, m := range sent {
		if m.Attempts != 0 {
			t.Errorf("%s: %d attempts counted while the connection was down", m.Text, m.Attempts)
		}
	}
}

// TestDeliverRefusedPushFreesItsSlot: a push WeCom refused did not go out, so the
// group's next 20 still fit its minute once the refused one is retried.
func TestDeliverRefusedPushFreesItsSlot(t *testing.T) {
	e := newDeliverEnv(t, t.Output())
	key := e.group("chat-a")
	e.enqueue(numbered("chat-a", 0, 20, deliverT0)...)
	p := &countingPusher{Router: e.router(), failFirst: 1, err: &bot.WebhookError{Code: -1, Msg: "system busy"}}
	d := e.deliverer(p) // backoff: attempt·10s
	runOnce(t, d, 0)
	e.c.Advance(10 * time.Second)
	runOnce(t, d, 20)
	if got := contents(e.fake.Messages(key)); len(got) != 20 || got[0] != "chat-a 第00条" {
		t.Errorf("delivered %q, want all 20 within the minute, in order", got)
	}
}

// TestDeliverDirectPushCounts: a chart pushed into a group at once (the handlers' 图表)
// counts against the group's 20 a minute, so the reminders queued behind it leave room
// for it: WeCom never has to refuse one with 45009, and each reminder arrives once, in
// order, the last one a minute later.
func TestDeliverDirectPushCounts(t *testing.T) {
	logs := &deliverLogBuffer{out: t.Output()}
	e := newDeliverEnv(t, logs)
	key := e.group("chat-a")
	router := e.router()
	d := e.deliverer(router)
	direct := d.Direct(router, func(chat string) (string, bool) { _, ok := e.keys[chat]; return deliverStreet, ok })
	var png bytes.Buffer
	if err := pngpkg.Encode(&png, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	if err := direct.Push(context.Background(), bot.Target{ChatID: "chat-a", WebhookKey: key}, bot.Push{Image: png.Bytes()}); err != nil {
		t.Fatal(err)
	}
	e.enqueue(numbered("chat-a", 0, 20, deliverT0)...)
	runOnce(t, d, 19)
	e.c.Advance(time.Minute)
	runOnce(t, d, 1)
	got := e.fake.Messages(key)
	if len(got) != 21 || got[0].Image == nil || got[20].Content != "chat-a 第19条" {
		t.Errorf("the group got %d messages, want the chart, then the 20 reminders in order", len(got))
	}
	if strings.Contains(logs.String(), "WeCom rate limit") {
		t.Errorf("WeCom refused a push for its rate limit:\n%s", logs.String())
	}

	// A direct push that did not go out leaves its slot free.
	router.Bot = &downBot{}
	e.keys["chat-bot"] = ""
	for range 3 {
		if err := direct.Push(context.Background(), bot.Target{ChatID: "chat-bot"}, bot.Push{Markdown: "图表"}); !errors.Is(err, bot.ErrNotConnected) {
			t.Fatal(err)
		}
	}
	ok, _, err := e.outbox.TakeSlots(context.Background(), deliverStreet, reminders.BotBucket("chat-bot"), e.c.Now(), 30,
		[]storage.Window{{N: 30, Per: time.Minute}}, false)
	if err != nil || !ok {
		t.Errorf("pushes that never left still hold the bot's slots: %v %v", ok, err)
	}
}
