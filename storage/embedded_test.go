package storage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

func openAt(t *testing.T, path string) *Embedded {
	t.Helper()
	e, err := OpenEmbedded(context.Background(), path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// dumpComparable is the database content without TTLs (which tick).
func dumpComparable(t *testing.T, e *Embedded) string {
	t.Helper()
	e.mu.Lock()
	snap, err := e.dumpLocked()
	e.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(snap.Keys, func(a, b snapEntry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	for i := range snap.Keys {
		snap.Keys[i].TTLms = 0
		slices.Sort(snap.Keys[i].Set)
	}
	return mustJSON(t, snap.Keys)
}

func TestEmbeddedReopen(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "sub", "huanjie.json")
	e := openAt(t, path)
	r := NewRedis(e.Client(), "")
	for i, total := range []string{"100", "120", "130"} {
		if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, total, t0.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SaveReview(ctx, street, "小河", approval(filing("小河", campaign.ItemCandidates, "7", t0), t0), "初审通过 小河"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Undo(ctx, street, "大辛", "sec", "", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, _, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, mine, _ := r.BeginMsg(ctx, "msg-1", "attempt-1", time.Minute, time.Hour); !mine {
		t.Fatal("first claim failed")
	}
	// Types the store does not use yet still survive, binary values included.
	c := e.Client()
	if err := c.SAdd(ctx, "other:set", "a", "b").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "other:bin", "\xff\x00\xfe", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ZAdd(ctx, "other:zset", redis.Z{Score: 1.25, Member: "m"}, redis.Z{Score: -3, Member: "n"}).Err(); err != nil {
		t.Fatal(err)
	}
	before := dumpComparable(t, e)
	eventsBefore, err := r.Events(ctx, street, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Save(); err != nil { // a periodic save, then the final one
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Save(); err == nil {
		t.Error("Save after Close succeeded")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	e2 := openAt(t, path)
	defer e2.Close()
	r2 := NewRedis(e2.Client(), "")
	if after := dumpComparable(t, e2); after != before {
		t.Errorf("reopened data differs:\nbefore %s\nafter  %s", before, after)
	}
	eventsAfter, err := r2.Events(ctx, street, 0)
	if err != nil {
		t.Fatal(err)
	}
	if mustJSON(t, eventsAfter) != mustJSON(t, eventsBefore) || len(eventsAfter) != 6 {
		t.Errorf("audit stream after reopen = %d events, want the same 6", len(eventsAfter))
	}
	hist, err := r2.History(ctx, street, "大辛", campaign.ItemMembers, 0)
	if err != nil || !slices.Equal(totals(hist), []string{"120", "100"}) {
		t.Errorf("history after reopen = %v, %v", totals(hist), err)
	}
	undone, cur, err := r2.Undo(ctx, street, "大辛", "sec", "", t0.Add(2*time.Hour))
	if err != nil || total(undone) != "120" || cur == nil || total(*cur) != "100" {
		t.Errorf("undo after reopen = %v, %v, %v", undone.Value, cur, err)
	}
	if _, mine, _ := r2.BeginMsg(ctx, "msg-1", "attempt-2", time.Minute, time.Hour); mine {
		t.Error("dedup claim forgotten across reopen")
	}
	if ttl := e2.Client().PTTL(ctx, "msg:msg-1").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("dedup ttl after reopen = %v, want just under 1h", ttl)
	}
	if p, _ := r2.PendingBindings(ctx, street); len(p) != 1 || p[0].Code != code {
		t.Errorf("pending after reopen = %+v", p)
	}
	if _, err := r2.ApproveBinding(ctx, street, code, "office", t0); err != nil {
		t.Errorf("approve after reopen: %v", err)
	}
	if got := e2.Client().Get(ctx, "other:bin").Val(); got != "\xff\x00\xfe" {
		t.Errorf("binary value after reopen = %q", got)
	}
}

func TestEmbeddedTTLAcrossDowntime(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "s.json")
	e := openAt(t, path)
	r := NewRedis(e.Client(), "")
	r.FinishMsg(ctx, "short", "答复", time.Minute)
	r.FinishMsg(ctx, "long", "答复", time.Hour)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// Pretend the snapshot was written ten minutes ago.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var snap map[string]any
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	snap["saved_at"] = time.Now().Add(-10 * time.Minute).Format(time.RFC3339Nano)
	data, _ = json.Marshal(snap)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e2 := openAt(t, path)
	defer e2.Close()
	r2 := NewRedis(e2.Client(), "")
	if _, mine, _ := r2.BeginMsg(ctx, "short", "b", time.Minute, time.Minute); !mine {
		t.Error("a claim whose ttl ran out during downtime is still held")
	}
	if _, mine, _ := r2.BeginMsg(ctx, "long", "b", time.Minute, time.Minute); mine {
		t.Error("a claim with time left was lost")
	}
	if ttl := e2.Client().TTL(ctx, "msg:long").Val(); ttl > 51*time.Minute || ttl < 49*time.Minute {
		t.Errorf("remaining ttl = %v, want about 50m", ttl)
	}
}

func TestEmbeddedBadSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if e, err := OpenEmbedded(context.Background(), path, testLogger(t)); err == nil {
		e.Close()
		t.Fatal("opened a corrupt snapshot")
	}
	if data, _ := os.ReadFile(path); string(data) != "{not json" {
		t.Errorf("corrupt snapshot was overwritten: %q", data)
	}
}

func TestEmbeddedNoPath(t *testing.T) {
	e, err := OpenEmbedded(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Client().Set(ctxT(t), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(); err != nil {
		t.Error(err)
	}
	if err := e.Close(); err != nil {
		t.Error(err)
	}
}

// TestEmbeddedKeepsAcknowledgedWritesAcrossKill runs a child process that writes to
// the embedded store as fast as it can and prints each write once it was acknowledged;
// the test kills it with SIGKILL mid-stream, reopens the store and finds every
// acknowledged write: filings (a Lua script with XADD), binding approvals and plain SETs.
func TestEmbeddedKeepsAcknowledgedWritesAcrossKill(t *testing.T) {
	if os.Getenv("HJ_EMBEDDED_CHILD") != "" {
		embeddedChild(os.Getenv("HJ_EMBEDDED_CHILD"))
		return
	}
	path := filepath.Join(t.TempDir(), "data.json")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestEmbeddedKeepsAcknowledgedWritesAcrossKill$")
		cmd.Env = append(os.Environ(), "HJ_EMBEDDED_CHILD="+path, fmt.Sprintf("HJ_EMBEDDED_ROUND=%d", round))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var acked []string
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			acked = append(acked, sc.Text())
			if len(acked) == 150+round*50 {
				_ = cmd.Process.Kill() // SIGKILL: no deferred save, no Close
				break
			}
		}
		for sc.Scan() { // what was acknowledged before the kill landed
			acked = append(acked, sc.Text())
		}
		_ = cmd.Wait()
		if len(acked) < 150 {
			t.Fatalf("round %d: the child acknowledged only %d writes", round, len(acked))
		}

		e := openAt(t, path)
		r := NewRedis(e.Client(), "")
		ctx := ctxT(t)
		events, err := r.Events(ctx, street, 0) // the history is capped; the audit trail is not
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, ev := range events {
			if ev.Action == ActionFile {
				have["file "+total(*ev.Filing)] = true
			}
		}
		bound, err := r.Bound(ctx, street)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bound {
			have["bind "+b.UserID] = true
		}
		for _, a := range acked {
			if k, ok := strings.CutPrefix(a, "set "); ok {
				have[a] = e.Client().Get(ctx, k).Val() == "1"
			}
			if !have[a] {
				t.Errorf("round %d: acknowledged %q is lost after kill -9", round, a)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// embeddedChild writes until it is killed, printing each acknowledged write.
func embeddedChild(path string) {
	round := os.Getenv("HJ_EMBEDDED_ROUND")
	e, err := OpenEmbedded(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r := NewRedis(e.Client(), "")
	ctx := context.Background()
	for i := 0; ; i++ {
		var ack string
		switch i % 3 {
		case 0:
			n := fmt.Sprint(atoi(round)*1000000 + i) // distinct across rounds
			err = r.Save(ctx, filing("大辛", campaign.ItemMembers, n, t0.Add(time.Duration(i)*time.Second)))
			ack = "file " + n
		case 1:
			uid := fmt.Sprintf("u%s-%d", round, i)
			var code string
			if code, _, err = r.RequestBinding(ctx, secretary(uid, "大辛", "张三"), time.Hour); err == nil {
				_, err = r.ApproveBinding(ctx, street, code, "office", t0)
			}
			ack = "bind " + uid
		default:
			k := fmt.Sprintf("k%s-%d", round, i)
			err = e.Client().Set(ctx, k, "1", 0).Err()
			ack = "set " + k
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		fmt.Println(ack)
	}
}

// copyStore copies a live store's files, as a crash would leave them (every
// acknowledged write is already synced to the log).
func copyStore(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	for _, suffix := range []string{"", ".aof"} {
		data, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+suffix, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestEmbeddedReplayIsExact reopens a copy of a running store's files, with and without
// compactions in between: keys, values, stream ids and expiry times come back the same.
func TestEmbeddedReplayIsExact(t *testing.T) {
	for _, compact := range []int64{0, 2 << 10} {
		t.Run(fmt.Sprintf("compact at %d", compact), func(t *testing.T) {
			ctx := ctxT(t)
			path := filepath.Join(t.TempDir(), "data.json")
			e := openAt(t, path)
			defer e.Close()
			e.CompactBytes = compact
			r := NewRedis(e.Client(), "")
			for i := range 20 {
				if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, fmt.Sprint(i), t0)); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := r.Undo(ctx, street, "大辛", "sec", "", t0); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), time.Hour); err != nil {
				t.Fatal(err)
			}
			r.BeginMsg(ctx, "m1", "attempt-1", time.Minute, time.Hour)
			if _, err := e.Client().Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "pipe:a", "1", 10*time.Minute)
				p.RPush(ctx, "pipe:l", "x", []byte{0xff, 0})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			events, _ := r.Events(ctx, street, 0)
			want := dumpComparable(t, e)

			e2 := openAt(t, copyStore(t, path))
			defer e2.Close()
			r2 := NewRedis(e2.Client(), "")
			if got := dumpComparable(t, e2); got != want {
				t.Errorf("replayed data differs:\nwant %s\ngot  %s", want, got)
			}
			events2, _ := r2.Events(ctx, street, 0)
			if mustJSON(t, events2) != mustJSON(t, events) {
				t.Errorf("replayed audit stream differs (ids or content)")
			}
			if ttl := e2.Client().PTTL(ctx, "pipe:a").Val(); ttl > 10*time.Minute || ttl < 9*time.Minute {
				t.Errorf("replayed ttl = %v, want just under 10m", ttl)
			}
			if _, mine, _ := r2.BeginMsg(ctx, "m1", "attempt-2", time.Minute, time.Hour); mine {
				t.Error("a dedup claim was lost")
			}
		})
	}
}

// TestEmbeddedLogDamage: a record cut short at the end (a crash mid-write) is dropped
// and the store opens; damage followed by more records refuses to start.
func TestEmbeddedLogDamage(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "data.json")
	e := openAt(t, path)
	for _, k := range []string{"a", "b", "c"} {
		if err := e.Client().Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	crashed := copyStore(t, path)
	e.Close()
	log, err := os.ReadFile(crashed + ".aof")
	if err != nil {
		t.Fatal(err)
	}

	// Torn tail: the last record lacks its final bytes.
	torn := copyStore(t, crashed)
	if err := os.WriteFile(torn+".aof", log[:len(log)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	e2 := openAt(t, torn)
	if got := e2.Client().Get(ctx, "b").Val(); got != "b" {
		t.Errorf("b = %q after a torn tail", got)
	}
	if n := e2.Client().Exists(ctx, "c").Val(); n != 0 {
		t.Errorf("the torn record was applied")
	}
	if err := e2.Client().Set(ctx, "d", "d", 0).Err(); err != nil {
		t.Fatal(err)
	}
	e2.Close()
	if e3 := openAt(t, torn); e3.Client().Get(ctx, "d").Val() != "d" {
		t.Error("a write after the torn tail was lost")
	} else {
		e3.Close()
	}

	// Damage in the middle: the store does not start over it.
	bad := copyStore(t, crashed)
	damaged := slices.Clone(log)
	damaged[len(logMagic)+10] ^= 0xff
	if err := os.WriteFile(bad+".aof", damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if e4, err := OpenEmbedded(ctx, bad, testLogger(t)); err == nil {
		e4.Close()
		t.Fatal("opened a log damaged in the middle")
	}
}

// TestEmbeddedOneProcess: a second store on the same files is refused.
func TestEmbeddedOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.json")
	e := openAt(t, path)
	defer e.Close()
	if e2, err := OpenEmbedded(ctxT(t), path, testLogger(t)); err == nil {
		e2.Close()
		t.Fatal("two stores opened the same files")
	} else if !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("error = %v", err)
	}
}

// TestEmbeddedLogFailureIsNotAcknowledged: when the log cannot be written, the write
// is answered with an error (never acknowledged) and the store refuses what follows.
func TestEmbeddedLogFailureIsNotAcknowledged(t *testing.T) {
	ctx := ctxT(t)
	e := openAt(t, filepath.Join(t.TempDir(), "data.json"))
	defer e.Close()
	r := NewRedis(e.Client(), "")
	e.mu.Lock()
	e.aof.f.Close() // the disk goes away
	e.mu.Unlock()
	if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, "1", t0)); !errors.Is(err, ErrEmbeddedBroken) {
		t.Fatalf("save with a dead log: %v, want ErrEmbeddedBroken", err)
	}
	if err := e.Client().Get(ctx, "x").Err(); !errors.Is(err, ErrEmbeddedBroken) {
		t.Errorf("read after the failure: %v", err)
	}
}

// TestEmbeddedKeepsLogUnlessSnapshotDurable: when the folder cannot be synced after the
// snapshot is renamed into place, the rename may be lost in a crash, leaving the older
// snapshot. The log must then still hold the writes since that snapshot: a write
// acknowledged before the compaction is found after such a crash.
func TestEmbeddedKeepsLogUnlessSnapshotDurable(t *testing.T) {
	ctx := ctxT(t)
	path := filepath.Join(t.TempDir(), "data.json")
	e := openAt(t, path)
	defer e.Close()
	c := e.Client()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	older, err := os.ReadFile(path) // the snapshot a lost rename leaves behind
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "acknowledged", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	syncDirOld := syncDir
	syncDir = func(string) error { return errors.New("fsync: input/output error") }
	defer func() { syncDir = syncDirOld }()
	_ = e.Save() // the snapshot is renamed into place; whether that lasts is unknown
	syncDir = syncDirOld

	crashed := copyStore(t, path)
	if err := os.WriteFile(crashed, older, 0o600); err != nil { // the rename did not last
		t.Fatal(err)
	}
	e2 := openAt(t, crashed)
	defer e2.Close()
	if v := e2.Client().Get(ctx, "acknowledged").Val(); v != "1" {
		t.Fatalf("an acknowledged write is lost: the log was emptied although the snapshot's rename was never synced")
	}
	if v := e2.Client().Get(ctx, "before").Val(); v != "1" {
		t.Fatal("the older snapshot's write is lost")
	}
	// Writes go on; once the folder syncs again, the log is folded in as usual.
	if err := c.Set(ctx, "after", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path + ".aof"); err != nil || info.Size() != int64(len(logMagic)) {
		t.Errorf("after a durable snapshot the log is %v, %v; want emptied", info, err)
	}
}
