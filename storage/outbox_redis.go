package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Outbox limits.
const (
	// OccurrenceTTL is how long an occurrence's guard key (and so its once-only promise) lives.
	OccurrenceTTL = 120 * 24 * time.Hour
	// occurrencesCap, sentCap and failedCap bound the street's history lists.
	occurrencesCap = 500
	sentCap        = 200
	failedCap      = 200
	// claimPage is how many due ids the Claim script reads at a time.
	claimPage = 100
)

// RedisOutbox implements Outbox on the store's Redis; get it with (*Redis).Outbox. It is a
// type of its own because Outbox.Claim and Dedup.Claim, both implemented by *Redis
// otherwise, have different signatures. The key schema is documented on keys in keys.go.
//
// Delivery is at least once: a claimed message whose Ack does not arrive before its
// lease ends is handed out again. Within a street, a group's messages are handed out in
// queue order (by id): Claim skips a message while an earlier one of the same group is
// still queued, whether due later, retried or claimed by another worker.
type RedisOutbox struct{ r *Redis }

var _ Outbox = (*RedisOutbox)(nil)

// Outbox returns the outbox on r's Redis, under r's key prefix. Times that are not passed
// in (Created of a message queued without one) are read from r's clock.
func (r *Redis) Outbox() *RedisOutbox { return &RedisOutbox{r: r} }

// idSeq orders the ids this process makes within one millisecond.
var idSeq atomic.Uint32

// newMsgID returns a unique id that sorts by created (ms), then by the order this
// process made it.
func newMsgID(created time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%013d-%08x-%08x", created.UnixMilli(), idSeq.Add(1), binary.BigEndian.Uint32(b[:]))
}

// orderMember is a message's member of P{st}:out:order.
func orderMember(m OutMsg) string { return m.ChatID + "\n" + m.ID }

// KEYS q, msg, order, [occ, occs]
// ARGV occurrence JSON, occurrence ttl ms, then per message: id, score, JSON, order member.
// With an occurrence, nothing happens and 0 is returned if its key already exists.
const enqueueLua = `
for i = 3, #ARGV, 4 do
  local old = redis.call('HGET', KEYS[2], ARGV[i])
  if old then
    local ok, m = pcall(cjson.decode, old)
    if ok and type(m) == 'table' and type(m.chatid) == 'string' then
      redis.call('ZREM', KEYS[3], m.chatid .. '\n' .. ARGV[i])
    end
  end
  redis.call('ZADD', KEYS[1], ARGV[i+1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+2])
  redis.call('ZADD', KEYS[3], 0, ARGV[i+3])
end
return 1
`

// KEYS q, msg, order, enq (P{st}:out:enq:<token>)
// ARGV "", token ttl ms, then as enqueueLua. A call whose token key exists already is
// its own earlier run, re-sent by go-redis after a stall: it queues nothing again (the
// messages may have been claimed or sent meanwhile) and returns 0.
var enqueueScript = redis.NewScript(`
if not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[2]) then
  return 0
end
` + enqueueLua)

// enqueueTokenTTL is how long an Enqueue call is recognised when re-sent.
const enqueueTokenTTL = 24 * time.Hour

// KEYS q, msg, order, occ, occs
// ARGV "<occurrence JSON>\n<call nonce>", occurrence ttl ms, then as enqueueLua.
// The guard holding this call's own nonce is its earlier run, re-sent by go-redis after a
// stall: 1 is returned, as the first run did, and nothing is queued again.
var enqueueOnceScript = redis.NewScript(`
if not redis.call('SET', KEYS[4], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('GET', KEYS[4]) == ARGV[1] then
    return 1
  end
  return 0
end
local nl = string.find(ARGV[1], '\n', 1, true)
redis.call('LPUSH', KEYS[5], string.sub(ARGV[1], 1, nl - 1))
redis.call('LTRIM', KEYS[5], 0, ` + fmt.Sprint(occurrencesCap-1) + `)
` + enqueueLua)

