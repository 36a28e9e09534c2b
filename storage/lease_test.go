package storage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// redisBackends are the real servers the lease is tested on (redislock needs real TTLs).
var redisBackends = []backend{{"redis", openReal}, {"cluster", openCluster}}

// TestLeadOneAtATime runs three contenders for one lease: at every moment at most one
// runs its work, and when the holder stops another takes over.
func TestLeadOneAtATime(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) { testLeadOneAtATime(t, b.open(t)) })
	}
}

func testLeadOneAtATime(t *testing.T, r *Redis) {
	var running, maxRunning, starts, holder atomic.Int32
	work := func(i int, ctx context.Context) error {
		holder.Store(int32(i))
		starts.Add(1)
		n := running.Add(1)
		for {
			if m := maxRunning.Load(); n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		<-ctx.Done()
		running.Add(-1)
		return ctx.Err()
	}
	ctxs := make([]context.CancelFunc, 3)
	var wg sync.WaitGroup
	for i := range ctxs {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Lead(ctx, "longconn:bot1", 300*time.Millisecond, testLogger(t), func(c context.Context) error { return work(i, c) }); err != nil {
				t.Errorf("Lead: %v", err)
			}
		}()
	}
	waitFor(t, func() bool { return starts.Load() == 1 })
	time.Sleep(400 * time.Millisecond) // longer than the TTL: refreshes keep the holder
	if starts.Load() != 1 {
		t.Fatalf("the lease changed hands while held: %d starts", starts.Load())
	}
	for n := int32(2); n <= 3; n++ { // stop the holder: another takes over
		ctxs[holder.Load()]()
		waitFor(t, func() bool { return starts.Load() == n })
	}
	ctxs[holder.Load()]()
	wg.Wait()
	if maxRunning.Load() != 1 {
		t.Fatalf("%d contenders ran at once", maxRunning.Load())
	}
}

func TestLeadReturnsWorkError(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) { testLeadReturnsWorkError(t, b.open(t)) })
	}
}

func testLeadReturnsWorkError(t *testing.T, r *Redis) {
	boom := errors.New("auth failed")
	err := r.Lead(context.Background(), "x", time.Second, testLogger(t), func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("want the work's error, got %v", err)
	}
	// The lease was released: another contender obtains it at once.
	got := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_ = r.Lead(ctx, "x", time.Second, testLogger(t), func(c context.Context) error { close(got); <-c.Done(); return nil })
	}()
	select {
	case <-got:
	case <-time.After(200 * time.Millisecond):
		t.Fatal("the lease was not released")
	}
	cancel()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 3 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
