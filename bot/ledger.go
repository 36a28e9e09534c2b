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
	// SettleDelivered replaces id's delivery mark from by to ("" forgets it) when from
	// is the mark recorded, and returns the mark after the call: a POST to response_url
	// marked pending is settled as sent, or forgotten when it failed so that a stream
	// refresh may take the answer after all.
	SettleDelivered(ctx context.Context, id, from, to string) (now string, err error)
}

// FirstAnswerLedger is optionally implemented by a MsgLedger, for questions and other
// messages that may be handled again (see Questioner, Repeater), which are answered
// before they are claimed.
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
	Delivered string    // "stream", "url", "url-pending", "conn:<owner>" or "" (see MarkDelivered)
}

// Late paths, as MarkDelivered records them.
const (
	viaStream     = "stream"
	viaURL        = "url"
	viaURLPending = "url-pending" // a POST to response_url is under way and may fail
	// viaConn, followed by the attempt's owner id, marks the long-connection delivery
	// that took the answer out (see LongConn.await).
	viaConn = "conn:"
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
	// DefaultClaimLease is how long a claim on a message holds unless it is renewed. The
	// attempt renews it while its handler runs, so a slow handler keeps its message and a
	// replica that dies gives its messages up this soon.
	DefaultClaimLease = 30 * time.Second
	// streamWindow is how long WeCom refreshes an unfinished stream (doc 100719: 6 min
	// from the user's message) and accepts frames of a stream (doc 101463).
	streamWindow = 6 * time.Minute
)

// ledgerCtx gives a ledger call its own short deadline, detached from ctx's end.
func ledgerCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), ledgerTimeout)
}

// claim is one attempt's hold on a message in the ledger; both transports claim
// through it. The zero ledger (none, or a message without msgid) records nothing.
type claim struct {
	ledger    MsgLedger
	id, owner string
	lease     time.Duration
	log       *slog.Logger
	kept      chan struct{} // closed when renewal stopped; nil when it never started
}

// claimMsg claims message id for a new attempt, for lease (DefaultClaimLease when not
// positive). mine is false when another attempt holds it or it is done: rec says which.
// Without a ledger, or when it fails, the message is the attempt's: at least once beats
// never.
func claimMsg(ctx context.Context, l MsgLedger, id string, lease time.Duration, log *slog.Logger) (c *claim, rec MsgRecord, mine bool) {
	if lease <= 0 {
		lease = DefaultClaimLease
	}
	c = &claim{ledger: l, id: id, owner: newID(), lease: lease, log: log}
	if l == nil || id == "" {
		c.ledger = nil
		return c, MsgRecord{}, true
	}
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	rec, mine, err := l.Begin(lctx, id, c.owner, lease, DedupTTL)
	if err != nil {
		log.Warn("wecom: message ledger unavailable, handling anyway", "err", err)
		return c, MsgRecord{}, true
	}
	return c, rec, mine
}

// keep renews the claim every third of its lease until w is done, or until limit has
// passed for a handler that ignores its deadline.
func (c *claim) keep(ctx context.Context, w *work, limit time.Duration) {
	if c.ledger == nil {
		return
	}
	c.kept = make(chan struct{})
	go func() {
		defer close(c.kept)
		t := time.NewTicker(c.lease / 3)
		defer t.Stop()
		end := time.NewTimer(limit)
		defer end.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-end.C:
				return
			case <-t.C:
			}
			lctx, cancel := ledgerCtx(ctx)
			rec, mine, err := c.ledger.Begin(lctx, c.id, c.owner, c.lease, DedupTTL)
			cancel()
			switch {
			case err != nil:
				c.log.Warn("wecom: message claim not renewed; it lapses unless the next renewal works", "err", err)
			case !mine:
				c.log.Warn("wecom: message claim lost: another attempt holds the message", "done", rec.Done)
				return
			}
		}
	}()
}

// settle records the end of w once renewal has stopped: released when the handler
// failed (WeCom's retry is then processed again), else done with its answer.
func (c *claim) settle(ctx context.Context, w *work) error {
	if c.ledger == nil {
		return nil
	}
	if c.kept != nil {
		<-c.kept
	}
	if w.failed {
		return c.ledger.Release(ctx, c.id, c.owner)
	}
	return c.ledger.Finish(ctx, c.id, w.reply.Markdown, DedupTTL)
}

// release gives the claim back: nothing was done.
func (c *claim) release(ctx context.Context) error {
	if c.ledger == nil {
		return nil
	}
	return c.ledger.Release(ctx, c.id, c.owner)
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
	w   *work
	via string // the path of this process that took the answer out (see takeLate), or ""
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

// take records that path via takes the answer of id out unless another path of this
// process did first, and returns the path that has it ("" when id is not here).
func (s *lateSet) take(id, via string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok {
		return ""
	}
	if e.via == "" {
		e.via = via
	}
	return e.via
}

// settle replaces id's path from by to ("" forgets it) when from is the one recorded.
func (s *lateSet) settle(id, from, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok && e.via == from {
		e.via = to
	}
}

// via is the path of this process that took id's answer out, or "".
func (s *lateSet) via(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok {
		return e.via
	}
	return ""
}

func (s *lateSet) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}
