package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Embedded is an in-process Redis (miniredis) for local trials when REDIS_URL is
// unset. miniredis is a test server: it keeps everything in memory, so Embedded
// persists it to a JSON snapshot file (on Save and Close, reloaded by OpenEmbedded),
// and it lets key TTLs run on the wall clock. It is not for production: no
// replication, no crash safety beyond the last snapshot, no Cluster.
type Embedded struct {
	mr     *miniredis.Miniredis
	client *redis.Client
	path   string
	log    *slog.Logger

	mu     sync.Mutex // serialises Save and Close
	closed bool
}

// snapshotVersion is the format version written to the snapshot file.
const snapshotVersion = 1

// snapshot is the on-disk form of the embedded database (db 0).
type snapshot struct {
	Version int         `json:"version"`
	SavedAt time.Time   `json:"saved_at"`
	Keys    []snapEntry `json:"keys"`
}

// snapEntry is one key. TTLms is the remaining time to live when SavedAt was taken
// (0: none); on reload the time since SavedAt is subtracted, so keys expire across
// downtime as they would have on a running server.
type snapEntry struct {
	Key    bin          `json:"key"`
	Type   string       `json:"type"` // string, hash, list, set, zset, stream
	TTLms  int64        `json:"ttl_ms,omitempty"`
	String *bin         `json:"string,omitempty"`
	Hash   []bin        `json:"hash,omitempty"` // field, value, field, value …
	List   []bin        `json:"list,omitempty"` // head first
	Set    []bin        `json:"set,omitempty"`
	ZSet   []snapMember `json:"zset,omitempty"` // lowest score first
	Stream []snapStream `json:"stream,omitempty"`
}

type snapMember struct {
	Member bin    `json:"member"`
	Score  string `json:"score"` // as Redis prints it ("inf" allowed)
}

type snapStream struct {
	ID     string `json:"id"`
	Values []bin  `json:"values"` // field, value, …
}

// bin is a Redis string stored in JSON as a string when it is valid UTF-8, else as
// {"base64": "…"}, so binary values survive the snapshot.
type bin string

func (b bin) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(b)) {
		return json.Marshal(string(b))
	}
	return json.Marshal(map[string]string{"base64": base64.StdEncoding.EncodeToString([]byte(b))})
}

func (b *bin) UnmarshalJSON(p []byte) error {
	var s string
	if err := json.Unmarshal(p, &s); err == nil {
		*b = bin(s)
		return nil
	}
	var o struct {
		Base64 *string `json:"base64"`
	}
	if err := json.Unmarshal(p, &o); err != nil || o.Base64 == nil {
		return fmt.Errorf("storage: snapshot value %s is neither a string nor {\"base64\":…}", p)
	}
	raw, err := base64.StdEncoding.DecodeString(*o.Base64)
	if err != nil {
		return err
	}
	*b = bin(raw)
	return nil
}

// OpenEmbedded starts an in-process Redis, loaded from the snapshot at path if that
// file exists (path "" keeps nothing on disk). A snapshot that cannot be read is an
// error: the store does not start empty over it. log may be nil.
func OpenEmbedded(ctx context.Context, path string, log *slog.Logger) (*Embedded, error) {
	if log == nil {
		log = slog.Default()
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("storage: embedded snapshot path %q: %w", path, err)
		}
		path = abs
	}
	mr := miniredis.NewMiniRedis()
	restored := 0
	if path != "" {
		n, err := loadSnapshot(mr, path)
		if err != nil {
			return nil, fmt.Errorf("storage: load embedded snapshot %s: %w", path, err)
		}
		restored = n
	}
	// TTLs count down with the wall clock (miniredis applies the elapsed time on every
	// access), so Dedup claims and other expiring keys really expire.
	mr.ClockTTL(true)
	if err := mr.Start(); err != nil {
		return nil, fmt.Errorf("storage: start embedded redis: %w", err)
	}
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), DisableIdentity: true})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		mr.Close()
		return nil, fmt.Errorf("storage: ping embedded redis: %w", err)
	}
	where := path
	if where == "" {
		where = "(none: nothing is kept after exit)"
	}
	log.Warn("storage: using the EMBEDDED in-process Redis (miniredis), for trials only; set REDIS_URL for real use",
		"snapshot", where, "restored_keys", restored, "addr", mr.Addr())
	return &Embedded{mr: mr, client: client, path: path, log: log}, nil
}

