package reminders_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/reminders"
	"huanjie/storage"
)

func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2021, month, day, hour, minute, 0, 0, campaign.Shanghai)
}

// TestDowntimeCatchUp: the bot is down from 6月16日 until 6月18日 10:00. On start the
// 6月18日 09:00 reminder goes out once, late; the 6月17日 one is recorded as skipped.
func TestDowntimeCatchUp(t *testing.T) {
	w := newWorld(t, 1)
	w.at(at(6, 15, 9, 30))
	w.at(at(6, 18, 10, 0))
	w.at(at(6, 18, 10, 1))
	want := []string{"06-18 10:00 | 【换届提醒】「成立领导小组」2 天后（6月20日 星期日）截止。还有 15 个社区未报。报送方法：@换届助手 报成立领导小组"}
	if strings.Join(w.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after downtime the group got:\n%s\nwant:\n%s", strings.Join(w.lines, "\n"), strings.Join(want, "\n"))
	}
	occ, err := w.store.Outbox().Occurrences(context.Background(), "chengxi", 10)
	if err != nil {
		t.Fatal(err)
	}
	var skipped []string
	for _, o := range occ {
		if o.Status == "skipped" {
			skipped = append(skipped, o.ID+" "+o.Reason)
		}
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "phase:leading_group:2021-06-17 机器人停机错过了发送时间") {
		t.Fatalf("the missed 6月17日 reminder must be recorded as skipped: %q", skipped)
	}
}

// TestPauseAndResume: while a street is paused nothing is sent, and what fell due during
// the pause is not sent afterwards.
func TestPauseAndResume(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	sched := w.scheds[0]
	w.now = at(6, 16, 17, 0)
	if err := sched.SetPaused(ctx, "chengxi", true, "luolimei"); err != nil {
		t.Fatal(err)
	}
	w.at(at(6, 17, 9, 0))
	if len(w.lines) != 0 {
		t.Fatalf("paused, yet sent: %q", w.lines)
	}
	w.now = at(6, 17, 12, 0)
	if err := sched.SetPaused(ctx, "chengxi", false, "luolimei"); err != nil {
		t.Fatal(err)
	}
	w.at(at(6, 17, 12, 1))
	w.at(at(6, 18, 9, 0))
	if len(w.lines) != 1 || !strings.HasPrefix(w.lines[0], "06-18 09:00 | 【换届提醒】「成立领导小组」2 天后") {
		t.Fatalf("after resuming: %q", w.lines)
	}
	p, err := sched.Plan(ctx, "chengxi", 3)
	if err != nil {
		t.Fatal(err)
	}
	var paused bool
	for _, o := range p.Recent {
		paused = paused || (o.ID == "phase:leading_group:2021-06-17" && o.Status == "paused")
	}
	var next []string
	for _, u := range p.Upcoming {
		next = append(next, u.At.Format("01-02 15:04 ")+u.Title)
	}
	want := "06-21 09:00 「成立领导小组」逾期汇总（@领导）|06-21 09:30 「成立领导小组」催报（@未报社区）|06-22 09:30 「成立领导小组」催报（@未报社区）"
	if !paused || p.Paused || strings.Join(next, "|") != want {
		t.Fatalf("plan after resume: paused recorded %v, street paused %v, next %q", paused, p.Paused, next)
	}
}

