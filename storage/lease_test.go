package storage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/internal/testredis"
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

// TestLeadHeldWhileDraining: a holder whose context ended keeps the lease while its work
// still runs (a long connection draining the answers it owes), so no other replica takes
// over and kicks its connection; once the work returns, the next one takes over at once.
func TestLeadHeldWhileDraining(t *testing.T) {
	for _, b := range redisBackends {
		t.Run(b.name, func(t *testing.T) { testLeadHeldWhileDraining(t, b.open(t)) })
	}
}

func testLeadHeldWhileDraining(t *testing.T, r *Redis) {
	const ttl = 300 * time.Millisecond
	var draining, overlapped atomic.Bool
	drained := make(chan struct{})
	ctx1, stop1 := context.WithCancel(context.Background())
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = r.Lead(ctx1, "longconn:drain", ttl, testLogger(t), func(c context.Context) error {
			close(started)
			<-c.Done()
			draining.Store(true)
			time.Sleep(4 * ttl) // answers still owed go out on the connection
			draining.Store(false)
			close(drained)
			return c.Err()
		})
	}()
	<-started
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	took := make(chan struct{}, 1)
	go func() {
		defer wg.Done()
		_ = r.Lead(ctx2, "longconn:drain", ttl, testLogger(t), func(c context.Context) error {
			if draining.Load() {
				overlapped.Store(true)
			}
			took <- struct{}{}
			<-c.Done()
			return nil
		})
	}()
	stop1()
	select {
	case <-took:
	case <-time.After(5 * time.Second):
		t.Fatal("the lease was never taken over")
	}
	if overlapped.Load() {
		t.Fatal("another replica took the lease while the holder was still draining")
	}
	select {
	case <-drained:
	default:
		t.Fatal("the lease changed hands before the holder's drain ended")
	}
	stop2()
	wg.Wait()
}

// TestLeadThroughARedisStall: Redis stalls for less than the lease's TTL, so the lease
// never lapses in Redis: the holder keeps it (and its long connection) instead of giving
// it up at the first refresh that timed out, and nobody else takes it. A stall longer
// than the TTL makes the holder give it up before another replica can take it over.
func TestLeadThroughARedisStall(t *testing.T) {
	const ttl = 900 * time.Millisecond
	tests := []struct {
		name  string
		stall time.Duration
		kept  bool
	}{
		{"shorter than the TTL", ttl / 2, true},
		{"longer than the TTL", 3 * ttl, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := testredis.Stall(t)
			direct, prefix := testredis.Client(t)
			stalled := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true}) // as the bot's
			holder, other := NewRedis(stalled, prefix), NewRedis(direct, prefix)
			var holding, otherStarted atomic.Bool
			var overlap atomic.Bool
			cancelled := make(chan struct{})
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			t.Cleanup(func() {
				stop()
				proxy.For(0)
				wg.Wait()
				_ = stalled.Close()
			})
			wg.Add(2)
			go func() {
				defer wg.Done()
				_ = holder.Lead(ctx, "longconn:stall", ttl, testLogger(t), func(c context.Context) error {
					if holding.Load() {
						return nil // competing again after the stall: not this test's concern
					}
					holding.Store(true)
					<-c.Done()
					if ctx.Err() == nil {
						close(cancelled)
					}
					holding.Store(false)
					return nil
				})
			}()
			waitFor(t, holding.Load)
			go func() {
				defer wg.Done()
				_ = other.Lead(ctx, "longconn:stall", ttl, testLogger(t), func(c context.Context) error {
					if holding.Load() {
						overlap.Store(true)
					}
					otherStarted.Store(true)
					<-c.Done()
					return nil
				})
			}()
			time.Sleep(ttl / 6) // just after a refresh
			proxy.For(tt.stall)
			var gaveUp bool
			select {
			case <-cancelled:
				gaveUp = true
			case <-time.After(tt.stall + ttl):
			}
			if gaveUp == tt.kept {
				t.Fatalf("the holder gave the lease up: %v, want %v", gaveUp, !tt.kept)
			}
			if !tt.kept {
				waitFor(t, otherStarted.Load)
			}
			if otherStarted.Load() == tt.kept || overlap.Load() {
				t.Fatalf("the other replica started: %v (overlapping: %v)", otherStarted.Load(), overlap.Load())
			}
		})
	}
}
