// Package reminders pushes the campaign's reminders into the groups: phase deadlines,
// daily nudges that @-mention exactly the late communities' secretaries, late summaries
// for the leaders, publicity-end notices and milestones, on working days.
//
// One cron job runs Tick every minute. Tick derives, from the config and the stored
// filings, every occurrence whose time has come, and for each records it and queues its
// messages in one atomic step (storage.Outbox.EnqueueOnce), so with several replicas on
// one Redis each occurrence is queued once. An occurrence missed while the bot was down is
// sent on start if still relevant the same day, else recorded as skipped — never a burst
// of stale messages. The Deliverer drains the queue within WeCom's rate limit.
package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/storage"
)

// Scheduler computes and queues reminders.
type Scheduler struct {
	Config    *config.Config
	Filings   storage.Filings
	Bindings  storage.Bindings
	Outbox    storage.Outbox
	Clock     func() time.Time           // campaign time; default time.Now
	HowToFile func(campaign.Item) string // how to file an item, in one line (e.g. "@换届助手 会员 …")
	Log       *slog.Logger
	// Lookback is how far back Tick looks for missed occurrences to record (7 days).
	Lookback time.Duration
}

func (s *Scheduler) now() time.Time {
	if s.Clock == nil {
		return time.Now().In(campaign.Shanghai)
	}
	return s.Clock().In(campaign.Shanghai)
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Start runs Tick at once (catching up after downtime) and then every minute, with
// panic recovery and no overlapping runs, until the returned stop is called.
func (s *Scheduler) Start(ctx context.Context) (stop func()) {
	logger := cron.PrintfLogger(slogPrintf{s.log()})
	c := cron.New(cron.WithLocation(campaign.Shanghai),
		cron.WithChain(cron.SkipIfStillRunning(logger), cron.Recover(logger)))
	tick := func() {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("reminders: tick failed", "err", err)
		}
	}
	if _, err := c.AddFunc("* * * * *", tick); err != nil {
		panic(err) // a constant spec
	}
	go tick()
	c.Start()
	return func() { <-c.Stop().Done() }
}

type slogPrintf struct{ l *slog.Logger }

func (p slogPrintf) Printf(format string, args ...any) { p.l.Info(fmt.Sprintf(format, args...)) }