// bigStreet is one street with n communities spread over groups of 10, one secretary
// each, and one step due 2021-06-30: a city-sized wave in one minute.
func bigStreet(t testing.TB, communities int) *config.Config {
	var b strings.Builder
	b.WriteString("bot_name: 换届助手\nstreets:\n  - id: city\n    name: 全市\n    office: 市计生协\n    groups:\n")
	for g := 0; g < communities/10; g++ {
		fmt.Fprintf(&b, "      - {chatid: g%03d, name: 群%03d, webhook_key_env: K%03d, communities: [", g, g, g)
		for c := 0; c < 10; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "社区%04d", g*10+c)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("    people:\n")
	for c := 0; c < communities; c++ {
		fmt.Fprintf(&b, "      - {userid: u%04d, role: secretary, community: 社区%04d}\n", c, c)
	}
	b.WriteString("    communities:\n")
	for c := 0; c < communities; c++ {
		fmt.Fprintf(&b, "      - {name: 社区%04d, population: 3000}\n", c)
	}
	b.WriteString(`    rules:
      member_share_min: 0.05
      representative_bands: [{representatives: 50}]
      publicity_days: 3
      council: {min: 9, max: 11}
    steps: [{item: members, phase: 2, name: 夯实会员队伍, start: 2021-06-21, due: 2021-06-30}]
    reminders: {before_due_days: [0]}
`)
	cfg, err := config.Parse([]byte(b.String()), "big.yaml", func(k string) string { return "key-" + k })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// killingOutbox cancels the scheduler's context after n occurrences were recorded: a
// scheduler killed mid-wave.
type killingOutbox struct {
	storage.Outbox
	n      atomic.Int32
	after  int32
	cancel context.CancelFunc
}

func (k *killingOutbox) EnqueueOnce(ctx context.Context, street string, o storage.Occurrence, msgs []storage.OutMsg) (bool, error) {
	if k.n.Add(1) > k.after {
		k.cancel()
		return false, ctx.Err()
	}
	return k.Outbox.EnqueueOnce(ctx, street, o, msgs)
}

// TestWaveOneMessagePerGroupAndCrash: 600 communities in 60 groups all miss a deadline.
// The morning reminder and the nudge go out as one message per group (not per
// community), the nudge @-mentions exactly that group's late secretaries, and a
// scheduler killed after the first occurrence, plus a delivery cut off mid-wave, still
// leave every group with each message exactly once after restart.
func TestWaveOneMessagePerGroupAndCrash(t *testing.T) {
	cfg := bigStreet(t, 600)
	w := newWorldWith(t, cfg, 1)
	w.now = at(6, 30, 9, 30) // both the 09:00 reminder and the 09:30 nudge are due

	// A scheduler killed after recording one occurrence.
	ctx, cancel := context.WithCancel(context.Background())
	killed := *w.scheds[0]
	killed.Outbox = &killingOutbox{Outbox: w.store.Outbox(), after: 1, cancel: cancel}
	if err := killed.Tick(ctx); err == nil {
		t.Fatal("the killed scheduler should have failed")
	}
	// A delivery cut off after 25 messages.
	dctx, dcancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	d := *w.dels[0]
	d.Pusher = cuttingPusher{Pusher: d.Pusher, sent: &sent, after: 25, cancel: dcancel}
	_, _ = d.RunOnce(dctx)

	// Restart: a healthy scheduler and deliverer finish the wave.
	w.at(w.now)
	w.at(w.now.Add(time.Minute))

	for g := 0; g < 60; g++ {
		msgs := w.fake.Messages(fmt.Sprintf("key-K%03d", g))
		if len(msgs) != 2 {
			t.Fatalf("group %d got %d messages, want the reminder and the nudge once each", g, len(msgs))
		}
		if !strings.Contains(msgs[0].Content, "今天（6月30日 星期三）截止。还有 600 个社区未报") || len(msgs[0].MentionedList) != 0 {
			t.Errorf("group %d reminder: %q %v", g, msgs[0].Content, msgs[0].MentionedList)
		}
		var want []string
		for c := 0; c < 10; c++ {
			want = append(want, fmt.Sprintf("u%04d", g*10+c))
		}
		if got := strings.Join(msgs[1].MentionedList, ","); got != strings.Join(want, ",") {
			t.Errorf("group %d nudge mentions %s, want %s", g, got, strings.Join(want, ","))
		}
		if !strings.Contains(msgs[1].Content, fmt.Sprintf("社区%04d、", g*10)) || strings.Contains(msgs[1].Content, fmt.Sprintf("社区%04d", (g+1)%60*10)) {
			t.Errorf("group %d nudge names other groups' communities: %q", g, msgs[1].Content)
		}
	}
}

// cuttingPusher is a delivery cut off (its process killed) after a number of pushes.
type cuttingPusher struct {
	bot.Pusher
	sent   *atomic.Int32
	after  int32
	cancel context.CancelFunc
}

func (c cuttingPusher) Push(ctx context.Context, key string, p bot.Push) error {
	if c.sent.Add(1) > c.after {
		c.cancel()
		return ctx.Err()
	}
	return c.Pusher.Push(ctx, key, p)
}

// BenchmarkTickWave measures one scheduler tick that queues the morning wave of a city:
// 3000 communities in 300 groups, all late: one reminder and one nudge per group.
//
//	go test -run '^$' -bench TickWave ./reminders
func BenchmarkTickWave(b *testing.B) {
	cfg := bigStreet(b, 3000)
	c, prefix := testredis.Client(b)
	msgs := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		store := storage.NewRedis(c, fmt.Sprintf("%s%d:", prefix, i))
		s := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(), Log: quiet(),
			Clock: func() time.Time { return at(6, 30, 9, 30) }}
		if err := s.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
		n, err := store.Outbox().Pending(context.Background(), "city")
		if err != nil {
			b.Fatal(err)
		}
		msgs += n
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/op")
}

// BenchmarkTickSteady measures the tick that runs every minute once the wave is queued:
// everything due is already recorded, so it must stay cheap.
//
//	go test -run '^$' -bench TickSteady ./reminders
func BenchmarkTickSteady(b *testing.B) {
	cfg := bigStreet(b, 3000)
	c, prefix := testredis.Client(b)
	store := storage.NewRedis(c, prefix)
	s := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(), Log: quiet(),
		Clock: func() time.Time { return at(6, 30, 9, 30) }}
	if err := s.Tick(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Tick(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTooFewPhotosStillNudged: a community with 3 of the 6 photos it needs is nudged
// for photos like one with none; one with 6 is not.
func TestTooFewPhotosStillNudged(t *testing.T) {
	w := newWorld(t, 1)
	w.now = at(7, 19, 12, 0)
	st, _ := w.cfg.Street("chengxi")
	for _, c := range st.CommunityNames() {
		count := "6"
		switch c {
		case "大辛":
			count = "3"
		case "北山":
			continue
		}
		w.file(c, campaign.ItemPhotos, map[string]string{"count": count})
	}
	w.at(at(7, 20, 9, 30))
	var nudge string
	for _, l := range w.lines {
		if strings.Contains(l, "【催报】「换届照片」") {
			nudge = l
		}
	}
	if !strings.Contains(nudge, "以下社区还没报：大辛、北山。") || !strings.HasSuffix(nudge, "| @cuihong,jiangnianbing") {
		t.Fatalf("photo nudge: %q", nudge)
	}
}
