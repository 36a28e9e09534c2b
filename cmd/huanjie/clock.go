package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"huanjie/campaign"
)

// demoClock is local mode's campaign clock: it starts at the config's demo_clock, runs
// at the speed of real time, and can be fast-forwarded from the chat page.
type demoClock struct {
	mu     sync.Mutex
	start  time.Time // demo time at began
	began  time.Time // real time
	offset time.Duration
}

func newDemoClock(start time.Time) *demoClock { return &demoClock{start: start, began: time.Now()} }

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Since(c.began) + c.offset).In(campaign.Shanghai)
}

func (c *demoClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// clockAPI serves GET /api/clock (the campaign time) and POST /api/clock with
// {"advance":"1h"|"24h"} or {"next":true} (jump to the next planned reminder); after a
// jump it runs the scheduler and the delivery at once, so the page shows what fires.
type clockAPI struct {
	clock *demoClock
	next  func() (time.Time, bool) // the next planned reminder
	fire  func()                   // tick and deliver now
}

func (a *clockAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var req struct {
			Advance string `json:"advance"`
			Next    bool   `json:"next"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch {
		case req.Next:
			if at, ok := a.next(); ok {
				a.clock.Advance(at.Sub(a.clock.Now()) + time.Second)
			}
		default:
			d, err := time.ParseDuration(req.Advance)
			if err != nil || d <= 0 || d > 60*24*time.Hour {
				http.Error(w, "advance: a positive duration up to 60 days, e.g. 1h or 24h", http.StatusBadRequest)
				return
			}
			a.clock.Advance(d)
		}
		a.fire()
	}
	now := a.clock.Now()
	w.Header().Set("Content-Type", "application/json")
	resp := map[string]string{"now": now.Format(time.RFC3339), "label": now.Format("2006年1月2日 15:04")}
	if at, ok := a.next(); ok {
		resp["next"] = at.In(campaign.Shanghai).Format("1月2日 15:04")
	}
	_ = json.NewEncoder(w).Encode(resp)
}