// prepare validates msgs and fills in ID, Street, Created (created if zero) and, when
// occ is not empty, Occurrence. It returns the script arguments of the messages.
func prepare(street string, msgs []OutMsg, created time.Time, occ string) ([]any, error) {
	args := make([]any, 0, 4*len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if err := checkName("chatid", m.ChatID); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(m.Markdown) == "" {
			return nil, fmt.Errorf("message %d to %s: no text and no markdown", i, m.ChatID)
		}
		if m.Street != "" && m.Street != street {
			return nil, fmt.Errorf("message %d belongs to street %q", i, m.Street)
		}
		m.Street = street
		if m.Created.IsZero() {
			m.Created = created
		}
		if m.ID == "" {
			m.ID = newMsgID(m.Created)
		} else if err := checkName("message id", m.ID); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		if m.Occurrence == "" {
			m.Occurrence = occ
		}
		js, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		args = append(args, m.ID, m.Created.UnixMilli(), js, orderMember(*m))
	}
	return args, nil
}

// EnqueueOnce implements Outbox. o.Count is set to len(msgs); an empty o.Status becomes
// "queued" (with msgs) or "skipped"; a zero o.Done becomes the clock's now. Messages get
// Street, Occurrence (o.ID), and when missing an ID and Created (o.Done); each is due at
// its Created. The occurrence's guard lives OccurrenceTTL.
func (q *RedisOutbox) EnqueueOnce(ctx context.Context, street string, o Occurrence, msgs []OutMsg) (bool, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: enqueue occurrence %s/%s: %w", street, o.ID, err) }
	if err := errors.Join(checkName("street", street), checkName("occurrence id", o.ID)); err != nil {
		return false, wrap(err)
	}
	if o.Done.IsZero() {
		o.Done = q.r.now()
	}
	o.Count = len(msgs)
	if o.Status == "" {
		o.Status = "skipped"
		if len(msgs) > 0 {
			o.Status = "queued"
		}
	}
	msgs = append([]OutMsg(nil), msgs...)
	margs, err := prepare(street, msgs, o.Done, o.ID)
	if err != nil {
		return false, wrap(err)
	}
	ojs, err := json.Marshal(o)
	if err != nil {
		return false, wrap(err)
	}
	k := q.r.k
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	guard := string(ojs) + "\n" + hex.EncodeToString(nonce[:])
	args := append([]any{guard, OccurrenceTTL.Milliseconds()}, margs...)
	n, err := enqueueOnceScript.Run(ctx, q.r.c,
		[]string{k.outQ(street), k.outMsg(street), k.outOrder(street), k.occ(street, o.ID), k.occs(street)},
		args...).Int()
	if err != nil {
		return false, wrap(err)
	}
	if n == 1 && len(msgs) > 0 {
		_ = q.hinted(ctx, street, earliest(msgs, o.Done), nil)
	}
	return n == 1, nil
}

// Occurrences implements Outbox. n <= 0 means all that are kept (the latest 500).
func (q *RedisOutbox) Occurrences(ctx context.Context, street string, n int) ([]Occurrence, error) {
	l, err := lrange(ctx, q.r.c, q.r.k.occs(street), n)
	if err != nil {
		return nil, fmt.Errorf("storage: occurrences of %s: %w", street, err)
	}
	out := make([]Occurrence, len(l))
	for i, js := range l {
		if err := json.Unmarshal([]byte(js), &out[i]); err != nil {
			return nil, fmt.Errorf("storage: occurrences of %s: decode: %w", street, err)
		}
	}
	return out, nil
}

// Recorded implements Outbox: one pipelined EXISTS per id.
func (q *RedisOutbox) Recorded(ctx context.Context, street string, ids []string) (map[string]bool, error) {
	all, err := q.RecordedOf(ctx, map[string][]string{street: ids})
	if err != nil {
		return nil, err
	}
	return all[street], nil
}

