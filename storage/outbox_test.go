package storage

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The outbox suite runs against the real Redis and the embedded store, like TestStores.

func TestOutbox(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range outboxSuite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, b.open(t))
				})
			}
		})
	}
}

var outboxSuite = []struct {
	name string
	run  func(t *testing.T, r *Redis)
}{
	{"EnqueueOnceTwice", testEnqueueOnceTwice},
	{"EnqueueOnceConcurrent", testEnqueueOnceConcurrent},
	{"SkippedOccurrence", testSkippedOccurrence},
	{"EnqueueDefaults", testEnqueueDefaults},
	{"EnqueueInvalid", testEnqueueInvalid},
	{"EnqueueReplaces", testEnqueueReplaces},
	{"ClaimOrderAndLease", testClaimOrderAndLease},
	{"ClaimGroupFIFO", testClaimGroupFIFO},
	{"AckAndSent", testAckAndSent},
	{"RetryBacksOff", testRetryBacksOff},
	{"FailAndFailures", testFailAndFailures},
	{"TakeSlots", testTakeSlots},
	{"ReturnSlots", testReturnSlots},
	{"Split", testSplit},
	{"Paused", testPaused},
	{"PausedHoldsRemindersOnly", testPausedHoldsRemindersOnly},
	{"Pending", testPending},
}

// out is a text message to chat created at.
func out(chat, text string, at time.Time) OutMsg {
	return OutMsg{ChatID: chat, Text: text, Created: at}
}

func texts(ms []OutMsg) []string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Text
	}
	return s
}

func wantTexts(t *testing.T, what string, got []OutMsg, want ...string) {
	t.Helper()
	if g := texts(got); !slices.Equal(g, want) && !(len(g) == 0 && len(want) == 0) {
		t.Errorf("%s = %q, want %q", what, g, want)
	}
}

func wantPending(t *testing.T, q *RedisOutbox, want int) {
	t.Helper()
	n, err := q.Pending(ctxT(t), street)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("Pending = %d, want %d", n, want)
	}
}

