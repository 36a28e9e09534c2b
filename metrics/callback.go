package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// CallbackResult is how one URL callback ended.
type CallbackResult string

// Callback results.
const (
	CallbackReplied   CallbackResult = "replied"   // answered with a reply
	CallbackEmpty     CallbackResult = "empty"     // answered 200 without a reply (nothing to say)
	CallbackTimeout   CallbackResult = "timeout"   // answered 200 without a reply: the handler missed the deadline
	CallbackDuplicate CallbackResult = "duplicate" // the msgid was handled before (a WeCom retry)
	CallbackBusy      CallbackResult = "busy"      // refused at once: no room to start it in time
	CallbackVerified  CallbackResult = "verified"  // a URL verification (GET) answered
	CallbackRejected  CallbackResult = "rejected"  // 4xx: bad signature, malformed, too large…
	CallbackError     CallbackResult = "error"     // 5xx: the handler panicked, the reply could not be sealed
)

var callbackResults = []CallbackResult{CallbackReplied, CallbackEmpty, CallbackTimeout, CallbackDuplicate, CallbackBusy,
	CallbackVerified, CallbackRejected, CallbackError}

// Callback records one URL callback that ended with result after d.
func (m *Metrics) Callback(result CallbackResult, d time.Duration) {
	if m == nil {
		return
	}
	m.callbacks.WithLabelValues(string(result)).Inc()
	m.callbackSeconds.WithLabelValues(string(result)).Observe(d.Seconds())
}

// callbackNote is what the wrappers inside one callback learn, for the middleware.
type callbackNote struct {
	duplicate atomic.Bool
	busy      atomic.Bool
	started   atomic.Bool // a handler was called
	finished  atomic.Bool // it returned
	late      atomic.Bool // it returned after its context ended
}

type noteKey struct{}

func note(ctx context.Context) *callbackNote {
	n, _ := ctx.Value(noteKey{}).(*callbackNote)
	return n
}

// NoteDuplicate tells the callback middleware, through ctx, that the message was a
// duplicate (call it from the deduplication step). Outside a callback it does nothing.
func NoteDuplicate(ctx context.Context) {
	if n := note(ctx); n != nil {
		n.duplicate.Store(true)
	}
}

// NoteBusy tells the callback middleware, through ctx, that the message was refused as
// too busy (bot.Callback.Busy). Outside a callback it does nothing.
func NoteBusy(ctx context.Context) {
	if n := note(ctx); n != nil {
		n.busy.Store(true)
	}
}

// NoteHandler tells the callback middleware, through ctx, that a handler starts; call
// the returned function when it returns. A handler still running when the callback
// answers, or returning after its context ended, makes the callback a timeout.
func NoteHandler(ctx context.Context) (done func()) {
	n := note(ctx)
	if n == nil {
		return func() {}
	}
	n.started.Store(true)
	return func() {
		if ctx.Err() != nil {
			n.late.Store(true)
		}
		n.finished.Store(true)
	}
}

// CallbackMiddleware records every request to the URL callback next by its result: the
// status and whether a body was written, refined by what NoteDuplicate and NoteHandler
// reported. It never looks into the body.
func (m *Metrics) CallbackMiddleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		n := &callbackNote{}
		rw := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), noteKey{}, n)))
		m.Callback(classify(r.Method, rw, n), time.Since(start))
	})
}

func classify(method string, rw *recorder, n *callbackNote) CallbackResult {
	switch {
	case rw.status >= 500:
		return CallbackError
	case rw.status >= 400:
		return CallbackRejected
	case method == http.MethodGet:
		return CallbackVerified
	case n.busy.Load():
		return CallbackBusy
	case n.duplicate.Load(): // answered again from the ledger, or with the stream still working
		return CallbackDuplicate
	case n.started.Load() && (!n.finished.Load() || n.late.Load()): // an unfinished stream
		return CallbackTimeout
	case rw.bytes > 0:
		return CallbackReplied
	default:
		return CallbackEmpty
	}
}

// recorder remembers the status and how many body bytes were written.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
