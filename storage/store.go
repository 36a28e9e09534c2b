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

// Filings stores what communities file, with full history.
type Filings interface {
	// Save stores f as the community's current value of f.Item and appends it to the
	// history, in one atomic step. undoable filings can later be taken back by Undo
	// (secretaries' filings); reviews are saved with undoable=false.
	Save(ctx context.Context, f campaign.Filing, undoable bool) error
	// Undo takes back the community's most recent undoable filing: the item reverts to
	// its previous value (or to nothing). It returns the filing taken back and the one
	// now current (nil if none). The undo itself is recorded in the history.
	Undo(ctx context.Context, street, community, by string, at time.Time) (undone campaign.Filing, current *campaign.Filing, err error)
	// Current returns the current filing of each item of one community.
	Current(ctx context.Context, street, community string) (map[campaign.Item]campaign.Filing, error)
	// CurrentAll returns Current for many communities in one round trip.
	CurrentAll(ctx context.Context, street string, communities []string) (map[string]map[campaign.Item]campaign.Filing, error)
	// History returns up to n past filings of one item, newest first (current included).
	History(ctx context.Context, street, community string, item campaign.Item, n int) ([]campaign.Filing, error)
}

// Bindings stores who is who, beyond the people named in the config file.
type Bindings interface {
	// Binding returns the stored binding of userid in street, or nil.
	Binding(ctx context.Context, street, userid string) (*campaign.Binding, error)
	// Bound lists every stored binding of a street (for @-mentioning a community's secretaries).
	Bound(ctx context.Context, street string) ([]campaign.Binding, error)
	// RequestBinding stores a pending request and returns the short code the office types.
	// A second request by the same user replaces the first.
	RequestBinding(ctx context.Context, b campaign.Binding, ttl time.Duration) (code string, err error)
	// PendingBindings lists the open requests of a street, oldest first.
	PendingBindings(ctx context.Context, street string) ([]campaign.BindingRequest, error)
	// ApproveBinding turns a pending request into a binding, atomically; ErrNoSuchRequest if gone.
	ApproveBinding(ctx context.Context, street, code, approvedBy string, at time.Time) (campaign.Binding, error)
}

// Dedup remembers which WeCom msgids were already handled.
type Dedup interface {
	// Claim returns true the first time id is claimed within ttl, false afterwards,
	// whichever process asks.
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
}
