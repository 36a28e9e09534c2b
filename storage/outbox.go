package storage

import (
	"context"
	"time"
)

// Occurrence records what became of one reminder occurrence (e.g. the training
// reminder 3 days before its deadline): queued, or skipped and why. Its key is the
// audit trail and the guard that makes a reminder go out once across replicas.
type Occurrence struct {
	ID     string    `json:"id"`     // e.g. phase:training:2021-07-05, unique within a street
	Status string    `json:"status"` // queued | skipped | paused
	Reason string    `json:"reason,omitempty"`
	Title  string    `json:"title"` // one line for 提醒计划, Chinese
	At     time.Time `json:"at"`    // when it was due
	Done   time.Time `json:"done"`  // when it was recorded
	Count  int       `json:"count"` // messages queued
}

// OutMsg is one message waiting in a street's outbox for a group. It holds the group's
// chatid, never its webhook key: secrets stay out of Redis.
//
// Occurrence tells a scheduled reminder from the rest: EnqueueOnce sets it on every
// message it queues (phase reminders and openings, publicity ends, milestones, the daily
// nudge). It is "" for what Enqueue queues — a 催一下, a handler's notice, an answer the
// long connection could not send — which 暂停提醒 does not hold (see Outbox.Claim).
type OutMsg struct {
	ID         string   `json:"id"` // unique, sortable (time first)
	Street     string   `json:"street"`
	ChatID     string   `json:"chatid"`
	Text       string   `json:"text,omitempty"`
	Markdown   string   `json:"markdown,omitempty"`
	Mentions   []string `json:"mentions,omitempty"`
	Occurrence string   `json:"occurrence,omitempty"` // the scheduled reminder that queued it, see above
	// Via is the push path ("webhook" or "bot") a part of a split message keeps; "" lets
	// the deliverer choose. Part is "i/n" for the i-th of n parts of a split message.
	Via       string    `json:"via,omitempty"`
	Part      string    `json:"part,omitempty"`
	Created   time.Time `json:"created"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Done      time.Time `json:"done,omitzero"` // when sent or given up
}

// Window is a rate limit: at most N sends per Per.
type Window struct {
	N   int
	Per time.Duration
}

// Outbox queues pushes per street so they survive crashes, respect WeCom's rate limit
// and are retried; every method is atomic across processes.
type Outbox interface {
	// EnqueueOnce records occurrence o and queues msgs in one atomic step, unless an
	// occurrence with o.ID was already recorded in that street: then it does nothing and
	// returns false. Use it with no msgs to record a skipped occurrence.
	EnqueueOnce(ctx context.Context, street string, o Occurrence, msgs []OutMsg) (bool, error)
	// Recorded tells which of the occurrence ids are already recorded in a street, so a
	// tick can skip building their messages (EnqueueOnce stays the guard).
	Recorded(ctx context.Context, street string, ids []string) (map[string]bool, error)
	// RecordedOf is Recorded for several streets (street → ids) in one round trip.
	RecordedOf(ctx context.Context, ids map[string][]string) (map[string]map[string]bool, error)
	// Occurrences returns the recorded occurrences of a street, newest first, at most n.
	Occurrences(ctx context.Context, street string, n int) ([]Occurrence, error)
	// Enqueue queues msgs unconditionally (a nudge asked for now, a notice, an answer).
	// Leave their Occurrence empty: they go out while the street is paused.
	Enqueue(ctx context.Context, street string, msgs []OutMsg) error
	// Claim takes up to n messages due by now (oldest first) and hides them from other
	// claimers until now+lease; an unacknowledged message comes back after that. While
	// the street is paused it holds the scheduled reminders (Occurrence set) and hands
	// out the rest, a held reminder not blocking the messages queued after it.
	Claim(ctx context.Context, street string, now time.Time, n int, lease time.Duration) ([]OutMsg, error)
	// Ack removes a sent message and keeps it in the street's recent-sends list.
	Ack(ctx context.Context, street, id string, at time.Time) error
	// Retry puts a message back, due at at, counting the attempt and its error.
	// With errText "" the attempt is not counted and LastError is kept: the message was
	// only deferred (e.g. by the rate limit), not refused.
	Retry(ctx context.Context, street, id string, at time.Time, errText string) error
	// Fail removes a message that cannot be delivered and keeps it in the failures list.
	Fail(ctx context.Context, street, id string, at time.Time, errText string) error
	// Failures and Sent list the newest given-up and sent messages, at most n.
	Failures(ctx context.Context, street string, n int) ([]OutMsg, error)
	Sent(ctx context.Context, street string, n int) ([]OutMsg, error)
	// Pending counts messages still queued.
	Pending(ctx context.Context, street string) (int, error)
	// Split replaces the queued message id, in one atomic step, by parts sent in its
	// place and in order (each one message on its path), due at due. A part that went out
	// is acknowledged on its own, so it is never sent again when a later part has to wait.
	// A message no longer queued is left alone (no error).
	Split(ctx context.Context, street, id string, parts []OutMsg, due time.Time) error
	// TakeSlots reserves n sends in bucket (a group and its push path) under every
	// window at once (WeCom: 20 a minute per webhook key; 30 a minute and 1000 an hour per
	// chat for the bot). When a window has no room it reserves nothing and returns false
	// and the time room frees up — unless force, which records the sends anyway (a reply
	// that cannot wait still counts against the chat).
	TakeSlots(ctx context.Context, street, bucket string, now time.Time, n int, windows []Window, force bool) (bool, time.Time, error)
	// ReturnSlots gives back n sends that TakeSlots reserved at at in bucket under
	// windows, for a push that surely did not go out: later pushes need not wait for them.
	ReturnSlots(ctx context.Context, street, bucket string, at time.Time, n int, windows []Window) error
	// SetPaused and Paused switch a street's scheduled reminders off and on (暂停提醒 /
	// 恢复提醒): while paused, Claim holds them; everything else still goes out.
	SetPaused(ctx context.Context, street string, paused bool, by string, at time.Time) error
	Paused(ctx context.Context, street string) (bool, error)
	// DueStreets lists the streets that may have a message due by now: one due-queue for
	// all streets, kept by the writes above (storage/due.go).
	DueStreets(ctx context.Context, now time.Time) ([]string, error)
	// SweepDue moves each street up the due-queue to its outbox's first message (a lost
	// hint, a claim whose deliverer died), for all streets in a constant number of
	// round trips.
	SweepDue(ctx context.Context, streets []string) error
	// SettleDue sets a street's place in the due-queue from its outbox after a delivery
	// pass (a paused street's held reminders are looked at again after recheck, its other
	// messages when they are due).
	SettleDue(ctx context.Context, street string, paused bool, now time.Time, recheck time.Duration) error
}