func mustClaim(t *testing.T, q *RedisOutbox, now time.Time, n int) []OutMsg {
	t.Helper()
	ms, err := q.Claim(ctxT(t), street, now, n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func occurrence(id string) Occurrence {
	return Occurrence{ID: id, Title: "培训提醒（截止前3天）", At: t0, Done: t0}
}

func testEnqueueOnceTwice(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	o := occurrence("phase:training:2021-07-05")
	ok, err := q.EnqueueOnce(ctx, street, o, []OutMsg{out("chat-a", "a1", t0), out("chat-b", "b1", t0)})
	if err != nil || !ok {
		t.Fatalf("first EnqueueOnce = %v, %v; want true", ok, err)
	}
	ok, err = q.EnqueueOnce(ctx, street, o, []OutMsg{out("chat-a", "a1 again", t0), out("chat-c", "c1", t0)})
	if err != nil || ok {
		t.Fatalf("second EnqueueOnce = %v, %v; want false", ok, err)
	}
	wantPending(t, q, 2)
	got := mustClaim(t, q, t0, 10)
	wantTexts(t, "claimed", got, "a1", "b1")
	for _, m := range got {
		if m.Street != street || m.Occurrence != o.ID || m.ID == "" || !m.Created.Equal(t0) {
			t.Errorf("queued message = %+v; want street, occurrence, id and created filled in", m)
		}
	}
	occs, err := q.Occurrences(ctx, street, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(occs) != 1 || occs[0].ID != o.ID || occs[0].Count != 2 || occs[0].Status != "queued" || !occs[0].Done.Equal(t0) {
		t.Errorf("Occurrences = %+v; want the one occurrence, queued, count 2", occs)
	}
	// The same occurrence id in another street is another occurrence.
	if ok, err := q.EnqueueOnce(ctx, "城西街道", o, nil); err != nil || !ok {
		t.Errorf("EnqueueOnce in another street = %v, %v; want true", ok, err)
	}
}

func testEnqueueOnceConcurrent(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	o := occurrence("phase:vote:2021-07-20")
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 10 {
		wg.Go(func() {
			msgs := []OutMsg{out("chat-a", "a", t0), out("chat-b", "b", t0), out("chat-c", fmt.Sprint("c", i), t0)}
			ok, err := q.EnqueueOnce(ctx, street, o, msgs)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of 10 concurrent EnqueueOnce won, want 1", wins)
	}
	wantPending(t, q, 3)
	if got := mustClaim(t, q, t0, 100); len(got) != 3 {
		t.Errorf("claimed %q, want 3 messages", texts(got))
	}
	if occs, _ := q.Occurrences(ctx, street, 0); len(occs) != 1 {
		t.Errorf("Occurrences = %+v, want one", occs)
	}
}

func testSkippedOccurrence(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	for i, id := range []string{"phase:a:1", "phase:b:1", "phase:c:1"} {
		o := occurrence(id)
		o.Done = t0.Add(time.Duration(i) * time.Hour)
		if i == 1 {
			o.Status, o.Reason = "paused", "提醒已暂停"
		}
		if ok, err := q.EnqueueOnce(ctx, street, o, nil); err != nil || !ok {
			t.Fatalf("EnqueueOnce(%s) = %v, %v", id, ok, err)
		}
	}
	occs, err := q.Occurrences(ctx, street, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(occs) != 2 || occs[0].ID != "phase:c:1" || occs[1].ID != "phase:b:1" {
		t.Fatalf("Occurrences(2) = %+v; want c then b", occs)
	}
	if occs[0].Status != "skipped" || occs[0].Count != 0 || occs[1].Status != "paused" || occs[1].Reason != "提醒已暂停" {
		t.Errorf("Occurrences = %+v; want skipped (default) and paused with its reason", occs)
	}
	wantPending(t, q, 0)
}

func testEnqueueDefaults(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	clock := useFakeClock(r)
	var msgs []OutMsg
	for i := range 30 {
		msgs = append(msgs, OutMsg{ChatID: "chat-a", Text: fmt.Sprint("催一下 ", i)})
	}
	if err := q.Enqueue(ctx, street, msgs); err != nil {
		t.Fatal(err)
	}
	if msgs[0].ID != "" {
		t.Error("Enqueue changed the caller's slice")
	}
	got := mustClaim(t, q, clock.Now(), 100)
	if len(got) != 30 {
		t.Fatalf("claimed %d, want 30", len(got))
	}
	ids := make([]string, len(got))
	for i, m := range got {
		ids[i] = m.ID
		if want := fmt.Sprint("催一下 ", i); m.Text != want {
			t.Errorf("claim %d = %q, want %q (queue order)", i, m.Text, want)
		}
		if !m.Created.Equal(clock.Now()) || m.Street != street || m.Occurrence != "" {
			t.Errorf("message %d = %+v; want Created from the store's clock, street set", i, m)
		}
	}
	if !sort.StringsAreSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("ids %q are not sorted and unique", ids)
	}
	for _, m := range got {
		if err := q.Ack(ctx, street, m.ID, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	// Created in the future means due then.
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-b", "later", clock.Now().Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim before due", mustClaim(t, q, clock.Now().Add(59*time.Minute), 10))
	wantTexts(t, "claim when due", mustClaim(t, q, clock.Now().Add(time.Hour), 10), "later")
}

func testEnqueueInvalid(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	cases := map[string][]OutMsg{
		"no chat":       {{Text: "x"}},
		"no content":    {{ChatID: "chat-a", Text: " "}},
		"other street":  {{ChatID: "chat-a", Text: "x", Street: "城西街道"}},
		"chat newline":  {{ChatID: "a\nb", Text: "x"}},
		"second is bad": {{ChatID: "chat-a", Text: "x"}, {ChatID: "chat-b"}},
	}
	for name, msgs := range cases {
		if err := q.Enqueue(ctx, street, msgs); err == nil {
			t.Errorf("Enqueue(%s) succeeded", name)
		}
		if ok, err := q.EnqueueOnce(ctx, street, occurrence("occ:"+name), msgs); err == nil || ok {
			t.Errorf("EnqueueOnce(%s) = %v, %v; want an error", name, ok, err)
		}
	}
	if _, err := q.EnqueueOnce(ctx, street, Occurrence{}, nil); err == nil {
		t.Error("EnqueueOnce without an occurrence id succeeded")
	}
	wantPending(t, q, 0)
	if occs, _ := q.Occurrences(ctx, street, 0); len(occs) != 0 {
		t.Errorf("invalid calls recorded occurrences %+v", occs)
	}
}

func testClaimOrderAndLease(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	// Queued out of order; Claim goes by due time.
	err := q.Enqueue(ctx, street, []OutMsg{
		out("chat-c", "third", t0.Add(2*time.Second)),
		out("chat-a", "first", t0),
		out("chat-b", "second", t0.Add(time.Second)),
		out("chat-d", "future", t0.Add(time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(10 * time.Second)
	wantTexts(t, "first claim", mustClaim(t, q, now, 2), "first", "second")
	wantTexts(t, "second claim", mustClaim(t, q, now, 2), "third")
	wantTexts(t, "third claim", mustClaim(t, q, now.Add(59*time.Second), 10))
	// The lease of the first two (claimed at now) ends at now+1m: they come back.
	wantTexts(t, "after the lease", mustClaim(t, q, now.Add(time.Minute), 10), "first", "second", "third")
	// n <= 0 claims nothing.
	if got, err := q.Claim(ctx, street, t0.Add(2*time.Hour), 0, time.Minute); err != nil || len(got) != 0 {
		t.Errorf("Claim(n=0) = %v, %v", texts(got), err)
	}
	wantPending(t, q, 4)
}

func testClaimGroupFIFO(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	err := q.Enqueue(ctx, street, []OutMsg{
		out("chat-a", "a1", t0), out("chat-a", "a2", t0), out("chat-b", "b1", t0), out("chat-a", "a3", t0),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, q, t0, 1)
	wantTexts(t, "claim 1", got, "a1")
	// a1 is out on lease: a2 and a3 must wait for it, b1 need not.
	wantTexts(t, "claim while a1 is leased", mustClaim(t, q, t0, 10), "b1")
	// a1 fails transiently and is due later than a2: a2 still waits behind it.
	if err := q.Retry(ctx, street, got[0].ID, t0.Add(30*time.Second), "timeout"); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim while a1 backs off", mustClaim(t, q, t0.Add(10*time.Second), 10))
	a := mustClaim(t, q, t0.Add(30*time.Second), 10)
	wantTexts(t, "claim when a1 is due", a, "a1", "a2", "a3")
	// Once a1 is gone the rest of the group moves up.
	if err := q.Ack(ctx, street, a[0].ID, t0.Add(31*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := q.Retry(ctx, street, a[1].ID, t0.Add(31*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim after a1 was sent", mustClaim(t, q, t0.Add(31*time.Second), 10), "a2")
}

func testAckAndSent(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-a", "a", t0), out("chat-b", "b", t0)}); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, q, t0, 10)
	at := t0.Add(time.Second)
	for _, m := range got {
		if err := q.Ack(ctx, street, m.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	wantPending(t, q, 0)
	sent, err := q.Sent(ctx, street, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "Sent", sent, "b", "a")
	for _, m := range sent {
		if !m.Done.Equal(at) {
			t.Errorf("sent %s Done = %v, want %v", m.Text, m.Done, at)
		}
	}
	// Acknowledged messages never come back, whatever is done with their id.
	if err := q.Ack(ctx, street, got[0].ID, at); err != nil {
		t.Errorf("second Ack: %v", err)
	}
	if err := q.Retry(ctx, street, got[0].ID, at, "late retry"); err != nil {
		t.Errorf("Retry after Ack: %v", err)
	}
	if err := q.Fail(ctx, street, got[0].ID, at, "late fail"); err != nil {
		t.Errorf("Fail after Ack: %v", err)
	}
	wantPending(t, q, 0)
	wantTexts(t, "claim after Ack", mustClaim(t, q, t0.Add(time.Hour), 10))
	if sent, _ := q.Sent(ctx, street, 0); len(sent) != 2 {
		t.Errorf("Sent = %q, want 2 entries", texts(sent))
	}
	if f, _ := q.Failures(ctx, street, 0); len(f) != 0 {
		t.Errorf("Failures = %q, want none", texts(f))
	}
}

func testRetryBacksOff(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-a", "a", t0)}); err != nil {
		t.Fatal(err)
	}
	m := mustClaim(t, q, t0, 1)[0]
	if err := q.Retry(ctx, street, m.ID, t0.Add(10*time.Second), "errcode -1: system busy"); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim before the backoff ends", mustClaim(t, q, t0.Add(9*time.Second), 10))
	got := mustClaim(t, q, t0.Add(10*time.Second), 10)
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "errcode -1: system busy" {
		t.Fatalf("after one Retry claimed %+v; want attempts 1 with the error", got)
	}
	if err := q.Retry(ctx, street, m.ID, t0.Add(30*time.Second), "timeout"); err != nil {
		t.Fatal(err)
	}
	// Deferred, not failed: errText "" counts nothing and keeps the last error.
	if err := q.Retry(ctx, street, m.ID, t0.Add(40*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim before the deferral", mustClaim(t, q, t0.Add(39*time.Second), 10))
	got = mustClaim(t, q, t0.Add(40*time.Second), 10)
	if len(got) != 1 || got[0].Attempts != 2 || got[0].LastError != "timeout" {
		t.Errorf("after a deferral claimed %+v; want attempts 2, last error timeout", got)
	}
	wantPending(t, q, 1)
}

func testFailAndFailures(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-a", "a", t0), out("chat-a", "a2", t0)}); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, q, t0, 1)
	at := t0.Add(time.Second)
	const why = "wecom webhook: errcode 93000: invalid webhook url"
	if err := q.Fail(ctx, street, got[0].ID, at, why); err != nil {
		t.Fatal(err)
	}
	f, err := q.Failures(ctx, street, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 1 || f[0].Text != "a" || f[0].LastError != why || !f[0].Done.Equal(at) {
		t.Fatalf("Failures = %+v; want a with its error and Done", f)
	}
	// An Ack or Retry after Fail does not resurrect it.
	if err := q.Ack(ctx, street, got[0].ID, at); err != nil {
		t.Errorf("Ack after Fail: %v", err)
	}
	if err := q.Retry(ctx, street, got[0].ID, at, "x"); err != nil {
		t.Errorf("Retry after Fail: %v", err)
	}
	if sent, _ := q.Sent(ctx, street, 0); len(sent) != 0 {
		t.Errorf("Sent after Fail+Ack = %q, want empty", texts(sent))
	}
	wantPending(t, q, 1)
	// A failed message no longer holds up its group.
	wantTexts(t, "claim after Fail", mustClaim(t, q, at, 10), "a2")
}

func testTakeSlots(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	minute := []Window{{20, time.Minute}}
	take := func(bucket string, at time.Time) (bool, time.Time) {
		t.Helper()
		ok, free, err := q.TakeSlots(ctx, street, bucket, at, 1, minute, false)
		if err != nil {
			t.Fatal(err)
		}
		return ok, free
	}
	for i := range 20 {
		if ok, _ := take("chat-a", t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("send %d refused", i+1)
		}
	}
	ok, free := take("chat-a", t0.Add(30*time.Second))
	if ok || !free.Equal(t0.Add(time.Minute)) {
		t.Fatalf("21st send = %v, free at %v; want refused until %v", ok, free, t0.Add(time.Minute))
	}
	if ok, _ := take("chat-b", t0.Add(30*time.Second)); !ok {
		t.Error("another group's first send refused")
	}
	if ok, _ := take("chat-a#bot", t0.Add(30*time.Second)); !ok {
		t.Error("the bot's path of the same group shares the webhook's window")
	}
	if ok, _ := take("chat-a", t0.Add(time.Minute-time.Millisecond)); ok {
		t.Error("send 1 ms before the slot frees allowed")
	}
	// At t0+1m the send at t0 leaves the window.
	if ok, _ := take("chat-a", t0.Add(time.Minute)); !ok {
		t.Error("send when the oldest left the window refused")
	}
	if ok, free := take("chat-a", t0.Add(time.Minute)); ok || !free.Equal(t0.Add(61*time.Second)) {
		t.Errorf("next send = %v, %v; want refused until %v", ok, free, t0.Add(61*time.Second))
	}
	// A whole window later everything is free again.
	for i := range 20 {
		if ok, _ := take("chat-a", t0.Add(3*time.Minute)); !ok {
			t.Fatalf("send %d of the next window refused", i+1)
		}
	}

	// Two windows at once (the bot's 30 a minute and 1000 an hour, scaled down to 3 and
	// 5): a send needs room in both, and a refused one takes room in neither.
	two := []Window{{3, time.Minute}, {5, time.Hour}}
	at := t0.Add(10 * time.Minute)
	takeN := func(n int, at time.Time, force bool) (bool, time.Time) {
		t.Helper()
		ok, free, err := q.TakeSlots(ctx, street, "chat-c#bot", at, n, two, force)
		if err != nil {
			t.Fatal(err)
		}
		return ok, free
	}
	if ok, _ := takeN(3, at, false); !ok {
		t.Fatal("3 sends in an empty minute refused")
	}
	if ok, free := takeN(1, at.Add(time.Second), false); ok || !free.Equal(at.Add(time.Minute)) {
		t.Fatalf("4th send in the minute = %v, %v", ok, free)
	}
	if ok, _ := takeN(2, at.Add(time.Minute), false); !ok {
		t.Fatal("2 sends in the next minute refused (hour: 5 of 5)")
	}
	// The hour is full: the minute has room, but nothing is taken from it either.
	if ok, free := takeN(1, at.Add(2*time.Minute), false); ok || !free.Equal(at.Add(time.Hour)) {
		t.Fatalf("6th send in the hour = %v, %v; want refused until %v", ok, free, at.Add(time.Hour))
	}
	// A reply cannot wait: forced, it is counted although the hour is full.
	if ok, _ := takeN(1, at.Add(2*time.Minute), true); !ok {
		t.Fatal("a forced send was refused")
	}
	// An hour on, the first 3 left the hour; 2 + the forced one remain, so 3 more do not fit.
	if ok, free := takeN(3, at.Add(time.Hour), false); ok || !free.Equal(at.Add(time.Hour+time.Minute)) {
		t.Fatalf("3 sends after the first left the hour = %v, %v; the forced one still counts", ok, free)
	}
	if ok, _ := takeN(2, at.Add(time.Hour), false); !ok {
		t.Fatal("2 sends after the first left the hour refused")
	}

	for _, bad := range []func() error{
		func() error {
			_, _, err := q.TakeSlots(ctx, street, "chat-a", t0, 1, []Window{{0, time.Minute}}, false)
			return err
		},
		func() error { _, _, err := q.TakeSlots(ctx, street, "chat-a", t0, 0, minute, false); return err },
		func() error { _, _, err := q.TakeSlots(ctx, street, "chat-a", t0, 21, minute, false); return err },
		func() error { _, _, err := q.TakeSlots(ctx, street, "", t0, 1, minute, false); return err },
	} {
		if bad() == nil {
			t.Error("invalid TakeSlots accepted")
		}
	}
}

// testReturnSlots: a send given back (the push did not go out) leaves every window it
// was taken in; one taken at another time, or in another bucket, stays.
func testReturnSlots(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	two := []Window{{2, time.Minute}, {3, time.Hour}}
	take := func(bucket string, at time.Time) bool {
		t.Helper()
		ok, _, err := q.TakeSlots(ctx, street, bucket, at, 1, two, false)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take("chat-a", t0) || !take("chat-a", t0.Add(time.Second)) || !take("chat-b", t0.Add(time.Second)) {
		t.Fatal("first sends refused")
	}
	if take("chat-a", t0.Add(2*time.Second)) {
		t.Fatal("3rd send in a minute of 2 allowed")
	}
	if err := q.ReturnSlots(ctx, street, "chat-a", t0.Add(time.Second), 1, two); err != nil {
		t.Fatal(err)
	}
	if !take("chat-a", t0.Add(2*time.Second)) {
		t.Fatal("the send given back still counts in the minute")
	}
	if take("chat-a", t0.Add(3*time.Second)) {
		t.Fatal("the send at t0 was given back too")
	}
	// The hour: t0 and t0+2s count, the one given back does not.
	if !take("chat-a", t0.Add(2*time.Minute)) || take("chat-a", t0.Add(3*time.Minute)) {
		t.Fatal("the hour does not count 3 sends")
	}
	if take("chat-b", t0.Add(2*time.Second)) && take("chat-b", t0.Add(3*time.Second)) {
		t.Fatal("another bucket's send was given back")
	}
	if err := q.ReturnSlots(ctx, street, "", t0, 1, two); err == nil {
		t.Error("ReturnSlots without a bucket accepted")
	}
}

// testSplit replaces a queued message by its parts: they are handed out in order, before
// the group's next message, and each is acknowledged on its own.
func testSplit(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	msgs := []OutMsg{
		{ChatID: "chat-s", Text: "长消息", Occurrence: "late:x", Created: t0},
		{ChatID: "chat-s", Text: "下一条", Created: t0},
	}
	if err := q.Enqueue(ctx, street, msgs); err != nil {
		t.Fatal(err)
	}
	got, err := q.Claim(ctx, street, t0, 1, time.Minute)
	if err != nil || len(got) != 1 || got[0].Text != "长消息" {
		t.Fatalf("claim %+v %v", got, err)
	}
	long := got[0]
	var parts []OutMsg
	for i := range 12 {
		parts = append(parts, OutMsg{Markdown: fmt.Sprintf("第 %d 段", i+1), Via: "bot"})
	}
	if err := q.Split(ctx, street, long.ID, parts, t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Pending(ctx, street); n != 13 {
		t.Fatalf("pending %d, want 12 parts and the next message", n)
	}
	got, err = q.Claim(ctx, street, t0, 20, time.Minute)
	if err != nil || len(got) != 13 {
		t.Fatalf("claim after split: %d, %v", len(got), err)
	}
	for i, m := range got[:12] {
		if m.Markdown != fmt.Sprintf("第 %d 段", i+1) || m.Part != fmt.Sprintf("%d/12", i+1) || m.Via != "bot" ||
			m.Occurrence != "late:x" || m.ChatID != "chat-s" || !strings.HasPrefix(m.ID, long.ID+"/") {
			t.Fatalf("part %d = %+v", i+1, m)
		}
	}
	if got[12].Text != "下一条" {
		t.Fatalf("the next message came before the parts: %+v", got[12])
	}
	for _, m := range got[:5] {
		if err := q.Ack(ctx, street, m.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range got[5:] {
		if err := q.Retry(ctx, street, m.ID, t0.Add(time.Minute), ""); err != nil {
			t.Fatal(err)
		}
	}
	got, _ = q.Claim(ctx, street, t0.Add(time.Minute), 20, time.Minute)
	if len(got) != 8 || got[0].Part != "6/12" {
		t.Fatalf("after 5 parts went out the rest resume at part 6: %d, first %+v", len(got), got[0])
	}
	// Splitting a message that is gone, or changed since it was read, does nothing.
	if err := q.Split(ctx, street, long.ID, parts, t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Pending(ctx, street); n != 8 {
		t.Fatalf("pending %d after splitting a gone message", n)
	}
}

func testPaused(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	check := func(want bool) {
		t.Helper()
		got, err := q.Paused(ctx, street)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Paused = %v, want %v", got, want)
		}
	}
	check(false)
	if err := q.SetPaused(ctx, street, true, "office-1", t0); err != nil {
		t.Fatal(err)
	}
	check(true)
	if p, _ := q.Paused(ctx, "城西街道"); p {
		t.Error("pausing one street paused another")
	}
	if err := q.SetPaused(ctx, street, true, "office-2", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check(true)
	if err := q.SetPaused(ctx, street, false, "office-1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	check(false)
	if err := q.SetPaused(ctx, street, false, "office-1", t0.Add(time.Hour)); err != nil {
		t.Errorf("resume when not paused: %v", err)
	}
	check(false)
}

// testPausedHoldsRemindersOnly: while the street is paused, Claim holds the scheduled
// reminders and hands out everything else in its group's order, a held reminder not
// blocking what was queued after it; the due-queue names the street when such a message
// is due, not only at the paused street's recheck; on resume the reminders go out first
// in their groups.
func testPausedHoldsRemindersOnly(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	if _, err := q.EnqueueOnce(ctx, street, occurrence("phase:training:2021-07-05"),
		[]OutMsg{out("chat-a", "reminder a", t0), out("chat-b", "reminder b", t0)}); err != nil {
		t.Fatal(err)
	}
	if err := q.SetPaused(ctx, street, true, "office", t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Second)
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-a", "answer a1", later), out("chat-a", "answer a2", later),
		out("chat-c", "催一下 c", later)}); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim 1 while paused", mustClaim(t, q, later, 1), "answer a1")
	got := mustClaim(t, q, later, 10)
	wantTexts(t, "claim while paused", got, "催一下 c")
	if err := q.Ack(ctx, street, got[0].ID, later); err != nil {
		t.Fatal(err)
	}
	a1 := mustClaim(t, q, later.Add(time.Minute), 10) // a1's lease ended: a1 and a2 in order
	wantTexts(t, "claim after the lease while paused", a1, "answer a1", "answer a2")
	for _, m := range a1 {
		if err := q.Ack(ctx, street, m.ID, later); err != nil {
			t.Fatal(err)
		}
	}
	wantPending(t, q, 2) // the reminders wait
	wantTexts(t, "claim with only held reminders", mustClaim(t, q, later.Add(time.Hour), 10))

	// The due-queue: held reminders come back at the recheck, an answer when it is due.
	now, recheck := later.Add(2*time.Minute), 30*time.Second
	dueAt := func(at time.Time) bool {
		t.Helper()
		l, err := q.DueStreets(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(l, street)
	}
	if err := q.SettleDue(ctx, street, true, now, recheck); err != nil {
		t.Fatal(err)
	}
	if dueAt(now.Add(recheck-time.Second)) || !dueAt(now.Add(recheck)) {
		t.Errorf("a paused street with held reminders only: due before %v, or not at it", recheck)
	}
	if err := q.Enqueue(ctx, street, []OutMsg{out("chat-b", "answer b", now.Add(5*time.Second))}); err != nil {
		t.Fatal(err)
	}
	if err := q.SettleDue(ctx, street, true, now, recheck); err != nil {
		t.Fatal(err)
	}
	if dueAt(now.Add(4*time.Second)) || !dueAt(now.Add(5*time.Second)) {
		t.Error("an answer due in 5s on a paused street: the street is not due then")
	}
	wantTexts(t, "the answer behind a held reminder", mustClaim(t, q, now.Add(5*time.Second), 10), "answer b")

	if err := q.SetPaused(ctx, street, false, "office", now); err != nil {
		t.Fatal(err)
	}
	wantTexts(t, "claim after resuming", mustClaim(t, q, now.Add(2*time.Minute), 10), "reminder a", "reminder b", "answer b")
}

func testPending(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	wantPending(t, q, 0)
	var msgs []OutMsg
	for i := range 5 {
		msgs = append(msgs, out(fmt.Sprint("chat-", i), "x", t0))
	}
	msgs = append(msgs, out("chat-late", "later", t0.Add(time.Hour)))
	if err := q.Enqueue(ctx, street, msgs); err != nil {
		t.Fatal(err)
	}
	wantPending(t, q, 6) // due or not
	got := mustClaim(t, q, t0, 2)
	wantPending(t, q, 6) // claimed ones still count until acknowledged
	if err := q.Ack(ctx, street, got[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	if err := q.Fail(ctx, street, got[1].ID, t0, "x"); err != nil {
		t.Fatal(err)
	}
	wantPending(t, q, 4)
	if n, err := q.Pending(ctx, "城西街道"); err != nil || n != 0 {
		t.Errorf("Pending of another street = %d, %v", n, err)
	}
}

func testEnqueueReplaces(t *testing.T, r *Redis) {
	ctx, q := ctxT(t), r.Outbox()
	m := out("chat-a", "first version", t0)
	m.ID = "0000000000000-fixed" // sorts before any made id
	if err := q.Enqueue(ctx, street, []OutMsg{m}); err != nil {
		t.Fatal(err)
	}
	m.ChatID, m.Text = "chat-b", "second version"
	if err := q.Enqueue(ctx, street, []OutMsg{m, out("chat-a", "a later", t0)}); err != nil {
		t.Fatal(err)
	}
	wantPending(t, q, 2)
	// The replaced message no longer holds up chat-a.
	wantTexts(t, "claim", mustClaim(t, q, t0, 10), "second version", "a later")
}
