package bot

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// MsgLedger remembers, across processes, which WeCom messages are being processed and
// which are done with what answer, so that a message WeCom delivers again is answered
// once, while the retry of an attempt that failed is processed again. The storage
// package implements it on Redis; every method must be one atomic step that can be sent
// twice (a client retry after a timeout) without changing its outcome.
type MsgLedger interface {
	// Begin makes msgid id the owner's for lease unless another attempt holds it (and
	// its hold has not lapsed) or it is done. mine reports whether owner holds it now.
	Begin(ctx context.Context, id, owner string, lease, ttl time.Duration) (rec MsgRecord, mine bool, err error)
	// Finish records id as done with its answer.
	Finish(ctx context.Context, id, answer string, ttl time.Duration) error
	// Release forgets id if owner holds it and it is not done.
	Release(ctx context.Context, id, owner string) error
	// Lookup returns the record of id; ok is false when there is none.
	Lookup(ctx context.Context, id string) (rec MsgRecord, ok bool, err error)
	// MarkDelivered records that id's late answer went out via ("stream" or "url")
	// unless another path did first, and returns the path recorded first ("" when id is
	// not in the ledger).
	MarkDelivered(ctx context.Context, id, via string) (first string, err error)
}

// FirstAnswerLedger is optionally implemented by a MsgLedger, for questions (see
// Questioner), which are answered before they are claimed.
type FirstAnswerLedger interface {
	// FinishFirst records id as done with answer unless it is done already, in one
	// atomic step, and returns the answer that stands: answer (recorded is true), or the
	// one recorded first.
	FinishFirst(ctx context.Context, id, answer string, ttl time.Duration) (stands string, recorded bool, err error)
}

// MsgRecord is what the ledger knows of one message.
type MsgRecord struct {
	Done      bool      // answered; Answer is the answer
	Answer    string    // markdown; "" for no answer
	Until     time.Time // not done: when the hold of the attempt processing it lapses
	Delivered string    // "stream", "url" or "" (see MarkDelivered)
}

// Late paths, as MarkDelivered records them.
const (
	viaStream = "stream"
	viaURL    = "url"
)

// Defaults shared by both transports.
const (
	// DedupTTL is how long a msgid is remembered.
	DedupTTL = 24 * time.Hour
	// DefaultLateTimeout bounds a handler that missed the reply deadline. It stays under
	// the 6 minutes WeCom refreshes an unfinished stream for (URL callback) and a stream
	// may take from its first frame (long connection).
	DefaultLateTimeout = 5 * time.Minute
	// ledgerTimeout bounds each ledger call on the reply path: Redis that stalls must not
	// eat WeCom's 5 seconds, and a call without a deadline is retried by go-redis.
	ledgerTimeout = 1500 * time.Millisecond
	// streamWindow is how long WeCom refreshes an unfinished stream (doc 100719: 6 min
	// from the user's message) and accepts frames of a stream (doc 101463).
	streamWindow = 6 * time.Minute
)

// ledgerCtx gives a ledger call its own short deadline, detached from ctx's end.
func ledgerCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), ledgerTimeout)
}

// work is one handler call that may outlive the reply deadline.
type work struct {
	done   chan struct{} // closed when the handler returned or panicked
	reply  Reply         // valid after done
	failed bool          // the handler panicked
	start  time.Time
}

// runDetached calls h on a context detached from ctx's cancellation (the HTTP request
// or the connection may end first) with its own deadline, so work that outlives the
// reply deadline is not abandoned half-way. A panic is logged and marks the work failed.
func runDetached(ctx context.Context, h Handler, m Message, timeout time.Duration, log *slog.Logger) *work {
	w := &work{done: make(chan struct{}), start: time.Now()}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	go func() {
		defer close(w.done)
		defer cancel()
		defer func() {
			if v := recover(); v != nil {
				w.failed = true
				log.Error("wecom: handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
		}()
		w.reply = h.Handle(hctx, m)
	}()
	return w
}

// answer is the markdown the work ends with: the handler's reply, or a note that it
// failed.
func (w *work) answer() string {
	if w.failed {
		return msgHandlerFailed
	}
	return w.reply.Markdown
}

// streamIDOf is the stream id of the answer to msgid: derived from it, so that WeCom's
// retries and refreshes, on whichever replica, name the same stream.
func streamIDOf(msgid string) string { return streamPrefix + hex.EncodeToString([]byte(msgid)) }

// msgOfStream is the msgid of a stream id made by streamIDOf.
func msgOfStream(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, streamPrefix)
	if !ok {
		return "", false
	}
	b, err := hex.DecodeString(rest)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}

const streamPrefix = "hj"

// lateSet is a process's answers that missed the reply deadline, by msgid, until their
// stream window is over.
type lateSet struct {
	mu sync.Mutex
	m  map[string]*lateEntry
}

type lateEntry struct {
	w         *work
	delivered bool // a refresh on this process took the answer out
}

func (s *lateSet) put(id string, w *work) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*lateEntry{}
	}
	s.m[id] = &lateEntry{w: w}
}

func (s *lateSet) get(id string) (*lateEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	return e, ok
}

func (s *lateSet) markDelivered(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok {
		e.delivered = true
	}
}

func (s *lateSet) deliveredHere(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	return ok && e.delivered
}

func (s *lateSet) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}