// RecordedOf implements Outbox: one pipeline of EXISTS for the ids of every street.
func (q *RedisOutbox) RecordedOf(ctx context.Context, ids map[string][]string) (map[string]map[string]bool, error) {
	cmds := make(map[string][]*redis.IntCmd, len(ids))
	n := 0
	pipe := q.r.c.Pipeline()
	for st, l := range ids {
		cmds[st] = make([]*redis.IntCmd, len(l))
		for i, id := range l {
			cmds[st][i] = pipe.Exists(ctx, q.r.k.occ(st, id))
			n++
		}
	}
	if n > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("storage: recorded occurrences of %d streets: %w", len(ids), err)
		}
	}
	out := make(map[string]map[string]bool, len(ids))
	for st, l := range ids {
		out[st] = make(map[string]bool, len(l))
		for i, id := range l {
			out[st][id] = cmds[st][i].Val() == 1
		}
	}
	return out, nil
}

// Enqueue implements Outbox. Messages without Created get the clock's now; each is due
// at its Created. A message whose ID is still queued is replaced.
func (q *RedisOutbox) Enqueue(ctx context.Context, street string, msgs []OutMsg) error {
	wrap := func(err error) error { return fmt.Errorf("storage: enqueue in %s: %w", street, err) }
	if err := checkName("street", street); err != nil {
		return wrap(err)
	}
	if len(msgs) == 0 {
		return nil
	}
	msgs = append([]OutMsg(nil), msgs...)
	args, err := prepare(street, msgs, q.r.now(), "")
	if err != nil {
		return wrap(err)
	}
	k := q.r.k
	// The call's token: what it queues. A re-sent copy has the same messages, ids and all.
	h := sha1.New()
	for i := 2; i < len(args); i += 4 {
		h.Write(args[i].([]byte))
		h.Write([]byte{0})
	}
	token := hex.EncodeToString(h.Sum(nil))
	// The loop of enqueueLua starts at ARGV[3], after the occurrence arguments.
	args = append([]any{"", enqueueTokenTTL.Milliseconds()}, args...)
	err = enqueueScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street), k.outOrder(street), k.outEnq(street, token)}, args...).Err()
	if err != nil {
		return wrap(err)
	}
	return q.hinted(ctx, street, earliest(msgs, q.r.now()), nil)
}

// earliest is when the first of msgs is due: its Created (or, without one, dflt).
func earliest(msgs []OutMsg, dflt time.Time) time.Time {
	at := dflt
	for _, m := range msgs {
		if !m.Created.IsZero() && m.Created.Before(at) {
			at = m.Created
		}
	}
	return at
}

// scheduledLua defines scheduled(m): whether a decoded message was queued by a scheduled
// reminder (its occurrence is set). Those are held while the street is paused.
const scheduledLua = `
local function scheduled(m)
  return type(m) == 'table' and type(m.occurrence) == 'string' and m.occurrence ~= ''
end
`

