package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DefaultLongConnURL is WeCom's WebSocket endpoint for AI-bot long connections.
const DefaultLongConnURL = "wss://openws.work.weixin.qq.com"

// Commands of the long-connection protocol (doc 101463).
const (
	cmdSubscribe     = "aibot_subscribe"
	cmdPing          = "ping"
	cmdMsgCallback   = "aibot_msg_callback"
	cmdEventCallback = "aibot_event_callback"
	cmdRespondMsg    = "aibot_respond_msg"
	cmdRespondWelcom = "aibot_respond_welcome_msg"
)

// ErrCodeAuthFailed is the subscribe errcode for a wrong bot id or secret.
const ErrCodeAuthFailed = 853000

// Defaults of LongConnOptions.
const (
	DefaultPingEvery           = 30 * time.Second
	DefaultLongConnMaxInFlight = 8
	DefaultLongConnTimeout     = 10 * time.Second
	DefaultBackoffMin          = time.Second
	DefaultBackoffMax          = 60 * time.Second
)

// AuthError is returned by LongConn.Run when WeCom refuses the subscription for good
// (wrong bot id or secret): retrying cannot help.
type AuthError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *AuthError) Error() string {
	return fmt.Sprintf("wecom long connection: subscribe refused: errcode %d: %s", e.Code, e.Msg)
}

// errKicked ends a session after a disconnected_event (a newer connection took over).
var errKicked = errors.New("wecom long connection: replaced by a newer connection")

// LongConnOptions configures NewLongConn.
type LongConnOptions struct {
	URL     string // default DefaultLongConnURL
	BotID   string
	Secret  string
	Handler Handler
	Dedup   Deduper // nil: no deduplication
	Log     *slog.Logger
	// PingEvery is the heartbeat period (default 30 s). A connection that receives
	// nothing for 2×PingEvery+5 s is considered dead and replaced.
	PingEvery time.Duration

	// MaxInFlight bounds concurrent handler calls (default 8); HandlerTimeout bounds
	// each (default 10 s).
	MaxInFlight    int
	HandlerTimeout time.Duration
	// BackoffMin and BackoffMax bound the reconnect delay (default 1 s and 60 s); it
	// doubles per failed attempt, with jitter. After a disconnected_event the next
	// attempt waits BackoffMax.
	BackoffMin, BackoffMax time.Duration
}

// LongConn is the AI bot's long-connection (WebSocket) transport.
type LongConn struct {
	o        LongConnOptions
	log      *slog.Logger
	sem      chan struct{}
	handlers sync.WaitGroup
}

