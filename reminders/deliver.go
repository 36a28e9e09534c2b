package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"huanjie/bot"
	"huanjie/storage"
)

// Deliverer defaults.
const (
	DefaultLimit       = 20 // WeCom: 20 messages a minute per webhook key
	DefaultWindow      = time.Minute
	DefaultLease       = time.Minute
	DefaultBatch       = 50
	DefaultMaxAttempts = 12
	// DefaultSweep is how often a pass checks every street's outbox, not only the due ones.
	DefaultSweep = 30 * time.Second
	// pausedRecheck is how soon a paused street with messages waiting is looked at again.
	pausedRecheck = 30 * time.Second
	// minRetryDelay keeps a retried message out of the pass that deferred it.
	minRetryDelay = time.Second
	// notConnectedRetry is how soon a push is tried again that found no long connection
	// on this replica (a standby, or the connection is down): another replica that holds
	// the connection may take it meanwhile.
	notConnectedRetry = 5 * time.Second
	// maxBatchesPerStreet bounds one street's share of a pass.
	maxBatchesPerStreet = 20
	// bookkeepingTimeout bounds Ack/Retry/Fail, which run even when ctx is cancelled
	// so that a message that went out is not sent again.
	bookkeepingTimeout = 5 * time.Second
	// ReasonNoPushPath is the error recorded for a group nothing can push to.
	ReasonNoPushPath = "群没有可用的推送方式：没有配置 webhook key，机器人也不是长连接模式"
)

// Sender sends pushes and says how each will travel: bot.Router is one.
type Sender interface {
	Push(ctx context.Context, to bot.Target, p bot.Push) error
	// Plan resolves to's path for p and cuts p into pushes of one message each.
	Plan(to bot.Target, p bot.Push) (bot.Target, []bot.Push, error)
}

// refusal is a push WeCom refused: *bot.WebhookError and *bot.APIError.
type refusal interface {
	error
	Permanent() bool
	RateLimited() bool
}

