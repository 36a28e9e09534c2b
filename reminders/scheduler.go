// Package reminders pushes the campaign's reminders into the groups, on working days:
// phase deadlines, phase openings, publicity-end notices and milestones at 09:00, and at
// 09:30 one nudge per group that names each late community with what it owes and
// @-mentions its secretaries once (not those away: the other secretary or the head
// instead), climbing the escalation ladder — the community's head after N working days,
// the leaders with the names after M — and warning the office of a community with
// nobody to mention.
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
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/storage"
)

// Records is what the scheduler reads of the campaign's state: every community's record,
// of one street or of all at once (a tick).
type Records interface {
	Records(ctx context.Context, street string) (map[string]*campaign.Record, error)
	RecordsOf(ctx context.Context, streets []string) (map[string]map[string]*campaign.Record, error)
}

// Bindings lists the people bound in chat and who is away (请假), for @-mentions; ExtrasOf
// reads them, with whether reminders are paused, for all streets at once (a tick).
type Bindings interface {
	Bound(ctx context.Context, street string) ([]campaign.Binding, error)
	Away(ctx context.Context, street string) ([]campaign.Away, error)
	ExtrasOf(ctx context.Context, streets []string) (map[string]storage.StreetExtras, error)
}

// Scheduler computes and queues reminders.
type Scheduler struct {
	Config    *config.Config
	Filings   Records
	Bindings  Bindings
	Outbox    storage.Outbox
	Clock     func() time.Time           // campaign time; default time.Now
	HowToFile func(campaign.Item) string // how to file an item, in one line (e.g. "@换届助手 会员 …")
	Log       *slog.Logger
	// Lookback is how far back Tick looks for missed occurrences to record (7 days).
	Lookback time.Duration
	// Memo keeps the last judgement of each street; share the bot's so a street is judged
	// once for the chat, the dashboard and the reminders (nil: the scheduler's own).
	Memo *campaign.Memo

	own campaign.Memo
}