// Client returns a go-redis client connected to the embedded server.
func (e *Embedded) Client() redis.UniversalClient { return e.client }

// Path returns the absolute snapshot path ("" if none).
func (e *Embedded) Path() string { return e.path }

// Save writes the snapshot atomically (temporary file, fsync, rename). It is safe to
// call periodically and concurrently with other clients; the dump itself is one
// server-side script, so it is a consistent point-in-time copy.
func (e *Embedded) Save() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("storage: save embedded snapshot: store is closed")
	}
	return e.saveLocked()
}

func (e *Embedded) saveLocked() error {
	if e.path == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := dumpSnapshot(ctx, e.client)
	if err != nil {
		return fmt.Errorf("storage: save embedded snapshot %s: %w", e.path, err)
	}
	data, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return fmt.Errorf("storage: save embedded snapshot %s: %w", e.path, err)
	}
	if err := writeFileAtomic(e.path, append(data, '\n')); err != nil {
		return fmt.Errorf("storage: save embedded snapshot %s: %w", e.path, err)
	}
	return nil
}

// Close saves the snapshot and stops the server. Calling it again does nothing.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	err := e.saveLocked()
	if err == nil && e.path != "" {
		e.log.Info("storage: embedded redis saved and stopped", "snapshot", e.path)
	}
	err = errors.Join(err, e.client.Close())
	e.mr.Close()
	return err
}

// dumpScript returns every key as {key, type, pttl, data}; it runs atomically.
var dumpScript = redis.NewScript(`
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k)
  if type(t) == 'table' then t = t['ok'] end
  local data = {}
  if t == 'string' then data = {redis.call('GET', k)}
  elseif t == 'hash' then data = redis.call('HGETALL', k)
  elseif t == 'list' then data = redis.call('LRANGE', k, 0, -1)
  elseif t == 'set' then data = redis.call('SMEMBERS', k)
  elseif t == 'zset' then data = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  elseif t == 'stream' then data = redis.call('XRANGE', k, '-', '+')
  end
  table.insert(out, {k, t, redis.call('PTTL', k), data})
end
return out
`)

func dumpSnapshot(ctx context.Context, c *redis.Client) (*snapshot, error) {
	res, err := dumpScript.Run(ctx, c, nil).Slice()
	if err != nil {
		return nil, err
	}
	snap := &snapshot{Version: snapshotVersion, SavedAt: time.Now().UTC(), Keys: make([]snapEntry, 0, len(res))}
	for _, r := range res {
		row, ok := r.([]any)
		if !ok || len(row) != 4 {
			return nil, fmt.Errorf("unexpected dump row %v", r)
		}
		key, _ := row[0].(string)
		typ, _ := row[1].(string)
		pttl, _ := row[2].(int64)
		data, _ := row[3].([]any)
		if pttl == 0 || pttl < -1 || len(data) == 0 {
			continue // expiring right now, gone, or an empty stream (cannot be recreated)
		}
		e := snapEntry{Key: bin(key), Type: typ}
		if pttl > 0 {
			e.TTLms = pttl
		}
		strs := func() ([]bin, error) {
			out := make([]bin, len(data))
			for i, v := range data {
				s, ok := v.(string)
				if !ok {
					return nil, fmt.Errorf("key %q: unexpected element %T", key, v)
				}
				out[i] = bin(s)
			}
			return out, nil
		}
		switch typ {
		case "string":
			l, err := strs()
			if err != nil || len(l) != 1 {
				return nil, fmt.Errorf("key %q: bad string value (%v)", key, err)
			}
			e.String = &l[0]
		case "hash":
			if e.Hash, err = strs(); err != nil {
				return nil, err
			}
		case "list":
			if e.List, err = strs(); err != nil {
				return nil, err
			}
		case "set":
			if e.Set, err = strs(); err != nil {
				return nil, err
			}
		case "zset":
			l, err := strs()
			if err != nil {
				return nil, err
			}
			for i := 0; i+1 < len(l); i += 2 {
				e.ZSet = append(e.ZSet, snapMember{Member: l[i], Score: string(l[i+1])})
			}
		case "stream":
			for _, v := range data {
				ent, ok := v.([]any)
				if !ok || len(ent) != 2 {
					return nil, fmt.Errorf("key %q: bad stream entry %v", key, v)
				}
				id, _ := ent[0].(string)
				vals, _ := ent[1].([]any)
				se := snapStream{ID: id, Values: make([]bin, len(vals))}
				for i, x := range vals {
					s, _ := x.(string)
					se.Values[i] = bin(s)
				}
				e.Stream = append(e.Stream, se)
			}
		default:
			return nil, fmt.Errorf("key %q: type %q cannot be snapshotted", key, typ)
		}
		snap.Keys = append(snap.Keys, e)
	}
	return snap, nil
}

