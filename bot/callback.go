package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits and defaults of the URL callback.
const (
	// CallbackPath is where the caller is expected to mount Callback.
	CallbackPath = "/wecom/callback"
	// MaxCallbackBody is the largest POST body accepted (larger: 413).
	MaxCallbackBody = 1 << 20
	// DefaultHandlerTimeout is how long, from a callback's arrival, the answer may take
	// before WeCom gets an unfinished stream instead; WeCom waits 5 s.
	DefaultHandlerTimeout = 4 * time.Second
	// DefaultReplayWindow is how far a callback's timestamp may be from now.
	DefaultReplayWindow = 5 * time.Minute
	// DefaultRefreshGrace is how long a late answer waits for WeCom's stream refresh to
	// take it before it is POSTed to the message's response_url instead.
	DefaultRefreshGrace = 15 * time.Second
	// responseURLWindow is how long a response_url takes one answer (doc 101138).
	responseURLWindow = time.Hour
	// recordBy is how long after a callback's arrival its answer may wait for the
	// ledger to record it: WeCom waits 5 s for the reply.
	recordBy = 4500 * time.Millisecond
)

// Callback is the http.Handler for the AI bot's URL callback (GET: URL verification,
// POST: messages and events, answered with an encrypted passive reply).
//
// A message is answered within Timeout with a finished stream when the handler is that
// fast. Otherwise WeCom gets an unfinished stream and the handler runs on, detached from
// the request, up to LateTimeout; WeCom then refreshes the stream (doc 100719) and the
// refresh that finds the answer finishes it, on whichever replica it lands, since the
// answer is in the ledger. An answer that no refresh took within RefreshGrace is POSTed
// once to the message's response_url (doc 101138), and a later refresh finishes the
// stream with a note instead of the answer, so the answer reaches the user exactly once.
type Callback struct {
	crypto  *Crypto
	handler Handler
	ledger  MsgLedger
	log     *slog.Logger

	// Timeout is how long after a callback arrives its answer may take before WeCom gets
	// an unfinished stream (default DefaultHandlerTimeout). Set it before serving.
	Timeout time.Duration
	// LateTimeout bounds a handler that missed Timeout (default DefaultLateTimeout).
	LateTimeout time.Duration
	// ClaimLease is how long the claim on a message holds unless renewed (default
	// DefaultClaimLease); it is renewed while the handler runs. Set it before serving.
	ClaimLease time.Duration
	// RefreshGrace is how long a late answer waits for a stream refresh before it goes
	// to response_url (default DefaultRefreshGrace).
	RefreshGrace time.Duration
	// ReplayWindow is how far from now a POSTed callback's timestamp may be (default
	// DefaultReplayWindow); an older or later one is refused, so a captured callback
	// cannot be played again once its msgid is forgotten. Set it before serving.
	ReplayWindow time.Duration
	// Now is the clock the replay window is judged by (default time.Now).
	Now func() time.Time
	// HTTP posts to response_url (default: a client with a 10 s timeout).
	HTTP *http.Client
	// MaxInFlight bounds the handler work running at once (default DefaultMaxInFlight). A
	// message that finds no place before half its reply deadline is answered at once
	// with 「系统繁忙，请稍后再发」 and not handled. Set it before serving.
	MaxInFlight int
	// Busy, when set, hears of every message refused that way (for metrics).
	Busy func(ctx context.Context)

	admit admission
	late  lateSet
	wg    sync.WaitGroup // late work and its delivery
}

var _ http.Handler = (*Callback)(nil)

