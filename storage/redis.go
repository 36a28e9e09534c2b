package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// Redis implements Filings, Bindings and Dedup on any go-redis UniversalClient (single
// node, Sentinel or Cluster). The key schema is documented on keys in keys.go.
type Redis struct {
	c   redis.UniversalClient
	k   keys
	now func() time.Time // judges binding-request expiry; replaced in tests
}

var (
	_ Filings  = (*Redis)(nil)
	_ Bindings = (*Redis)(nil)
	_ Dedup    = (*Redis)(nil)
)

// NewRedis returns a store on c whose keys all start with prefix. It panics if prefix
// contains '{' or '}', which would break the per-street Cluster hash tags.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if strings.ContainsAny(prefix, "{}") {
		panic(fmt.Sprintf("storage: key prefix %q must not contain '{' or '}'", prefix))
	}
	return &Redis{c: c, k: keys{prefix: prefix}, now: time.Now}
}

// Event is one entry of a street's audit trail (the P{st}:log stream).
type Event struct {
	ID        string // stream entry ID
	Action    string // file, review, undo, request, bind
	Community string
	Item      campaign.Item
	By        string
	At        time.Time
	Raw       string
	Code      string            // request, bind
	Filing    *campaign.Filing  // file, review: saved; undo: taken back
	Binding   *campaign.Binding // request: asked for; bind: approved
}

// Event actions.
const (
	ActionFile    = "file"
	ActionReview  = "review"
	ActionUndo    = "undo"
	ActionRequest = "request"
	ActionBind    = "bind"
)

// maxRetries bounds the compare-and-set loops of Undo and ApproveBinding.
const maxRetries = 100

func fmtAt(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func checkName(what, v string) error {
	if v == "" {
		return fmt.Errorf("empty %s", what)
	}
	if strings.ContainsAny(v, "\n") {
		return fmt.Errorf("%s %q contains a newline", what, v)
	}
	return nil
}

func checkItem(item campaign.Item) error {
	if err := checkName("item", string(item)); err != nil {
		return err
	}
	if strings.Contains(string(item), ":") {
		return fmt.Errorf("item %q contains ':'", item)
	}
	return nil
}

// ---- Filings ----

// KEYS cur, hist, undo, log
// ARGV item, filing JSON, undoable(1|0), action, community, by, at, raw
var saveScript = redis.NewScript(`
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('LPUSH', KEYS[3], ARGV[1] .. '\n' .. ARGV[2])
end
return redis.call('XADD', KEYS[4], '*', 'action', ARGV[4], 'community', ARGV[5],
  'item', ARGV[1], 'by', ARGV[6], 'at', ARGV[7], 'raw', ARGV[8], 'filing', ARGV[2])
`)

// Save implements Filings. A filing saved with undoable=false is logged as a review.
func (r *Redis) Save(ctx context.Context, f campaign.Filing, undoable bool) error {
	wrap := func(err error) error {
		return fmt.Errorf("storage: save filing %s/%s: %w", f.Community, f.Item, err)
	}
	if err := errors.Join(checkName("street", f.Street), checkName("community", f.Community), checkItem(f.Item)); err != nil {
		return wrap(err)
	}
	js, err := json.Marshal(f)
	if err != nil {
		return wrap(err)
	}
	action, u := ActionReview, "0"
	if undoable {
		action, u = ActionFile, "1"
	}
	st := f.Street
	err = saveScript.Run(ctx, r.c,
		[]string{r.k.cur(st, f.Community), r.k.hist(st, f.Community, f.Item), r.k.undo(st, f.Community), r.k.log(st)},
		string(f.Item), js, u, action, f.Community, f.By, fmtAt(f.At), f.Raw).Err()
	if err != nil {
		return wrap(err)
	}
	return nil
}

// KEYS cur, undo, hist, log
// ARGV expected undo entry, item, undone filing JSON, community, by, at
// Returns {0} if the undo list's head is no longer the expected entry, else {1, new head or an empty string}.
var undoScript = redis.NewScript(`
if redis.call('LINDEX', KEYS[2], 0) ~= ARGV[1] then
  return {0}
end
redis.call('LPOP', KEYS[2])
redis.call('LREM', KEYS[3], 1, ARGV[3])
local head = redis.call('LINDEX', KEYS[3], 0)
if head then
  redis.call('HSET', KEYS[1], ARGV[2], head)
else
  redis.call('HDEL', KEYS[1], ARGV[2])
  head = ''
end
redis.call('XADD', KEYS[4], '*', 'action', 'undo', 'community', ARGV[4],
  'item', ARGV[2], 'by', ARGV[5], 'at', ARGV[6], 'filing', ARGV[3])
return {1, head}
`)

// Undo implements Filings.
func (r *Redis) Undo(ctx context.Context, street, community, by string, at time.Time) (campaign.Filing, *campaign.Filing, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: undo %s/%s: %w", street, community, err) }
	if err := errors.Join(checkName("street", street), checkName("community", community)); err != nil {
		return campaign.Filing{}, nil, wrap(err)
	}
	undoKey := r.k.undo(street, community)
	for range maxRetries {
		entry, err := r.c.LIndex(ctx, undoKey, 0).Result()
		if errors.Is(err, redis.Nil) {
			return campaign.Filing{}, nil, ErrNothingToUndo
		}
		if err != nil {
			return campaign.Filing{}, nil, wrap(err)
		}
		itemName, js, ok := strings.Cut(entry, "\n")
		if !ok {
			return campaign.Filing{}, nil, wrap(fmt.Errorf("malformed undo entry %q", entry))
		}
		var undone campaign.Filing
		if err := json.Unmarshal([]byte(js), &undone); err != nil {
			return campaign.Filing{}, nil, wrap(fmt.Errorf("decode undone filing: %w", err))
		}
		item := campaign.Item(itemName)
		res, err := undoScript.Run(ctx, r.c,
			[]string{r.k.cur(street, community), undoKey, r.k.hist(street, community, item), r.k.log(street)},
			entry, itemName, js, community, by, fmtAt(at)).Slice()
		if err != nil {
			return campaign.Filing{}, nil, wrap(err)
		}
		if len(res) == 0 || res[0] != int64(1) {
			continue // someone else undid or filed in between: read again
		}
		head, _ := res[1].(string)
		if head == "" {
			return undone, nil, nil
		}
		var cur campaign.Filing
		if err := json.Unmarshal([]byte(head), &cur); err != nil {
			return undone, nil, wrap(fmt.Errorf("decode current filing: %w", err))
		}
		return undone, &cur, nil
	}
	return campaign.Filing{}, nil, wrap(errors.New("too much contention, gave up"))
}

func decodeCurrent(m map[string]string) (map[campaign.Item]campaign.Filing, error) {
	out := make(map[campaign.Item]campaign.Filing, len(m))
	for item, js := range m {
		var f campaign.Filing
		if err := json.Unmarshal([]byte(js), &f); err != nil {
			return nil, fmt.Errorf("decode %s: %w", item, err)
		}
		out[campaign.Item(item)] = f
	}
	return out, nil
}

// Current implements Filings.
func (r *Redis) Current(ctx context.Context, street, community string) (map[campaign.Item]campaign.Filing, error) {
	m, err := r.c.HGetAll(ctx, r.k.cur(street, community)).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: current %s/%s: %w", street, community, err)
	}
	out, err := decodeCurrent(m)
	if err != nil {
		return nil, fmt.Errorf("storage: current %s/%s: %w", street, community, err)
	}
	return out, nil
}

