package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The due-queue: one sorted set Pout:due for all streets, street → the earliest time
// something of its outbox may be due. A deliverer asks it which streets have anything due
// now (one command, whatever the number of streets) instead of asking every street every
// second. It is a hint kept next to the outbox, not part of it (Cluster: the streets'
// keys are in other slots): writers lower a street's time after queueing (ZADD LT), the
// deliverer sets it from the outbox's head after a pass, and a periodic sweep over every
// street (SweepDue, one pipeline) repairs whatever a crash between the two steps, or a
// deliverer that died holding a claim, left behind.

// hintDue lowers street's due time to at (or adds it).
func (q *RedisOutbox) hintDue(ctx context.Context, street string, at time.Time) error {
	err := q.r.c.ZAddLT(ctx, q.r.k.outDue(), redis.Z{Score: float64(at.UnixMilli()), Member: street}).Err()
	if err != nil {
		return fmt.Errorf("storage: due-queue hint for %s: %w", street, err)
	}
	return nil
}

// DueStreets returns the streets whose outbox may have something due by now.
func (q *RedisOutbox) DueStreets(ctx context.Context, now time.Time) ([]string, error) {
	out, err := q.r.c.ZRangeByScore(ctx, q.r.k.outDue(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: due streets: %w", err)
	}
	return out, nil
}

// SweepDue repairs the due-queue for streets from their outboxes: each street whose
// first queued message (due, retried or claimed by a deliverer that may have died) is
// due earlier than the due-queue says is moved up to it. One pipeline reads every
// street's head and one command writes what needs writing, however many streets.
func (q *RedisOutbox) SweepDue(ctx context.Context, streets []string) error {
	if len(streets) == 0 {
		return nil
	}
	heads := make([]*redis.ZSliceCmd, len(streets))
	_, err := q.r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range streets {
			heads[i] = p.ZRangeWithScores(ctx, q.r.k.outQ(st), 0, 0)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: sweep the due-queue of %d streets: %w", len(streets), err)
	}
	var due []redis.Z
	for i, st := range streets {
		if zs := heads[i].Val(); len(zs) > 0 {
			due = append(due, redis.Z{Score: zs[0].Score, Member: st})
		}
	}
	if len(due) == 0 {
		return nil
	}
	if err := q.r.c.ZAddLT(ctx, q.r.k.outDue(), due...).Err(); err != nil {
		return fmt.Errorf("storage: sweep the due-queue of %d streets: %w", len(streets), err)
	}
	return nil
}

// head is the due time of street's first queued message (ok false when none).
func (q *RedisOutbox) head(ctx context.Context, street string) (float64, bool, error) {
	zs, err := q.r.c.ZRangeWithScores(ctx, q.r.k.outQ(street), 0, 0).Result()
	if err != nil {
		return 0, false, err
	}
	if len(zs) == 0 {
		return 0, false, nil
	}
	return zs[0].Score, true, nil
}

// KEYS q, msg
// ARGV recheck ms, page size
// Returns the due time of a paused street (false when nothing is queued): its first
// message that is not held (not a scheduled reminder, see Claim) when due before recheck,
// else the later of its first message and recheck.
var pausedHeadScript = redis.NewScript(scheduledLua + `
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
local h, recheck, page = tonumber(first[2]), tonumber(ARGV[1]), tonumber(ARGV[2])
if h >= recheck then return first[2] end
local off = 0
while true do
  local l = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', off, page)
  for i = 1, #l, 2 do
    local js = redis.call('HGET', KEYS[2], l[i])
    if js then
      local ok, m = pcall(cjson.decode, js)
      if not (ok and scheduled(m)) then return l[i+1] end
    end
  end
  if #l < 2 * page then break end
  off = off + page
end
return ARGV[1]
`)

// dueOf is the time street should have in the due-queue (ok false: none): its first
// queued message's due time; while paused, the first message the street's held reminders
// do not hold back, or, for those, no sooner than recheck.
func (q *RedisOutbox) dueOf(ctx context.Context, street string, paused bool, recheck time.Time) (float64, bool, error) {
	if !paused {
		return q.head(ctx, street)
	}
	k := q.r.k
	s, err := pausedHeadScript.Run(ctx, q.r.c, []string{k.outQ(street), k.outMsg(street)}, recheck.UnixMilli(), claimPage).Text()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("due time %q: %w", s, err)
	}
	return f, true, nil
}

// SettleDue sets street's due time from its outbox after a pass: its first message's due
// time, or none. A paused street's held reminders (see Claim) are looked at again after
// recheck; its other messages when they are due. It reads the due time again after
// writing, so a message queued meanwhile is never left without a due time.
func (q *RedisOutbox) SettleDue(ctx context.Context, street string, paused bool, now time.Time, recheck time.Duration) error {
	wrap := func(err error) error { return fmt.Errorf("storage: settle due time of %s: %w", street, err) }
	key := q.r.k.outDue()
	h1, ok1, err := q.dueOf(ctx, street, paused, now.Add(recheck))
	if err != nil {
		return wrap(err)
	}
	if ok1 {
		err = q.r.c.ZAdd(ctx, key, redis.Z{Score: h1, Member: street}).Err()
	} else {
		err = q.r.c.ZRem(ctx, key, street).Err()
	}
	if err != nil {
		return wrap(err)
	}
	h2, ok2, err := q.dueOf(ctx, street, paused, now.Add(recheck))
	if err != nil {
		return wrap(err)
	}
	if ok2 && (!ok1 || h2 < h1) {
		if err := q.r.c.ZAddLT(ctx, key, redis.Z{Score: h2, Member: street}).Err(); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// hinted tells the due-queue about a successful write. The write stands whatever the
// hint does: a hint lost to a Redis error delays the message until the deliverers' next
// sweep over every street, never loses it.
func (q *RedisOutbox) hinted(ctx context.Context, street string, at time.Time, err error) error {
	if err != nil {
		return err
	}
	_ = q.hintDue(ctx, street, at)
	return nil
}
