package storage

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
	"huanjie/internal/testredis"
)

// TestBeginMsgThroughAStall claims a message while Redis stalls longer than the client's
// read timeout, with no deadline on the call, so go-redis sends the claim again while the
// first one is still on its way; every copy runs once the stall ends. The old SET NX then
// found its own key and called the message a duplicate; the ledger must call it ours.
func TestBeginMsgThroughAStall(t *testing.T) {
	r, c, proxy, prefix := throughAStall(t)
	ctx := context.Background()
	warmPool(t, c, prefix)

	// What the old dedup did: SET NX through the same stall finds its own key.
	proxy.For(time.Second)
	first, err := c.SetNX(ctx, prefix+"setnx", "1", time.Minute).Result()
	t.Logf("SET NX through a 1 s stall: %v, %v (false: the message would have been called a duplicate of itself)", first, err)

	warmPool(t, c, prefix)
	proxy.For(time.Second)
	start := time.Now()
	rec, mine, err := r.BeginMsg(ctx, "stalled", "attempt-1", time.Minute, time.Hour)
	if err != nil {
		t.Fatalf("BeginMsg through a 1 s stall: %v (after %v)", err, time.Since(start))
	}
	if time.Since(start) < time.Second {
		t.Fatalf("answered after %v, before the stall ended: the test did not stall", time.Since(start))
	}
	if !mine || rec.Owner != "attempt-1" {
		t.Fatalf("the first attempt's own claim came back as %+v, mine=%v: the message would be dropped as a duplicate", rec, mine)
	}
	// Another attempt (WeCom's retry on another replica) still sees it being processed.
	if rec, mine, err := r.BeginMsg(ctx, "stalled", "attempt-2", time.Minute, time.Hour); mine || err != nil || rec.State != MsgProcessing {
		t.Fatalf("a second attempt: %+v mine=%v err=%v", rec, mine, err)
	}
}

// warmPool fills the client's pool with idle connections, as a busy bot's pool is, so a
// retry goes out at once on another connection instead of dialling.
// throughAStall is a store whose client goes through a proxy that can stall, with a read
// timeout shorter than a stall and retries, so that go-redis sends a command again while
// its first copy is held: what a stalled Redis does to a script.
func throughAStall(t *testing.T) (*Redis, *redis.Client, *testredis.Staller, string) {
	t.Helper()
	proxy := testredis.Stall(t)
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ReadTimeout: 400 * time.Millisecond,
		MaxRetries: 10, MinRetryBackoff: 50 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	_, prefix := testredis.Client(t)
	return NewRedis(c, prefix), c, proxy, prefix
}

func warmPool(t *testing.T, c *redis.Client, prefix string) {
	t.Helper()
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.Do(context.Background(), "BLPOP", prefix+"nothing", "0.05").Err()
		}()
	}
	wg.Wait()
}