// CurrentAll implements Filings with one pipeline. Every requested community is in the
// result, with an empty map if it filed nothing.
func (r *Redis) CurrentAll(ctx context.Context, street string, communities []string) (map[string]map[campaign.Item]campaign.Filing, error) {
	out := make(map[string]map[campaign.Item]campaign.Filing, len(communities))
	if len(communities) == 0 {
		return out, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(communities))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range communities {
			cmds[i] = p.HGetAll(ctx, r.k.cur(street, c))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: current of %d communities of %s: %w", len(communities), street, err)
	}
	for i, c := range communities {
		cur, err := decodeCurrent(cmds[i].Val())
		if err != nil {
			return nil, fmt.Errorf("storage: current %s/%s: %w", street, c, err)
		}
		out[c] = cur
	}
	return out, nil
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
		if err := json.Unmarshal([]byte(js), &out[i]); err != nil {
			return nil, fmt.Errorf("storage: history %s/%s/%s: decode: %w", street, community, item, err)
		}
	}
	return out, nil
}

// Events returns up to n events of a street's audit trail, newest first (n <= 0: all).
func (r *Redis) Events(ctx context.Context, street string, n int) ([]Event, error) {
	var (
		msgs []redis.XMessage
		err  error
	)
	if n > 0 {
		msgs, err = r.c.XRevRangeN(ctx, r.k.log(street), "+", "-", int64(n)).Result()
	} else {
		msgs, err = r.c.XRevRange(ctx, r.k.log(street), "+", "-").Result()
	}
	if err != nil {
		return nil, fmt.Errorf("storage: events of %s: %w", street, err)
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		e, err := decodeEvent(m)
		if err != nil {
			return nil, fmt.Errorf("storage: events of %s: entry %s: %w", street, m.ID, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeEvent(m redis.XMessage) (Event, error) {
	s := func(k string) string { v, _ := m.Values[k].(string); return v }
	e := Event{ID: m.ID, Action: s("action"), Community: s("community"), Item: campaign.Item(s("item")),
		By: s("by"), Raw: s("raw"), Code: s("code")}
	if at := s("at"); at != "" {
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return e, err
		}
		e.At = t
	}
	if js := s("filing"); js != "" {
		e.Filing = new(campaign.Filing)
		if err := json.Unmarshal([]byte(js), e.Filing); err != nil {
			return e, err
		}
	}
	if js := s("binding"); js != "" {
		e.Binding = new(campaign.Binding)
		if err := json.Unmarshal([]byte(js), e.Binding); err != nil {
			return e, err
		}
	}
	return e, nil
}

// ---- Bindings ----

// pendingRequest is the value of P{st}:bindreq.
type pendingRequest struct {
	Binding     campaign.Binding `json:"binding"`
	RequestedAt int64            `json:"requested_at"` // unix ms
	ExpiresAt   int64            `json:"expires_at"`   // unix ms
}

// Binding implements Bindings.
func (r *Redis) Binding(ctx context.Context, street, userid string) (*campaign.Binding, error) {
	js, err := r.c.HGet(ctx, r.k.bind(street), userid).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: binding %s/%s: %w", street, userid, err)
	}
	var b campaign.Binding
	if err := json.Unmarshal([]byte(js), &b); err != nil {
		return nil, fmt.Errorf("storage: binding %s/%s: decode: %w", street, userid, err)
	}
	return &b, nil
}

// Bound implements Bindings, ordered by community, then userid.
func (r *Redis) Bound(ctx context.Context, street string) ([]campaign.Binding, error) {
	m, err := r.c.HGetAll(ctx, r.k.bind(street)).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: bindings of %s: %w", street, err)
	}
	out := make([]campaign.Binding, 0, len(m))
	for uid, js := range m {
		var b campaign.Binding
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			return nil, fmt.Errorf("storage: bindings of %s: decode %s: %w", street, uid, err)
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Community != out[j].Community {
			return out[i].Community < out[j].Community
		}
		return out[i].UserID < out[j].UserID
	})
	return out, nil
}

