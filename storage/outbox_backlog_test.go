package storage

import (
	"maps"
	"testing"
	"time"
)

// TestOutboxBacklogs follows one street's outbox through queueing, claiming, sending,
// failing and deferring, and checks what the metrics and the chat page's queue notice
// would show per group after each step.
func TestOutboxBacklogs(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			r := b.open(t)
			ctx, q := ctxT(t), r.Outbox()
			chats := []string{"chat-1", "chat-10", "chat-quiet"}
			want := func(step string, w map[string]Backlog) {
				t.Helper()
				got, err := q.Backlogs(ctx, street, chats)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if !maps.EqualFunc(got, w, func(a, b Backlog) bool {
					return a.Pending == b.Pending && a.Oldest.Equal(b.Oldest) && a.Due.Equal(b.Due) && a.Attempts == b.Attempts
				}) {
					t.Fatalf("%s: backlogs\n%v\nwant\n%v", step, got, w)
				}
			}
			none := Backlog{}
			want("empty outbox", map[string]Backlog{"chat-1": none, "chat-10": none, "chat-quiet": none})

			// chat-1 is a prefix of chat-10: their messages must not be mixed up.
			err := q.Enqueue(ctx, street, []OutMsg{
				out("chat-1", "一", t0), out("chat-1", "二", t0.Add(time.Minute)), out("chat-1", "三", t0.Add(2*time.Minute)),
				out("chat-10", "甲", t0.Add(5*time.Minute)),
			})
			if err != nil {
				t.Fatal(err)
			}
			want("queued", map[string]Backlog{
				"chat-1":     {Pending: 3, Oldest: t0, Due: t0},
				"chat-10":    {Pending: 1, Oldest: t0.Add(5 * time.Minute), Due: t0.Add(5 * time.Minute)},
				"chat-quiet": none})

			claimed := t0.Add(10 * time.Minute)
			got := mustClaim(t, q, claimed, 4)
			leaseEnd := claimed.Add(time.Minute) // mustClaim's lease
			want("claimed (still waiting for the ack)", map[string]Backlog{
				"chat-1":     {Pending: 3, Oldest: t0, Due: leaseEnd},
				"chat-10":    {Pending: 1, Oldest: t0.Add(5 * time.Minute), Due: leaseEnd},
				"chat-quiet": none})

			byText := map[string]OutMsg{}
			for _, m := range got {
				byText[m.Text] = m
			}
			if err := q.Ack(ctx, street, byText["一"].ID, t0); err != nil {
				t.Fatal(err)
			}
			if err := q.Fail(ctx, street, byText["甲"].ID, t0, "errcode 93000"); err != nil {
				t.Fatal(err)
			}
			want("one sent, one failed", map[string]Backlog{
				"chat-1": {Pending: 2, Oldest: t0.Add(time.Minute), Due: leaseEnd}, "chat-10": none, "chat-quiet": none})

			// 二 waits for the rate limit (not an attempt), then for a retry after an error.
			free := claimed.Add(50 * time.Second)
			if err := q.Retry(ctx, street, byText["二"].ID, free, ""); err != nil {
				t.Fatal(err)
			}
			want("deferred by the rate limit", map[string]Backlog{
				"chat-1": {Pending: 2, Oldest: t0.Add(time.Minute), Due: free}, "chat-10": none, "chat-quiet": none})
			if err := q.Retry(ctx, street, byText["二"].ID, free.Add(10*time.Second), "errcode -1"); err != nil {
				t.Fatal(err)
			}
			want("retried after an error", map[string]Backlog{
				"chat-1":  {Pending: 2, Oldest: t0.Add(time.Minute), Due: free.Add(10 * time.Second), Attempts: 1},
				"chat-10": none, "chat-quiet": none})

			if got, err := q.Backlogs(ctx, "城西街道", chats); err != nil || got["chat-1"].Pending != 0 {
				t.Errorf("another street's backlog: %v, %v", got, err)
			}
		})
	}
}
