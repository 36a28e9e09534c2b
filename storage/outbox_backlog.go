package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Backlog is what waits in a street's outbox for one group (for metrics and the chat
// page's notice of pushes held back by the rate limit).
type Backlog struct {
	Pending int       // queued messages of the group, due or not, claimed or not
	Oldest  time.Time // Created of the group's first message in queue order; zero when none
	// Due is when that first message may go out next: later than now while it waits for
	// the rate limit or a retry (or is claimed, until its lease ends). Zero when none.
	Due time.Time
	// Attempts counts the first message's failed pushes (a deferral by the rate limit is
	// not one): above 0 it waits for a retry after an error.
	Attempts int
}

// Backlogs reads, for each of chats, how many messages wait in the street's outbox, since
// when and until when the first of them waits. It only reads, in two round trips: per
// group a ZLEXCOUNT and the head of P{st}:out:order, then one HMGET and one ZMSCORE of
// the heads. Every chat is in the result; one with nothing queued has a zero Backlog. An
// order member left behind by a vanished message (Claim drops those as it meets them) is
// counted until then.
func (q *RedisOutbox) Backlogs(ctx context.Context, street string, chats []string) (map[string]Backlog, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: outbox backlog of %s: %w", street, err) }
	if err := checkName("street", street); err != nil {
		return nil, wrap(err)
	}
	out := make(map[string]Backlog, len(chats))
	if len(chats) == 0 {
		return out, nil
	}
	order := q.r.k.outOrder(street)
	counts := make([]*redis.IntCmd, len(chats))
	heads := make([]*redis.StringSliceCmd, len(chats))
	_, err := q.r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, chat := range chats {
			// The group's members are "<chat>\n<id>": from "<chat>\n" up to "<chat>\v".
			lo, hi := "["+chat+"\n", "("+chat+"\v"
			counts[i] = p.ZLexCount(ctx, order, lo, hi)
			heads[i] = p.ZRangeByLex(ctx, order, &redis.ZRangeBy{Min: lo, Max: hi, Count: 1})
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	var ids, idChats []string
	for i, chat := range chats {
		out[chat] = Backlog{Pending: int(counts[i].Val())}
		if h := heads[i].Val(); len(h) == 1 {
			ids = append(ids, h[0][len(chat)+1:])
			idChats = append(idChats, chat)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var get *redis.SliceCmd
	var dues *redis.FloatSliceCmd
	_, err = q.r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HMGet(ctx, q.r.k.outMsg(street), ids...)
		dues = p.ZMScore(ctx, q.r.k.outQ(street), ids...)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	msgs, due := get.Val(), dues.Val()
	for i, v := range msgs {
		js, ok := v.(string)
		if !ok {
			continue // the head's message vanished meanwhile
		}
		var m OutMsg
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			return nil, wrap(fmt.Errorf("decode %s: %w", ids[i], err))
		}
		b := out[idChats[i]]
		b.Oldest, b.Attempts = m.Created, m.Attempts
		if i < len(due) && due[i] > 0 {
			b.Due = time.UnixMilli(int64(due[i]))
		}
		out[idChats[i]] = b
	}
	return out, nil
}
