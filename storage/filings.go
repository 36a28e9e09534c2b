package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// Filings stores what communities file, the office's reviews, and the history of both.
// A community's record is read whole (Record) or, for a street, incrementally: Records
// reads again only the communities changed since the caller's process last read them,
// so answering 进度 costs one round trip when nothing changed.
type Filings interface {
	// Save stores f as the community's current value of f.Item, appends it to the
	// history and to the community's undo list, and logs it, in one atomic step. f.Text
	// (a long text) is kept apart from the compact value; f.Raw goes to the audit trail.
	Save(ctx context.Context, f campaign.Filing) error
	// SaveAnswered is Save for a filing whose answer is known before it is stored: the
	// answer is kept with the version's mark, and the same version saved again (the same
	// message handled again) gets it back in a *FiledBefore, so that every handling of
	// one message answers as the first did without a record of its own. notice (may be
	// "") is the office's notice the saving owes; it comes back with the answer, for a
	// handling that finds it not queued yet (NoticeQueued).
	SaveAnswered(ctx context.Context, f campaign.Filing, answer, notice string) error
	// NoticeQueued reports whether MarkNoticed was called for the version; MarkNoticed
	// records (for a day) that the office's notice about it is queued, so that the same
	// message handled again queues the notice only if the first handling did not.
	NoticeQueued(ctx context.Context, street, version string) (bool, error)
	MarkNoticed(ctx context.Context, street, version string) error
	// SaveReview stores the office's decision on one version of a filing (never undone
	// by 撤销), with raw as typed, in one atomic step.
	SaveReview(ctx context.Context, street, community string, rv campaign.Review, raw string) error
	// Undo takes back the community's most recent filing: the item reverts to its
	// previous value (or to nothing). It returns the filing taken back and the one now
	// current (nil if none). The undo itself is logged. token (the message's id) makes it
	// happen once: asked again with the same token, it answers what it did the first time
	// and takes back nothing more.
	Undo(ctx context.Context, street, community, by, token string, at time.Time) (undone campaign.Filing, current *campaign.Filing, err error)
	// LastUndoable returns the filing Undo would take back (ErrNothingToUndo if none).
	LastUndoable(ctx context.Context, street, community string) (campaign.Filing, error)
	// Record returns one community's record (its current filings, reviews, photo count).
	Record(ctx context.Context, street, community string) (*campaign.Record, error)
	// Records returns the record of every community of a street that has anything on
	// file. The result is shared and must not be modified.
	Records(ctx context.Context, street string) (map[string]*campaign.Record, error)
	// RecordsOf is Records for several streets (a district) in one round trip when nothing
	// changed, and one more for what did.
	RecordsOf(ctx context.Context, streets []string) (map[string]map[string]*campaign.Record, error)
	// Text returns the long text of one version of a filing ("" if none).
	Text(ctx context.Context, f campaign.Filing) (string, error)
	// History returns up to n past filings of one item, newest first (current included).
	History(ctx context.Context, street, community string, item campaign.Item, n int) ([]campaign.Filing, error)
}

var _ Filings = (*Redis)(nil)

// reviewField is the cur hash field of a review of one version: review:<item>@<stamp>.
func reviewField(item campaign.Item, stamp string) string {
	return "review:" + string(item) + "@" + stamp
}

func textField(item campaign.Item, stamp string) string { return string(item) + "@" + stamp }

// changed is the Lua fragment that records a change of community ARGV[n] in the
// street's change set: KEYS seq and changed are its last two keys.
const changedLua = `
local function changed(seqKey, changedKey, community)
  local v = redis.call('INCR', seqKey)
  redis.call('ZADD', changedKey, v, community)
end
`

// onceLua reads a once key's value, "<token>\n<answer>" (see saveScript).
const onceLua = `
local function once(key)
  local v = redis.call('GET', key)
  if not v then return nil, '' end
  local nl = string.find(v, '\n', 1, true)
  if not nl then return v, '' end
  return string.sub(v, 1, nl - 1), string.sub(v, nl + 1)
end
`

