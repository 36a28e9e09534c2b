package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bsm/redislock"
)

// Lead runs fn only while this process holds the lease called name, so that among
// several replicas on one Redis exactly one does the work (e.g. holds WeCom's single
// long connection). When the lease cannot be refreshed fn's context is cancelled, and
// Lead waits and competes again. It returns when ctx ends, or with fn's error when fn
// fails on its own (a context error from fn is not a failure). After ctx ends the lease
// is still renewed until fn returns, then released: a holder that drains (answers still
// owed on its connection) keeps the lease, and the next replica takes over at once
// after, instead of kicking the draining connection when the lease lapses.
func (r *Redis) Lead(ctx context.Context, name string, ttl time.Duration, log *slog.Logger, fn func(ctx context.Context) error) error {
	if log == nil {
		log = slog.Default()
	}
	locker := redislock.New(r.c)
	key := r.k.prefix + "lease:" + name
	for {
		lock, err := locker.Obtain(ctx, key, ttl, nil)
		switch {
		case errors.Is(err, redislock.ErrNotObtained):
			if !sleep(ctx, ttl/3) {
				return nil
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("lease: obtain failed", "lease", name, "err", err)
			if !sleep(ctx, ttl/3) {
				return nil
			}
			continue
		}
		log.Info("lease: holding", "lease", name)
		err = r.holdWhile(ctx, lock, ttl, log, name, fn)
		release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = lock.Release(release)
		cancel()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// holdWhile runs fn and refreshes the lock until fn ends or the lock is lost. The end of
// ctx cancels fn's context but not the refreshes: fn may take a while to wind down. A
// refresh that fails (Redis stalled or unreachable) is tried again at the next tick
// while the TTL of the last one that worked has not run out: the lock is still ours in
// Redis, and giving it up would hand the work (WeCom's connection) over for nothing.
func (r *Redis) holdWhile(ctx context.Context, lock *redislock.Lock, ttl time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) error {
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(fctx) }()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	held := time.Now().Add(ttl) // the lock holds in Redis at least until then
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("lease %s: %w", name, err)
			}
			return nil
		case <-t.C:
			sent := time.Now()
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), max(min(ttl/3, time.Until(held)), time.Millisecond))
			err := lock.Refresh(rctx, ttl, nil)
			rcancel()
			switch {
			case err == nil:
				held = sent.Add(ttl)
				continue
			case !errors.Is(err, redislock.ErrNotObtained) && time.Until(held) > 0:
				log.Warn("lease: not refreshed; trying again before it lapses", "lease", name, "err", err, "lapses_in", time.Until(held))
				continue
			}
			log.Warn("lease: lost", "lease", name, "err", err, "stopping", ctx.Err() != nil)
			cancel()
			<-done
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
