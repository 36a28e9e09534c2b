package standin

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// PushQueue tells which groups' pushes the bot holds back for WeCom's rate limit; the
// application implements it over its outbox. The page shows a notice in a group's chat
// while its pushes wait.
type PushQueue interface {
	// Held returns, by group chatid, the pushes waiting for the rate limit; a group with
	// nothing held back is left out.
	Held(ctx context.Context) (map[string]Held, error)
}

// Held is what waits for one group.
type Held struct {
	Count int       // pushes waiting
	Next  time.Time // campaign time the first of them may go out
	Until time.Time // campaign time the last of them is expected to be out
}

// queueTimeout bounds one look at the queue: the page asks again soon anyway.
const queueTimeout = 2 * time.Second

// queueView answers GET /api/queue: the campaign clock's now (the page stamps what it
// shows before the bot answers with it) and the groups whose pushes wait.
type queueView struct {
	Now   time.Time  `json:"now"`
	Held  []heldView `json:"held"`
	Error string     `json:"error,omitempty"`
}

type heldView struct {
	ChatID string    `json:"chatid"`
	Count  int       `json:"count"`
	Next   time.Time `json:"next"`
	Until  time.Time `json:"until"`
}

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request) {
	v := queueView{Now: s.o.Clock(), Held: []heldView{}}
	if s.o.Queue == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queueTimeout)
	defer cancel()
	held, err := s.o.Queue.Held(ctx)
	if err != nil {
		s.o.Log.Warn("standin: reading the push queue failed", "err", err)
		v.Error = fmt.Sprintf(msgQueueFailed, err)
		writeJSON(w, http.StatusBadGateway, v)
		return
	}
	for _, c := range s.o.Chats {
		if h, ok := held[c.ChatID]; ok && h.Count > 0 {
			v.Held = append(v.Held, heldView{ChatID: c.ChatID, Count: h.Count, Next: h.Next, Until: h.Until})
		}
	}
	writeJSON(w, http.StatusOK, v)
}