// memo is the shared memo, or the scheduler's own.
func (s *Scheduler) memo() *campaign.Memo {
	if s.Memo != nil {
		return s.Memo
	}
	return &s.own
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

// Tick records and queues every occurrence due by now, in every street. Whatever the
// number of streets it reads in three round trips (the records, then the bindings,
// leaves and pauses, then which occurrences are recorded already); only an occurrence
// that comes due costs a write.
func (s *Scheduler) Tick(ctx context.Context) error {
	now := s.now()
	ids := make([]string, len(s.Config.Streets))
	for i := range s.Config.Streets {
		ids[i] = s.Config.Streets[i].ID
	}
	records, err := s.Filings.RecordsOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("load records: %w", err)
	}
	extras, err := s.Bindings.ExtrasOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("load bindings, leaves and pauses: %w", err)
	}
	lookback := s.Lookback
	if lookback == 0 {
		lookback = 7 * 24 * time.Hour
	}
	var errs []error
	dues := make([][]occurrence, len(ids))
	dueIDs := make(map[string][]string, len(ids))
	for i := range s.Config.Streets {
		st := &s.Config.Streets[i]
		x := extras[st.ID]
		state, err := s.newState(st, records[st.ID], x.Bound, x.Away)
		if err != nil {
			errs = append(errs, fmt.Errorf("street %s: %w", st.ID, err))
			continue
		}
		dues[i] = state.plan(now.Add(-lookback), now)
		for _, o := range dues[i] {
			dueIDs[st.ID] = append(dueIDs[st.ID], o.id)
		}
	}
	recorded, err := s.Outbox.RecordedOf(ctx, dueIDs)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("recorded occurrences: %w", err))...)
	}
	for i := range s.Config.Streets {
		st := &s.Config.Streets[i]
		if err := s.queue(ctx, st, dues[i], recorded[st.ID], extras[st.ID].Paused, now); err != nil {
			errs = append(errs, fmt.Errorf("street %s: %w", st.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) state(ctx context.Context, st *config.Street) (*streetState, error) {
	records, err := s.Filings.Records(ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("load records: %w", err)
	}
	bound, err := s.Bindings.Bound(ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("load bindings: %w", err)
	}
	away, err := s.Bindings.Away(ctx, st.ID)
	if err != nil {
		return nil, fmt.Errorf("load leaves: %w", err)
	}
	return s.newState(st, records, bound, away)
}

// newState judges a street's records and gathers what its reminders are made from.
func (s *Scheduler) newState(st *config.Street, records map[string]*campaign.Record, bound []campaign.Binding, away []campaign.Away) (*streetState, error) {
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
	return &streetState{st: st, records: records, judged: s.memo().JudgeStreet(st, records, campaign.DateOf(s.now())),
		people: st.PeopleOf(bound), away: away, bot: s.Config.BotName, howTo: howTo,
		days: newWorkdays(s.Config.Calendar), texts: texts, sendAt: clock{sh, sm}, nudgeAt: clock{nh, nm}}, nil
}

// queue records each occurrence of due not recorded yet, with its messages.
func (s *Scheduler) queue(ctx context.Context, st *config.Street, due []occurrence, recorded map[string]bool, paused bool, now time.Time) error {
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

// PlanQuery is what 提醒计划 asks for.
type PlanQuery struct {
	Upcoming int // how many planned reminders to list
	// Since is the first day whose recorded reminders and failures are reported; zero:
	// the last working day before today.
	Since campaign.Date
}

// Plan is what 提醒计划 shows: what comes next, and what became of the reminders since a
// day — sent, had nothing to send, or missed (stopped bot, paused, no group) — and the
// messages that could not be delivered.
type Plan struct {
	Paused   bool
	Upcoming []Upcoming
	Since    campaign.Date
	Sent     []storage.Occurrence // queued since Since, newest first
	Missed   []storage.Occurrence // should have gone out and did not, newest first
	Quiet    int                  // had nothing to send (all filed, nobody late)
	Failures []storage.OutMsg     // given up since Since, newest first
	Pending  int
	// Truncated: the store keeps fewer records than Since asks for; older ones are gone.
	Truncated bool
}

// occurrencesKept and failuresKept are how many records the outbox keeps (storage
// trims its lists to these lengths).
const (
	occurrencesKept = 500
	failuresKept    = 200
)

// Plan returns the next reminders of a street and what became of those since q.Since.
func (s *Scheduler) Plan(ctx context.Context, street string, q PlanQuery) (Plan, error) {
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
		if len(p.Upcoming) == q.Upcoming {
			break
		}
		p.Upcoming = append(p.Upcoming, Upcoming{At: o.at, Title: o.title})
	}
	if p.Paused, err = s.Outbox.Paused(ctx, street); err != nil {
		return p, err
	}
	p.Since = q.Since
	if p.Since.IsZero() {
		p.Since = state.days.onOrBefore(campaign.DateOf(now).AddDays(-1))
	}
	since := p.Since.Time()
	occs, full, err := readSince(ctx, func(n int) ([]storage.Occurrence, error) { return s.Outbox.Occurrences(ctx, street, n) },
		func(o storage.Occurrence) time.Time { return o.At }, since, occurrencesKept)
	if err != nil {
		return p, err
	}
	for _, o := range occs {
		switch {
		case o.Status == "queued":
			p.Sent = append(p.Sent, o)
		case o.Status == "skipped" && nothingToSend(o.Reason):
			p.Quiet++
		default:
			p.Missed = append(p.Missed, o)
		}
	}
	fails, fullF, err := readSince(ctx, func(n int) ([]storage.OutMsg, error) { return s.Outbox.Failures(ctx, street, n) },
		func(m storage.OutMsg) time.Time { return m.Done }, since, failuresKept)
	if err != nil {
		return p, err
	}
	p.Failures, p.Truncated = fails, full || fullF
	p.Pending, err = s.Outbox.Pending(ctx, street)
	return p, err
}

// readSince reads a newest-first list in growing pages until it reaches an element
// older than since (or the list's end), and returns the elements at or after since;
// full says the list was read to its kept length without reaching since.
func readSince[T any](ctx context.Context, read func(n int) ([]T, error), at func(T) time.Time, since time.Time, kept int) ([]T, bool, error) {
	for n := 20; ; n *= 5 {
		n = min(n, kept)
		list, err := read(n)
		if err != nil {
			return nil, false, err
		}
		i := 0
		for i < len(list) && !at(list[i]).Before(since) {
			i++
		}
		if i < len(list) || len(list) < n || n == kept {
			return list[:i], i == len(list) && len(list) == kept, ctx.Err()
		}
	}
}

// Nudged says what NudgeNow queued.
type Nudged struct {
	Items       []campaign.Item
	Communities int // communities nudged
	Messages    int
	Nobody      []string // communities with nobody to @-mention
}

// NudgeNow queues, at once, one message per group that names each community which has
// not done item (or, if empty, the items due or overdue, else every open item), with
// what it owes, and @-mentions its secretaries once each (away ones excepted).
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
	chosen := map[campaign.Item]bool{}
	for _, step := range st.Steps {
		switch {
		case item != "" && step.Item == item:
			chosen[step.Item] = true
		case item == "" && step.Open(today) && !step.Due.After(today):
			chosen[step.Item] = true
		}
	}
	if item == "" && len(chosen) == 0 {
		for _, step := range st.Steps {
			if step.Open(today) {
				chosen[step.Item] = true
			}
		}
	}
	var out Nudged
	var lines []nudgeLine
	for i := range state.judged.Communities {
		cs := &state.judged.Communities[i]
		var items []*campaign.ItemState
		for j := range cs.Items {
			if is := &cs.Items[j]; chosen[is.Def.ID] && !is.Done {
				items = append(items, is)
			}
		}
		if len(items) > 0 {
			l := nudgeLine{community: cs.Name, items: items, aud: state.audience(cs.Name, today, false, 0)}
			lines = append(lines, l)
			if l.aud.nobody {
				out.Nobody = append(out.Nobody, cs.Name)
			}
		}
	}
	for _, step := range st.Steps {
		if chosen[step.Item] && slices.ContainsFunc(lines, func(l nudgeLine) bool {
			return slices.ContainsFunc(l.items, func(is *campaign.ItemState) bool { return is.Def.ID == step.Item })
		}) {
			out.Items = append(out.Items, step.Item)
		}
	}
	out.Communities = len(lines)
	msgs := state.perGroupLines("", lines, nil)
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

// Nudges says whom a nudge of community would @-mention today: its secretaries not
// away, or its head instead (none: nobody to mention).
func (s *Scheduler) Nudges(ctx context.Context, street, community string) ([]string, error) {
	st, ok := s.Config.Street(street)
	if !ok {
		return nil, fmt.Errorf("no street %q", street)
	}
	state, err := s.state(ctx, st)
	if err != nil {
		return nil, err
	}
	return state.audience(community, campaign.DateOf(s.now()), false, 0).mention, nil
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
