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
	c      redis.UniversalClient
	k      keys
	now    func() time.Time // judges binding-request expiry; replaced in tests
	snaps  snapshots        // this process's copies of street records (Records)
	limits Limits           // caps.go
}

var (
	_ Bindings = (*Redis)(nil)
	_ Dedup    = (*Redis)(nil)
)

// NewRedis returns a store on c whose keys all start with prefix. It panics if prefix
// contains '{' or '}', which would break the per-street Cluster hash tags.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if strings.ContainsAny(prefix, "{}") {
		panic(fmt.Sprintf("storage: key prefix %q must not contain '{' or '}'", prefix))
	}
	return &Redis{c: c, k: keys{prefix: prefix}, now: time.Now, limits: DefaultLimits}
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
	Filing    *campaign.Filing  // file: saved; undo: taken back
	Review    *campaign.Review  // review
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
		f, err := decodeFiling(js)
		if err != nil {
			return e, err
		}
		e.Filing = &f
	}
	if js := s("review"); js != "" {
		e.Review = new(campaign.Review)
		if err := json.Unmarshal([]byte(js), e.Review); err != nil {
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
	return decodeBound(street, m)
}

// decodeBound decodes a street's bind hash, ordered by community, then userid.
func decodeBound(street string, m map[string]string) ([]campaign.Binding, error) {
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
// {code, the replaced request's code or an empty string}, or {an empty string} if every
// candidate is taken.
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
    return {c, prev or ''}
  end
end
return {''}
`)

// RequestBinding implements Bindings. Requests expire ttl after r's clock reads now.
func (r *Redis) RequestBinding(ctx context.Context, b campaign.Binding, ttl time.Duration) (code, replaced string, err error) {
	wrap := func(err error) error {
		return fmt.Errorf("storage: request binding %s/%s: %w", b.Street, b.UserID, err)
	}
	if err := errors.Join(checkName("street", b.Street), checkName("userid", b.UserID)); err != nil {
		return "", "", wrap(err)
	}
	if ttl <= 0 {
		return "", "", wrap(fmt.Errorf("ttl %v is not positive", ttl))
	}
	now := r.now()
	req := pendingRequest{Binding: b, RequestedAt: now.UnixMilli(), ExpiresAt: now.Add(ttl).UnixMilli()}
	reqJS, err := json.Marshal(req)
	if err != nil {
		return "", "", wrap(err)
	}
	bJS, err := json.Marshal(b)
	if err != nil {
		return "", "", wrap(err)
	}
	st := b.Street
	for range 8 {
		args := []any{b.UserID, req.RequestedAt, req.ExpiresAt, reqJS, bJS, b.Community, fmtAt(now)}
		for range 16 {
			args = append(args, fmt.Sprintf("%04d", rand.IntN(10000)))
		}
		res, err := requestScript.Run(ctx, r.c,
			[]string{r.k.bindreq(st), r.k.bindreqUser(st), r.k.bindreqExp(st), r.k.log(st)}, args...).StringSlice()
		if err != nil {
			return "", "", wrap(err)
		}
		if len(res) == 2 && res[0] != "" {
			return res[0], res[1], nil
		}
	}
	return "", "", wrap(errors.New("no free code: too many pending requests"))
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
