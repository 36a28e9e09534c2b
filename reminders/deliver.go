package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/storage"
)

// Deliverer defaults.
const (
	DefaultLimit       = 20 // WeCom: 20 messages a minute per group robot key
	DefaultWindow      = time.Minute
	DefaultLease       = time.Minute
	DefaultBatch       = 50
	DefaultMaxAttempts = 12
	// minRetryDelay keeps a retried message out of the pass that deferred it.
	minRetryDelay = time.Second
	// maxBatchesPerStreet bounds one street's share of a pass.
	maxBatchesPerStreet = 20
	// bookkeepingTimeout bounds Ack/Retry/Fail, which run even when ctx is cancelled
	// so that a message that went out is not sent again.
	bookkeepingTimeout = 5 * time.Second
	// ReasonNoWebhookKey is the error recorded for a group without a webhook key.
	ReasonNoWebhookKey = "群没有配置 webhook key"
)

// Deliverer sends queued messages through the groups' webhooks.
//
// Several Deliverers (one per replica) may run on one Redis: a message is claimed by one
// of them at a time, and the rate limit window is shared. Delivery is at least once: a
// message whose push succeeded but whose Ack was lost (crash, Redis outage) goes out
// again when its lease ends. A Deliverer stops pushing a claimed batch when a quarter of
// the lease is left, so a slow pass does not let another replica send the same message.
//
// A group's messages go out in queue order: the outbox hands out a group's message only
// after the earlier ones are gone, and when one of them is deferred (rate limit, backoff)
// the group's next messages of the same batch are deferred with it, uncounted.
type Deliverer struct {
	Outbox  storage.Outbox
	Pusher  bot.Pusher
	Keys    func(street, chatID string) (webhookKey string, ok bool)
	Streets func() []string
	Now     func() time.Time // real time, default time.Now
	Log     *slog.Logger     // default slog.Default()
	Limit   int              // sends per Window per group, default 20
	Window  time.Duration    // default 1m
	Lease   time.Duration    // how long a claimed message is hidden from other replicas, default 1m
	Batch   int              // messages claimed at once, default 50
	// Backoff is the delay before the attempt-th retry (attempt ≥ 1); default
	// 10s·2^(attempt-1) capped at 30m, ±20% jitter.
	Backoff func(attempt int) time.Duration
	// MaxAttempts is how many failed pushes make a message fail for good, default 12.
	MaxAttempts int
}

// settings are a Deliverer's fields with the defaults filled in.
type settings struct {
	now         func() time.Time
	log         *slog.Logger
	limit       int
	window      time.Duration
	lease       time.Duration
	batch       int
	backoff     func(int) time.Duration
	maxAttempts int
}

