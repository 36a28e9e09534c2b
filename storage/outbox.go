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
type OutMsg struct {
	ID         string    `json:"id"` // unique, sortable (time first)
	Street     string    `json:"street"`
	ChatID     string    `json:"chatid"`
	Text       string    `json:"text,omitempty"`
	Markdown   string    `json:"markdown,omitempty"`
	Mentions   []string  `json:"mentions,omitempty"`
	Occurrence string    `json:"occurrence,omitempty"` // the occurrence that queued it ("" for 催一下)
	Created    time.Time `json:"created"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	Done       time.Time `json:"done,omitzero"` // when sent or given up
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
	// Occurrences returns the recorded occurrences of a street, newest first, at most n.
	Occurrences(ctx context.Context, street string, n int) ([]Occurrence, error)
	// Enqueue queues msgs unconditionally (a nudge asked for now).
	Enqueue(ctx context.Context, street string, msgs []OutMsg) error
	// Claim takes up to n messages due by now (oldest first) and hides them from other
	// claimers until now+lease; an unacknowledged message comes back after that.
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
	// TakeSlot reserves a send for chatID under a sliding window of limit sends per
	// window (WeCom: 20 a minute per group robot). When the window is full it returns
	// false and the time a slot frees up.
	TakeSlot(ctx context.Context, street, chatID string, now time.Time, limit int, window time.Duration) (bool, time.Time, error)
	// SetPaused and Paused switch a street's reminders off and on (暂停提醒 / 恢复提醒).
	SetPaused(ctx context.Context, street string, paused bool, by string, at time.Time) error
	Paused(ctx context.Context, street string) (bool, error)
}
