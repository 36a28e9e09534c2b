package storage

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Embedded is an in-process Redis (miniredis) for a small office that runs the bot
// without a Redis server (REDIS_URL unset). miniredis keeps everything in memory, so
// Embedded makes it durable itself:
//
//   - Every command goes through Client(), whose hook runs one command (or pipeline) at
//     a time. A command that can change data is appended to the log file
//     "<snapshot>.aof" and the file is fsynced before the answer reaches the caller:
//     whatever the bot acknowledged survives kill -9 or a power cut.
//   - The store's clock is pinned before each command and logged with it, so replaying
//     the log gives the same stream ids and the same expiry times.
//   - On start the snapshot is loaded, the log after it replayed, then both compacted
//     into a new snapshot; the log is compacted again when it grows past CompactBytes.
//
// It is one process's store: no replication, no Cluster, and a second process cannot
// open the same files (the log is locked). Commands sent to the miniredis port by other
// clients would bypass the log, so the port requires a random password only Client knows.
type Embedded struct {
	mr     *miniredis.Miniredis
	client *redis.Client
	path   string // the snapshot; "" keeps nothing on disk
	log    *slog.Logger

	// CompactBytes is the log size past which the next write compacts it into the
	// snapshot (default 16 MiB). Set it before use.
	CompactBytes int64

	mu      sync.Mutex        // held around each command, compaction and Close
	aof     *appendLog        // nil when path == ""
	scripts map[string]string // SHA1 → body of every script seen
	// loggedScripts are the scripts whose body is in the current log (SCRIPT LOAD).
	loggedScripts map[string]bool
	clock         time.Time // the store's time, pinned before each command; never goes back
	broken        error     // set when a write's durability is unknown: every later command fails
	compactAt     int64     // after a failed compaction: the log size at which to try again
	closed        bool
}

const defaultCompactBytes = 16 << 20

// ErrEmbeddedBroken is returned for every command once the embedded store could not
// log a write: the data in memory may differ from the disk, so it stops.
var ErrEmbeddedBroken = errors.New("storage: the embedded store could not write its log; restart the bot")

// ErrEmbeddedClosed is returned for commands after Close.
var ErrEmbeddedClosed = errors.New("storage: the embedded store is closed")

// snapshotVersion is the format version written to the snapshot file.
const snapshotVersion = 1

// snapshot is the on-disk form of the embedded database (db 0).
type snapshot struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	// LogSeq is the last append-only log record the snapshot contains: replay skips
	// records up to it.
	LogSeq uint64      `json:"log_seq,omitempty"`
	Keys   []snapEntry `json:"keys"`
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

// OpenEmbedded starts the embedded store from the snapshot at path and its log
// (path+".aof"), if they exist (path "" keeps nothing on disk). A snapshot or log that
// cannot be read is an error: the store does not start empty over them. log may be nil.
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
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("storage: embedded store folder: %w", err)
		}
	}
	e := &Embedded{mr: miniredis.NewMiniRedis(), path: path, log: log, scripts: map[string]string{}, loggedScripts: map[string]bool{}}
	var snap snapshot
	if path != "" {
		var err error
		if snap, err = loadSnapshot(e.mr, path); err != nil {
			return nil, fmt.Errorf("storage: load embedded snapshot %s: %w", path, err)
		}
	}
	// The store's clock starts where the snapshot was taken, so TTLs count down across
	// the downtime as the replay and then the wall clock move it forward.
	e.clock = time.Now().UTC()
	if !snap.SavedAt.IsZero() {
		e.clock = snap.SavedAt.UTC()
	}
	e.mr.SetTime(e.clock)
	e.mr.ClockTTL(true)
	password := randomPassword()
	e.mr.RequireAuth(password)
	if err := e.mr.Start(); err != nil {
		return nil, fmt.Errorf("storage: start embedded redis: %w", err)
	}
	opts := &redis.Options{Addr: e.mr.Addr(), Password: password, DisableIdentity: true,
		// One try only: a command retried after it ran would run twice but be logged once.
		MaxRetries: -1, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	replayed := 0
	if path != "" {
		n, err := e.openLog(ctx, opts, snap.LogSeq)
		if err != nil {
			e.mr.Close()
			return nil, fmt.Errorf("storage: embedded log %s: %w", path+".aof", err)
		}
		replayed = n
	}
	e.client = redis.NewClient(opts)
	e.client.AddHook(embeddedHook{e})
	if err := e.client.Ping(ctx).Err(); err != nil {
		e.shutdown()
		return nil, fmt.Errorf("storage: ping embedded redis: %w", err)
	}
	if path != "" {
		// Fold the replayed log into a fresh snapshot: the next start reads less, and a
		// torn record at the log's end is gone.
		e.mu.Lock()
		err := e.compactLocked()
		e.mu.Unlock()
		if errors.Is(err, errRenameNotDurable) {
			log.Warn("storage: the embedded snapshot may not survive a crash; its log is kept", "err", err)
		} else if err != nil {
			e.shutdown()
			return nil, err
		}
	}
	where := path
	if where == "" {
		where = "(none: nothing is kept after exit)"
	}
	log.Info("storage: using the embedded store (in-process); every acknowledged write is synced to its log before the answer",
		"snapshot", where, "restored_keys", len(snap.Keys), "replayed_log_records", replayed)
	return e, nil
}