func (d *Deliverer) settings() settings {
	s := settings{now: d.Now, log: d.Log, limit: d.Limit, window: d.Window, lease: d.Lease,
		batch: d.Batch, backoff: d.Backoff, maxAttempts: d.MaxAttempts}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.limit <= 0 {
		s.limit = DefaultLimit
	}
	if s.window <= 0 {
		s.window = DefaultWindow
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.batch <= 0 {
		s.batch = DefaultBatch
	}
	if s.backoff == nil {
		s.backoff = DefaultBackoff
	}
	if s.maxAttempts <= 0 {
		s.maxAttempts = DefaultMaxAttempts
	}
	return s
}

// DefaultBackoff waits 10s·2^(attempt-1), at most 30 minutes, with ±20% jitter.
func DefaultBackoff(attempt int) time.Duration {
	const base, ceiling = 10 * time.Second, 30 * time.Minute
	d := ceiling
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 {
		d = min(base<<(attempt-1), ceiling)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Run calls RunOnce now and then every every (default 5s) until ctx ends; it logs the
// errors of a pass and carries on. It returns nil when ctx ends.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 5 * time.Second
	}
	log := d.settings().log
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := d.RunOnce(ctx); err != nil && ctx.Err() == nil {
			log.Error("deliver: pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// RunOnce makes one pass over all streets: for each street that is not paused it claims
// due messages, batch after batch, and pushes them. It returns how many messages went
// out; the error joins the failures of every street (the other streets still get their
// turn) and ctx's error if it ended the pass.
func (d *Deliverer) RunOnce(ctx context.Context) (sent int, err error) {
	s := d.settings()
	var errs []error
	for _, st := range d.Streets() {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		n, err := d.street(ctx, s, st)
		sent += n
		if err != nil {
			errs = append(errs, fmt.Errorf("deliver %s: %w", st, err))
		}
	}
	return sent, errors.Join(errs...)
}

// street delivers one street's due messages.
func (d *Deliverer) street(ctx context.Context, s settings, st string) (int, error) {
	log := s.log.With("street", st)
	paused, err := d.Outbox.Paused(ctx, st)
	if err != nil {
		return 0, err
	}
	if paused {
		log.Debug("deliver: street paused")
		return 0, nil
	}
	sent := 0
	for range maxBatchesPerStreet {
		now := s.now()
		msgs, err := d.Outbox.Claim(ctx, st, now, s.batch, s.lease)
		if err != nil {
			return sent, err
		}
		n, err := d.batch(ctx, s, log, st, now, msgs)
		sent += n
		if err != nil || len(msgs) < s.batch {
			if sent > 0 {
				log.Info("deliver: sent", "messages", sent)
			}
			return sent, err
		}
	}
	log.Info("deliver: sent, more left for the next pass", "messages", sent)
	return sent, nil
}

// batch pushes the messages of one claim, claimed at claimed, in order.
func (d *Deliverer) batch(ctx context.Context, s settings, log *slog.Logger, st string, claimed time.Time, msgs []storage.OutMsg) (int, error) {
	var (
		sent int
		errs []error
		// held: groups deferred in this batch, until when; their next messages wait too.
		held = map[string]time.Time{}
		// stopAt: after it, pushing risks the lease ending under the push.
		stopAt = claimed.Add(s.lease - s.lease/4)
	)
	// Bookkeeping survives ctx's end: a message that went out must be acknowledged.
	book := func(f func(ctx context.Context) error) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
		defer cancel()
		if err := f(bctx); err != nil {
			log.Error("deliver: outbox update failed", "err", err)
			errs = append(errs, err)
		}
	}
	retry := func(m storage.OutMsg, at time.Time, errText string) {
		book(func(ctx context.Context) error { return d.Outbox.Retry(ctx, st, m.ID, at, errText) })
	}
	fail := func(m storage.OutMsg, at time.Time, errText string) {
		book(func(ctx context.Context) error { return d.Outbox.Fail(ctx, st, m.ID, at, errText) })
	}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			// The rest come back when their lease ends.
			return sent, errors.Join(append(errs, err)...)
		}
		now := s.now()
		mlog := log.With("chat", m.ChatID, "id", m.ID)
		if now.After(stopAt) {
			log.Warn("deliver: lease running out, releasing the rest of the batch", "left", len(msgs)-i)
			for _, r := range msgs[i:] {
				retry(r, now, "")
			}
			break
		}
		if until, ok := held[m.ChatID]; ok {
			retry(m, until, "")
			continue
		}
		key, ok := d.Keys(st, m.ChatID)
		if !ok || key == "" {
			mlog.Error("deliver: group has no webhook key, message given up")
			fail(m, now, ReasonNoWebhookKey)
			continue
		}
		if ok, free, err := d.takeSlots(ctx, st, m, now, s); err != nil {
			// The message comes back when its lease ends.
			errs = append(errs, err)
			mlog.Error("deliver: rate limit check failed", "err", err)
			held[m.ChatID] = claimed.Add(s.lease)
			continue
		} else if !ok {
			mlog.Debug("deliver: group at its rate limit, deferred", "until", free)
			retry(m, free, "")
			held[m.ChatID] = free
			continue
		}
		err := d.Pusher.Push(ctx, key, bot.Push{Text: m.Text, Mentions: m.Mentions, Markdown: m.Markdown})
		done := s.now()
		var we *bot.WebhookError
		isWebhookErr := errors.As(err, &we)
		switch {
		case err == nil:
			book(func(ctx context.Context) error { return d.Outbox.Ack(ctx, st, m.ID, done) })
			sent++
			mlog.Debug("deliver: pushed")
		case ctx.Err() != nil:
			// Cancelled mid-push: whether it went out is unknown; it comes back after its lease.
			return sent, errors.Join(append(errs, ctx.Err())...)
		case errors.Is(err, bot.ErrEmptyPush) || isWebhookErr && we.Permanent():
			mlog.Error("deliver: WeCom refused the message for good, given up", "err", err)
			fail(m, done, err.Error())
		case isWebhookErr && we.RateLimited():
			at := done.Add(s.window)
			mlog.Warn("deliver: WeCom rate limit, deferred", "until", at)
			retry(m, at, "")
			held[m.ChatID] = at
		default:
			attempt := m.Attempts + 1
			if attempt >= s.maxAttempts {
				mlog.Error("deliver: push failed too often, given up", "attempts", attempt, "err", err)
				fail(m, done, fmt.Sprintf("%v (%d attempts)", err, attempt))
				continue
			}
			at := done.Add(max(s.backoff(attempt), minRetryDelay))
			mlog.Warn("deliver: push failed, will retry", "attempt", attempt, "at", at, "err", err)
			retry(m, at, err.Error())
			held[m.ChatID] = at
		}
	}
	return sent, errors.Join(errs...)
}

// takeSlots reserves one rate-limit slot per webhook message the push will take.
func (d *Deliverer) takeSlots(ctx context.Context, st string, m storage.OutMsg, now time.Time, s settings) (bool, time.Time, error) {
	for range min(pushParts(m), s.limit) {
		ok, free, err := d.Outbox.TakeSlot(ctx, st, m.ChatID, now, s.limit, s.window)
		if err != nil || !ok {
			return ok, free, err
		}
	}
	return true, time.Time{}, nil
}

// pushParts estimates (from below) how many webhook messages bot.Webhook makes of m:
// content over the size limit is split, and a markdown @all adds a text message.
func pushParts(m storage.OutMsg) int {
	parts := func(n, limit int) int { return max(1, (n+limit-1)/limit) }
	if strings.TrimSpace(m.Markdown) == "" {
		return parts(len(m.Text), bot.MaxTextBytes)
	}
	n, all := len(m.Markdown), 0
	for _, id := range m.Mentions {
		switch id = strings.TrimSpace(id); id {
		case "":
		case "@all":
			all = 1
		default:
			n += len(id) + 3 // <@id>
		}
	}
	return parts(n, bot.MaxMarkdownBytes) + all
}
