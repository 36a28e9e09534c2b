package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Deduper remembers message ids so that a callback WeCom delivers again is handled once.
// Claim reports true when id was not claimed within ttl (the caller should handle the
// message) and false for a duplicate. A Redis SET NX EX implementation lives elsewhere.
type Deduper interface {
	Claim(ctx context.Context, id string, ttl time.Duration) (bool, error)
}

// Limits and defaults of the URL callback.
const (
	// CallbackPath is where the caller is expected to mount Callback.
	CallbackPath = "/wecom/callback"
	// MaxCallbackBody is the largest POST body accepted (larger: 413).
	MaxCallbackBody = 1 << 20
	// DedupTTL is how long a msgid is remembered.
	DedupTTL = 24 * time.Hour
	// DefaultHandlerTimeout bounds a handler on the URL callback; WeCom waits 5 s.
	DefaultHandlerTimeout = 4 * time.Second
)

// Callback is the http.Handler for the AI bot's URL callback (GET: URL verification,
// POST: messages and events, answered with an encrypted passive reply).
type Callback struct {
	crypto  *Crypto
	handler Handler
	dedup   Deduper
	log     *slog.Logger

	// Timeout bounds each handler call (default DefaultHandlerTimeout). A handler still
	// running at the deadline is abandoned: WeCom gets an empty answer and its late
	// reply is logged and dropped. Set it before serving.
	Timeout time.Duration
}

var _ http.Handler = (*Callback)(nil)

// NewCallback returns the URL-callback handler. d may be nil (no deduplication), log may
// be nil (slog.Default()).
func NewCallback(c *Crypto, h Handler, d Deduper, log *slog.Logger) *Callback {
	if log == nil {
		log = slog.Default()
	}
	return &Callback{crypto: c, handler: h, dedup: d, log: log, Timeout: DefaultHandlerTimeout}
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

// receive handles one POSTed callback.
func (cb *Callback) receive(w http.ResponseWriter, r *http.Request) {
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

	if m.MsgID != "" && cb.dedup != nil {
		fresh, err := cb.dedup.Claim(r.Context(), m.MsgID, DedupTTL)
		switch {
		case err != nil:
			log.Warn("wecom callback: dedup unavailable, handling anyway", "err", err)
		case !fresh:
			log.Info("wecom callback: duplicate msgid, not handled again")
			w.WriteHeader(http.StatusOK)
			return
		}
	}

	reply, ok := cb.call(r.Context(), log, m)
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body, kind := buildReply(m, reply)
	if kind == replyNone {
		if !reply.Empty() {
			log.Warn("wecom callback: WeCom takes no reply to this event; dropped")
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	plainReply, err := marshalJSON(body)
	if err == nil {
		plainReply, err = cb.crypto.sealReply(plainReply)
	}
	if err != nil {
		log.Error("wecom callback: cannot seal reply", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(plainReply)
}

// call runs the handler with a deadline. ok is false when the handler panicked. A handler
// that outlives the deadline yields an empty Reply.
func (cb *Callback) call(ctx context.Context, log *slog.Logger, m Message) (reply Reply, ok bool) {
	timeout := cb.Timeout
	if timeout <= 0 {
		timeout = DefaultHandlerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		reply Reply
		panic any
		stack []byte
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- result{panic: v, stack: debug.Stack()}
			}
		}()
		done <- result{reply: cb.handler.Handle(ctx, m)}
	}()
	select {
	case res := <-done:
		if res.panic != nil {
			log.Error("wecom callback: handler panicked", "panic", fmt.Sprint(res.panic), "stack", string(res.stack))
			return Reply{}, false
		}
		return res.reply, true
	case <-ctx.Done():
		log.Warn("wecom callback: handler missed its deadline; answering without a reply", "timeout", timeout, "err", ctx.Err())
		go func() {
			res := <-done
			log.Warn("wecom callback: late handler result dropped", "elapsed", time.Since(start), "had_reply", res.panic == nil && !res.reply.Empty())
		}()
		return Reply{}, true
	}
}