// TestBeginMsgDeadlineDuringAStall gives the call a deadline shorter than the stall: it
// fails in time (the caller handles the message anyway), and once Redis answers again
// the claim that did arrive is still the caller's. go-redis honours a context's deadline
// on the socket only with ContextTimeoutEnabled, which the bot's clients set.
func TestBeginMsgDeadlineDuringAStall(t *testing.T) {
	proxy := testredis.Stall(t)
	c := redis.NewClient(&redis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
	defer c.Close()
	_, prefix := testredis.Client(t)
	r := NewRedis(c, prefix)
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	proxy.For(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	_, _, err := r.BeginMsg(ctx, "late", "attempt-1", time.Minute, time.Hour)
	cancel()
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("BeginMsg with a 300 ms deadline during a stall: err %v after %v", err, time.Since(start))
	}
	time.Sleep(1500 * time.Millisecond)
	rec, mine, err := r.BeginMsg(context.Background(), "late", "attempt-1", time.Minute, time.Hour)
	if err != nil || !mine {
		t.Fatalf("after the stall: %+v mine=%v err=%v", rec, mine, err)
	}
}

// TestFilingThroughAStall: a filing and a 撤销 sent through a stall longer than the read
// timeout are re-sent by go-redis on another connection after the first already ran; each
// happens once all the same: no second history entry, no second filing taken back.
func TestFilingThroughAStall(t *testing.T) {
	r, c, proxy, prefix := throughAStall(t)
	ctx := context.Background()
	for i, total := range []string{"100", "120"} {
		f := filing("大辛", campaign.ItemMembers, total, t0.Add(time.Duration(i)*time.Minute))
		f.Version = "msg:m" + total
		warmPool(t, c, prefix)
		proxy.For(time.Second)
		if err := r.Save(ctx, f); err != nil {
			t.Fatalf("save through a stall: %v", err)
		}
	}
	hist, err := r.History(ctx, street, "大辛", campaign.ItemMembers, 0)
	if err != nil || !slices.Equal(totals(hist), []string{"120", "100"}) {
		t.Fatalf("history after two filings through stalls = %v, %v", totals(hist), err)
	}
	warmPool(t, c, prefix)
	proxy.For(time.Second)
	undone, cur, err := r.Undo(ctx, street, "大辛", "sec", "undo-1", t0)
	if err != nil || total(undone) != "120" || cur == nil || total(*cur) != "100" {
		t.Fatalf("undo through a stall = %v, %v, %v; want 120 taken back and 100 current", undone.Value, cur, err)
	}
	rec, err := r.Record(ctx, street, "大辛")
	if f, ok := rec.Filing(campaign.ItemMembers); err != nil || !ok || total(f) != "100" {
		t.Fatalf("after one 撤销 through a stall: %+v, %v — a re-sent undo took back a second filing", rec, err)
	}
}

// TestFinishFirstMsg: a question's answer is recorded unless the message was answered
// before; the answer that stands is what a retry of it gets, on every backend.
func TestFinishFirstMsg(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			r := be.open(t)
			ctx := context.Background()
			// Answered before (the first delivery): the first answer stands.
			if got, rec, err := r.FinishFirstMsg(ctx, "q-1", "共 13 个社区：全部报齐 2 个", time.Hour); err != nil || !rec || got != "共 13 个社区：全部报齐 2 个" {
				t.Fatalf("first answer: %q, %v, %v", got, rec, err)
			}
			if got, rec, err := r.FinishFirstMsg(ctx, "q-1", "共 13 个社区：全部报齐 2 个", time.Hour); err != nil || rec || got != "共 13 个社区：全部报齐 2 个" {
				t.Fatalf("retry with the same answer: %q, recorded %v, %v; want it not recorded again", got, rec, err)
			}
			if got, rec, err := r.FinishFirstMsg(ctx, "q-1", "共 13 个社区：全部报齐 3 个", time.Hour); err != nil || rec || got != "共 13 个社区：全部报齐 2 个" {
				t.Fatalf("retry: stands %q, %v, %v; want the first answer", got, rec, err)
			}
			// Claimed by a slow attempt that has not finished: this answer is recorded.
			if _, mine, err := r.BeginMsg(ctx, "q-2", "attempt-1", time.Minute, time.Hour); err != nil || !mine {
				t.Fatal(mine, err)
			}
			if got, rec, err := r.FinishFirstMsg(ctx, "q-2", "进度答复", time.Hour); err != nil || !rec || got != "进度答复" {
				t.Fatalf("over a hold: %q, %v, %v", got, rec, err)
			}
			rec, ok, err := r.Msg(ctx, "q-2")
			if err != nil || !ok || rec.State != MsgDone || rec.Answer != "进度答复" || rec.Owner != "" {
				t.Fatalf("record %+v, %v, %v", rec, ok, err)
			}
			// An empty answer (nothing to say) is an answer too.
			if got, rec, _ := r.FinishFirstMsg(ctx, "q-3", "", time.Hour); got != "" || !rec {
				t.Fatalf("empty: %q, %v", got, rec)
			}
			if got, _, _ := r.FinishFirstMsg(ctx, "q-3", "后来的", time.Hour); got != "" {
				t.Fatalf("after an empty answer: %q, want it to stand", got)
			}
		})
	}
}
