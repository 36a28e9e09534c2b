package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Message states in the ledger of WeCom messages (Dedup).
const (
	MsgProcessing = "processing" // an attempt holds the message until MsgRecord.Until
	MsgDone       = "done"       // answered; MsgRecord.Answer is the answer
)

// MsgRecord is what the ledger knows of one WeCom message.
type MsgRecord struct {
	State  string    // MsgProcessing or MsgDone
	Owner  string    // processing: the attempt that holds it
	Until  time.Time // processing: when the hold lapses and a retry may take over
	Answer string    // done: the answer given (markdown; "" for none)
	// Delivered says which late path took the answer out first ("" while none did).
	Delivered string
}

// KEYS msg
// ARGV owner, now ms, lease end ms, ttl ms
// Returns {mine (0|1), state, owner, until ms, answer, delivered}. The message becomes
// the owner's when it is new, already the owner's (a retried call finds its own hold),
// or held by an attempt whose hold lapsed. A key of the older format (a plain string
// written by SET NX) counts as done without an answer.
const beginMsgLua = `
local st = redis.pcall('HGET', KEYS[1], 'state')
if type(st) == 'table' and st.err then
  return {0, 'done', '', '0', '', ''}
end
local f = redis.call('HMGET', KEYS[1], 'owner', 'until', 'answer', 'delivered')
if not st or (st == 'processing' and (f[1] == ARGV[1] or tonumber(f[2] or '0') <= tonumber(ARGV[2]))) then
  redis.call('HSET', KEYS[1], 'state', 'processing', 'owner', ARGV[1], 'until', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, 'processing', ARGV[1], ARGV[3], '', f[4] or ''}
end
return {0, st, f[1] or '', f[2] or '0', f[3] or '', f[4] or ''}
`

var beginMsgScript = redis.NewScript(beginMsgLua)

// KEYS msg
// ARGV answer, ttl ms
var finishMsgScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then
  redis.call('DEL', KEYS[1]) -- a key of the older format
elseif t == 'hash' then
  redis.call('HDEL', KEYS[1], 'owner', 'until')