// openLog opens the log, replays the records after seq through a connection that
// bypasses the hook, and keeps the log open for appending.
func (e *Embedded) openLog(ctx context.Context, opts *redis.Options, after uint64) (int, error) {
	raw := redis.NewClient(opts)
	defer raw.Close()
	conn := raw.Conn()
	defer conn.Close()
	replayed := 0
	next := after + 1
	l, torn, err := openLog(e.path+".aof", func(rec logRecord) error {
		if rec.seq <= after {
			return nil // already in the snapshot
		}
		if rec.seq != next {
			return fmt.Errorf("record %d follows %d: records are missing", rec.seq, next-1)
		}
		next++
		if rec.at.After(e.clock) {
			e.clock = rec.at
		}
		e.mr.SetTime(e.clock)
		for _, args := range rec.cmds {
			e.noteScript(args)
			a := make([]any, len(args))
			for i, s := range args {
				a[i] = s
			}
			if err := conn.Do(ctx, a...).Err(); err != nil && !isServerAnswer(err) {
				return err
			}
			// An error answer is replayed too: it was the answer the first time.
		}
		replayed++
		return nil
	})
	if err != nil {
		return 0, err
	}
	if l.seq < after {
		l.seq = after
	}
	if torn > 0 {
		e.log.Warn("storage: the embedded log ended with a record cut short by a crash; it was never acknowledged and is dropped",
			"log", l.path, "bytes", torn)
	}
	e.aof = l
	return replayed, nil
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isServerAnswer reports whether err is an answer from the server (an error reply, or
// redis.Nil) rather than a failure to reach it.
func isServerAnswer(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// Client returns a go-redis client connected to the embedded server, through the hook
// that logs writes.
func (e *Embedded) Client() redis.UniversalClient { return e.client }

// Path returns the absolute snapshot path ("" if none).
func (e *Embedded) Path() string { return e.path }

// Save compacts the log into the snapshot now. Nothing is lost without it: every write
// is in the log already.
func (e *Embedded) Save() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("storage: save embedded snapshot: store is closed")
	}
	return e.compactLocked()
}

// Close compacts the log into the snapshot and stops the server. Calling it again
// does nothing.
func (e *Embedded) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	var err error
	if e.broken == nil {
		err = e.compactLocked()
		if errors.Is(err, errRenameNotDurable) {
			e.log.Warn("storage: the embedded snapshot may not survive a crash; its log is kept", "err", err)
			err = nil
		}
	}
	e.closed = true
	e.mu.Unlock()
	if err == nil && e.path != "" {
		e.log.Info("storage: embedded store saved and stopped", "snapshot", e.path)
	}
	return errors.Join(err, e.shutdown())
}

func (e *Embedded) shutdown() error {
	var err error
	if e.client != nil {
		err = e.client.Close()
	}
	e.mr.Close()
	if e.aof != nil {
		err = errors.Join(err, e.aof.close())
	}
	return err
}