// KEYS cur, hist, undo, log, text, seq, changed, once
// ARGV item, filing JSON, community, by, at, raw, text field, text,
// history limit, undo limit (cap_list, drop_texts: caps.go), version, token, answer
// Returns {'saved', ”} or {'already', the answer kept by the first}. A version saved or
// held before (its once key) or already current is not saved again: a message WeCom
// sends again files once, whatever was filed or undone in between. The once key holds
// the token of the call that saved and the answer it was given: the same call re-sent
// by go-redis after a stall finds its own token and answers 'saved'.
var saveScript = redis.NewScript(changedLua + capListLua + onceLua + `
if ARGV[11] ~= '' then
  local tok, ans = once(KEYS[8])
  if tok == ARGV[12] then
    return {'saved', ''}
  elseif tok then
    return {'already', ans}
  end
  local cur = redis.call('HGET', KEYS[1], ARGV[1])
  if cur then
    local ok, f = pcall(cjson.decode, cur)
    if ok and type(f) == 'table' and f.v == ARGV[11] then
      return {'already', ''}
    end
  end
  redis.call('SET', KEYS[8], ARGV[12] .. '\n' .. ARGV[13], 'EX', 86400)
end
redis.call('LPUSH', KEYS[2], ARGV[2])
drop_texts(KEYS[5], ARGV[1], cap_list(KEYS[2], ARGV[9]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('LPUSH', KEYS[3], ARGV[1] .. '\n' .. ARGV[2])
cap_list(KEYS[3], ARGV[10])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[7], ARGV[8])
end
changed(KEYS[6], KEYS[7], ARGV[3])
redis.call('XADD', KEYS[4], '*', 'action', 'file', 'community', ARGV[3],
  'item', ARGV[1], 'by', ARGV[4], 'at', ARGV[5], 'raw', ARGV[6], 'filing', ARGV[2])
return {'saved', ''}
`)

// ErrFiledBefore matches the error (a *FiledBefore) that Save, SaveAnswered and Hold
// return when the filing's version was saved or held before: nothing changed, and what
// the first saving did (an office notice) must not be done again.
var ErrFiledBefore = errors.New("this version was filed before; nothing changed")

// FiledBefore is the error of a version saved or held before (see ErrFiledBefore).
type FiledBefore struct {
	// Answer is the answer the first saving was given (SaveAnswered), "" when none, and
	// Notice the office's notice it owed.
	Answer, Notice string
}

// noticeSep parts, in a once key, the answer kept from the notice owed.
const noticeSep = "\x1e"

// filedBefore is the FiledBefore of what a once key kept.
func filedBefore(kept string) *FiledBefore {
	answer, notice, _ := strings.Cut(kept, noticeSep)
	return &FiledBefore{Answer: answer, Notice: notice}
}

func (e *FiledBefore) Error() string        { return ErrFiledBefore.Error() }
func (e *FiledBefore) Is(target error) bool { return target == ErrFiledBefore }

// NoticeQueued implements Filings.
func (r *Redis) NoticeQueued(ctx context.Context, street, version string) (bool, error) {
	n, err := r.c.Exists(ctx, r.k.noticed(street, version)).Result()
	if err != nil {
		return false, fmt.Errorf("storage: notice of %s: %w", version, err)
	}
	return n == 1, nil
}

// MarkNoticed implements Filings.
func (r *Redis) MarkNoticed(ctx context.Context, street, version string) error {
	if err := r.c.Set(ctx, r.k.noticed(street, version), "1", 24*time.Hour).Err(); err != nil {
		return fmt.Errorf("storage: mark the notice of %s: %w", version, err)
	}
	return nil
}

// onceToken names one call that saves or holds a version (see saveScript).
func onceToken() string { return strconv.FormatUint(rand.Uint64(), 36) }

// Save implements Filings.
func (r *Redis) Save(ctx context.Context, f campaign.Filing) error {
	return r.SaveAnswered(ctx, f, "", "")
}

// SaveAnswered implements Filings.
func (r *Redis) SaveAnswered(ctx context.Context, f campaign.Filing, answer, notice string) error {
	if notice != "" {
		answer += noticeSep + notice
	}
	wrap := func(err error) error { return fmt.Errorf("storage: save filing %s/%s: %w", f.Community, f.Item, err) }
	if err := errors.Join(checkName("street", f.Street), checkName("community", f.Community), checkItem(f.Item)); err != nil {
		return wrap(err)
	}
	js, err := json.Marshal(f)
	if err != nil {
		return wrap(err)
	}
	field := ""
	if f.Text != "" {
		field = textField(f.Item, f.Stamp())
	}
	st, c := f.Street, f.Community
	res, err := saveScript.Run(ctx, r.c,
		[]string{r.k.cur(st, c), r.k.hist(st, c, f.Item), r.k.undo(st, c), r.k.log(st), r.k.text(st, c), r.k.seq(st), r.k.changed(st), r.k.once(st, f.Version)},
		string(f.Item), js, c, f.By, fmtAt(f.At), f.Raw, field, f.Text, r.limits.History, r.limits.Undo, f.Version, onceToken(), answer).StringSlice()
	if err != nil {
		return wrap(err)
	}
	if len(res) == 2 && res[0] == "already" {
		return wrap(filedBefore(res[1]))
	}
	return nil
}