// NewLongConn fills in the defaults of o.
func NewLongConn(o LongConnOptions) *LongConn {
	if o.URL == "" {
		o.URL = DefaultLongConnURL
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.PingEvery <= 0 {
		o.PingEvery = DefaultPingEvery
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultLongConnMaxInFlight
	}
	if o.HandlerTimeout <= 0 {
		o.HandlerTimeout = DefaultLongConnTimeout
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(DefaultBackoffMax, o.BackoffMin)
	}
	return &LongConn{o: o, log: o.Log, sem: make(chan struct{}, o.MaxInFlight)}
}

// Run connects, subscribes and serves callbacks, reconnecting with exponential backoff and
// jitter after any disconnect, until ctx is done (it then returns ctx.Err()) or WeCom
// refuses the credentials (it returns an *AuthError). It waits for running handlers
// before it returns. Run must not be called twice at once: WeCom keeps one connection
// per bot and the second would kick the first.
func (lc *LongConn) Run(ctx context.Context) error {
	defer lc.handlers.Wait()
	attempt := 0
	for {
		start := time.Now()
		subscribed, err := lc.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var auth *AuthError
		if errors.As(err, &auth) {
			lc.log.Error("wecom long connection: credentials refused; not retrying", "errcode", auth.Code, "errmsg", auth.Msg)
			return err
		}
		// Only a session that stayed up a while resets the backoff: a server that accepts
		// and drops at once must not make us reconnect in a tight loop.
		if subscribed && time.Since(start) >= lc.o.BackoffMax {
			attempt = 0
		}
		delay := lc.backoff(attempt)
		if errors.Is(err, errKicked) {
			delay = lc.o.BackoffMax
			lc.log.Warn("wecom long connection: another connection for this bot replaced ours (is a second instance running?)", "retry_in", delay)
		} else {
			lc.log.Warn("wecom long connection: disconnected", "err", err, "retry_in", delay, "attempt", attempt+1)
		}
		attempt++
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is BackoffMin·2^attempt capped at BackoffMax, then drawn uniformly from its
// upper half ("equal jitter").
func (lc *LongConn) backoff(attempt int) time.Duration {
	d := lc.o.BackoffMin
	for i := 0; i < attempt && d < lc.o.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, lc.o.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

// frame is one message of the long-connection protocol, both ways.
type frame struct {
	Cmd     string          `json:"cmd,omitempty"`
	Headers frameHeaders    `json:"headers"`
	Body    json.RawMessage `json:"body,omitempty"`
	ErrCode int             `json:"errcode,omitempty"`
	ErrMsg  string          `json:"errmsg,omitempty"`
}

type frameHeaders struct {
	ReqID string `json:"req_id"`
}

type outFrame struct {
	Cmd     string       `json:"cmd"`
	Headers frameHeaders `json:"headers"`
	Body    any          `json:"body,omitempty"`
}

// conn is one WebSocket connection; send serialises writes.
type conn struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (c *conn) send(ctx context.Context, f outFrame) error {
	data, err := marshalJSON(f)
	if err != nil {
		return fmt.Errorf("wecom long connection: encode %s: %w", f.Cmd, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("wecom long connection: write %s: %w", f.Cmd, err)
	}
	return nil
}

// session runs one connection from dial to disconnect. subscribed reports whether WeCom
// acknowledged the subscription.
func (lc *LongConn) session(parent context.Context) (subscribed bool, err error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	dialCtx, dialCancel := context.WithTimeout(ctx, 15*time.Second)
	ws, _, err := websocket.Dial(dialCtx, lc.o.URL, nil)
	dialCancel()
	if err != nil {
		return false, fmt.Errorf("wecom long connection: dial: %w", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(MaxCallbackBody)
	c := &conn{ws: ws}

	if err := lc.subscribe(ctx, c); err != nil {
		return false, err
	}
	lc.log.Info("wecom long connection: subscribed")

	idle := 2*lc.o.PingEvery + 5*time.Second
	go lc.pinger(ctx, cancel, c)
	for {
		f, err := lc.read(ctx, c, idle)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				return true, cause // the pinger failed
			}
			return true, err
		}
		switch f.Cmd {
		case cmdMsgCallback, cmdEventCallback:
			var m Message
			if err := json.Unmarshal(f.Body, &m); err != nil {
				lc.log.Warn("wecom long connection: callback body is not a message", "cmd", f.Cmd, "err", err)
				continue
			}
			if f.Cmd == cmdEventCallback && m.Event != nil && m.Event.EventType == EventDisconnected {
				_ = ws.Close(websocket.StatusNormalClosure, "replaced")
				return true, errKicked
			}
			select {
			case lc.sem <- struct{}{}:
			case <-ctx.Done():
				return true, ctx.Err()
			}
			lc.handlers.Add(1)
			go lc.serve(ctx, c, f.Headers.ReqID, m)
		case "":
			if f.ErrCode != 0 {
				lc.log.Warn("wecom long connection: request refused", "req_id", f.Headers.ReqID, "errcode", f.ErrCode, "errmsg", f.ErrMsg)
			}
		default:
			lc.log.Debug("wecom long connection: ignored frame", "cmd", f.Cmd)
		}
	}
}

// read reads one frame, giving up after idle without traffic.
func (lc *LongConn) read(ctx context.Context, c *conn, idle time.Duration) (frame, error) {
	for {
		rctx, cancel := context.WithTimeout(ctx, idle)
		typ, data, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			return frame{}, fmt.Errorf("wecom long connection: read: %w", err)
		}
		if typ != websocket.MessageText {
			continue
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			lc.log.Warn("wecom long connection: frame is not JSON", "bytes", len(data))
			continue
		}
		return f, nil
	}
}

// subscribe sends aibot_subscribe and waits for its acknowledgement.
func (lc *LongConn) subscribe(ctx context.Context, c *conn) error {
	reqID := newID()
	err := c.send(ctx, outFrame{Cmd: cmdSubscribe, Headers: frameHeaders{ReqID: reqID}, Body: struct {
		BotID  string `json:"bot_id"`
		Secret string `json:"secret"`
	}{lc.o.BotID, lc.o.Secret}})
	if err != nil {
		return err
	}
	for {
		f, err := lc.read(ctx, c, 15*time.Second)
		if err != nil {
			return fmt.Errorf("wecom long connection: waiting for the subscribe ack: %w", err)
		}
		if f.Headers.ReqID != reqID {
			lc.log.Debug("wecom long connection: frame before the subscribe ack", "cmd", f.Cmd)
			continue
		}
		switch {
		case f.ErrCode == 0:
			return nil
		case f.ErrCode == ErrCodeAuthFailed:
			return &AuthError{Code: f.ErrCode, Msg: f.ErrMsg}
		default:
			return fmt.Errorf("wecom long connection: subscribe refused: errcode %d: %s", f.ErrCode, f.ErrMsg)
		}
	}
}

// pinger sends a heartbeat every PingEvery; a failed write ends the session.
func (lc *LongConn) pinger(ctx context.Context, cancel context.CancelCauseFunc, c *conn) {
	t := time.NewTicker(lc.o.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.send(ctx, outFrame{Cmd: cmdPing, Headers: frameHeaders{ReqID: newID()}}); err != nil {
				cancel(err)
				return
			}
		}
	}
}

// serve handles one callback and answers it on the connection it came from.
func (lc *LongConn) serve(ctx context.Context, c *conn, reqID string, m Message) {
	defer lc.handlers.Done()
	defer func() { <-lc.sem }()
	log := lc.log.With("msgid", m.MsgID, "msgtype", m.MsgType, "chattype", m.ChatType)
	defer func() {
		if v := recover(); v != nil {
			log.Error("wecom long connection: handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	if m.MsgID != "" && lc.o.Dedup != nil {
		fresh, err := lc.o.Dedup.Claim(ctx, m.MsgID, DedupTTL)
		switch {
		case err != nil:
			log.Warn("wecom long connection: dedup unavailable, handling anyway", "err", err)
		case !fresh:
			log.Info("wecom long connection: duplicate msgid, not handled again")
			return
		}
	}
	hctx, cancel := context.WithTimeout(ctx, lc.o.HandlerTimeout)
	reply := lc.o.Handler.Handle(hctx, m)
	cancel()
	body, kind := buildReply(m, reply)
	cmd := cmdRespondMsg
	switch kind {
	case replyNone:
		if !reply.Empty() {
			log.Warn("wecom long connection: WeCom takes no reply to this event; dropped")
		}
		return
	case replyWelcome:
		cmd = cmdRespondWelcom
	}
	if err := c.send(ctx, outFrame{Cmd: cmd, Headers: frameHeaders{ReqID: reqID}, Body: body}); err != nil {
		log.Warn("wecom long connection: reply not sent", "err", err)
	}
}
