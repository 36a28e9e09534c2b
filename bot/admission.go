package bot

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxInFlight bounds the handler work a URL-callback process runs at once.
const DefaultMaxInFlight = 64

// admission bounds the work running at once. A message waits for a place only while its
// answer could still be on time; work whose deadline has passed is never started, and
// the sender is told at once that the bot is busy — overload does not feed itself with
// abandoned work.
type admission struct {
	once  sync.Once
	size  int
	slots chan struct{}
}

func (a *admission) init(size int) {
	a.once.Do(func() {
		if size <= 0 {
			size = DefaultMaxInFlight
		}
		a.size, a.slots = size, make(chan struct{}, size)
	})
}

// enter takes a place, waiting until deadline at most; false when none came free.
func (a *admission) enter(deadline time.Time) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// leave gives a place back.
func (a *admission) leave() { <-a.slots }

// admitted wraps h so that its call gives the place back when it returns.
func (a *admission) admitted(h Handler) Handler {
	return HandlerFunc(func(ctx context.Context, m Message) Reply {
		defer a.leave()
		return h.Handle(ctx, m)
	})
}