// compactLocked writes the whole database as the snapshot (naming the last log record
// it contains), then empties the log. A crash in between leaves a snapshot and a log
// whose records it already holds, which the next start skips.
func (e *Embedded) compactLocked() error {
	if e.path == "" {
		return nil
	}
	snap, err := e.dumpLocked()
	if err != nil {
		return fmt.Errorf("storage: save embedded snapshot %s: %w", e.path, err)
	}
	data, err := json.MarshalIndent(snap, "", " ")
	if err != nil {
		return fmt.Errorf("storage: save embedded snapshot %s: %w", e.path, err)
	}
	if err := writeFileAtomic(e.path, append(data, '\n')); err != nil {
		// The log still holds every write since the last durable snapshot: keep it (its
		// records the new snapshot holds are skipped on replay), and try again only once
		// it has grown by another compaction's worth.
		e.compactAt = e.aof.size + e.compactBytes()
		return fmt.Errorf("storage: save embedded snapshot %s (the log is kept): %w", e.path, err)
	}
	e.compactAt = 0
	if err := e.aof.reset(); err != nil {
		e.broken = fmt.Errorf("%w: empty the log after a snapshot: %v", ErrEmbeddedBroken, err)
		return e.broken
	}
	clear(e.loggedScripts)
	return nil
}

// dumpLocked reads every key through miniredis' direct API; no command runs meanwhile
// (e.mu is held), so it is a consistent copy as of e.clock.
func (e *Embedded) dumpLocked() (*snapshot, error) {
	e.mr.SetTime(e.clock)
	snap := &snapshot{Version: snapshotVersion, SavedAt: e.clock, Keys: []snapEntry{}}
	if e.aof != nil {
		snap.LogSeq = e.aof.seq
	}
	bins := func(l []string) []bin {
		out := make([]bin, len(l))
		for i, s := range l {
			out[i] = bin(s)
		}
		return out
	}
	for _, k := range e.mr.Keys() {
		ent := snapEntry{Key: bin(k), Type: e.mr.Type(k)}
		if ttl := e.mr.TTL(k); ttl > 0 {
			ent.TTLms = ttl.Milliseconds()
			if ent.TTLms == 0 {
				continue // expires within the millisecond
			}
		}
		var err error
		switch ent.Type {
		case "string":
			var v string
			if v, err = e.mr.Get(k); err == nil {
				b := bin(v)
				ent.String = &b
			}
		case "hash":
			var fields []string
			if fields, err = e.mr.HKeys(k); err == nil {
				for _, f := range fields {
					ent.Hash = append(ent.Hash, bin(f), bin(e.mr.HGet(k, f)))
				}
			}
		case "list":
			var l []string
			if l, err = e.mr.List(k); err == nil {
				ent.List = bins(l)
			}
		case "set":
			var l []string
			if l, err = e.mr.Members(k); err == nil {
				ent.Set = bins(l)
			}
		case "zset":
			var m map[string]float64
			if m, err = e.mr.SortedSet(k); err == nil {
				for member, score := range m {
					ent.ZSet = append(ent.ZSet, snapMember{Member: bin(member), Score: strconv.FormatFloat(score, 'g', -1, 64)})
				}
				slices.SortFunc(ent.ZSet, func(a, b snapMember) int {
					sa, _ := strconv.ParseFloat(a.Score, 64)
					sb, _ := strconv.ParseFloat(b.Score, 64)
					if c := cmp.Compare(sa, sb); c != 0 {
						return c
					}
					return cmp.Compare(a.Member, b.Member)
				})
			}
		case "stream":
			var entries []miniredis.StreamEntry
			if entries, err = e.mr.Stream(k); err == nil {
				for _, s := range entries {
					ent.Stream = append(ent.Stream, snapStream{ID: s.ID, Values: bins(s.Values)})
				}
			}
			if len(ent.Stream) == 0 {
				continue // an empty stream cannot be recreated
			}
		default:
			return nil, fmt.Errorf("key %q: type %q cannot be snapshotted", k, ent.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		snap.Keys = append(snap.Keys, ent)
	}
	return snap, nil
}

// embeddedHook runs every command of Client under e.mu with the store's clock pinned,
// and logs the ones that can change data before their answer is returned.
type embeddedHook struct{ e *Embedded }

func (h embeddedHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h embeddedHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return h.e.run(ctx, []redis.Cmder{cmd}, func(ctx context.Context) error { return next(ctx, cmd) })
	}
}

func (h embeddedHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return h.e.run(ctx, cmds, func(ctx context.Context) error { return next(ctx, cmds) })
	}
}