// KEYS q, msg, order, paused
// ARGV now ms, lease end ms, n, page size
// Returns the JSON of up to n due messages and moves them to the lease end. It goes
// through the due ids by due time, then id, and takes one only if it is the first queued
// message of its group; having taken it, it takes the group's next messages in queue
// order for as long as they are due. While the street is paused (KEYS[4] exists) a
// scheduled reminder is held: never taken, and passed over when finding a group's first
// message, so it does not hold up the group's other messages.
var claimScript = redis.NewScript(scheduledLua + `
local now, n, page = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local hold = redis.call('EXISTS', KEYS[4]) == 1
local ids, out, taken, orphans, heads = {}, {}, {}, {}, {}
local function take(id, js)
  taken[id] = true
  ids[#ids+1] = id
  out[#out+1] = js
end
-- held tells whether a message is held: the street is paused and it is a scheduled reminder.
local function held(js)
  if not hold then return false end
  local ok, m = pcall(cjson.decode, js)
  return ok and scheduled(m)
end
-- head returns the first queued id of chat that is not held, dropping order members left
-- without a message. It does not change during a call (taken messages stay queued).
local function head(chat)
  if heads[chat] ~= nil then return heads[chat] end
  local off = 0
  while true do
    local h = redis.call('ZRANGEBYLEX', KEYS[3], '[' .. chat .. '\n', '(' .. chat .. '\11', 'LIMIT', off, 1)
    if #h == 0 then heads[chat] = false; return false end
    local hid = string.sub(h[1], #chat + 2)
    local js = redis.call('HGET', KEYS[2], hid)
    if not js then
      redis.call('ZREM', KEYS[3], h[1])
    elseif held(js) then
      off = off + 1
    else
      heads[chat] = hid
      return hid
    end
  end
end
local off = 0
while #out < n do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', off, page)
  for _, id in ipairs(due) do
    if #out >= n then break end
    local js = not taken[id] and redis.call('HGET', KEYS[2], id)
    if not taken[id] and not js then
      orphans[#orphans+1] = id
    elseif js then
      local ok, m = pcall(cjson.decode, js)
      local chat = ok and type(m) == 'table' and m.chatid
      if type(chat) == 'string' and not (hold and scheduled(m)) and head(chat) == id then
        take(id, js)
        -- The group's next messages, in queue order, while due (held ones passed over).
        local from, more = '(' .. chat .. '\n' .. id, true
        while more and #out < n do
          local rest = redis.call('ZRANGEBYLEX', KEYS[3], from, '(' .. chat .. '\11', 'LIMIT', 0, page)
          more = #rest == page
          for _, member in ipairs(rest) do
            from = '(' .. member
            local nid = string.sub(member, #chat + 2)
            local njs = redis.call('HGET', KEYS[2], nid)
            if not njs or not held(njs) then
              local score = redis.call('ZSCORE', KEYS[1], nid)
              if not score or tonumber(score) > now or not njs then more = false; break end
              take(nid, njs)
              if #out >= n then more = false; break end
            end
          end
        end
      end
    end
  end
  if #due < page then break end
  off = off + page
end
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
for _, id in ipairs(orphans) do
  redis.call('ZREM', KEYS[1], id)
end
return out
`)

// Claim implements Outbox. Only the first queued message of a group can be handed out,
// or the next ones with it in the same call, so a group's messages go out in queue order.
// While the street is paused (SetPaused), its scheduled reminders (Occurrence set: queued
// by EnqueueOnce) are held: not handed out, and not in the way of the group's other
// messages (answers, 催一下, notices), which go out in their order. A held reminder keeps
// its place: on 恢复提醒 it goes out before the group's messages queued after it.
func (q *RedisOutbox) Claim(ctx context.Context, street string, now time.Time, n int, lease time.Duration) ([]OutMsg, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: claim from %s: %w", street, err) }
	if err := checkName("street", street); err != nil {
		return nil, wrap(err)
	}
	if n <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, wrap(fmt.Errorf("lease %v is not positive", lease))
	}
	k := q.r.k
	l, err := claimScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street), k.outOrder(street), k.paused(street)},
		now.UnixMilli(), now.Add(lease).UnixMilli(), n, claimPage).StringSlice()
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]OutMsg, len(l))
	for i, js := range l {
		if err := json.Unmarshal([]byte(js), &out[i]); err != nil {
			return nil, wrap(fmt.Errorf("decode: %w", err))
		}
	}
	return out, nil
}

// takeOutLua removes message ARGV[1] from the queue (KEYS q, msg, order; ARGV[4] its
// order member) if its JSON is still ARGV[2]: it returns -1 from the script if the
// message is no longer queued, 0 if its JSON changed meanwhile.
const takeOutLua = `
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[4])
`

// KEYS q, msg, order, list
// ARGV id, expected JSON, final JSON, order member, list cap
// Returns -1 if the message is no longer queued, 0 if its JSON changed meanwhile, else 1.
var finishScript = redis.NewScript(takeOutLua + `
redis.call('LPUSH', KEYS[4], ARGV[3])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
return 1
`)