// KEYS cur, log, seq, changed
// ARGV field, review JSON, community, item, by, at, raw
// A review already stored as it is (the JSON carries who and when) is its own earlier
// run, re-sent by go-redis after a stall: it is not stored and logged again.
var reviewScript = redis.NewScript(changedLua + `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return 'already'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
changed(KEYS[3], KEYS[4], ARGV[3])
return redis.call('XADD', KEYS[2], '*', 'action', 'review', 'community', ARGV[3],
  'item', ARGV[4], 'by', ARGV[5], 'at', ARGV[6], 'raw', ARGV[7], 'review', ARGV[2])
`)

// SaveReview implements Filings.
func (r *Redis) SaveReview(ctx context.Context, street, community string, rv campaign.Review, raw string) error {
	wrap := func(err error) error { return fmt.Errorf("storage: save review %s/%s: %w", community, rv.Item, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community), checkItem(rv.Item), checkName("reviewed version", rv.Of)); err != nil {
		return wrap(err)
	}
	js, err := json.Marshal(rv)
	if err != nil {
		return wrap(err)
	}
	err = reviewScript.Run(ctx, r.c, []string{r.k.cur(street, community), r.k.log(street), r.k.seq(street), r.k.changed(street)},
		reviewField(rv.Item, rv.Of), js, community, string(rv.Item), rv.By, fmtAt(rv.At), raw).Err()
	if err != nil {
		return wrap(err)
	}
	return nil
}

// KEYS cur, undo, hist, log, text, seq, changed, done (P{st}:undone:<token>)
// ARGV expected undo entry, item, undone filing JSON, community, by, at, text field, token
// Returns {0} if the undo list's head is no longer the expected entry, {2, record} if the
// token's undo was already done (record: "<undone JSON>\n<head JSON or empty>"), else
// {1, new head or an empty string}.
var undoScript = redis.NewScript(changedLua + `
if ARGV[8] ~= '' then
  local done = redis.call('GET', KEYS[8])
  if done then
    return {2, done}
  end
end
if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[1] then
  return {0}
end
redis.call('LPOP', KEYS[2])
redis.call('LREM', KEYS[3], 1, ARGV[3])
redis.call('HDEL', KEYS[5], ARGV[7])
local head = redis.call('LINDEX', KEYS[3], 0)
if head then
  redis.call('HSET', KEYS[1], ARGV[2], head)
else
  redis.call('HDEL', KEYS[1], ARGV[2])
  head = ''
end
changed(KEYS[6], KEYS[7], ARGV[4])
redis.call('XADD', KEYS[4], '*', 'action', 'undo', 'community', ARGV[4],
  'item', ARGV[2], 'by', ARGV[5], 'at', ARGV[6], 'filing', ARGV[3])
if ARGV[8] ~= '' then
  redis.call('SET', KEYS[8], ARGV[3] .. '\n' .. head, 'EX', 86400)
end
return {1, head}
`)

// lastUndoable reads the head of the undo list.
func (r *Redis) lastUndoable(ctx context.Context, street, community string) (entry string, f campaign.Filing, err error) {
	entry, err = r.c.LIndex(ctx, r.k.undo(street, community), 0).Result()
	if errors.Is(err, redis.Nil) {
		return "", f, ErrNothingToUndo
	}
	if err != nil {
		return "", f, err
	}
	_, js, ok := strings.Cut(entry, "\n")
	if !ok {
		return "", f, fmt.Errorf("malformed undo entry %q", entry)
	}
	f, err = decodeFiling(js)
	if err != nil {
		return "", f, fmt.Errorf("decode undone filing: %w", err)
	}
	return entry, f, nil
}

// LastUndoable implements Filings.
func (r *Redis) LastUndoable(ctx context.Context, street, community string) (campaign.Filing, error) {
	_, f, err := r.lastUndoable(ctx, street, community)
	if err != nil && !errors.Is(err, ErrNothingToUndo) {
		return f, fmt.Errorf("storage: last undoable of %s/%s: %w", street, community, err)
	}
	return f, err
}

