package storage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
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
	snap, err := dumpSnapshot(context.Background(), e.client)
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
		if err := r.Save(ctx, filing("大辛", campaign.ItemMembers, total, t0.Add(time.Duration(i)*time.Minute)), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Save(ctx, filing("小河", campaign.ReviewCandidates, "ok", t0), false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Undo(ctx, street, "大辛", "sec", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, err := r.RequestBinding(ctx, secretary("u1", "大辛", "张三"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.Claim(ctx, "msg-1", time.Hour); !ok {
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
	undone, cur, err := r2.Undo(ctx, street, "大辛", "sec", t0.Add(2*time.Hour))
	if err != nil || undone.Fields["total"] != "120" || cur == nil || cur.Fields["total"] != "100" {
		t.Errorf("undo after reopen = %v, %v, %v", undone.Fields, cur, err)
	}
	if ok, _ := r2.Claim(ctx, "msg-1", time.Hour); ok {
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
	r.Claim(ctx, "short", time.Minute)
	r.Claim(ctx, "long", time.Hour)
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
	if ok, _ := r2.Claim(ctx, "short", time.Minute); !ok {
		t.Error("a claim whose ttl ran out during downtime is still held")
	}
	if ok, _ := r2.Claim(ctx, "long", time.Minute); ok {
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