// KEYS bindreq, bindreq:user, bindreq:exp, log
// ARGV userid, now ms, expires ms, request JSON, binding JSON, community, at, candidate codes…
// Purges expired requests, then stores the request under the first candidate code not
// held by another pending request (replacing the user's previous request) and returns
// the code, or an empty string if every candidate is taken.
var requestScript = redis.NewScript(`
for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])) do
  local raw = redis.call('HGET', KEYS[1], c)
  if raw then
    local ok, req = pcall(cjson.decode, raw)
    local uid = ok and type(req) == 'table' and type(req.binding) == 'table' and req.binding.userid
    if type(uid) == 'string' and redis.call('HGET', KEYS[2], uid) == c then
      redis.call('HDEL', KEYS[2], uid)
    end
    redis.call('HDEL', KEYS[1], c)
  end
  redis.call('ZREM', KEYS[3], c)
end
local prev = redis.call('HGET', KEYS[2], ARGV[1])
for i = 8, #ARGV do
  local c = ARGV[i]
  if c == prev or redis.call('HEXISTS', KEYS[1], c) == 0 then
    if prev then
      redis.call('HDEL', KEYS[1], prev)
      redis.call('ZREM', KEYS[3], prev)
    end
    redis.call('HSET', KEYS[1], c, ARGV[4])
    redis.call('HSET', KEYS[2], ARGV[1], c)
    redis.call('ZADD', KEYS[3], ARGV[3], c)
    redis.call('XADD', KEYS[4], '*', 'action', 'request', 'community', ARGV[6],
      'by', ARGV[1], 'at', ARGV[7], 'code', c, 'binding', ARGV[5])
    return c
  end
end
return ''
`)

// RequestBinding implements Bindings. Requests expire ttl after r's clock reads now.
func (r *Redis) RequestBinding(ctx context.Context, b campaign.Binding, ttl time.Duration) (string, error) {
	wrap := func(err error) error {
		return fmt.Errorf("storage: request binding %s/%s: %w", b.Street, b.UserID, err)
	}
	if err := errors.Join(checkName("street", b.Street), checkName("userid", b.UserID)); err != nil {
		return "", wrap(err)
	}
	if ttl <= 0 {
		return "", wrap(fmt.Errorf("ttl %v is not positive", ttl))
	}
	now := r.now()
	req := pendingRequest{Binding: b, RequestedAt: now.UnixMilli(), ExpiresAt: now.Add(ttl).UnixMilli()}
	reqJS, err := json.Marshal(req)
	if err != nil {
		return "", wrap(err)
	}
	bJS, err := json.Marshal(b)
	if err != nil {
		return "", wrap(err)
	}
	st := b.Street
	for range 8 {
		args := []any{b.UserID, req.RequestedAt, req.ExpiresAt, reqJS, bJS, b.Community, fmtAt(now)}
		for range 16 {
			args = append(args, fmt.Sprintf("%04d", rand.IntN(10000)))
		}
		code, err := requestScript.Run(ctx, r.c,
			[]string{r.k.bindreq(st), r.k.bindreqUser(st), r.k.bindreqExp(st), r.k.log(st)}, args...).Text()
		if err != nil {
			return "", wrap(err)
		}
		if code != "" {
			return code, nil
		}
	}
	return "", wrap(errors.New("no free code: too many pending requests"))
}