// loadSnapshot fills mr (not yet started) from the file at path and returns how many
// keys it restored. A missing file is not an error.
func loadSnapshot(mr *miniredis.Miniredis, path string) (int, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return 0, err
	}
	if snap.Version != snapshotVersion {
		return 0, fmt.Errorf("snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	down := time.Since(snap.SavedAt)
	if down < 0 {
		down = 0
	}
	n := 0
	for _, e := range snap.Keys {
		k := string(e.Key)
		var ttl time.Duration
		if e.TTLms > 0 {
			ttl = time.Duration(e.TTLms)*time.Millisecond - down
			if ttl <= 0 {
				continue // expired while we were down
			}
		}
		if err := restoreKey(mr, k, e); err != nil {
			return 0, fmt.Errorf("key %q: %w", k, err)
		}
		if ttl > 0 {
			mr.SetTTL(k, ttl)
		}
		n++
	}
	return n, nil
}

func strings2(l []bin) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = string(v)
	}
	return out
}

func restoreKey(mr *miniredis.Miniredis, k string, e snapEntry) error {
	switch e.Type {
	case "string":
		if e.String == nil {
			return errors.New("string without value")
		}
		return mr.Set(k, string(*e.String))
	case "hash":
		if len(e.Hash)%2 != 0 || len(e.Hash) == 0 {
			return errors.New("hash needs field/value pairs")
		}
		mr.HSet(k, strings2(e.Hash)...)
	case "list":
		if len(e.List) == 0 {
			return errors.New("empty list")
		}
		_, err := mr.Push(k, strings2(e.List)...)
		return err
	case "set":
		if len(e.Set) == 0 {
			return errors.New("empty set")
		}
		_, err := mr.SetAdd(k, strings2(e.Set)...)
		return err
	case "zset":
		if len(e.ZSet) == 0 {
			return errors.New("empty sorted set")
		}
		for _, m := range e.ZSet {
			score, err := strconv.ParseFloat(m.Score, 64)
			if err != nil {
				return fmt.Errorf("score of %q: %w", m.Member, err)
			}
			if _, err := mr.ZAdd(k, score, string(m.Member)); err != nil {
				return err
			}
		}
	case "stream":
		if len(e.Stream) == 0 {
			return errors.New("empty stream")
		}
		for _, s := range e.Stream {
			if _, err := mr.XAdd(k, s.ID, strings2(s.Values)); err != nil {
				return fmt.Errorf("stream entry %s: %w", s.ID, err)
			}
		}
	default:
		return fmt.Errorf("unknown type %q", e.Type)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the old or the
// new file, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // persist the rename; best effort
		_ = d.Sync()
		d.Close()
	}
	return nil
}
