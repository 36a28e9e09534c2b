package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limits cap what grows with every filing. The history of each item and the undo list
// of each community are trimmed as filings are saved (the newest are kept); the audit
// stream of a street is moved, oldest first, into an archive file on disk by
// ArchiveEvents, never simply cut.
type Limits struct {
	History int // filings kept per community and item (the current one included)
	Undo    int // 撤销 steps kept per community; less than History
	Audit   int // events kept in Redis per street; older ones are archived
}

// DefaultLimits are far above what one campaign produces (13 items, a few filings
// each), so nothing a street office looks at is ever trimmed.
var DefaultLimits = Limits{History: 50, Undo: 20, Audit: 20000}

// MinAudit is the fewest events a street keeps in Redis: a whole campaign's worth for
// a street of a few dozen communities.
const MinAudit = 1000

// Validate checks the limits make sense together.
func (l Limits) Validate() error {
	switch {
	case l.History < 2:
		return fmt.Errorf("history limit %d: keep at least 2 filings per item", l.History)
	case l.Undo < 1 || l.Undo >= l.History:
		return fmt.Errorf("undo limit %d: at least 1 and less than the history limit (%d), so every 撤销 finds the value before", l.Undo, l.History)
	case l.Audit < MinAudit:
		return fmt.Errorf("audit limit %d: keep at least %d events per street in Redis", l.Audit, MinAudit)
	}
	return nil
}

// SetLimits replaces r's limits (DefaultLimits until then).
func (r *Redis) SetLimits(l Limits) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	r.limits = l
	return nil
}

// capListLua defines cap_list(key, n), which keeps the newest n elements of a list that
// grows at its head (LPUSH) and returns the ones it dropped, and drop_texts(textKey,
// item, dropped), which removes the long texts of dropped history versions. Scripts that
// grow such a list start with it and call them right after the push, with the limit
// passed as an argument.
const capListLua = `
local function cap_list(key, n)
  n = tonumber(n)
  if not n or n <= 0 then
    return {}
  end
  local dropped = redis.call('LRANGE', key, n, -1)
  if #dropped > 0 then
    redis.call('LTRIM', key, 0, n - 1)
  end
  return dropped
end
local function drop_texts(textKey, item, dropped)
  for _, js in ipairs(dropped) do
    local ok, f = pcall(cjson.decode, js)
    if ok and type(f) == 'table' and type(f.v) == 'string' and f.v ~= '' then
      redis.call('HDEL', textKey, item .. '@' .. f.v)
    end
  end
end
`

// archivedEvent is one line of an audit archive file: the stream entry as it was.
type archivedEvent struct {
	ID     string            `json:"id"`
	Fields map[string]string `json:"fields"`
}

// ArchiveEvents moves the oldest events of street's audit stream beyond the newest
// r's Audit limit into dir/<street>.jsonl (one JSON object a line: the entry id and its
// fields), syncs the file, and only then deletes those entries from Redis. A crash in
// between archives them again next time: an id can appear twice in the file, never
// be missing. It returns how many events were moved.
func (r *Redis) ArchiveEvents(ctx context.Context, street, dir string) (int, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: archive events of %s: %w", street, err) }
	if err := checkName("street", street); err != nil || strings.ContainsAny(street, `/\`) || street == "." || street == ".." {
		return 0, wrap(fmt.Errorf("street %q cannot name a file", street))
	}
	keep := int64(r.limits.Audit)
	key := r.k.log(street)
	n, err := r.c.XLen(ctx, key).Result()
	if err != nil {
		return 0, wrap(err)
	}
	if n <= keep {
		return 0, nil
	}
	excess := n - keep
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, wrap(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, street+".jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return 0, wrap(err)
	}
	defer f.Close()
	moved := 0
	for start := "-"; excess > 0; {
		batch := min(excess, 500)
		msgs, err := r.c.XRangeN(ctx, key, start, "+", batch).Result()
		if err != nil {
			return moved, wrap(err)
		}
		if len(msgs) == 0 {
			break
		}
		var lines []byte
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ev := archivedEvent{ID: m.ID, Fields: map[string]string{}}
			for k, v := range m.Values {
				ev.Fields[k], _ = v.(string)
			}
			js, err := json.Marshal(ev)
			if err != nil {
				return moved, wrap(err)
			}
			lines = append(append(lines, js...), '\n')
			ids[i] = m.ID
		}
		if _, err := f.Write(lines); err != nil {
			return moved, wrap(err)
		}
		if err := f.Sync(); err != nil {
			return moved, wrap(err)
		}
		if err := r.c.XDel(ctx, key, ids...).Err(); err != nil {
			return moved, wrap(err)
		}
		moved += len(msgs)
		excess -= int64(len(msgs))
		start = "(" + msgs[len(msgs)-1].ID
	}
	return moved, nil
}

// ReadArchivedEvents reads street's audit archive in dir, oldest first, each id once.
func ReadArchivedEvents(dir, street string) ([]Event, error) {
	data, err := os.ReadFile(filepath.Join(dir, street+".jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: audit archive of %s: %w", street, err)
	}
	var out []Event
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		var ev archivedEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			return out, fmt.Errorf("storage: audit archive of %s: line %d: %w", street, i+1, err)
		}
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		values := make(map[string]any, len(ev.Fields))
		for k, v := range ev.Fields {
			values[k] = v
		}
		e, err := decodeEvent(redis.XMessage{ID: ev.ID, Values: values})
		if err != nil {
			return out, fmt.Errorf("storage: audit archive of %s: line %d: %w", street, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// ArchiveAudit archives the audit streams of streets every interval until ctx ends
// (run it under Lead, so one replica writes the archive).
func (r *Redis) ArchiveAudit(ctx context.Context, streets []string, dir string, interval time.Duration, log *slog.Logger) error {
	for {
		for _, st := range streets {
			n, err := r.ArchiveEvents(ctx, st, dir)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error("audit: archiving old events failed; they stay in Redis", "street", st, "err", err)
			case n > 0:
				log.Info("audit: old events moved to the archive file", "street", st, "events", n, "dir", dir)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