// PendingBindings implements Bindings. Expired requests are left out.
func (r *Redis) PendingBindings(ctx context.Context, street string) ([]campaign.BindingRequest, error) {
	m, err := r.c.HGetAll(ctx, r.k.bindreq(street)).Result()
	if err != nil {
		return nil, fmt.Errorf("storage: pending bindings of %s: %w", street, err)
	}
	now := r.now().UnixMilli()
	type pending struct {
		code string
		req  pendingRequest
	}
	var ps []pending
	for code, js := range m {
		var req pendingRequest
		if err := json.Unmarshal([]byte(js), &req); err != nil {
			return nil, fmt.Errorf("storage: pending bindings of %s: decode %s: %w", street, code, err)
		}
		if req.ExpiresAt > now {
			ps = append(ps, pending{code, req})
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].req.RequestedAt != ps[j].req.RequestedAt {
			return ps[i].req.RequestedAt < ps[j].req.RequestedAt
		}
		return ps[i].code < ps[j].code
	})
	out := make([]campaign.BindingRequest, len(ps))
	for i, p := range ps {
		out[i] = campaign.BindingRequest{Code: p.code, Binding: p.req.Binding}
	}
	return out, nil
}

// KEYS bindreq, bindreq:user, bindreq:exp, bind, log
// ARGV code, expected request JSON, userid, binding JSON, now ms, community, by, at
// Returns 1 if approved, 0 if the request changed, expired or vanished meanwhile.
var approveScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
local exp = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not exp or tonumber(exp) <= tonumber(ARGV[5]) then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[3])
end
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
redis.call('XADD', KEYS[5], '*', 'action', 'bind', 'community', ARGV[6],
  'by', ARGV[7], 'at', ARGV[8], 'code', ARGV[1], 'binding', ARGV[4])
return 1
`)

// ApproveBinding implements Bindings. The binding gets ApprovedBy and At set.
func (r *Redis) ApproveBinding(ctx context.Context, street, code, approvedBy string, at time.Time) (campaign.Binding, error) {
	wrap := func(err error) error { return fmt.Errorf("storage: approve binding %s/%s: %w", street, code, err) }
	if err := checkName("street", street); err != nil {
		return campaign.Binding{}, wrap(err)
	}
	st := street
	for range maxRetries {
		raw, err := r.c.HGet(ctx, r.k.bindreq(st), code).Result()
		if errors.Is(err, redis.Nil) {
			return campaign.Binding{}, ErrNoSuchRequest
		}
		if err != nil {
			return campaign.Binding{}, wrap(err)
		}
		var req pendingRequest
		if err := json.Unmarshal([]byte(raw), &req); err != nil {
			return campaign.Binding{}, wrap(fmt.Errorf("decode request: %w", err))
		}
		now := r.now().UnixMilli()
		if req.ExpiresAt <= now {
			return campaign.Binding{}, ErrNoSuchRequest
		}
		b := req.Binding
		b.ApprovedBy, b.At = approvedBy, at
		bJS, err := json.Marshal(b)
		if err != nil {
			return campaign.Binding{}, wrap(err)
		}
		ok, err := approveScript.Run(ctx, r.c,
			[]string{r.k.bindreq(st), r.k.bindreqUser(st), r.k.bindreqExp(st), r.k.bind(st), r.k.log(st)},
			code, raw, b.UserID, bJS, now, b.Community, approvedBy, fmtAt(at)).Int()
		if err != nil {
			return campaign.Binding{}, wrap(err)
		}
		if ok == 1 {
			return b, nil
		}
		// Changed under us (replaced, approved, expired): look again.
	}
	return campaign.Binding{}, wrap(errors.New("too much contention, gave up"))
}

// ---- Dedup ----

// Claim implements Dedup with SET NX EX.
func (r *Redis) Claim(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("storage: claim msg %s: ttl %v is not positive", id, ttl)
	}
	ok, err := r.c.SetNX(ctx, r.k.msg(id), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("storage: claim msg %s: %w", id, err)
	}
	return ok, nil
}