// Tick records and queues every occurrence due by now, in every street.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.now()
	var errs []error
	for i := range s.Config.Streets {
		if err := s.tickStreet(ctx, &s.Config.Streets[i], now); err != nil {
			errs = append(errs, fmt.Errorf("street %s: %w", s.Config.Streets[i].ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) state(ctx context.Context, st *config.Street) (*streetState, error) {
	filings, err := s.Filings.CurrentAll(ctx, st.ID, st.CommunityNames())
	if err != nil {
		return nil, fmt.Errorf("load filings: %w", err)
	}
	bound, err := s.Bindings.Bound(ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("load bindings: %w", err)
	}
	texts, err := parseTemplates(st.Reminders.Texts)
	if err != nil {
		return nil, err
	}
	sh, sm, err := config.ClockTime(st.Reminders.SendAt)
	if err != nil {
		return nil, err
	}
	nh, nm, err := config.ClockTime(st.Reminders.NudgeAt)
	if err != nil {
		return nil, err
	}
	howTo := s.HowToFile
	if howTo == nil {
		howTo = func(i campaign.Item) string { return i.Label() }
	}
	return &streetState{st: st, filings: filings, bound: bound, bot: s.Config.BotName, howTo: howTo,
		days: newWorkdays(s.Config.Calendar), texts: texts, sendAt: clock{sh, sm}, nudgeAt: clock{nh, nm}}, nil
}

func (s *Scheduler) tickStreet(ctx context.Context, st *config.Street, now time.Time) error {
	state, err := s.state(ctx, st)
	if err != nil {
		return err
	}
	paused, err := s.Outbox.Paused(ctx, st.ID)
	if err != nil {
		return fmt.Errorf("paused: %w", err)
	}
	lookback := s.Lookback
	if lookback == 0 {
		lookback = 7 * 24 * time.Hour
	}
	due := state.plan(now.Add(-lookback), now)
	ids := make([]string, len(due))
	for i, o := range due {
		ids[i] = o.id
	}
	recorded, err := s.Outbox.Recorded(ctx, st.ID, ids)
	if err != nil {
		return fmt.Errorf("recorded occurrences: %w", err)
	}
	for _, o := range due {
		if recorded[o.id] {
			continue
		}
		rec := storage.Occurrence{ID: o.id, Title: o.title, At: o.at, Done: now}
		var msgs []storage.OutMsg
		switch {
		case now.After(o.until):
			rec.Status, rec.Reason = "skipped", reasonMissed
		case paused:
			rec.Status, rec.Reason = "paused", reasonPaused
		default:
			var reason string
			msgs, reason = o.build()
			rec.Status, rec.Reason, rec.Count = "queued", reason, len(msgs)
			if len(msgs) == 0 {
				rec.Status = "skipped"
				if reason == "" {
					rec.Reason = reasonNoGroup
				}
			}
		}
		for i := range msgs {
			msgs[i].Created = now
		}
		queued, err := s.Outbox.EnqueueOnce(ctx, st.ID, rec, msgs)
		if err != nil {
			return fmt.Errorf("enqueue %s: %w", o.id, err)
		}
		if queued {
			s.log().Info("reminders: occurrence recorded", "street", st.ID, "id", o.id, "status", rec.Status, "reason", rec.Reason, "messages", len(msgs))
		}
	}
	return nil
}

// Upcoming is one reminder planned for later.
type Upcoming struct {
	At    time.Time
	Title string
}

// Plan is what 提醒计划 shows.
type Plan struct {
	Paused   bool
	Upcoming []Upcoming
	Recent   []storage.Occurrence
	Failures []storage.OutMsg
	Pending  int
}

// Plan returns the next n reminders of a street, the latest recorded ones and failures.
func (s *Scheduler) Plan(ctx context.Context, street string, n int) (Plan, error) {
	st, ok := s.Config.Street(street)
	if !ok {
		return Plan{}, fmt.Errorf("no street %q", street)
	}
	state, err := s.state(ctx, st)
	if err != nil {
		return Plan{}, err
	}
	var p Plan
	now := s.now()
	for _, o := range state.plan(now.Add(time.Second), now.AddDate(0, 3, 0)) {
		if len(p.Upcoming) == n {
			break
		}
		p.Upcoming = append(p.Upcoming, Upcoming{At: o.at, Title: o.title})
	}
	if p.Paused, err = s.Outbox.Paused(ctx, street); err != nil {
		return p, err
	}
	if p.Recent, err = s.Outbox.Occurrences(ctx, street, 5); err != nil {
		return p, err
	}
	if p.Failures, err = s.Outbox.Failures(ctx, street, 5); err != nil {
		return p, err
	}
	p.Pending, err = s.Outbox.Pending(ctx, street)
	return p, err
}

// Nudged says what NudgeNow queued.
type Nudged struct {
	Items       []campaign.Item
	Communities int // late communities @-mentioned, summed over items
	Messages    int
}

// NudgeNow queues, at once, a nudge for item (or, if empty, every item due or overdue,
// else every open item) that @-mentions the secretaries of the communities not filed.
func (s *Scheduler) NudgeNow(ctx context.Context, street string, item campaign.Item) (Nudged, error) {
	st, ok := s.Config.Street(street)
	if !ok {
		return Nudged{}, fmt.Errorf("no street %q", street)
	}
	state, err := s.state(ctx, st)
	if err != nil {
		return Nudged{}, err
	}
	now := s.now()
	today := campaign.DateOf(now)
	var steps []campaign.Step
	for _, step := range st.Steps {
		switch {
		case item != "" && step.Item == item:
			steps = append(steps, step)
		case item == "" && step.Open(today) && !step.Due.After(today):
			steps = append(steps, step)
		}
	}
	if item == "" && len(steps) == 0 {
		for _, step := range st.Steps {
			if step.Open(today) {
				steps = append(steps, step)
			}
		}
	}
	var out Nudged
	var msgs []storage.OutMsg
	for _, step := range steps {
		m := st.Missing(step.Item, state.filings)
		if len(m) == 0 {
			continue
		}
		out.Items = append(out.Items, step.Item)
		out.Communities += len(m)
		d := textData{Bot: state.bot, Street: st.Name, Item: step.Item.Label(), Phase: step.Name, Due: step.Due.String(),
			When: when(step.Due, today), HowTo: state.howTo(step.Item)}
		msgs = append(msgs, state.perGroup("", m, false, func(in []string) string {
			d := d
			d.Missing, d.MissingCount, d.Communities = in, len(in), joinNames(in)
			return render(state.texts.nudge, d)
		}, state.secretaries)...)
	}
	for i := range msgs {
		msgs[i].Created = now
	}
	out.Messages = len(msgs)
	if len(msgs) > 0 {
		if err := s.Outbox.Enqueue(ctx, street, msgs); err != nil {
			return out, fmt.Errorf("enqueue nudge: %w", err)
		}
	}
	return out, nil
}

// SetPaused switches a street's reminders off or on.
func (s *Scheduler) SetPaused(ctx context.Context, street string, paused bool, by string) error {
	return s.Outbox.SetPaused(ctx, street, paused, by, s.now())
}

// Next returns the time of the next planned reminder in any street (for the local
// fast-forward control).
func (s *Scheduler) Next(ctx context.Context) (time.Time, bool) {
	var best time.Time
	now := s.now()
	for i := range s.Config.Streets {
		state, err := s.state(ctx, &s.Config.Streets[i])
		if err != nil {
			continue
		}
		if p := state.plan(now.Add(time.Second), now.AddDate(0, 3, 0)); len(p) > 0 && (best.IsZero() || p[0].at.Before(best)) {
			best = p[0].at
		}
	}
	return best, !best.IsZero()
}