// KEYS q, msg
// ARGV id, expected JSON, new JSON, due ms
// Returns -1 if the message is no longer queued, 0 if its JSON changed meanwhile, else 1.
var retryScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1
`)

// update reads message id, lets change edit it, and runs script with the expected and
// new JSON; a message that is no longer queued is left alone (no error).
func (q *RedisOutbox) update(ctx context.Context, street, id string, change func(*OutMsg), run func(cur, next []byte, m OutMsg) (int, error)) error {
	if err := errors.Join(checkName("street", street), checkName("message id", id)); err != nil {
		return err
	}
	for range maxRetries {
		cur, err := q.r.c.HGet(ctx, q.r.k.outMsg(street), id).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		var m OutMsg
		if err := json.Unmarshal([]byte(cur), &m); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		change(&m)
		next, err := json.Marshal(m)
		if err != nil {
			return err
		}
		res, err := run([]byte(cur), next, m)
		if err != nil {
			return err
		}
		if res != 0 {
			return nil
		}
		// Retried by someone else in between: read again.
	}
	return errors.New("too much contention, gave up")
}

func (q *RedisOutbox) finish(ctx context.Context, street, id string, list string, limit int, change func(*OutMsg)) error {
	k := q.r.k
	return q.update(ctx, street, id, change, func(cur, next []byte, m OutMsg) (int, error) {
		return finishScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street), k.outOrder(street), list},
			id, cur, next, orderMember(m), limit).Int()
	})
}

// Ack implements Outbox: the message, with Done = at, goes to the sent list (the latest
// 200 are kept). An id that is no longer queued is ignored.
func (q *RedisOutbox) Ack(ctx context.Context, street, id string, at time.Time) error {
	err := q.finish(ctx, street, id, q.r.k.outSent(street), sentCap, func(m *OutMsg) { m.Done = at })
	if err != nil {
		return fmt.Errorf("storage: ack %s/%s: %w", street, id, err)
	}
	return nil
}

// Retry implements Outbox: the message is due again at at. With errText "" the attempt
// is not counted and LastError is kept (the delivery was only deferred, e.g. by the rate
// limit). An id that is no longer queued is ignored.
func (q *RedisOutbox) Retry(ctx context.Context, street, id string, at time.Time, errText string) error {
	k := q.r.k
	err := q.update(ctx, street, id, func(m *OutMsg) {
		if errText != "" {
			m.Attempts++
			m.LastError = errText
		}
	}, func(cur, next []byte, _ OutMsg) (int, error) {
		return retryScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street)}, id, cur, next, at.UnixMilli()).Int()
	})
	if err != nil {
		return fmt.Errorf("storage: retry %s/%s: %w", street, id, err)
	}
	return q.hinted(ctx, street, at, nil)
}

// Fail implements Outbox: the message, with Done = at and LastError = errText (when not
// empty), goes to the failures list (the latest 200 are kept); Attempts is left as it
// is. An id that is no longer queued is ignored.
func (q *RedisOutbox) Fail(ctx context.Context, street, id string, at time.Time, errText string) error {
	err := q.finish(ctx, street, id, q.r.k.outFailed(street), failedCap, func(m *OutMsg) {
		m.Done = at
		if errText != "" {
			m.LastError = errText
		}
	})
	if err != nil {
		return fmt.Errorf("storage: fail %s/%s: %w", street, id, err)
	}
	return nil
}

// lrange returns the first n elements of a list (all when n <= 0).
func lrange(ctx context.Context, c redis.UniversalClient, key string, n int) ([]string, error) {
	stop := int64(n) - 1
	if n <= 0 {
		stop = -1
	}
	return c.LRange(ctx, key, 0, stop).Result()
}

func (q *RedisOutbox) list(ctx context.Context, street, key, what string, n int) ([]OutMsg, error) {
	l, err := lrange(ctx, q.r.c, key, n)
	if err != nil {
		return nil, fmt.Errorf("storage: %s of %s: %w", what, street, err)
	}
	out := make([]OutMsg, len(l))
	for i, js := range l {
		if err := json.Unmarshal([]byte(js), &out[i]); err != nil {
			return nil, fmt.Errorf("storage: %s of %s: decode: %w", what, street, err)
		}
	}
	return out, nil
}

// Failures implements Outbox, newest first. n <= 0 means all that are kept.
func (q *RedisOutbox) Failures(ctx context.Context, street string, n int) ([]OutMsg, error) {
	return q.list(ctx, street, q.r.k.outFailed(street), "failures", n)
}

// Sent implements Outbox, newest first. n <= 0 means all that are kept.
func (q *RedisOutbox) Sent(ctx context.Context, street string, n int) ([]OutMsg, error) {
	return q.list(ctx, street, q.r.k.outSent(street), "sent messages", n)
}

// Pending implements Outbox: queued messages, due or not, claimed or not.
func (q *RedisOutbox) Pending(ctx context.Context, street string) (int, error) {
	n, err := q.r.c.ZCard(ctx, q.r.k.outQ(street)).Result()
	if err != nil {
		return 0, fmt.Errorf("storage: pending of %s: %w", street, err)
	}
	return int(n), nil
}

// KEYS one slot key per window
// ARGV now ms, n, force (1|0), member prefix, then per window: per ms, limit
// Returns {1, 0} when the n sends were recorded, else {0, the ms when every window has
// room for them}.
var takeSlotsScript = redis.NewScript(`
local now, n, force = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local free = 0
for i = 1, #KEYS do
  local per, lim = tonumber(ARGV[3 + 2*i]), tonumber(ARGV[4 + 2*i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - per)
  local c = redis.call('ZCARD', KEYS[i])
  if c + n > lim then
    local e = redis.call('ZRANGE', KEYS[i], c + n - lim - 1, c + n - lim - 1, 'WITHSCORES')
    local at = tonumber(e[2]) + per
    if at > free then free = at end
  end
end
if free > 0 and not force then
  return {0, free}
end
for i = 1, #KEYS do
  for j = 1, n do
    redis.call('ZADD', KEYS[i], now, ARGV[4] .. ':' .. j)
  end
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + 2*i]))
end
return {1, 0}
`)

// TakeSlots implements Outbox. A send at time t counts while now < t+per, so when a
// window is full the returned time is when enough of its sends have left it.
func (q *RedisOutbox) TakeSlots(ctx context.Context, street, bucket string, now time.Time, n int, windows []Window, force bool) (bool, time.Time, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: take %d slots %s/%s: %w", n, street, bucket, err) }
	if err := errors.Join(checkName("street", street), checkName("bucket", bucket)); err != nil {
		return false, time.Time{}, wrap(err)
	}
	if n <= 0 || len(windows) == 0 {
		return false, time.Time{}, wrap(fmt.Errorf("n %d and %d windows: want both positive", n, len(windows)))
	}
	keys := make([]string, len(windows))
	var b [8]byte
	_, _ = rand.Read(b[:])
	args := []any{now.UnixMilli(), n, 0, fmt.Sprintf("%013d-%s", now.UnixMilli(), hex.EncodeToString(b[:]))}
	if force {
		args[2] = 1
	}
	for i, w := range windows {
		if w.N <= 0 || w.Per < time.Millisecond {
			return false, time.Time{}, wrap(fmt.Errorf("limit %d per %v is not positive", w.N, w.Per))
		}
		if n > w.N && !force {
			return false, time.Time{}, wrap(fmt.Errorf("%d sends can never fit a window of %d", n, w.N))
		}
		keys[i] = q.r.k.outSlot(street, bucket, w.Per)
		args = append(args, w.Per.Milliseconds(), w.N)
	}
	res, err := takeSlotsScript.Run(ctx, q.r.c, keys, args...).Int64Slice()
	if err != nil {
		return false, time.Time{}, wrap(err)
	}
	if len(res) != 2 {
		return false, time.Time{}, wrap(fmt.Errorf("unexpected answer %v", res))
	}
	if res[0] == 1 {
		return true, time.Time{}, nil
	}
	return false, time.UnixMilli(res[1]), nil
}

// KEYS one slot key per window
// ARGV at ms, n
// Removes up to n sends recorded at at from each window.
var returnSlotsScript = redis.NewScript(`
local at, n = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  local m = redis.call('ZRANGEBYSCORE', KEYS[i], at, at, 'LIMIT', 0, n)
  if #m > 0 then
    redis.call('ZREM', KEYS[i], unpack(m))
  end