end
redis.call('HSET', KEYS[1], 'state', 'done', 'answer', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// KEYS msg
// ARGV answer, ttl ms
// Returns {1} when answer was recorded, {0, answer} with the answer recorded first. A
// key of the older format counts as done without an answer.
var finishFirstMsgScript = redis.NewScript(`
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'string' then return {0, ''} end
if t == 'hash' then
  local f = redis.call('HMGET', KEYS[1], 'state', 'answer')
  if f[1] == 'done' then return {0, f[2] or ''} end
  redis.call('HDEL', KEYS[1], 'owner', 'until')
end
redis.call('HSET', KEYS[1], 'state', 'done', 'answer', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}
`)

// KEYS msg
// ARGV owner
var releaseMsgScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return 0 end
local f = redis.call('HMGET', KEYS[1], 'state', 'owner')
if f[1] == 'processing' and f[2] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// KEYS msg
// ARGV via
// Returns the via recorded first, or "" when the message is not in the ledger.
var deliveredMsgScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return '' end
redis.call('HSETNX', KEYS[1], 'delivered', ARGV[1])
return redis.call('HGET', KEYS[1], 'delivered')
`)

// BeginMsg implements Dedup.
func (r *Redis) BeginMsg(ctx context.Context, id, owner string, lease, ttl time.Duration) (MsgRecord, bool, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: begin msg %s: %w", id, err) }
	if err := errors.Join(checkName("msgid", id), checkName("owner", owner)); err != nil {
		return MsgRecord{}, false, wrap(err)
	}
	if lease <= 0 || ttl < lease {
		return MsgRecord{}, false, wrap(fmt.Errorf("lease %v and ttl %v: want 0 < lease <= ttl", lease, ttl))
	}
	now := r.now()
	res, err := beginMsgScript.Run(ctx, r.c, []string{r.k.msg(id)},
		owner, now.UnixMilli(), now.Add(lease).UnixMilli(), ttl.Milliseconds()).Slice()
	if err != nil {
		return MsgRecord{}, false, wrap(err)
	}
	if len(res) != 6 {
		return MsgRecord{}, false, wrap(fmt.Errorf("unexpected answer %v", res))
	}
	s := make([]string, len(res))
	for i, v := range res {
		s[i] = fmt.Sprint(v)
	}
	until, _ := strconv.ParseInt(s[3], 10, 64)
	rec := MsgRecord{State: s[1], Owner: s[2], Answer: s[4], Delivered: s[5]}
	if until > 0 {
		rec.Until = time.UnixMilli(until)
	}
	return rec, s[0] == "1", nil
}

// FinishMsg implements Dedup.
func (r *Redis) FinishMsg(ctx context.Context, id, answer string, ttl time.Duration) error {
	if err := checkName("msgid", id); err != nil {
		return fmt.Errorf("storage: finish msg: %w", err)
	}
	if ttl <= 0 {
		return fmt.Errorf("storage: finish msg %s: ttl %v is not positive", id, ttl)
	}
	if err := finishMsgScript.Run(ctx, r.c, []string{r.k.msg(id)}, answer, ttl.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("storage: finish msg %s: %w", id, err)
	}
	return nil
}

// FinishFirstMsg implements Dedup.
func (r *Redis) FinishFirstMsg(ctx context.Context, id, answer string, ttl time.Duration) (string, bool, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: finish msg %s first: %w", id, err) }
	if err := checkName("msgid", id); err != nil {
		return "", false, wrap(err)
	}
	if ttl <= 0 {
		return "", false, wrap(fmt.Errorf("ttl %v is not positive", ttl))
	}
	res, err := finishFirstMsgScript.Run(ctx, r.c, []string{r.k.msg(id)}, answer, ttl.Milliseconds()).Slice()
	if err != nil {
		return "", false, wrap(err)
	}
	if len(res) == 2 {
		first, _ := res[1].(string)
		return first, false, nil
	}
	return answer, true, nil
}

// ReleaseMsg implements Dedup.
func (r *Redis) ReleaseMsg(ctx context.Context, id, owner string) error {
	if err := releaseMsgScript.Run(ctx, r.c, []string{r.k.msg(id)}, owner).Err(); err != nil {
		return fmt.Errorf("storage: release msg %s: %w", id, err)
	}
	return nil
}

// Msg implements Dedup.
func (r *Redis) Msg(ctx context.Context, id string) (MsgRecord, bool, error) {
	f, err := r.c.HMGet(ctx, r.k.msg(id), "state", "owner", "until", "answer", "delivered").Result()
	if err != nil {
		if isWrongType(err) {
			return MsgRecord{State: MsgDone}, true, nil
		}
		return MsgRecord{}, false, fmt.Errorf("storage: msg %s: %w", id, err)
	}
	str := func(v any) string {
		s, _ := v.(string)
		return s
	}
	if str(f[0]) == "" {
		return MsgRecord{}, false, nil
	}
	rec := MsgRecord{State: str(f[0]), Owner: str(f[1]), Answer: str(f[3]), Delivered: str(f[4])}
	if ms, err := strconv.ParseInt(str(f[2]), 10, 64); err == nil && ms > 0 {
		rec.Until = time.UnixMilli(ms)
	}
	return rec, true, nil
}

// MarkMsgDelivered implements Dedup.
func (r *Redis) MarkMsgDelivered(ctx context.Context, id, via string) (string, error) {
	if err := checkName("via", via); err != nil {
		return "", fmt.Errorf("storage: mark msg %s delivered: %w", id, err)
	}
	first, err := deliveredMsgScript.Run(ctx, r.c, []string{r.k.msg(id)}, via).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("storage: mark msg %s delivered: %w", id, err)
	}
	return first, nil
}

// KEYS msg
// ARGV from, to ("" forgets the mark)
// Returns the mark after the call ("" when there is none).
var settleDeliveredMsgScript = redis.NewScript(`
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return '' end
local cur = redis.call('HGET', KEYS[1], 'delivered')
if cur == ARGV[1] then
  if ARGV[2] == '' then
    redis.call('HDEL', KEYS[1], 'delivered')
    return ''
  end
  redis.call('HSET', KEYS[1], 'delivered', ARGV[2])
  return ARGV[2]
end
return cur or ''
`)

// SettleMsgDelivered implements Dedup.
func (r *Redis) SettleMsgDelivered(ctx context.Context, id, from, to string) (string, error) {
	if err := checkName("from", from); err != nil {
		return "", fmt.Errorf("storage: settle msg %s delivered: %w", id, err)
	}
	now, err := settleDeliveredMsgScript.Run(ctx, r.c, []string{r.k.msg(id)}, from, to).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("storage: settle msg %s delivered: %w", id, err)
	}
	return now, nil
}

func isWrongType(err error) bool { return strings.HasPrefix(err.Error(), "WRONGTYPE") }
