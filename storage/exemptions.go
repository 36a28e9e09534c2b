package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// Exemptions stores the office's 免报: items a community need not file. An exemption is
// part of the community's record (campaign.Record.Exemptions), so Records and every
// judgement see it as soon as it is written.
type Exemptions interface {
	// Exempt stores (or replaces) the exemption of community from ex.Item, with raw as
	// typed, in one atomic step that marks the community changed.
	Exempt(ctx context.Context, street, community string, ex campaign.Exemption, raw string) error
	// Unexempt removes it; false when there was none.
	Unexempt(ctx context.Context, street, community string, item campaign.Item, by string, at time.Time, raw string) (bool, error)
}

// Absences stores who is away (请假) until when. Being away changes whom a nudge
// @-mentions, not any community's judgement.
type Absences interface {
	// SetAway stores (or replaces) a's leave.
	SetAway(ctx context.Context, street string, a campaign.Away, raw string) error
	// ClearAway ends userid's leave at once; false when none was stored.
	ClearAway(ctx context.Context, street, userid, by string, at time.Time, raw string) (bool, error)
	// Away lists the stored leaves of a street (past ones included), by userid.
	Away(ctx context.Context, street string) ([]campaign.Away, error)
}

var (
	_ Exemptions = (*Redis)(nil)
	_ Absences   = (*Redis)(nil)
)

// Audit trail actions of exemptions and leaves.
const (
	ActionExempt   = "exempt"
	ActionUnexempt = "unexempt"
	ActionAway     = "away"
	ActionBack     = "back"
)

// exemptPrefix starts the cur hash field of an exemption: exempt:<item>.
const exemptPrefix = "exempt:"

func exemptField(item campaign.Item) string { return exemptPrefix + string(item) }

// KEYS cur, log, seq, changed
// ARGV field, exemption JSON (empty: delete), community, item, by, at, raw, action
// Returns 1 when a field was written or deleted, 0 when there was nothing to delete.
var exemptScript = redis.NewScript(changedLua + `
local n
if ARGV[2] == '' then
  n = redis.call('HDEL', KEYS[1], ARGV[1])
  if n == 0 then return 0 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
changed(KEYS[3], KEYS[4], ARGV[3])
redis.call('XADD', KEYS[2], '*', 'action', ARGV[8], 'community', ARGV[3],
  'item', ARGV[4], 'by', ARGV[5], 'at', ARGV[6], 'raw', ARGV[7], 'exemption', ARGV[2])
return 1
`)

// Exempt implements Exemptions.
func (r *Redis) Exempt(ctx context.Context, street, community string, ex campaign.Exemption, raw string) error {
	wrap := func(err error) error { return fmt.Errorf("storage: exempt %s/%s: %w", community, ex.Item, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community), checkItem(ex.Item)); err != nil {
		return wrap(err)
	}
	js, err := json.Marshal(ex)
	if err != nil {
		return wrap(err)
	}
	err = exemptScript.Run(ctx, r.c, []string{r.k.cur(street, community), r.k.log(street), r.k.seq(street), r.k.changed(street)},
		exemptField(ex.Item), js, community, string(ex.Item), ex.By, fmtAt(ex.At), raw, ActionExempt).Err()
	if err != nil {
		return wrap(err)
	}
	return nil
}

// Unexempt implements Exemptions.
func (r *Redis) Unexempt(ctx context.Context, street, community string, item campaign.Item, by string, at time.Time, raw string) (bool, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: unexempt %s/%s: %w", community, item, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community), checkItem(item)); err != nil {
		return false, wrap(err)
	}
	n, err := exemptScript.Run(ctx, r.c, []string{r.k.cur(street, community), r.k.log(street), r.k.seq(street), r.k.changed(street)},
		exemptField(item), "", community, string(item), by, fmtAt(at), raw, ActionUnexempt).Int()
	if err != nil {
		return false, wrap(err)
	}
	return n == 1, nil
}

// decodeExemption reads the cur hash field of an exemption into rec (ok false when the
// field is not one).
func decodeExemption(rec *campaign.Record, field, js string) (bool, error) {
	item, ok := strings.CutPrefix(field, exemptPrefix)
	if !ok {
		return false, nil
	}
	var ex campaign.Exemption
	if err := json.Unmarshal([]byte(js), &ex); err != nil {
		return true, err
	}
	if rec.Exemptions == nil {
		rec.Exemptions = map[campaign.Item]*campaign.Exemption{}
	}
	rec.Exemptions[campaign.Item(item)] = &ex
	return true, nil
}

// KEYS away, log
// ARGV userid, away JSON (empty: delete), by, at, raw, action
var awayScript = redis.NewScript(`
if ARGV[2] == '' then
  if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('XADD', KEYS[2], '*', 'action', ARGV[6], 'userid', ARGV[1], 'by', ARGV[3], 'at', ARGV[4],
  'raw', ARGV[5], 'away', ARGV[2])
return 1
`)

// SetAway implements Absences.
func (r *Redis) SetAway(ctx context.Context, street string, a campaign.Away, raw string) error {
	wrap := func(err error) error { return fmt.Errorf("storage: away %s: %w", a.UserID, err) }
	if err := errors.Join(checkName("street", street), checkName("userid", a.UserID)); err != nil {
		return wrap(err)
	}
	if a.Until.IsZero() || a.Until.Before(a.From) {
		return wrap(fmt.Errorf("leave from %s until %s", a.From.ISO(), a.Until.ISO()))
	}
	js, err := json.Marshal(a)
	if err != nil {
		return wrap(err)
	}
	if err := awayScript.Run(ctx, r.c, []string{r.k.away(street), r.k.log(street)},
		a.UserID, js, a.By, fmtAt(a.At), raw, ActionAway).Err(); err != nil {
		return wrap(err)
	}
	return nil
}

// ClearAway implements Absences.
func (r *Redis) ClearAway(ctx context.Context, street, userid, by string, at time.Time, raw string) (bool, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: back %s: %w", userid, err) }
	if err := errors.Join(checkName("street", street), checkName("userid", userid)); err != nil {
		return false, wrap(err)
	}
	n, err := awayScript.Run(ctx, r.c, []string{r.k.away(street), r.k.log(street)}, userid, "", by, fmtAt(at), raw, ActionBack).Int()
	if err != nil {
		return false, wrap(err)
	}
	return n == 1, nil
}

// Away implements Absences.
func (r *Redis) Away(ctx context.Context, street string) ([]campaign.Away, error) {
	m, err := r.c.HGetAll(ctx, r.k.away(street)).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: away of %s: %w", street, err)
	}
	return decodeAway(street, m)
}

// decodeAway decodes a street's away hash, ordered by userid.
func decodeAway(street string, m map[string]string) ([]campaign.Away, error) {
	out := make([]campaign.Away, 0, len(m))
	for uid, js := range m {
		var a campaign.Away
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			return nil, fmt.Errorf("storage: away of %s: %s: %w", street, uid, err)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}