end
return 1
`)

// ReturnSlots implements Outbox. Sends recorded at the same time are alike, so it
// removes any n of them: the windows then count as if the push had not been tried.
func (q *RedisOutbox) ReturnSlots(ctx context.Context, street, bucket string, at time.Time, n int, windows []Window) error {
	wrap := func(err error) error { return fmt.Errorf("storage: return %d slots %s/%s: %w", n, street, bucket, err) }
	if err := errors.Join(checkName("street", street), checkName("bucket", bucket)); err != nil {
		return wrap(err)
	}
	if n <= 0 || len(windows) == 0 {
		return wrap(fmt.Errorf("n %d and %d windows: want both positive", n, len(windows)))
	}
	keys := make([]string, len(windows))
	for i, w := range windows {
		keys[i] = q.r.k.outSlot(street, bucket, w.Per)
	}
	if err := returnSlotsScript.Run(ctx, q.r.c, keys, at.UnixMilli(), n).Err(); err != nil {
		return wrap(err)
	}
	return nil
}

// KEYS q, msg, order
// ARGV id, expected JSON, due ms, its order member, then per part: id, JSON, order member
// Returns -1 if the message is no longer queued, 0 if its JSON changed meanwhile, else 1.
var splitScript = redis.NewScript(takeOutLua + `
for i = 5, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
  redis.call('ZADD', KEYS[3], 0, ARGV[i+2])