// connectionCommands set up a connection (go-redis sends them while it dials, from
// inside another command's turn); they touch no data and skip the turn-taking.
var connectionCommands = map[string]bool{"hello": true, "auth": true, "client": true, "select": true, "quit": true}

// noDataCommands are not marked read-only by miniredis but change no data.
var noDataCommands = map[string]bool{"ping": true, "echo": true, "wait": true, "object": true, "publish": true,
	"pubsub": true, "command": true, "info": true, "time": true, "memory": true, "xinfo": true, "unwatch": true,
	"cluster": true, "subscribe": true, "unsubscribe": true, "psubscribe": true, "punsubscribe": true}

func (e *Embedded) changesData(name string) bool {
	switch {
	case name == "script":
		return false // SCRIPT LOAD is noted by noteScript; EVAL carries the body in the log
	case connectionCommands[name], noDataCommands[name]:
		return false
	}
	return !e.mr.Server().IsReadOnlyCommand(name)
}

func (e *Embedded) run(ctx context.Context, cmds []redis.Cmder, exec func(context.Context) error) error {
	onlyConnection := true
	for _, c := range cmds {
		if !connectionCommands[c.Name()] {
			onlyConnection = false
		}
	}
	if onlyConnection {
		return exec(ctx)
	}
	fail := func(err error) error {
		for _, c := range cmds {
			c.SetErr(err)
		}
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return fail(ErrEmbeddedClosed)
	case e.broken != nil:
		return fail(e.broken)
	}
	writes := false
	for _, c := range cmds {
		switch name := c.Name(); {
		case name == "watch":
			return fail(errors.New("storage: the embedded store does not support WATCH"))
		case name == "evalsha" && e.scriptOf(c.Args()) == "":
			// A script the log cannot name: answer as Redis does for an unknown script,
			// so go-redis sends it again with its body (EVAL).
			return fail(redis.ErrNoScript)
		case e.changesData(name):
			writes = true
		}
	}
	if now := time.Now().UTC(); now.After(e.clock) {
		e.clock = now
	}
	e.mr.SetTime(e.clock)
	if !writes || e.aof == nil {
		err := exec(ctx)
		for _, c := range cmds {
			if c.Err() == nil || isServerAnswer(c.Err()) {
				e.noteScript(argStrings(c.Args()))
			}
		}
		return err
	}
	// Once sent, a write is waited for even if the caller gives up: its outcome must
	// be known to log it.
	err := exec(context.WithoutCancel(ctx))
	rec := logRecord{at: e.clock}
	var newScripts []string
	for _, c := range cmds {
		args := argStrings(c.Args())
		if c.Err() != nil && !isServerAnswer(c.Err()) {
			if e.changesData(c.Name()) {
				// It may or may not have run: memory and log might now differ.
				e.broken = fmt.Errorf("%w: %s got no answer: %v", ErrEmbeddedBroken, c.Name(), c.Err())
				e.log.Error("storage: embedded store stopped: a write's outcome is unknown", "cmd", c.Name(), "err", c.Err())
				return fail(e.broken)
			}
			continue
		}
		e.noteScript(args)
		if !e.changesData(c.Name()) {
			continue
		}
		if name := c.Name(); name == "eval" || name == "evalsha" {
			// A script's body goes into the log once (SCRIPT LOAD), then runs by its SHA1.
			sha, body := args[1], e.scripts[strings.ToLower(args[1])]
			if name == "eval" {
				sum := sha1.Sum([]byte(args[1]))
				sha, body = hex.EncodeToString(sum[:]), args[1]
			}
			if !e.loggedScripts[sha] && !slices.Contains(newScripts, sha) {
				rec.cmds = append(rec.cmds, []string{"script", "load", body})
				newScripts = append(newScripts, sha)
			}
			args = append([]string{"evalsha", sha}, args[2:]...)
		}
		rec.cmds = append(rec.cmds, args)
	}
	if len(rec.cmds) == 0 {
		return err
	}
	rec.seq = e.aof.seq + 1
	if lerr := e.aof.append(rec); lerr != nil {
		e.broken = fmt.Errorf("%w: %v", ErrEmbeddedBroken, lerr)
		e.log.Error("storage: embedded store stopped: cannot write its log", "log", e.aof.path, "err", lerr)
		return fail(e.broken)
	}
	for _, sha := range newScripts {
		e.loggedScripts[sha] = true
	}
	if e.aof.size > max(e.compactBytes(), e.compactAt) {
		if cerr := e.compactLocked(); cerr != nil {
			// The write itself is safe in the log; compaction is tried again next time.
			e.log.Error("storage: compacting the embedded log failed", "err", cerr)
		}
	}
	return err
}