// NewCallback returns the URL-callback handler. l may be nil (no deduplication: every
// delivery is handled, and late answers are known to this process only), log may be nil
// (slog.Default()).
func NewCallback(c *Crypto, h Handler, l MsgLedger, log *slog.Logger) *Callback {
	if log == nil {
		log = slog.Default()
	}
	return &Callback{crypto: c, handler: h, ledger: l, log: log, Timeout: DefaultHandlerTimeout,
		LateTimeout: DefaultLateTimeout, RefreshGrace: DefaultRefreshGrace, ReplayWindow: DefaultReplayWindow,
		Now: time.Now, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// Shutdown waits until the late work of this process is done and delivered, or ctx ends.
func (cb *Callback) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		cb.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP answers GET (URL verification) and POST (callbacks); a panic anywhere becomes
// a 500 and a log line.
func (cb *Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			cb.log.Error("wecom callback: panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	switch r.Method {
	case http.MethodGet:
		cb.verifyURL(w, r)
	case http.MethodPost:
		cb.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		cb.reject(w, r, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// reject answers status and logs why (never the payload, the signature or a key).
func (cb *Callback) reject(w http.ResponseWriter, r *http.Request, status int, reason string, attrs ...any) {
	args := append([]any{"status", status, "reason", reason, "method", r.Method, "remote", r.RemoteAddr}, attrs...)
	cb.log.Warn("wecom callback: rejected", args...)
	http.Error(w, http.StatusText(status), status)
}

// verifyURL answers WeCom's URL verification with the decrypted echostr.
func (cb *Callback) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce, echo := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")
	if sig == "" || ts == "" || nonce == "" || echo == "" {
		cb.reject(w, r, http.StatusBadRequest, "missing msg_signature, timestamp, nonce or echostr")
		return
	}
	if !cb.crypto.Verify(sig, ts, nonce, echo) {
		cb.reject(w, r, http.StatusUnauthorized, "bad signature on echostr")
		return
	}
	plain, _, err := cb.crypto.Decrypt(echo)
	if err != nil {
		cb.reject(w, r, http.StatusBadRequest, "undecryptable echostr", "err", err)
		return
	}
	cb.log.Info("wecom callback: URL verified")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(plain)
}

// envelope is the part of a callback's query the reply must echo.
type envelope struct{ timestamp, nonce string }

// receive handles one POSTed callback.
func (cb *Callback) receive(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		cb.reject(w, r, http.StatusBadRequest, "missing msg_signature, timestamp or nonce")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCallbackBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			cb.reject(w, r, http.StatusRequestEntityTooLarge, "body too large", "limit", MaxCallbackBody)
			return
		}
		cb.reject(w, r, http.StatusBadRequest, "cannot read body", "err", err)
		return
	}
	var env struct {
		Encrypt string `json:"encrypt"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Encrypt == "" {
		cb.reject(w, r, http.StatusBadRequest, "body is not {\"encrypt\":…}")
		return
	}
	// The signature covers encrypt: check it before touching the ciphertext.
	if !cb.crypto.Verify(sig, ts, nonce, env.Encrypt) {
		cb.reject(w, r, http.StatusUnauthorized, "bad signature")
		return
	}
	// The signature covers the timestamp: a callback signed long ago is a replay.
	if err := cb.fresh(ts); err != nil {
		cb.reject(w, r, http.StatusForbidden, "timestamp outside the replay window", "err", err)
		return
	}
	plain, _, err := cb.crypto.Decrypt(env.Encrypt)
	if err != nil {
		cb.reject(w, r, http.StatusBadRequest, "undecryptable payload", "err", err)
		return
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		cb.reject(w, r, http.StatusBadRequest, "plaintext is not a JSON message")
		return
	}
	log := cb.log.With("msgid", m.MsgID, "msgtype", m.MsgType, "chattype", m.ChatType)
	e := envelope{ts, nonce}
	switch m.MsgType {
	case "stream":
		cb.refresh(w, r.Context(), log, e, m)
	case "event":
		cb.event(w, r.Context(), log, e, m, arrived)
	default:
		cb.message(w, r.Context(), log, e, m, arrived)
	}
}

// fresh checks a callback's timestamp (unix seconds) against the replay window.
func (cb *Callback) fresh(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not a number", ts)
	}
	window := cb.ReplayWindow
	if window <= 0 {
		window = DefaultReplayWindow
	}
	now := time.Now
	if cb.Now != nil {
		now = cb.Now
	}
	age := now().Sub(time.Unix(sec, 0))
	if age > window || age < -window {
		return fmt.Errorf("timestamp %s is %v from now, more than %v", ts, age.Round(time.Second), window)
	}
	return nil
}

func (cb *Callback) timeout() time.Duration {
	if cb.Timeout > 0 {
		return cb.Timeout
	}
	return DefaultHandlerTimeout
}

func (cb *Callback) lateTimeout() time.Duration {
	if cb.LateTimeout > 0 {
		return cb.LateTimeout
	}
	return DefaultLateTimeout
}

// message answers a user's message: at once if the handler is quick, else with an
// unfinished stream that later refreshes (or response_url) complete.
func (cb *Callback) message(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, m Message, arrived time.Time) {
	if fl, ok := cb.ledger.(FirstAnswerLedger); ok && m.MsgID != "" && answersFirst(cb.handler, m) {
		cb.questionFirst(w, ctx, log, e, m, arrived, fl)
		return
	}
	cl, rec, mine := claimMsg(ctx, cb.ledger, m.MsgID, cb.ClaimLease, log)
	key := m.MsgID // names the message's stream and its late answer
	if key == "" {
		key = "no-msgid-" + cl.owner
	}
	stream := streamIDOf(key)
	if !mine {
		if rec.Done {
			log.Info("wecom callback: message already answered; answering the same again")
			if (Reply{Markdown: rec.Answer}).Empty() {
				w.WriteHeader(http.StatusOK)
				return
			}
			cb.writeStream(w, log, e, stream, true, rec.Answer)
			return
		}
		log.Info("wecom callback: message is being processed by another attempt; WeCom will refresh its stream")
		cb.writeStream(w, log, e, stream, false, msgWorking)
		return
	}

	cb.admit.init(cb.MaxInFlight)
	if !cb.admit.enter(arrived.Add(cb.timeout() / 2)) {
		cb.refuseBusy(w, ctx, log, e, cl, stream)
		return
	}
	wk, timer := cb.start(ctx, log, m, arrived)
	defer timer.Stop()
	cl.keep(ctx, wk, cb.lateTimeout()+30*time.Second)
	select {
	case <-wk.done:
		cb.record(ctx, log, cl, wk, arrived)
		if wk.failed {
			// A retry of a failed attempt must be processed: it was released.
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if wk.reply.Empty() {
			w.WriteHeader(http.StatusOK)
			return
		}
		cb.writeStream(w, log, e, stream, true, wk.reply.Markdown)
	case <-timer.C:
		cb.goLate(w, ctx, log, e, m, key, cl, wk)
	}
}

// goLate answers with an unfinished stream the work that missed the reply deadline and
// leaves it to finish on its own: WeCom's refreshes or response_url take its answer.
func (cb *Callback) goLate(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, m Message, key string, cl *claim, wk *work) {
	log.Info("wecom callback: handler still working at the reply deadline; answering with an unfinished stream",
		"timeout", cb.timeout())
	cb.late.put(key, wk)
	cb.wg.Add(1)
	go cb.deliverLate(ctx, log, m, key, cl, wk)
	cb.writeStream(w, log, e, streamIDOf(key), false, msgWorking)
}

// answersFirst tells whether h may handle m before m is claimed: a question
// (Questioner), or a message whose handling again changes nothing more (Repeater).
func answersFirst(h Handler, m Message) bool {
	if r, ok := h.(Repeater); ok && r.Repeatable(m) {
		return true
	}
	q, ok := h.(Questioner)
	return ok && q.Question(m)
}

// questionFirst answers a question (see Questioner), or a message that may be handled
// again (see Repeater), before claiming it (a reply the handler Recorded itself needs no
// more): handled, then
// recorded with FinishFirst, whose answer — this one, or that of an attempt that
// finished first — is the reply, so every delivery of the message gets the same answer
// for one ledger call. A question that misses the reply deadline is claimed then, as
// any message is, so that refreshes on other replicas know it is being answered.
func (cb *Callback) questionFirst(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, m Message, arrived time.Time, fl FirstAnswerLedger) {
	cb.admit.init(cb.MaxInFlight)
	if !cb.admit.enter(arrived.Add(cb.timeout() / 2)) {
		log.Warn("wecom callback: too busy to start the message in time; answered busy", "in_flight", cb.admit.size)
		if cb.Busy != nil {
			cb.Busy(ctx)
		}
		cb.writeStream(w, log, e, streamIDOf(m.MsgID), true, msgBusy)
		return
	}
	wk, timer := cb.start(ctx, log, m, arrived)
	defer timer.Stop()
	select {
	case <-wk.done:
		if wk.failed {
			// Nothing was claimed: WeCom's retry is processed again.
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		answer := wk.reply.Markdown
		if !wk.reply.Recorded { // else every handling of m answers as the first did
			lctx, cancel := ledgerCtx(ctx)
			stands, recorded, err := fl.FinishFirst(lctx, m.MsgID, answer, DedupTTL)
			cancel()
			switch {
			case err != nil:
				log.Warn("wecom callback: message ledger not updated; answering anyway", "err", err)
			case !recorded:
				log.Info("wecom callback: message already answered; answering the same again")
				answer = stands
			}
		}
		if (Reply{Markdown: answer}).Empty() {
			w.WriteHeader(http.StatusOK)
			return
		}
		cb.writeStream(w, log, e, streamIDOf(m.MsgID), true, answer)
	case <-timer.C:
		cl, rec, mine := claimMsg(ctx, cb.ledger, m.MsgID, cb.ClaimLease, log)
		switch {
		case mine:
			cl.keep(ctx, wk, cb.lateTimeout()+30*time.Second)
			cb.goLate(w, ctx, log, e, m, m.MsgID, cl, wk)
		case rec.Done:
			cb.writeStream(w, log, e, streamIDOf(m.MsgID), true, rec.Answer)
		default:
			cb.writeStream(w, log, e, streamIDOf(m.MsgID), false, msgWorking)
		}
	}
}

// start runs the handler on m, detached from the request, in the place admission gave
// it, and returns the timer of the reply deadline, counted from the callback's arrival.
func (cb *Callback) start(ctx context.Context, log *slog.Logger, m Message, arrived time.Time) (*work, *time.Timer) {
	return runDetached(ctx, cb.admit.admitted(cb.handler), m, cb.lateTimeout(), log), time.NewTimer(time.Until(arrived.Add(cb.timeout())))
}

// refuseBusy answers a message the process has no room to start in time: 「系统繁忙」 at
// once, finished, and the message's claim given back, so that nothing half-done is left
// and the same message sent again is handled.
func (cb *Callback) refuseBusy(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, cl *claim, stream string) {
	log.Warn("wecom callback: too busy to start the message in time; answered busy", "in_flight", cb.admit.size)
	if cb.Busy != nil {
		cb.Busy(ctx)
	}
	lctx, cancel := ledgerCtx(ctx)
	if err := cl.release(lctx); err != nil {
		log.Warn("wecom callback: message ledger not released", "err", err)
	}
	cancel()
	cb.writeStream(w, log, e, stream, true, msgBusy)
}

// record settles the claim of finished work (see claim.settle) before its answer goes
// out, so that WeCom's retry, on any replica, finds the answer WeCom was given. A Redis
// that stalls is waited for only until shortly before WeCom's 5 seconds are over: the
// record then completes in the background and the answer goes out anyway.
func (cb *Callback) record(ctx context.Context, log *slog.Logger, cl *claim, wk *work, arrived time.Time) {
	if cl.ledger == nil {
		return
	}
	recorded := make(chan struct{})
	cb.wg.Add(1)
	go func() {
		defer cb.wg.Done()
		defer close(recorded)
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := cl.settle(lctx, wk); err != nil {
			log.Warn("wecom callback: message ledger not updated", "failed", wk.failed, "err", err)
		}
	}()
	wait := min(ledgerTimeout, time.Until(arrived.Add(recordBy)))
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-recorded:
	case <-t.C:
		log.Warn("wecom callback: the ledger is slow; answering before the answer is recorded")
	}
}

// deliverLate waits for late work, records its answer and, when no stream refresh took
// it within RefreshGrace, POSTs it to the message's response_url.
func (cb *Callback) deliverLate(ctx context.Context, log *slog.Logger, m Message, key string, cl *claim, wk *work) {
	defer cb.wg.Done()
	// Keep the answer for refreshes on this process until WeCom stops refreshing.
	defer time.AfterFunc(time.Until(wk.start.Add(streamWindow)), func() { cb.late.drop(key) })
	select {
	case <-wk.done:
	case <-time.After(cb.lateTimeout() + 30*time.Second):
		log.Error("wecom callback: handler ignored its deadline and never returned; the stream ends with a note")
		return
	}
	log.Info("wecom callback: late handler finished", "elapsed", time.Since(wk.start), "failed", wk.failed)
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := cl.settle(lctx, wk); err != nil {
		log.Warn("wecom callback: message ledger not updated", "failed", wk.failed, "err", err)
	}
	cancel()

	grace := cb.RefreshGrace
	if grace <= 0 {
		grace = DefaultRefreshGrace
	}
	for deadline := time.Now().Add(grace); time.Now().Before(deadline); {
		if cb.late.via(key) != "" || cb.deliveredElsewhere(ctx, key) {
			return
		}
		time.Sleep(min(250*time.Millisecond, time.Until(deadline)))
	}
	if cb.late.via(key) != "" || cb.deliveredElsewhere(ctx, key) {
		return
	}
	if m.ResponseURL == "" || time.Since(wk.start) >= responseURLWindow {
		log.Error("wecom callback: no stream refresh took the late answer and there is no usable response_url; answer lost",
			"has_response_url", m.ResponseURL != "")
		return
	}
	if first := cb.takeLate(ctx, log, key, viaURLPending); first != viaURLPending {
		return // a refresh took it after all
	}
	if err := cb.postResponseURL(ctx, m.ResponseURL, orDone(wk.answer())); err != nil {
		// Not sent: a stream refresh may still take it until WeCom stops refreshing.
		log.Error("wecom callback: late answer not delivered through response_url; left for stream refreshes", "err", err)
		cb.settleLate(ctx, log, key, viaURLPending, "")
		return
	}
	cb.settleLate(ctx, log, key, viaURLPending, viaURL)
	log.Info("wecom callback: late answer sent through response_url")
}

// deliveredElsewhere tells whether a refresh on another replica took the answer.
func (cb *Callback) deliveredElsewhere(ctx context.Context, id string) bool {
	if cb.ledger == nil || id == "" || !isMsgID(id) {
		return false
	}
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	rec, ok, err := cb.ledger.Lookup(lctx, id)
	return err == nil && ok && rec.Delivered != ""
}

// markDelivered records the late path that takes the answer out and returns the one
// recorded first; when the ledger cannot say, it returns via (deliver rather than lose).
func (cb *Callback) markDelivered(ctx context.Context, log *slog.Logger, id, via string) string {
	if cb.ledger == nil || id == "" || !isMsgID(id) {
		return via
	}
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	first, err := cb.ledger.MarkDelivered(lctx, id, via)
	if err != nil {
		log.Warn("wecom callback: cannot record which path delivered the late answer", "via", via, "err", err)
		return via
	}
	return first
}

// takeLate records that path via takes out the late answer of message key — first in
// this process, so that its refreshes and its response_url never both send it, then in
// the ledger, for the other replicas — and returns the path that has it: via when this
// one may send it.
func (cb *Callback) takeLate(ctx context.Context, log *slog.Logger, key, via string) string {
	if first := cb.late.take(key, via); first != "" && first != via {
		return first
	}
	first := cb.markDelivered(ctx, log, key, via)
	if first == "" {
		first = via // not in the ledger: nobody else can have it
	}
	if first != via {
		cb.late.settle(key, via, first)
	}
	return first
}

// settleLate replaces the late path from by to ("" forgets it) in this process and in
// the ledger.
func (cb *Callback) settleLate(ctx context.Context, log *slog.Logger, key, from, to string) {
	cb.late.settle(key, from, to)
	if cb.ledger == nil || !isMsgID(key) {
		return
	}
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	if _, err := cb.ledger.SettleDelivered(lctx, key, from, to); err != nil {
		log.Warn("wecom callback: cannot record the outcome of the late answer's delivery", "from", from, "to", to, "err", err)
	}
}

// refresh answers WeCom's stream refresh: the finished answer when it is known, else the
// unfinished stream again.
func (cb *Callback) refresh(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, m Message) {
	if m.Stream == nil || m.Stream.ID == "" {
		log.Warn("wecom callback: stream refresh without a stream id")
		w.WriteHeader(http.StatusOK)
		return
	}
	stream := m.Stream.ID
	msgid, ok := msgOfStream(stream)
	if !ok {
		log.Warn("wecom callback: refresh of a stream this bot did not start", "stream", stream)
		cb.writeStream(w, log, e, stream, true, msgInterrupted)
		return
	}
	log = log.With("of_msgid", msgid)
	var answer string
	if le, ok := cb.late.get(msgid); ok {
		select {
		case <-le.w.done:
			answer = orDone(le.w.answer())
		default:
			cb.writeStream(w, log, e, stream, false, msgWorking)
			return
		}
	} else {
		rec, found, err := cb.lookup(ctx, msgid)
		switch {
		case err != nil:
			log.Warn("wecom callback: message ledger unavailable during a refresh", "err", err)
			cb.writeStream(w, log, e, stream, false, msgWorking)
			return
		case !found || (!rec.Done && time.Now().After(rec.Until)):
			log.Warn("wecom callback: the work behind a stream was lost", "found", found)
			cb.writeStream(w, log, e, stream, true, msgInterrupted)
			return
		case !rec.Done:
			cb.writeStream(w, log, e, stream, false, msgWorking)
			return
		}
		answer = orDone(rec.Answer)
	}
	switch cb.takeLate(ctx, log, msgid, viaStream) {
	case viaURL:
		answer = msgSentSeparately
	case viaURLPending:
		// Whether the POST works decides: the answer, or the note, at a later refresh.
		cb.writeStream(w, log, e, stream, false, msgWorking)
		return
	}
	log.Info("wecom callback: late answer delivered by a stream refresh")
	cb.writeStream(w, log, e, stream, true, answer)
}

func (cb *Callback) lookup(ctx context.Context, id string) (MsgRecord, bool, error) {
	if cb.ledger == nil {
		return MsgRecord{}, false, nil
	}
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	return cb.ledger.Lookup(lctx, id)
}

// event answers an event within the reply deadline; WeCom takes no late answer to one.
func (cb *Callback) event(w http.ResponseWriter, ctx context.Context, log *slog.Logger, e envelope, m Message, arrived time.Time) {
	cl, rec, mine := claimMsg(ctx, cb.ledger, m.MsgID, cb.ClaimLease, log)
	if !mine {
		log.Info("wecom callback: event already handled", "done", rec.Done)
		w.WriteHeader(http.StatusOK)
		return
	}
	cb.admit.init(cb.MaxInFlight)
	if !cb.admit.enter(arrived.Add(cb.timeout() / 2)) {
		log.Warn("wecom callback: too busy to answer an event in time; no answer")
		if cb.Busy != nil {
			cb.Busy(ctx)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	wk, timer := cb.start(ctx, log, m, arrived)
	defer timer.Stop()
	cl.keep(ctx, wk, cb.lateTimeout()+30*time.Second)
	select {
	case <-wk.done:
	case <-timer.C:
		log.Warn("wecom callback: event handler missed the reply deadline; WeCom takes no late answer to an event")
		cb.wg.Add(1)
		go func() {
			defer cb.wg.Done()
			<-wk.done
			cb.record(ctx, log, cl, wk, time.Now())
		}()
		w.WriteHeader(http.StatusOK)
		return
	}
	cb.record(ctx, log, cl, wk, arrived)
	if wk.failed {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, kind := buildReply(m, wk.reply)
	if kind == replyNone {
		if !wk.reply.Empty() {
			log.Warn("wecom callback: WeCom takes no reply to this event; dropped")
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	cb.write(w, log, e, body)
}

// writeStream answers with a stream frame of id.
func (cb *Callback) writeStream(w http.ResponseWriter, log *slog.Logger, e envelope, id string, finish bool, markdown string) {
	content := truncateContent(ChatMarkdown(markdown), MaxStreamContent)
	cb.write(w, log, e, replyBody{MsgType: "stream", Stream: &streamBody{ID: id, Finish: finish, Content: content}})
}

// write seals body as the passive reply to the callback of envelope e.
func (cb *Callback) write(w http.ResponseWriter, log *slog.Logger, e envelope, body replyBody) {
	plain, err := marshalJSON(body)
	if err == nil {
		plain, err = cb.crypto.sealReply(plain, e.timestamp, e.nonce)
	}
	if err != nil {
		log.Error("wecom callback: cannot seal reply", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(plain)
}

// ResponseError is a non-zero errcode from a response_url.
type ResponseError struct {
	Code int
	Msg  string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("wecom response_url: errcode %d (%s): %s", e.Code, CodeName(e.Code), e.Msg)
}

// postResponseURL POSTs markdown once to a message's response_url (doc 101138: one call
// within an hour, unencrypted JSON). Network failures before WeCom answered are tried
// again, twice; an answer with an errcode is not.
func (cb *Callback) postResponseURL(ctx context.Context, rawURL, markdown string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("wecom response_url: not an http(s) URL")
	}
	body, err := marshalJSON(map[string]any{"msgtype": "markdown",
		"markdown": map[string]string{"content": truncateContent(ChatMarkdown(markdown), MaxStreamContent)}})
	if err != nil {
		return err
	}
	client := cb.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var last error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			last = fmt.Errorf("wecom response_url: %w", errors.Unwrap(err))
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		cancel()
		if resp.StatusCode >= 500 {
			last = fmt.Errorf("wecom response_url: HTTP %d", resp.StatusCode)
			continue
		}
		var res struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &res) != nil {
			return fmt.Errorf("wecom response_url: HTTP %d, answer %.100q", resp.StatusCode, raw)
		}
		if res.ErrCode != 0 {
			return &ResponseError{Code: res.ErrCode, Msg: res.ErrMsg}
		}
		return nil
	}
	return last
}

// isMsgID tells a real msgid from the key of a message that came without one.
func isMsgID(key string) bool { return !strings.HasPrefix(key, "no-msgid-") }

// orDone is s, or msgDone for an empty answer: a stream once shown must end with text.
func orDone(s string) string {
	if (Reply{Markdown: s}).Empty() {
		return msgDone
	}
	return s
}