// Undo implements Filings.
func (r *Redis) Undo(ctx context.Context, street, community, by, token string, at time.Time) (campaign.Filing, *campaign.Filing, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: undo %s/%s: %w", street, community, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community)); err != nil {
		return campaign.Filing{}, nil, wrap(err)
	}
	for range maxRetries {
		entry, undone, err := r.lastUndoable(ctx, street, community)
		if errors.Is(err, ErrNothingToUndo) {
			if token != "" {
				if f, cur, ok, err := r.undoneBefore(ctx, street, token); err != nil || ok {
					return f, cur, err
				}
			}
			return campaign.Filing{}, nil, err
		}
		if err != nil {
			return campaign.Filing{}, nil, wrap(err)
		}
		itemName, js, _ := strings.Cut(entry, "\n")
		item := campaign.Item(itemName)
		res, err := undoScript.Run(ctx, r.c,
			[]string{r.k.cur(street, community), r.k.undo(street, community), r.k.hist(street, community, item), r.k.log(street),
				r.k.text(street, community), r.k.seq(street), r.k.changed(street), r.k.undone(street, token)},
			entry, itemName, js, community, by, fmtAt(at), textField(item, undone.Stamp()), token).Slice()
		if err != nil {
			return campaign.Filing{}, nil, wrap(err)
		}
		if len(res) == 2 && res[0] == int64(2) {
			record, _ := res[1].(string)
			f, cur, err := decodeUndone(record)
			if err != nil {
				return campaign.Filing{}, nil, wrap(err)
			}
			return f, cur, nil
		}
		if len(res) == 0 || res[0] != int64(1) {
			continue // someone else undid or filed in between: read again
		}
		head, _ := res[1].(string)
		if head == "" {
			return undone, nil, nil
		}
		cur, err := decodeFiling(head)
		if err != nil {
			return undone, nil, wrap(fmt.Errorf("decode current filing: %w", err))
		}
		return undone, &cur, nil
	}
	return campaign.Filing{}, nil, wrap(errors.New("too much contention, gave up"))
}

// undoneBefore returns what the undo with token did, when it was done already.
func (r *Redis) undoneBefore(ctx context.Context, street, token string) (campaign.Filing, *campaign.Filing, bool, error) {
	record, err := r.c.Get(ctx, r.k.undone(street, token)).Result()
	if errors.Is(err, redis.Nil) {
		return campaign.Filing{}, nil, false, nil
	}
	if err != nil {
		return campaign.Filing{}, nil, false, fmt.Errorf("storage: undo %s: %w", token, err)
	}
	f, cur, err := decodeUndone(record)
	return f, cur, err == nil, err
}

// decodeUndone reads an undo's record: the filing taken back, then the one current after.
func decodeUndone(record string) (campaign.Filing, *campaign.Filing, error) {
	undoneJS, headJS, _ := strings.Cut(record, "\n")
	f, err := decodeFiling(undoneJS)
	if err != nil {
		return campaign.Filing{}, nil, fmt.Errorf("decode undone filing: %w", err)
	}
	if headJS == "" {
		return f, nil, nil
	}
	cur, err := decodeFiling(headJS)
	if err != nil {
		return f, nil, fmt.Errorf("decode current filing: %w", err)
	}
	return f, &cur, nil
}

// decodeRecord turns a cur hash and a photo count into a record.
func decodeRecord(m map[string]string, photos int64) (*campaign.Record, error) {
	rec := &campaign.Record{Filings: make(map[campaign.Item]*campaign.Filing, len(m)), Photos: int(photos)}
	for field, js := range m {
		if strings.HasPrefix(field, "review:") {
			var rv campaign.Review
			if err := json.Unmarshal([]byte(js), &rv); err != nil {
				return nil, fmt.Errorf("decode %s: %w", field, err)
			}
			rec.Reviews = append(rec.Reviews, rv)
			continue
		}
		if ok, err := decodeExemption(rec, field, js); ok || err != nil {
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", field, err)
			}
			continue
		}
		if rv, ok, err := legacyReview(field, js); ok || err != nil {
			if err != nil {
				return nil, fmt.Errorf("decode %s: %w", field, err)
			}
			rec.Reviews = append(rec.Reviews, rv)
			continue
		}
		f, err := decodeFiling(js)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", field, err)
		}
		rec.Filings[campaign.Item(field)] = &f
	}
	return rec, nil
}

// Record implements Filings.
func (r *Redis) Record(ctx context.Context, street, community string) (*campaign.Record, error) {
	var cur *redis.MapStringStringCmd
	var n *redis.IntCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		cur = p.HGetAll(ctx, r.k.cur(street, community))
		n = p.LLen(ctx, r.k.photos(street, community))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: record of %s/%s: %w", street, community, err)
	}
	rec, err := decodeRecord(cur.Val(), n.Val())
	if err != nil {
		return nil, fmt.Errorf("storage: record of %s/%s: %w", street, community, err)
	}
	return rec, nil
}

// streetSnap is one process's copy of a street's records as of seq. It is never modified
// once published; a newer read publishes a new one.
type streetSnap struct {
	seq     int64
	records map[string]*campaign.Record
}

