package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// Confirmation is something a person was asked to confirm with 「确认」: a filing that
// looked wrong (held, not stored) or the undo of an approved filing.
type Confirmation struct {
	Kind    string           `json:"kind"`
	Filing  *campaign.Filing `json:"filing,omitempty"`
	Text    string           `json:"text,omitempty"` // the filing's long text
	Raw     string           `json:"raw,omitempty"`  // the filing's message as typed
	Stamp   string           `json:"stamp,omitempty"`
	Expires time.Time        `json:"expires"`

	held string // as stored, for Drop
}

// Confirmations keeps, per person, the one thing awaiting their 「确认」.
type Confirmations interface {
	// Hold keeps c for userid, replacing anything held before; a filing's version is held
	// once (a *FiledBefore when it was saved or held before, nothing changed).
	Hold(ctx context.Context, street, userid string, c Confirmation) error
	// Peek returns what userid has held, nil when nothing or expired by now; it stays
	// held until Drop, so a 「确认」 whose saving fails can be sent again.
	Peek(ctx context.Context, street, userid string, now time.Time) (*Confirmation, error)
	// Drop removes c, as Peek returned it, unless something else is held since.
	Drop(ctx context.Context, street, userid string, c *Confirmation) error
}

var _ Confirmations = (*Redis)(nil)

// Hold implements Confirmations. The key also expires in Redis a little after c does;
// expiry is judged by the bot's clock so the embedded store behaves the same. A held
// filing with a version is held once: when that version was saved or held before (the
// same message handled again), nothing changes — what is held now may be another
// filing, which the same message must not replace — and Hold returns a *FiledBefore.
func (r *Redis) Hold(ctx context.Context, street, userid string, c Confirmation) error {
	js, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("storage: hold confirmation of %s: %w", userid, err)
	}
	if c.Filing == nil || c.Filing.Version == "" {
		err = r.c.Set(ctx, r.k.confirm(street, userid), js, time.Hour).Err()
	} else {
		var res []any
		res, err = holdOnceScript.Run(ctx, r.c, []string{r.k.confirm(street, userid), r.k.once(street, c.Filing.Version)},
			js, int64(time.Hour/time.Second), onceToken()).Slice()
		if err == nil && len(res) == 2 {
			answer, _ := res[1].(string)
			err = filedBefore(answer)
		}
	}
	if err != nil {
		return fmt.Errorf("storage: hold confirmation of %s: %w", userid, err)
	}
	return nil
}

// KEYS confirm, once (see saveScript)
// ARGV confirmation JSON, ttl s, token
// Returns {1} when held, {0, the answer the first saving kept} when the version was saved
// or held before.
var holdOnceScript = redis.NewScript(onceLua + `
local tok, ans = once(KEYS[2])
if tok and tok ~= ARGV[3] then
  return {0, ans}
end
redis.call('SET', KEYS[2], ARGV[3], 'EX', 86400)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return {1}
`)

// Peek implements Confirmations.
func (r *Redis) Peek(ctx context.Context, street, userid string, now time.Time) (*Confirmation, error) {
	js, err := r.c.Get(ctx, r.k.confirm(street, userid)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read the confirmation of %s: %w", userid, err)
	}
	var c Confirmation
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		return nil, fmt.Errorf("storage: read the confirmation of %s: %w", userid, err)
	}
	if !now.Before(c.Expires) {
		return nil, nil
	}
	c.held = js
	return &c, nil
}

// KEYS confirm; ARGV what Peek read. Deletes only that: a later Hold is kept.
var dropScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`)

// Drop implements Confirmations.
func (r *Redis) Drop(ctx context.Context, street, userid string, c *Confirmation) error {
	if c == nil || c.held == "" {
		return nil
	}
	if err := dropScript.Run(ctx, r.c, []string{r.k.confirm(street, userid)}, c.held).Err(); err != nil {
		return fmt.Errorf("storage: drop the confirmation of %s: %w", userid, err)
	}
	return nil
}
