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
	// Newest first: the 6月17日 reminder, and the 6月11日 opening (within the 7 days looked back).
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], "phase:2021-06-17 机器人停机错过了发送时间") ||
		!strings.HasPrefix(skipped[1], "open:2021-06-11 机器人停机错过了发送时间") {
		t.Fatalf("the missed reminders must be recorded as skipped: %q", skipped)
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
	p, err := sched.Plan(ctx, "chengxi", reminders.PlanQuery{Upcoming: 3, Since: campaign.Date{Year: 2021, Month: 6, Day: 17}})
	if err != nil {
		t.Fatal(err)
	}
	var paused bool
	for _, o := range p.Missed {
		paused = paused || (o.ID == "phase:2021-06-17" && o.Status == "paused")
	}
	var next []string
	for _, u := range p.Upcoming {
		next = append(next, u.At.Format("01-02 15:04 ")+u.Title)
	}
	want := "06-21 09:00 阶段开始通知（夯实会员队伍）|06-21 09:30 每日催报（@逾期社区）|06-22 09:30 每日催报（@逾期社区）"
	if !paused || p.Paused || strings.Join(next, "|") != want {
		t.Fatalf("plan after resume: paused recorded %v, street paused %v, next %q", paused, p.Paused, next)
	}
}

// bigStreet is one street with n communities spread over groups of 10, one secretary
// each, and two steps due 2021-06-30 and 2021-07-01: on 7月1日 a city-sized wave in one
// minute (the 09:00 reminder and the 09:30 nudge of the late).
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
    steps:
      - {item: members, phase: 2, name: 夯实会员队伍, start: 2021-06-21, due: 2021-06-30}
      - {item: member_groups, phase: 2, name: 夯实会员队伍, start: 2021-06-21, due: 2021-07-01}
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
	w.now = at(7, 1, 9, 30) // both the 09:00 reminder and the 09:30 nudge are due

	// A scheduler killed after recording one occurrence.
	ctx, cancel := context.WithCancel(context.Background())
	s0 := w.scheds[0]
	killed := reminders.Scheduler{Config: s0.Config, Filings: s0.Filings, Bindings: s0.Bindings, Clock: s0.Clock,
		HowToFile: s0.HowToFile, Log: s0.Log, Lookback: s0.Lookback,
		Outbox: &killingOutbox{Outbox: w.store.Outbox(), after: 1, cancel: cancel}}
	if err := killed.Tick(ctx); err == nil {
		t.Fatal("the killed scheduler should have failed")
	}
	// A delivery cut off after 25 messages.
	dctx, dcancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	d0 := w.dels[0]
	d := &reminders.Deliverer{Outbox: d0.Outbox, Targets: d0.Targets, Streets: d0.Streets, Now: d0.Now, Log: d0.Log,
		Pusher: cuttingPusher{Sender: d0.Pusher, sent: &sent, after: 25, cancel: dcancel}}
	_, _ = d.RunOnce(dctx)

	// Restart: a healthy scheduler and deliverer finish the wave.
	w.at(w.now)
	w.at(w.now.Add(time.Minute))

	for g := 0; g < 60; g++ {
		msgs := w.fake.Messages(fmt.Sprintf("key-K%03d", g))
		if len(msgs) != 2 {
			t.Fatalf("group %d got %d messages, want the reminder and the nudge once each", g, len(msgs))
		}
		if !strings.Contains(msgs[0].Content, "今天（7月1日 星期四）截止。还有 600 个社区未报") || len(msgs[0].MentionedList) != 0 {
			t.Errorf("group %d reminder: %q %v", g, msgs[0].Content, msgs[0].MentionedList)
		}
		var want []string
		for c := 0; c < 10; c++ {
			want = append(want, fmt.Sprintf("u%04d", g*10+c))
		}
		if got := strings.Join(msgs[1].MentionedList, ","); got != strings.Join(want, ",") {
			t.Errorf("group %d nudge mentions %s, want %s", g, got, strings.Join(want, ","))
		}
		if !strings.Contains(msgs[1].Content, fmt.Sprintf("· 社区%04d：会员数和总人口（逾期 1 天）\n", g*10)) || strings.Contains(msgs[1].Content, fmt.Sprintf("社区%04d", (g+1)%60*10)) {
			t.Errorf("group %d nudge names other groups' communities: %q", g, msgs[1].Content)
		}
	}
}

// cuttingPusher is a delivery cut off (its process killed) after a number of pushes.
type cuttingPusher struct {
	reminders.Sender
	sent   *atomic.Int32
	after  int32
	cancel context.CancelFunc
}

func (c cuttingPusher) Push(ctx context.Context, to bot.Target, p bot.Push) error {
	if c.sent.Add(1) > c.after {
		c.cancel()
		return ctx.Err()
	}
	return c.Sender.Push(ctx, to, p)
}

// BenchmarkTickWave measures one scheduler tick that queues the morning wave of a city:
// 3000 communities in 300 groups, and 10 000 in 1000, all late: one reminder and one
// nudge per group (7月1日). The two sizes show how the wave grows (issue 12: 10 000 /
// 3000 ≤ 4× in time, 10 000 queued in ≤ 1 s).
//
//	go test -run '^$' -bench TickWave ./reminders
func BenchmarkTickWave(b *testing.B) {
	for _, n := range []int{3000, 10000} {
		b.Run(fmt.Sprintf("communities=%d", n), func(b *testing.B) { benchWave(b, n) })
	}
}

func benchWave(b *testing.B, n int) {
	cfg := bigStreet(b, n)
	c, prefix := testredis.Client(b)
	msgs := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		store := storage.NewRedis(c, fmt.Sprintf("%s%d:", prefix, i))
		s := &reminders.Scheduler{Config: cfg, Filings: store, Bindings: store, Outbox: store.Outbox(), Log: quiet(),
			Clock: func() time.Time { return at(7, 1, 9, 30) }}
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
		Clock: func() time.Time { return at(7, 1, 9, 30) }}
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
// for photos like one with none (saying how many are missing); one with 6 is not.
func TestTooFewPhotosStillNudged(t *testing.T) {
	w := newWorld(t, 1)
	w.now = at(7, 19, 12, 0)
	st, _ := w.cfg.Street("chengxi")
	for _, c := range st.CommunityNames() {
		count := 6
		switch c {
		case "大辛":
			count = 3
		case "北山":
			continue
		}
		w.photos(c, count)
	}
	w.at(at(7, 21, 9, 30))
	var nudge string
	for _, l := range w.lines {
		if strings.Contains(l, "【催报】") {
			nudge = l
		}
	}
	for _, want := range []string{"· 大辛：选举结果（逾期 6 天）、换届总结（逾期 1 天）、换届照片（还需 3 张，逾期 1 天）\n",
		"· 北山：选举结果（逾期 6 天）、换届总结、换届照片（逾期 1 天）\n", "· 太平：选举结果（逾期 6 天）、换届总结（逾期 1 天）\n"} {
		if !strings.Contains(nudge, strings.ReplaceAll(want, "\n", "\n            | ")) {
			t.Errorf("photo nudge lacks %q:\n%s", want, nudge)
		}
	}
}