func (e *Embedded) compactBytes() int64 {
	if e.CompactBytes > 0 {
		return e.CompactBytes
	}
	return defaultCompactBytes
}

// noteScript remembers the body of a script sent with EVAL or SCRIPT LOAD, by its SHA1,
// so that EVALSHA can be logged as EVAL with the body.
func (e *Embedded) noteScript(args []string) {
	var body string
	switch {
	case len(args) >= 2 && strings.EqualFold(args[0], "eval"):
		body = args[1]
	case len(args) >= 3 && strings.EqualFold(args[0], "script") && strings.EqualFold(args[1], "load"):
		body = args[2]
	default:
		return
	}
	sum := sha1.Sum([]byte(body))
	e.scripts[hex.EncodeToString(sum[:])] = body
}

func (e *Embedded) scriptOf(args []any) string {
	if len(args) < 2 {
		return ""
	}
	sha, _ := args[1].(string)
	return e.scripts[strings.ToLower(sha)]
}

// argStrings renders a command's arguments as go-redis writes them on the wire.
func argStrings(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = argString(a)
	}
	return out
}

func argString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []byte:
		return string(v)
	case int:
		return strconv.FormatInt(int64(v), 10)
	case int8:
		return strconv.FormatInt(int64(v), 10)
	case int16:
		return strconv.FormatInt(int64(v), 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint:
		return strconv.FormatUint(uint64(v), 10)
	case uint8:
		return strconv.FormatUint(uint64(v), 10)
	case uint16:
		return strconv.FormatUint(uint64(v), 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case time.Duration:
		return strconv.FormatInt(v.Nanoseconds(), 10)
	case net.IP:
		return string(v)
	case encoding.BinaryMarshaler:
		b, _ := v.MarshalBinary()
		return string(b)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return argString(reflect.Zero(rv.Type().Elem()).Interface())
		}
		return argString(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

// loadSnapshot fills mr (not yet started) from the file at path, with each key's time
// to live as it was when the snapshot was taken (the caller then sets mr's clock to
// SavedAt and lets it run forward). A missing file gives an empty snapshot.
func loadSnapshot(mr *miniredis.Miniredis, path string) (snapshot, error) {
	var snap snapshot
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return snap, nil
	}
	if err != nil {
		return snap, err
	}
	if err := json.Unmarshal(data, &snap); err != nil {
		return snap, err
	}
	if snap.Version != snapshotVersion {
		return snap, fmt.Errorf("snapshot version %d, want %d", snap.Version, snapshotVersion)
	}
	for _, e := range snap.Keys {
		k := string(e.Key)
		if err := restoreKey(mr, k, e); err != nil {
			return snap, fmt.Errorf("key %q: %w", k, err)
		}
		if e.TTLms > 0 {
			mr.SetTTL(k, time.Duration(e.TTLms)*time.Millisecond)
		}
	}
	return snap, nil
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
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%w: %w", errRenameNotDurable, err)
	}
	return nil
}

// errRenameNotDurable: the new file is in place, but a crash may still bring back the
// old one (its folder could not be synced).
var errRenameNotDurable = errors.New("the renamed file is in place but its folder could not be synced")

// syncDir makes the renames in dir durable; replaced in tests.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
