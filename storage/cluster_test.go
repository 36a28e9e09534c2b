package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// TestClusterStreets runs every kind of write for many streets at once on the test Redis
// Cluster: each street reads back its own data, every key of a street lies in one hash
// slot (so the multi-key scripts are legal), and the streets are spread over several
// masters (so the run really crossed nodes).
func TestClusterStreets(t *testing.T) {
	r := openCluster(t)
	cc, ok := r.c.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("openCluster gave a %T", r.c)
	}
	ctx := ctxT(t)
	useFakeClock(r)
	streets := make([]string, 12)
	for i := range streets {
		streets[i] = fmt.Sprintf("第%02d街道", i+1)
	}
	var wg sync.WaitGroup
	for i, st := range streets {
		wg.Go(func() {
			if err := writeStreet(ctx, r, st, i); err != nil {
				t.Errorf("%s: %v", st, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	ob := r.Outbox()
	for i, st := range streets {
		cur, err := r.Record(ctx, st, "大辛")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := cur.Filing(campaign.ItemMembers)
		if got, want := total(m), fmt.Sprint(100+i); got != want {
			t.Errorf("%s: members total %q, want %q", st, got, want)
		}
		if b, err := r.Binding(ctx, st, "u-"+st); err != nil || b == nil || b.Community != "大辛" {
			t.Errorf("%s: binding %+v, %v", st, b, err)
		}
		if n, err := ob.Pending(ctx, st); err != nil || n != 1 {
			t.Errorf("%s: pending %d, %v; want 1", st, n, err)
		}
		if p, err := ob.Paused(ctx, st); err != nil || !p {
			t.Errorf("%s: paused %v, %v", st, p, err)
		}
		if l, err := r.PhotoList(ctx, st, "大辛"); err != nil || len(l) != 1 || l[0].Name != st+".jpg" {
			t.Errorf("%s: photos %+v, %v", st, l, err)
		}
	}

	// Every key of a street hashes to the street's slot; count the masters holding them.
	var mu sync.Mutex
	slots := map[string]map[int64]bool{} // street tag → slots seen
	nodes := map[string]map[string]bool{}
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		it := node.Scan(ctx, 0, r.k.prefix+"*", 500).Iterator()
		for it.Next(ctx) {
			key := it.Val()
			open, close := strings.IndexByte(key, '{'), strings.IndexByte(key, '}')
			if open < 0 || close < open {
				continue // Pmsg:<id>, the lease: single-key
			}
			slot, err := node.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				return err
			}
			tag := key[open+1 : close]
			mu.Lock()
			if slots[tag] == nil {
				slots[tag], nodes[tag] = map[int64]bool{}, map[string]bool{}
			}
			slots[tag][slot] = true
			nodes[tag][node.Options().Addr] = true
			mu.Unlock()
		}
		return it.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	masters := map[string]bool{}
	for _, st := range streets {
		if len(slots[st]) != 1 || len(nodes[st]) != 1 {
			t.Errorf("%s: keys in slots %v on nodes %v, want one slot", st, slots[st], nodes[st])
		}
		for n := range nodes[st] {
			masters[n] = true
		}
	}
	if len(masters) < 2 {
		t.Errorf("all %d streets landed on %v: the test did not cross nodes", len(streets), masters)
	}
}

// writeStreet writes one of everything for street st: a filing, a binding, a queued and
// a claimed message, a rate-limit slot, the pause switch, a photo and a dedup claim.
func writeStreet(ctx context.Context, r *Redis, st string, i int) error {
	f := filing("大辛", campaign.ItemMembers, fmt.Sprint(100+i), t0)
	f.Street = st
	if err := r.Save(ctx, f); err != nil {
		return err
	}
	if err := r.SaveReview(ctx, st, "大辛", approval(f, t0), "批复"); err != nil {
		return err
	}
	code, _, err := r.RequestBinding(ctx, campaign.Binding{Street: st, UserID: "u-" + st, Community: "大辛"}, time.Hour)
	if err != nil {
		return err
	}
	if _, err := r.ApproveBinding(ctx, st, code, "office", t0); err != nil {
		return err
	}
	ob := r.Outbox()
	o := Occurrence{ID: "phase:members:" + st, Title: "提醒"}
	if _, err := ob.EnqueueOnce(ctx, st, o, []OutMsg{out("chat-"+st, "第一条", t0), out("chat-"+st, "第二条", t0)}); err != nil {
		return err
	}
	ms, err := ob.Claim(ctx, st, t0.Add(time.Minute), 1, time.Minute)
	if err != nil || len(ms) != 1 {
		return fmt.Errorf("claim: %v, %v", ms, err)
	}
	if err := ob.Ack(ctx, st, ms[0].ID, t0.Add(time.Minute)); err != nil {
		return err
	}
	if ok, _, err := ob.TakeSlots(ctx, st, "chat-"+st, t0, 1, []Window{{30, time.Minute}, {1000, time.Hour}}, false); err != nil || !ok {
		return fmt.Errorf("take slot: %v, %v", ok, err)
	}
	if err := ob.SetPaused(ctx, st, true, "office", t0); err != nil {
		return err
	}
	if _, err := r.AddPhoto(ctx, st, "大辛", Photo{Hash: "h-" + st, Name: st + ".jpg", At: t0}, 10); err != nil {
		return err
	}
	if _, mine, err := r.BeginMsg(ctx, "msg-"+st, "attempt-1", time.Minute, time.Hour); err != nil || !mine {
		return fmt.Errorf("dedup: %v, %v", mine, err)
	}
	return nil
}