// snapshots are the street snapshots this process holds.
type snapshots struct {
	mu sync.Mutex
	m  map[string]*streetSnap
}

func (s *snapshots) get(street string) *streetSnap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[street]
}

// put keeps snap unless a newer one is held.
func (s *snapshots) put(street string, snap *streetSnap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*streetSnap{}
	}
	if old := s.m[street]; old == nil || old.seq < snap.seq {
		s.m[street] = snap
	}
}

// Records implements Filings: it asks Redis which communities changed since this
// process's snapshot (one ZRANGEBYSCORE) and reads only those.
func (r *Redis) Records(ctx context.Context, street string) (map[string]*campaign.Record, error) {
	all, err := r.RecordsOf(ctx, []string{street})
	if err != nil {
		return nil, err
	}
	return all[street], nil
}

// RecordsOf implements Filings: one pipeline asks every street what changed since this
// process's snapshot of it, a second reads the changed communities of all of them.
func (r *Redis) RecordsOf(ctx context.Context, streets []string) (map[string]map[string]*campaign.Record, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: records of %d streets: %w", len(streets), err) }
	olds := make([]*streetSnap, len(streets))
	ranges := make([]*redis.ZSliceCmd, len(streets))
	changedSince := func(c redis.Cmdable, i int) {
		olds[i] = r.snaps.get(streets[i])
		from := "-inf"
		if olds[i] != nil {
			from = "(" + strconv.FormatInt(olds[i].seq, 10)
		}
		ranges[i] = c.ZRangeByScoreWithScores(ctx, r.k.changed(streets[i]), &redis.ZRangeBy{Min: from, Max: "+inf"})
	}
	var err error
	if len(streets) == 1 { // the common case, without a pipeline's bookkeeping
		changedSince(r.c, 0)
		err = ranges[0].Err()
	} else {
		_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range streets {
				changedSince(p, i)
			}
			return nil
		})
	}
	if err != nil {
		return nil, wrap(err)
	}
	type load struct {
		street, community string
		score             float64
		cur               *redis.MapStringStringCmd
		photos            *redis.IntCmd
	}
	var loads []load
	for i, st := range streets {
		for _, z := range ranges[i].Val() {
			c, _ := z.Member.(string)
			loads = append(loads, load{street: st, community: c, score: z.Score})
		}
	}
	if len(loads) > 0 {
		_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range loads {
				l := &loads[i]
				l.cur = p.HGetAll(ctx, r.k.cur(l.street, l.community))
				l.photos = p.LLen(ctx, r.k.photos(l.street, l.community))
			}
			return nil
		})
		if err != nil {
			return nil, wrap(err)
		}
	}
	out := make(map[string]map[string]*campaign.Record, len(streets))
	next := 0
	for i, st := range streets {
		old := olds[i]
		changed := ranges[i].Val()
		if old != nil && len(changed) == 0 {
			out[st] = old.records
			continue
		}
		snap := &streetSnap{records: make(map[string]*campaign.Record, len(changed))}
		if old != nil {
			snap.seq = old.seq
			snap.records = maps.Clone(old.records)
		}
		for range changed {
			l := loads[next]
			next++
			rec, err := decodeRecord(l.cur.Val(), l.photos.Val())
			if err != nil {
				return nil, wrap(fmt.Errorf("%s/%s: %w", st, l.community, err))
			}
			snap.records[l.community] = rec
			snap.seq = max(snap.seq, int64(l.score))
		}
		r.snaps.put(st, snap)
		out[st] = snap.records
	}
	return out, nil
}

// Text implements Filings.
func (r *Redis) Text(ctx context.Context, f campaign.Filing) (string, error) {
	s, err := r.c.HGet(ctx, r.k.text(f.Street, f.Community), textField(f.Item, f.Stamp())).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("storage: text of %s/%s/%s: %w", f.Street, f.Community, f.Item, err)
	}
	return s, nil
}

// History implements Filings. n <= 0 means all.
func (r *Redis) History(ctx context.Context, street, community string, item campaign.Item, n int) ([]campaign.Filing, error) {
	stop := int64(n) - 1
	if n <= 0 {
		stop = -1
	}
	l, err := r.c.LRange(ctx, r.k.hist(street, community, item), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: history %s/%s/%s: %w", street, community, item, err)
	}
	out := make([]campaign.Filing, len(l))
	for i, js := range l {
		if out[i], err = decodeFiling(js); err != nil {
			return nil, fmt.Errorf("storage: history %s/%s/%s: decode: %w", street, community, item, err)
		}
	}
	return out, nil
}