// Deliverer sends queued messages into the groups, each through its path: the group's
// webhook, or the bot itself over the long connection (see bot.Router).
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
//
// 暂停提醒 holds a street's scheduled reminders only (storage.OutMsg.Occurrence set):
// an answer the long connection could not send, a 催一下 and an office notice are
// owed to someone and go out while the street is paused, within the chat's rate limits.
// A held reminder stands aside: it does not hold up the group's messages queued after
// it, and on 恢复提醒 it goes out before the group's messages still queued behind it.
//
// A push through the bot that finds no long connection (bot.ErrNotConnected: this
// replica is on standby, or the connection is down) is deferred, uncounted, however long
// that lasts, and the bot's other groups wait with it for the rest of the batch: a
// message is given up only when WeCom refuses it or a push that left failed too often.
//
// A message that takes more than one WeCom message on its path (too long, or a markdown
// @all) is first replaced in the outbox by its parts, each delivered and acknowledged on
// its own: a part that went out is never sent again when a later one has to wait for the
// rate limit, and the group's next messages follow the last part.
type Deliverer struct {
	Outbox  storage.Outbox
	Pusher  Sender
	Targets func(street, chatID string) (to bot.Target, ok bool)
	Streets func() []string
	Now     func() time.Time // real time, default time.Now
	Log     *slog.Logger     // default slog.Default()
	// Limit sends per Window per group through its webhook, default 20 a minute; the
	// bot's path has WeCom's 30 a minute and 1000 an hour per chat (bot.BotLimits).
	Limit  int
	Window time.Duration
	Lease  time.Duration // how long a claimed message is hidden from other replicas, default 1m
	Batch  int           // messages claimed at once, default 50
	// Backoff is the delay before the attempt-th retry (attempt ≥ 1); default
	// 10s·2^(attempt-1) capped at 30m, ±20% jitter.
	Backoff func(attempt int) time.Duration
	// MaxAttempts is how many failed pushes make a message fail for good, default 12.
	MaxAttempts int
	// Sweep is how often a pass checks every street's outbox, in one pipeline, before it
	// asks the due-queue (default 30s): it finds what a lost due-queue hint or a claim
	// whose deliverer died left behind. The first pass sweeps.
	Sweep time.Duration

	sweptAt atomic.Int64 // when the last sweep ran (real time, unix ns)
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

// RunOnce makes one pass over the streets the due-queue names (repaired first, on a
// sweep): for each street it claims due messages, batch after batch, pushes them, and
// sets the street's next due time. A paused street's scheduled reminders are held (see
// storage.RedisOutbox.Claim): only its other messages go out. An idle pass costs one Redis command
// however many streets there are (three on a sweep). It returns how many messages went out; the error joins
// the failures of every street (the other streets still get their turn) and ctx's error
// if it ended the pass.
func (d *Deliverer) RunOnce(ctx context.Context) (sent int, err error) {
	s := d.settings()
	var errs []error
	streets, err := d.dueStreets(ctx, s)
	if err != nil {
		return 0, err
	}
	for _, st := range streets {
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

// dueStreets are the streets to look at now: those the due-queue names, after a sweep
// has repaired it from every street's outbox when one is due (one pipeline for all).
func (d *Deliverer) dueStreets(ctx context.Context, s settings) ([]string, error) {
	sweep := d.Sweep
	if sweep <= 0 {
		sweep = DefaultSweep
	}
	if real, last := time.Now(), d.sweptAt.Load(); last == 0 || real.Sub(time.Unix(0, last)) >= sweep {
		if d.sweptAt.CompareAndSwap(last, real.UnixNano()) {
			if err := d.Outbox.SweepDue(ctx, d.Streets()); err != nil {
				d.sweptAt.Store(0) // sweep again next pass
				return nil, fmt.Errorf("deliver: %w", err)
			}
		}
	}
	due, err := d.Outbox.DueStreets(ctx, s.now())
	if err != nil {
		return nil, fmt.Errorf("deliver: due streets: %w", err)
	}
	known := map[string]bool{}
	for _, st := range d.Streets() {
		known[st] = true
	}
	return slices.DeleteFunc(due, func(st string) bool { return !known[st] }), nil
}

// street delivers one street's due messages, then sets its next due time.
func (d *Deliverer) street(ctx context.Context, s settings, st string) (sent int, err error) {
	log := s.log.With("street", st)
	paused, err := d.Outbox.Paused(ctx, st)
	if err != nil {
		return 0, err
	}
	defer func() {
		if serr := d.Outbox.SettleDue(ctx, st, paused, s.now(), pausedRecheck); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	if paused {
		// Claim holds the scheduled reminders; answers, 催一下 and notices go on.
		log.Debug("deliver: street paused, its scheduled reminders are held")
	}
	for range maxBatchesPerStreet {
		now := s.now()
		msgs, err := d.Outbox.Claim(ctx, st, now, s.batch, s.lease)
		if err != nil {
			return sent, err
		}
		n, split, err := d.batch(ctx, s, log, st, now, msgs)
		sent += n
		if err != nil || (len(msgs) < s.batch && !split) {
			if sent > 0 {
				log.Info("deliver: sent", "messages", sent)
			}
			return sent, err
		}
	}
	log.Info("deliver: sent, more left for the next pass", "messages", sent)
	return sent, nil
}

// batch pushes the messages of one claim, claimed at claimed, in order. split reports
// that a message was replaced by its parts, due now: the street is claimed again.
func (d *Deliverer) batch(ctx context.Context, s settings, log *slog.Logger, st string, claimed time.Time, msgs []storage.OutMsg) (sent int, split bool, err error) {
	var (
		errs []error
		// held: groups deferred in this batch, until when; their next messages wait too.
		held = map[string]time.Time{}
		// stopAt: after it, pushing risks the lease ending under the push.
		stopAt = claimed.Add(s.lease - s.lease/4)
		// botDown: the bot's path had no long connection in this batch; its groups wait
		// until then.
		botDown time.Time
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
			return sent, split, errors.Join(append(errs, err)...)
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
		to, ok := d.Targets(st, m.ChatID)
		if !ok {
			mlog.Error("deliver: the group is not in the configuration any more, message given up")
			fail(m, now, ReasonNoPushPath)
			continue
		}
		if m.Via != "" {
			to.Via = m.Via // a part keeps the path of its message
		}
		to, parts, err := d.Pusher.Plan(to, bot.Push{Text: m.Text, Mentions: m.Mentions, Markdown: m.Markdown})
		switch {
		case errors.Is(err, bot.ErrNoPushPath):
			mlog.Error("deliver: the group has no push path, message given up", "err", err)
			fail(m, now, ReasonNoPushPath)
			continue
		case err != nil:
			mlog.Error("deliver: the message cannot be sent, given up", "err", err)
			fail(m, now, err.Error())
			continue
		case len(parts) > 1:
			mlog.Info("deliver: message split into parts sent one by one", "parts", len(parts), "via", to.Via)
			out := make([]storage.OutMsg, len(parts))
			for i, p := range parts {
				out[i] = storage.OutMsg{Text: p.Text, Markdown: p.Markdown, Mentions: p.Mentions, Via: to.Via}
			}
			book(func(ctx context.Context) error { return d.Outbox.Split(ctx, st, m.ID, out, now) })
			held[m.ChatID] = now // the group's next messages follow the parts
			split = true
			continue
		}
		mlog = mlog.With("via", to.Via, "part", m.Part)
		if to.Via == bot.ViaBot && !botDown.IsZero() {
			retry(m, botDown, "")
			held[m.ChatID] = botDown
			continue
		}
		if ok, free, err := d.takeSlots(ctx, st, to, now, s); err != nil {
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
		err = d.Pusher.Push(ctx, to, parts[0])
		done := s.now()
		var we refusal
		isWebhookErr := errors.As(err, &we)
		if err != nil && ctx.Err() == nil && wentNowhere(err) {
			// Later pushes need not wait for its slot.
			book(func(ctx context.Context) error { return d.returnSlots(ctx, st, to, now, 1, s) })
		}
		switch {
		case err == nil:
			book(func(ctx context.Context) error { return d.Outbox.Ack(ctx, st, m.ID, done) })
			sent++
			mlog.Debug("deliver: pushed")
		case ctx.Err() != nil:
			// Cancelled mid-push: whether it went out is unknown; it comes back after its lease.
			return sent, split, errors.Join(append(errs, ctx.Err())...)
		case errors.Is(err, bot.ErrNotConnected):
			at := done.Add(notConnectedRetry)
			mlog.Debug("deliver: no long connection on this replica, deferred", "until", at)
			retry(m, at, "")
			held[m.ChatID] = at
			botDown = at
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
	return sent, split, errors.Join(errs...)
}

// takeSlots reserves the rate-limit slot of one message on to's path: per group for its
// webhook, per chat (with the bot's replies) for the bot's path.
func (d *Deliverer) takeSlots(ctx context.Context, st string, to bot.Target, now time.Time, s settings) (bool, time.Time, error) {
	bucket, windows := s.slots(to)
	return d.Outbox.TakeSlots(ctx, st, bucket, now, 1, windows, false)
}

// returnSlots gives back n slots reserved at now for a push that did not go out.
func (d *Deliverer) returnSlots(ctx context.Context, st string, to bot.Target, now time.Time, n int, s settings) error {
	bucket, windows := s.slots(to)
	return d.Outbox.ReturnSlots(ctx, st, bucket, now, n, windows)
}

// wentNowhere reports whether a push that failed with err surely did not reach the
// group: no long connection to send it on, nothing to send, or WeCom answered with a
// refusal (refused messages do not count against WeCom's limits).
func wentNowhere(err error) bool {
	var r refusal
	return errors.Is(err, bot.ErrNotConnected) || errors.Is(err, bot.ErrEmptyPush) || errors.As(err, &r)
}

// Direct wraps next, which pushes into a group at once instead of through the outbox
// (the handlers' charts and workbooks for the group that asked), so that each push
// counts against the group's rate-limit slots on its path as the outbox's own do: the
// queued pushes then leave room for it instead of running into WeCom's 45009. A direct
// push cannot wait, so it is counted even when the window is full, and given back when
// it did not go out. streetOf names a group's street; a chat it does not know (a 1:1
// chat) is pushed to uncounted.
func (d *Deliverer) Direct(next Sender, streetOf func(chatID string) (street string, ok bool)) bot.Pusher {
	return directPusher{d: d, next: next, streetOf: streetOf}
}

type directPusher struct {
	d        *Deliverer
	next     Sender
	streetOf func(chatID string) (string, bool)
}

func (p directPusher) Push(ctx context.Context, to bot.Target, push bot.Push) error {
	st, ok := p.streetOf(to.ChatID)
	if !ok {
		return p.next.Push(ctx, to, push)
	}
	planned, parts, err := p.next.Plan(to, push)
	if err != nil {
		return p.next.Push(ctx, to, push) // it says why
	}
	s := p.d.settings()
	now := s.now()
	bucket, windows := s.slots(planned)
	if _, _, err := p.d.Outbox.TakeSlots(ctx, st, bucket, now, len(parts), windows, true); err != nil {
		s.log.WarnContext(ctx, "deliver: a direct push could not be counted against the group's rate limit", "chat", to.ChatID, "err", err)
		return p.next.Push(ctx, to, push)
	}
	err = p.next.Push(ctx, to, push)
	if err != nil && len(parts) == 1 && wentNowhere(err) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
		defer cancel()
		if rerr := p.d.returnSlots(bctx, st, planned, now, 1, s); rerr != nil {
			s.log.WarnContext(ctx, "deliver: the slot of a direct push that did not go out was not given back", "chat", to.ChatID, "err", rerr)
		}
	}
	return err
}

// slots are the rate-limit bucket and windows of to's path: per group for its webhook,
// per chat (with the bot's replies) for the bot's path.
func (s settings) slots(to bot.Target) (string, []storage.Window) {
	if to.Via == bot.ViaBot {
		return BotBucket(to.ChatID), storageWindows(bot.BotLimits)
	}
	return to.ChatID, []storage.Window{{N: s.limit, Per: s.window}}
}

// BotBucket is the rate-limit bucket of the bot's messages in a chat, pushes and replies.
func BotBucket(chatID string) string { return chatID + "#bot" }

func storageWindows(ws []bot.Window) []storage.Window {
	out := make([]storage.Window, len(ws))
	for i, w := range ws {
		out[i] = storage.Window{N: w.N, Per: w.Per}
	}
	return out
}
