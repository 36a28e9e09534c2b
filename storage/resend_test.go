package storage

import (
	"context"
	"errors"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/internal/testredis"
)

// TestWritesThroughAStall: every write that is one Lua script, sent through a stall
// longer than the read timeout, is re-sent by go-redis on another connection after the
// first copy already ran. Each must recognise its own earlier run and answer as the
// first run did: one audit entry per review, a queued message not queued again after it
// went out, a recorded occurrence reported as recorded, a photo kept as received (not
// called a duplicate of itself, whose file the caller would then remove), a deleted
// photo reported as deleted.
func TestWritesThroughAStall(t *testing.T) {
	r, c, proxy, prefix := throughAStall(t)
	direct := NewRedis(testredis.Client(t)) // the same keys without the proxy
	direct.k = r.k
	ctx := context.Background()
	stall := func() {
		warmPool(t, c, prefix)
		proxy.For(time.Second)
	}

	t.Run("SaveReview", func(t *testing.T) {
		f := filing("大辛", campaign.ItemMembers, "100", t0)
		if err := direct.Save(ctx, f); err != nil {
			t.Fatal(err)
		}
		stall()
		if err := r.SaveReview(ctx, street, "大辛", approval(f, t0), "初审通过 大辛"); err != nil {
			t.Fatal(err)
		}
		events, err := direct.Events(ctx, street, 0)
		if err != nil {
			t.Fatal(err)
		}
		reviews := 0
		for _, e := range events {
			if e.Action == ActionReview {
				reviews++
			}
		}
		if reviews != 1 {
			t.Errorf("one 初审通过 through a stall left %d review entries in the audit trail", reviews)
		}
	})

	t.Run("Enqueue", func(t *testing.T) {
		// The first copy runs; a deliverer sends and acknowledges the message while the
		// client still waits for the answer; then the re-sent copy (the same call, the
		// same ids) runs.
		dq := direct.Outbox()
		msg := OutMsg{ID: newMsgID(t0), ChatID: "chat-a", Text: "请尽快报送", Created: t0}
		if err := dq.Enqueue(ctx, street, []OutMsg{msg}); err != nil {
			t.Fatal(err)
		}
		got, err := dq.Claim(ctx, street, t0, 10, time.Minute)
		if err != nil || len(got) != 1 {
			t.Fatalf("claim = %v, %v", got, err)
		}
		if err := dq.Ack(ctx, street, got[0].ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := dq.Enqueue(ctx, street, []OutMsg{msg}); err != nil {
			t.Fatal(err)
		}
		if n, err := dq.Pending(ctx, street); err != nil || n != 0 {
			t.Errorf("after the message went out, the re-sent enqueue queued %d again (%v): it would be sent twice", n, err)
		}
	})

	t.Run("EnqueueOnce", func(t *testing.T) {
		stall()
		o := Occurrence{ID: "phase:members:2025-06-03", Title: "会员数截止提醒", At: t0, Done: t0}
		ok, err := r.Outbox().EnqueueOnce(ctx, street, o, []OutMsg{{ChatID: "chat-a", Text: "提醒", Created: t0}})
		if err != nil || !ok {
			t.Errorf("an occurrence queued through a stall = %v, %v; want recorded (true)", ok, err)
		}
		// Another replica's attempt at the same occurrence is still refused.
		o.Done = t0.Add(time.Second)
		if ok, err := direct.Outbox().EnqueueOnce(ctx, street, o, nil); ok || err != nil {
			t.Errorf("a second replica's EnqueueOnce = %v, %v; want false", ok, err)
		}
	})

	t.Run("AddPhoto", func(t *testing.T) {
		stall()
		p := mkPhoto("stalled", 1)
		n, err := r.AddPhoto(ctx, street, "小营", p, 10)
		if err != nil || n != 1 {
			t.Fatalf("a photo added through a stall = %d, %v; want 1 (ErrDuplicatePhoto makes the caller delete its file)", n, err)
		}
		// The same content sent again (another file) is still a duplicate.
		again := mkPhoto("stalled", 2)
		if _, err := direct.AddPhoto(ctx, street, "小营", again, 10); !errors.Is(err, ErrDuplicatePhoto) {
			t.Errorf("the same photo sent again: %v, want ErrDuplicatePhoto", err)
		}
	})

	t.Run("DeletePhotoHash", func(t *testing.T) {
		p := mkPhoto("to-delete", 1)
		if _, err := direct.AddPhoto(ctx, street, "东关", p, 10); err != nil {
			t.Fatal(err)
		}
		stall()
		got, err := r.DeletePhotoHash(ctx, street, "东关", p.Hash)
		if err != nil || got.Name != p.Name {
			t.Fatalf("delete through a stall = %+v, %v; want %s deleted", got, err, p.Name)
		}
		if _, err := direct.DeletePhotoHash(ctx, street, "东关", p.Hash); err != nil && !errors.Is(err, ErrNoSuchPhoto) {
			t.Fatal(err)
		}
	})
}
