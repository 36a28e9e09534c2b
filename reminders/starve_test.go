package reminders_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"
)

// TestDeliverBlockedGroupDoesNotStarveOthers: a group with a long backlog at its rate
// limit does not hold back another group's message in the same pass, and stays in the
// due-queue, so its backlog goes on once the window has room again.
func TestDeliverBlockedGroupDoesNotStarveOthers(t *testing.T) {
	e := newDeliverEnv(t, io.Discard)
	ka := e.group("chat-a")
	kb := e.group("chat-b")
	e.enqueue(numbered("chat-a", 0, 3000, deliverT0)...)
	e.enqueue(numbered("chat-b", 0, 1, deliverT0)...)
	d := e.deliverer(nil)
	runOnce(t, d, 21)
	if got := contents(e.fake.Messages(kb)); len(got) != 1 {
		t.Fatalf("chat-b got %q while chat-a is at its rate limit", got)
	}
	e.c.Advance(5 * time.Second)
	runOnce(t, d, 0)
	if n := e.pending(); n != 3000-20 {
		t.Fatalf("pending %d, want 2980 still queued", n)
	}
	e.c.Advance(time.Minute)
	due, err := e.outbox.DueStreets(context.Background(), e.c.Now())
	if err != nil || !slices.Contains(due, deliverStreet) {
		t.Fatalf("when the window has room again the due-queue names %q, %v", due, err)
	}
	runOnce(t, d, 20)
	if got := contents(e.fake.Messages(ka)); len(got) != 40 || got[39] != "chat-a 第39条" {
		t.Fatalf("chat-a got %d messages, the last %q", len(got), got[len(got)-1])
	}
}