end
return 1
`)

// Split implements Outbox. Part i (from 1) gets the id "<id>/<i, 4 digits>", which sorts
// right after id and before the group's next message, the message's street, chat,
// occurrence and Created, and Part "i/n"; its Via, text, markdown and mentions are the
// part's own.
func (q *RedisOutbox) Split(ctx context.Context, street, id string, parts []OutMsg, due time.Time) error {
	if len(parts) == 0 || len(parts) > 9999 {
		return fmt.Errorf("storage: split %s/%s: %d parts", street, id, len(parts))
	}
	k := q.r.k
	err := q.update(ctx, street, id, func(*OutMsg) {}, func(cur, _ []byte, m OutMsg) (int, error) {
		args := []any{id, cur, due.UnixMilli(), orderMember(m)}
		for i, p := range parts {
			p.ID = fmt.Sprintf("%s/%04d", id, i+1)
			p.Street, p.ChatID, p.Occurrence, p.Created = m.Street, m.ChatID, m.Occurrence, m.Created
			p.Part = fmt.Sprintf("%d/%d", i+1, len(parts))
			p.Attempts, p.LastError, p.Done = 0, "", time.Time{}
			if strings.TrimSpace(p.Text) == "" && strings.TrimSpace(p.Markdown) == "" {
				return 0, fmt.Errorf("part %d has no text and no markdown", i+1)
			}
			js, err := json.Marshal(p)
			if err != nil {
				return 0, err
			}
			args = append(args, p.ID, js, orderMember(p))
		}
		return splitScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street), k.outOrder(street)}, args...).Int()
	})
	if err != nil {
		return fmt.Errorf("storage: split %s/%s: %w", street, id, err)
	}
	return q.hinted(ctx, street, due, nil)
}

// pauseState is the value of P{st}:paused.
type pauseState struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// SetPaused implements Outbox.
func (q *RedisOutbox) SetPaused(ctx context.Context, street string, paused bool, by string, at time.Time) error {
	wrap := func(err error) error { return fmt.Errorf("storage: pause %s: %w", street, err) }
	if err := checkName("street", street); err != nil {
		return wrap(err)
	}
	key := q.r.k.paused(street)
	if !paused {
		if err := q.r.c.Del(ctx, key).Err(); err != nil {
			return wrap(err)
		}
		return q.hinted(ctx, street, at, nil) // what waited while paused goes out now
	}
	js, err := json.Marshal(pauseState{By: by, At: at})
	if err != nil {
		return wrap(err)
	}
	if err := q.r.c.Set(ctx, key, js, 0).Err(); err != nil {
		return wrap(err)
	}
	return nil
}

// Paused implements Outbox.
func (q *RedisOutbox) Paused(ctx context.Context, street string) (bool, error) {
	n, err := q.r.c.Exists(ctx, q.r.k.paused(street)).Result()
	if err != nil {
		return false, fmt.Errorf("storage: paused %s: %w", street, err)
	}
	return n == 1, nil
}
