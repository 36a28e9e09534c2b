// Package storage keeps the campaign's state in Redis. Handlers and reminders reach
// Redis only through the interfaces here. The key schema is documented in keys.go.
package storage

import (
	"context"
	"errors"
	"time"

	"huanjie/campaign"
)

// ErrNothingToUndo is returned by Undo when the community has no filing left to take back.
var ErrNothingToUndo = errors.New("storage: nothing to undo")

// ErrNoSuchRequest is returned when a binding request code is unknown or expired.
var ErrNoSuchRequest = errors.New("storage: no such binding request")

// Bindings stores who is who, beyond the people named in the config file.
type Bindings interface {
	// Binding returns the stored binding of userid in street, or nil.
	Binding(ctx context.Context, street, userid string) (*campaign.Binding, error)
	// BindingAny returns userid's binding in the first of streets that has one, or nil,
	// in one round trip.
	BindingAny(ctx context.Context, streets []string, userid string) (*campaign.Binding, error)
	// Bound lists every stored binding of a street (for @-mentioning a community's secretaries).
	Bound(ctx context.Context, street string) ([]campaign.Binding, error)
	// RequestBinding stores a pending request and returns the short code the office types.
	// A second request by the same user replaces the first, whose code is returned as
	// replaced ("" when there was none).
	RequestBinding(ctx context.Context, b campaign.Binding, ttl time.Duration) (code, replaced string, err error)
	// PendingBindings lists the open requests of a street, oldest first.
	PendingBindings(ctx context.Context, street string) ([]campaign.BindingRequest, error)
	// ApproveBinding turns a pending request into a binding, atomically; ErrNoSuchRequest if gone.
	ApproveBinding(ctx context.Context, street, code, approvedBy string, at time.Time) (campaign.Binding, error)
}

// Dedup is the ledger of WeCom messages: which are being processed, by which attempt and
// until when, and which are done with what answer, whichever process asks. It tells "being
// processed" from "done", so that a retry of an attempt that failed (released, or whose
// hold lapsed) is processed again while a retry of a running or finished one is not.
// Every method is one atomic step that may be sent twice (a client retry after a timeout)
// without changing its outcome.
type Dedup interface {
	// BeginMsg makes msgid id the owner's for lease, unless another attempt holds it and
	// its hold has not lapsed, or it is done. mine reports whether the owner now holds it
	// (also when a retried call finds the owner's own hold); rec is the record after the
	// call. The record lives ttl.
	BeginMsg(ctx context.Context, id, owner string, lease, ttl time.Duration) (rec MsgRecord, mine bool, err error)
	// FinishMsg records id as done with its answer, whoever holds it; kept ttl.
	FinishMsg(ctx context.Context, id, answer string, ttl time.Duration) error
	// FinishFirstMsg records id as done with answer unless it is done already, whoever
	// holds it, and returns the answer that stands: answer (recorded), or the one
	// recorded first.
	FinishFirstMsg(ctx context.Context, id, answer string, ttl time.Duration) (stands string, recorded bool, err error)
	// ReleaseMsg forgets id if owner still holds it and it is not done: the attempt failed
	// and WeCom's retry must be processed.
	ReleaseMsg(ctx context.Context, id, owner string) error
	// Msg returns the record of id; ok is false when there is none.
	Msg(ctx context.Context, id string) (rec MsgRecord, ok bool, err error)
	// MarkMsgDelivered records that id's late answer went out via the given path unless
	// another path did first, and returns the path recorded first ("" when id is not in
	// the ledger).
	MarkMsgDelivered(ctx context.Context, id, via string) (first string, err error)
	// SettleMsgDelivered replaces id's delivery mark from by to ("" forgets it) when from
	// is the mark recorded, and returns the mark after the call.
	SettleMsgDelivered(ctx context.Context, id, from, to string) (now string, err error)
}
