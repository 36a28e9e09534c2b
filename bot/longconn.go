package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// DefaultLongConnURL is WeCom's WebSocket endpoint for AI-bot long connections.
const DefaultLongConnURL = "wss://openws.work.weixin.qq.com"

// Commands of the long-connection protocol (doc 101463, WeCom's aibot-node-sdk).
const (
	cmdSubscribe     = "aibot_subscribe"
	cmdPing          = "ping"
	cmdMsgCallback   = "aibot_msg_callback"
	cmdEventCallback = "aibot_event_callback"
	cmdRespondMsg    = "aibot_respond_msg"
	cmdRespondWelcom = "aibot_respond_welcome_msg"
	cmdSendMsg       = "aibot_send_msg"
)

// Defaults of LongConnOptions.
const (
	DefaultPingEvery           = 30 * time.Second
	DefaultLongConnMaxInFlight = 8
	DefaultLongConnTimeout     = 3 * time.Second
	DefaultBackoffMin          = time.Second
	DefaultBackoffMax          = 60 * time.Second
	// DefaultMaxAuthFailures is how many refused subscriptions in a row end Run, as in
	// WeCom's own SDK (maxAuthFailureAttempts 5): WeCom documents no single "wrong
	// secret" code, so any refusal counts, except the rate limit.
	DefaultMaxAuthFailures = 5
	// ackTimeout is how long a frame waits for WeCom's acknowledgement (WeCom's SDK: 5 s).
	ackTimeout = 5 * time.Second
)

// AuthError is returned by LongConn.Run when WeCom refuses the subscription for good: an
// invalid bot id, or DefaultMaxAuthFailures refusals in a row. Retrying cannot help.
type AuthError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *AuthError) Error() string {
	return fmt.Sprintf("wecom long connection: subscribe refused: errcode %d (%s): %s", e.Code, CodeName(e.Code), e.Msg)
}

// ErrKicked is returned by LongConn.Run after WeCom's disconnected_event: another
// connection subscribed with the same bot id and WeCom dropped this one. Run does not
// connect again (WeCom's own SDK does not either): the two would kick each other, and
// each subscription that is refused or kicked costs messages.
var ErrKicked = errors.New("wecom long connection: another instance subscribed with this bot id and WeCom dropped this connection")

// ErrNotConnected is returned by sends while no connection is subscribed: at once while
// Run is not running (before it starts, after it ended), else after a wait. Nothing was
// sent: a push may be held and sent later.
var ErrNotConnected = errors.New("wecom long connection: not connected")

// APIError is a non-zero errcode in WeCom's acknowledgement of a frame.
type APIError struct {
	Cmd  string
	Code int
	Msg  string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("wecom long connection: %s refused: errcode %d (%s): %s", e.Cmd, e.Code, CodeName(e.Code), e.Msg)
}

// Permanent reports whether sending the same message again cannot succeed.
func (e *APIError) Permanent() bool {
	switch e.Code {
	case ErrCodeInvalidChatID, ErrCodeInvalidParam, ErrCodeInvalidMsgType, ErrCodeEmptyContent:
		return true
	}
	return false
}

// RateLimited reports whether WeCom refused the frame for its rate limit.
func (e *APIError) RateLimited() bool { return e.Code == ErrCodeFreqLimit }

// LongConnOptions configures NewLongConn.
type LongConnOptions struct {
	URL     string // default DefaultLongConnURL
	BotID   string
	Secret  string
	Handler Handler
	Ledger  MsgLedger // nil: no deduplication
	Log     *slog.Logger
	// PingEvery is the heartbeat period (default 30 s). A connection that receives
	// nothing for 2×PingEvery+5 s is considered dead and replaced.
	PingEvery time.Duration

	// MaxInFlight bounds concurrent handler calls (default 8); a message that finds no
	// place before half of Timeout is answered 「系统繁忙，请稍后再发」 and not handled.
	MaxInFlight int
	// Busy, when set, hears of every message refused that way (for metrics).
	Busy func(ctx context.Context)
	// Timeout is how long a handler may take before the user sees an unfinished stream
	// (default 3 s); LateTimeout bounds the handler (default DefaultLateTimeout), and its
	// answer then finishes the stream.
	Timeout, LateTimeout time.Duration
	// ClaimLease is how long the claim on a message holds unless renewed (default
	// DefaultClaimLease); it is renewed while the handler runs.
	ClaimLease time.Duration
	// DrainTimeout is how long the connection stays up after Run's context ended while
	// answers are still owed (default LateTimeout + 1 min); messages that arrive
	// meanwhile are answered 「系统繁忙，请稍后再发」.
	DrainTimeout time.Duration
	// Undelivered, when set, takes each answer the connection could not send (Run ended
	// first, WeCom's rate limit, no connection in time) so that it reaches the chat
	// another way, e.g. queued as a push. Without it such an answer is logged as lost.
	Undelivered func(ctx context.Context, m Message, markdown string) error
	// BackoffMin and BackoffMax bound the reconnect delay (default 1 s and 60 s); it
	// doubles per failed attempt, with jitter.
	BackoffMin, BackoffMax time.Duration
	// OnSubscribed, if set, is called with true when WeCom acknowledges a subscription
	// and with false when that session ends (metrics watch it).
	OnSubscribed func(up bool)
	// MaxAuthFailures is how many refused subscriptions in a row end Run (default 5).
	MaxAuthFailures int
	// OnReply, when set, is called with the chat (chatid, or the userid of a 1:1 chat) of
	// every answer that went out: WeCom counts replies against a chat's push limits.
	OnReply func(chatID string)
}

// LongConn is the AI bot's long-connection (WebSocket) transport.
type LongConn struct {
	o        LongConnOptions
	log      *slog.Logger
	sem      chan struct{}
	handlers sync.WaitGroup
	owed     atomic.Int64 // callbacks being served: answers still owed
	draining atomic.Bool  // Run's context ended: new messages are answered busy

	mu      sync.Mutex
	cur     *conn         // the subscribed connection, nil while there is none
	changed chan struct{} // closed when cur changes
	stopped bool          // Run is not connecting (not started yet, or ended): sends fail at once
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
	if o.Timeout <= 0 {
		o.Timeout = DefaultLongConnTimeout
	}
	if o.LateTimeout <= 0 {
		o.LateTimeout = DefaultLateTimeout
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = DefaultBackoffMin
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(DefaultBackoffMax, o.BackoffMin)
	}
	if o.MaxAuthFailures <= 0 {
		o.MaxAuthFailures = DefaultMaxAuthFailures
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = o.LateTimeout + time.Minute
	}
	// Until Run starts (a standby replica waits for the lease) sends fail at once with
	// ErrNotConnected instead of waiting for a connection that is not coming.
	return &LongConn{o: o, log: o.Log, sem: make(chan struct{}, o.MaxInFlight), changed: make(chan struct{}), stopped: true}
}

// refusedError is a subscription WeCom refused.
type refusedError struct{ code int }

func (e *refusedError) Error() string {
	return fmt.Sprintf("wecom long connection: subscribe refused: errcode %d (%s)", e.code, CodeName(e.code))
}

// Run connects, subscribes and serves callbacks, reconnecting with exponential backoff and
// jitter after a disconnect, until ctx is done (it then returns ctx.Err()), WeCom refuses
// the credentials (an *AuthError) or another connection takes the bot id over
// (ErrKicked). It waits for running handlers, late ones included, before it returns;
// once ctx is done the connection stays up while their answers are owed (see
// DrainTimeout), and an answer that cannot go on it any more goes to Undelivered. Run
// must not be called twice at once: WeCom keeps one connection per bot and the second
// would kick the first.
func (lc *LongConn) Run(ctx context.Context) error {
	lc.mu.Lock()
	lc.stopped = false
	lc.mu.Unlock()
	lc.draining.Store(false)
	defer lc.handlers.Wait()
	defer lc.stop()
	attempt, refusals := 0, 0
	for {
		start := time.Now()
		subscribed, err := lc.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var auth *AuthError
		var refused *refusedError
		switch {
		case errors.As(err, &auth):
			lc.log.Error("wecom long connection: WeCom refuses this bot id or secret; not retrying (check WECOM_BOT_ID and WECOM_BOT_SECRET)",
				"errcode", auth.Code, "errname", CodeName(auth.Code), "errmsg", auth.Msg)
			return err
		case errors.Is(err, ErrKicked):
			lc.log.Error("wecom long connection: another instance holds this bot id (a second deployment, a test machine?); "+
				"WeCom dropped this connection and the bot stays disconnected until it is restarted. "+
				"Stop the other instance, then restart this one.", "bot_id", lc.o.BotID)
			return err
		case errors.As(err, &refused) && refused.code != ErrCodeFreqLimit:
			if refusals++; refusals >= lc.o.MaxAuthFailures {
				lc.log.Error("wecom long connection: subscription refused too often; not retrying (check WECOM_BOT_ID and WECOM_BOT_SECRET)",
					"errcode", refused.code, "errname", CodeName(refused.code), "refusals", refusals)
				return &AuthError{Code: refused.code, Msg: fmt.Sprintf("refused %d times in a row", refusals)}
			}
		case subscribed:
			refusals = 0
		}
		// Only a session that stayed up a while resets the backoff: a server that accepts
		// and drops at once must not make us reconnect in a tight loop.
		if subscribed && time.Since(start) >= lc.o.BackoffMax {
			attempt = 0
		}
		delay := lc.backoff(attempt)
		if errors.As(err, &refused) && refused.code == ErrCodeFreqLimit {
			delay = lc.o.BackoffMax // subscribing too often: WeCom asks us to slow down
		}
		lc.log.Warn("wecom long connection: disconnected", "err", err, "retry_in", delay, "attempt", attempt+1)
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

// conn is one WebSocket connection: send serialises writes, and acknowledgements are
// handed to whoever waits for their req_id.
type conn struct {
	ws *websocket.Conn
	mu sync.Mutex

	amu    sync.Mutex
	acks   map[string]chan frame
	closed chan struct{} // closed when the session ends: no acknowledgement will come
}

// errAckLost means the connection ended before WeCom acknowledged a frame: whether it
// was taken is unknown.
var errAckLost = errors.New("wecom long connection: the connection ended before WeCom acknowledged the frame")

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

// request sends f and waits for WeCom's acknowledgement of its req_id.
func (c *conn) request(ctx context.Context, f outFrame) error {
	_, err := c.call(ctx, f)
	return err
}

// call is request returning the acknowledgement's body.
func (c *conn) call(ctx context.Context, f outFrame) (json.RawMessage, error) {
	ch := make(chan frame, 1)
	id := f.Headers.ReqID
	c.amu.Lock()
	if c.acks == nil {
		c.acks = map[string]chan frame{}
	}
	c.acks[id] = ch
	c.amu.Unlock()
	defer func() {
		c.amu.Lock()
		if c.acks[id] == ch {
			delete(c.acks, id)
		}
		c.amu.Unlock()
	}()
	if err := c.send(ctx, f); err != nil {
		return nil, err
	}
	t := time.NewTimer(ackTimeout)
	defer t.Stop()
	select {
	case ack := <-ch:
		if ack.ErrCode != 0 {
			return nil, &APIError{Cmd: f.Cmd, Code: ack.ErrCode, Msg: ack.ErrMsg}
		}
		return ack.Body, nil
	case <-t.C:
		return nil, fmt.Errorf("wecom long connection: no acknowledgement of %s within %v", f.Cmd, ackTimeout)
	case <-c.closed:
		return nil, errAckLost
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// acked hands an acknowledgement to its waiter; false when nobody waits for it.
func (c *conn) acked(f frame) bool {
	c.amu.Lock()
	defer c.amu.Unlock()
	ch, ok := c.acks[f.Headers.ReqID]
	if ok {
		delete(c.acks, f.Headers.ReqID)
		ch <- f
	}
	return ok
}

// setCurrent makes c the connection sends go through (nil: none).
func (lc *LongConn) setCurrent(c *conn) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.cur = c
	close(lc.changed)
	lc.changed = make(chan struct{})
}

// stop marks the end of Run: nobody will connect any more.
func (lc *LongConn) stop() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.stopped = true
	close(lc.changed)
	lc.changed = make(chan struct{})
}

// current waits up to ctx for a subscribed connection.
func (lc *LongConn) current(ctx context.Context) (*conn, error) {
	for {
		lc.mu.Lock()
		c, changed, stopped := lc.cur, lc.changed, lc.stopped
		lc.mu.Unlock()
		if c != nil {
			return c, nil
		}
		if stopped {
			return nil, ErrNotConnected
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ErrNotConnected
		}
	}
}

// Connected reports whether a subscribed connection is up.
func (lc *LongConn) Connected() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.cur != nil
}

// session runs one connection from dial to disconnect. subscribed reports whether WeCom
// acknowledged the subscription.
func (lc *LongConn) session(parent context.Context) (subscribed bool, err error) {
	// The session outlives parent while answers are owed: see drain.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	defer cancel(nil)
	stopDrain := context.AfterFunc(parent, func() { lc.drain(ctx, cancel) })
	defer stopDrain()

	dialCtx, dialCancel := context.WithTimeout(ctx, 15*time.Second)
	ws, _, err := websocket.Dial(dialCtx, lc.o.URL, nil)
	dialCancel()
	if err != nil {
		return false, fmt.Errorf("wecom long connection: dial: %w", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(MaxCallbackBody)
	c := &conn{ws: ws, closed: make(chan struct{})}
	defer close(c.closed)

	if err := lc.subscribe(ctx, c); err != nil {
		return false, err
	}
	lc.log.Info("wecom long connection: subscribed")
	lc.setCurrent(c)
	defer lc.setCurrent(nil)
	if lc.o.OnSubscribed != nil {
		lc.o.OnSubscribed(true)
		defer lc.o.OnSubscribed(false)
	}

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
				return true, ErrKicked
			}
			lc.handlers.Add(1)
			lc.owed.Add(1)
			if lc.draining.Load() {
				go lc.refuse(ctx, f.Cmd, f.Headers.ReqID, m)
				continue
			}
			go lc.admit(ctx, f.Cmd, f.Headers.ReqID, m, time.Now())
		case "":
			if c.acked(f) {
				continue
			}
			if f.ErrCode != 0 {
				lc.log.Warn("wecom long connection: request refused", "req_id", f.Headers.ReqID,
					"errcode", f.ErrCode, "errname", CodeName(f.ErrCode), "errmsg", f.ErrMsg)
			}
		default:
			lc.log.Debug("wecom long connection: ignored frame", "cmd", f.Cmd)
		}
	}
}

// drain keeps the session up after Run's context ended, until no answer is owed or
// DrainTimeout has passed, then ends it.
func (lc *LongConn) drain(ctx context.Context, cancel context.CancelCauseFunc) {
	lc.draining.Store(true)
	if n := lc.owed.Load(); n > 0 {
		lc.log.Info("wecom long connection: stopping; the connection stays up for the answers still owed", "owed", n)
	}
	limit := time.NewTimer(lc.o.DrainTimeout)
	defer limit.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for lc.owed.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-limit.C:
			lc.log.Warn("wecom long connection: closing with answers still owed; they go to Undelivered when done", "owed", lc.owed.Load())
			cancel(context.Canceled)
			return
		case <-tick.C:
		}
	}
	cancel(context.Canceled)
}

// stripControl drops the control characters WeCom's SDK drops before parsing a frame
// (\x00-\x08, \x0B-\x0D, \x0E-\x1F; tab and line feed stay).
func stripControl(b []byte) []byte {
	if bytes.IndexFunc(b, isStripped) < 0 {
		return b
	}
	return bytes.Map(func(r rune) rune {
		if isStripped(r) {
			return -1
		}
		return r
	}, b)
}

func isStripped(r rune) bool { return r <= 0x1F && r != '\t' && r != '\n' }

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
		if err := json.Unmarshal(stripControl(data), &f); err != nil {
			lc.log.Warn("wecom long connection: frame is not JSON", "bytes", len(data), "err", err)
			continue
		}
		return f, nil
	}
}

// subscribe sends aibot_subscribe and waits for its acknowledgement.
func (lc *LongConn) subscribe(ctx context.Context, c *conn) error {
	reqID := cmdSubscribe + "_" + newID()
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
		switch f.ErrCode {
		case 0:
			return nil
		case ErrCodeInvalidBotID:
			return &AuthError{Code: f.ErrCode, Msg: f.ErrMsg}
		}
		lc.log.Warn("wecom long connection: subscribe refused", "errcode", f.ErrCode, "errname", CodeName(f.ErrCode), "errmsg", f.ErrMsg)
		return &refusedError{code: f.ErrCode}
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
			if err := c.send(ctx, outFrame{Cmd: cmdPing, Headers: frameHeaders{ReqID: cmdPing + "_" + newID()}}); err != nil {
				cancel(err)
				return
			}
		}
	}
}

// admit serves a callback when a place among MaxInFlight comes free before half its
// reply deadline; otherwise it answers a message at once with 「系统繁忙，请稍后再发」 and
// starts nothing — work past its deadline is never begun. Reading the connection never
// waits for a place.
func (lc *LongConn) admit(ctx context.Context, cmd, reqID string, m Message, arrived time.Time) {
	t := time.NewTimer(time.Until(arrived.Add(lc.o.Timeout / 2)))
	defer t.Stop()
	select {
	case lc.sem <- struct{}{}:
		lc.serve(ctx, cmd, reqID, m)
		return
	case <-t.C:
	case <-ctx.Done():
	}
	lc.refuse(ctx, cmd, reqID, m)
}

// refuse answers a message 「系统繁忙，请稍后再发」 without handling it.
func (lc *LongConn) refuse(ctx context.Context, cmd, reqID string, m Message) {
	defer lc.served()
	log := lc.log.With("msgid", m.MsgID, "msgtype", m.MsgType, "req_id", reqID)
	log.Warn("wecom long connection: too busy to start the message in time, or stopping; answered busy", "in_flight", lc.o.MaxInFlight)
	if lc.o.Busy != nil {
		lc.o.Busy(ctx)
	}
	if cmd == cmdMsgCallback {
		if err := lc.finishReply(context.WithoutCancel(ctx), log, reqID, m, newID(), msgBusy); err != nil {
			log.Warn("wecom long connection: busy answer not sent", "err", err)
		}
	}
}

// served marks the end of a callback's service.
func (lc *LongConn) served() {
	lc.owed.Add(-1)
	lc.handlers.Done()
}

// serve claims a callback's message in the ledger and handles it (see handle); a message
// done already gets its recorded answer, and one another attempt holds is awaited (see
// await). It holds a place among MaxInFlight, which it gives back when it only waits.
func (lc *LongConn) serve(ctx context.Context, cmd, reqID string, m Message) {
	defer lc.served()
	slot := true
	defer func() {
		if slot {
			<-lc.sem
		}
	}()
	log := lc.log.With("msgid", m.MsgID, "msgtype", m.MsgType, "chattype", m.ChatType, "req_id", reqID)
	// Replies go on after the connection (or ctx) ends: the answer is owed.
	ctx = context.WithoutCancel(ctx)

	cl, rec, mine := claimMsg(ctx, lc.o.Ledger, m.MsgID, lc.o.ClaimLease, log)
	switch {
	case !mine && rec.Done && cmd == cmdMsgCallback && !(Reply{Markdown: rec.Answer}).Empty():
		log.Info("wecom long connection: message delivered again; answering the recorded answer")
		lc.markDelivered(ctx, log, cl) // a delivery still waiting for it (see await) stays silent
		if err := lc.finishReply(ctx, log, reqID, m, newID(), rec.Answer); err != nil {
			log.Warn("wecom long connection: recorded answer not sent again", "err", err)
		}
		return
	case !mine && !rec.Done && cmd == cmdMsgCallback:
		// Another attempt holds the message: its answer is awaited without a place among
		// MaxInFlight, which belong to messages being handled.
		<-lc.sem
		slot = false
		lc.await(ctx, log, reqID, m, cl)
		return
	case !mine:
		log.Info("wecom long connection: message already handled or being handled", "done", rec.Done)
		return
	}
	lc.handle(ctx, log, cmd, reqID, m, cl)
}

// Waiting for another attempt's answer (see await).
const (
	// awaitPollMax bounds the period the ledger is read at while waiting.
	awaitPollMax = time.Second
	// awaitGrace is how long an answer recorded as done may stay undelivered before a
	// waiting delivery takes it out itself: the attempt that recorded it marks and sends
	// it right after (two ledger calls).
	awaitGrace = 2 * ledgerTimeout
)

// await serves a delivery of a message another attempt holds (on this process or
// another, alive or dead), so that the user gets exactly one answer either way: it reads
// the ledger until the answer went out (the holder marked it delivered: nothing more to
// do), the answer is recorded but nobody took it out within awaitGrace (the holder died
// in between: it answers the recorded answer on this delivery), or the holder's claim
// lapsed or was released (it died or failed: this delivery takes the message over and
// handles it). WeCom takes a reply to a callback's req_id for 24 hours, so the answer
// may come on this delivery however late.
func (lc *LongConn) await(ctx context.Context, log *slog.Logger, reqID string, m Message, cl *claim) {
	poll := min(max(cl.lease/10, 10*time.Millisecond), awaitPollMax)
	// The holder renews its claim while its handler runs (up to LateTimeout + 30 s), and a
	// claim that is no longer renewed lapses within a lease.
	start := time.Now()
	limit := start.Add(lc.o.LateTimeout + 30*time.Second + 2*cl.lease + awaitGrace)
	log.Info("wecom long connection: message delivered again while another attempt holds it; waiting for its answer")
	var doneAt time.Time
	for time.Now().Before(limit) {
		time.Sleep(poll)
		lctx, cancel := ledgerCtx(ctx)
		rec, mine, err := cl.ledger.Begin(lctx, cl.id, cl.owner, cl.lease, DedupTTL)
		cancel()
		switch {
		case err != nil:
			log.Warn("wecom long connection: message ledger unavailable while waiting for the answer", "err", err)
		case mine:
			log.Warn("wecom long connection: the attempt holding the message stopped without answering; handling it here")
			lc.sem <- struct{}{}
			defer func() { <-lc.sem }()
			lc.handle(ctx, log, cmdMsgCallback, reqID, m, cl)
			return
		case rec.Delivered != "":
			log.Info("wecom long connection: the attempt holding the message answered it")
			return
		case !rec.Done:
			doneAt = time.Time{}
		case (Reply{Markdown: rec.Answer}).Empty():
			log.Info("wecom long connection: the attempt holding the message had nothing to answer")
			return
		case doneAt.IsZero():
			doneAt = time.Now()
		case time.Since(doneAt) >= awaitGrace:
			if !lc.markDelivered(ctx, log, cl) {
				log.Info("wecom long connection: the attempt holding the message answered it")
				return
			}
			log.Warn("wecom long connection: the answer was recorded but never sent; answering it here")
			if err := lc.finishReply(ctx, log, reqID, m, newID(), rec.Answer); err != nil {
				lc.owe(ctx, log, m, rec.Answer, err)
			}
			return
		}
	}
	log.Error("wecom long connection: gave up waiting for the answer of the attempt holding the message", "waited", time.Since(start))
}

// markDelivered records in the ledger that cl's attempt takes the answer out, unless
// another attempt did first (false). Without a ledger, or when it fails, the answer goes
// out: twice beats never.
func (lc *LongConn) markDelivered(ctx context.Context, log *slog.Logger, cl *claim) bool {
	if cl.ledger == nil {
		return true
	}
	via := viaConn + cl.owner
	lctx, cancel := ledgerCtx(ctx)
	defer cancel()
	first, err := cl.ledger.MarkDelivered(lctx, cl.id, via)
	if err != nil {
		log.Warn("wecom long connection: message ledger unavailable; sending the answer anyway", "err", err)
		return true
	}
	return first == via || first == ""
}

// handle runs the handler for a message cl holds and answers it: at once when the handler
// is quick, else with an unfinished stream finished by a later frame of the same stream.
func (lc *LongConn) handle(ctx context.Context, log *slog.Logger, cmd, reqID string, m Message, cl *claim) {
	wk := runDetached(ctx, lc.o.Handler, m, lc.o.LateTimeout, log)
	cl.keep(ctx, wk, lc.o.LateTimeout+30*time.Second)
	t := time.NewTimer(lc.o.Timeout)
	defer t.Stop()
	stream := newID()
	unfinished := false // an unfinished stream is showing
	select {
	case <-wk.done:
	case <-t.C:
		if cmd == cmdMsgCallback {
			log.Info("wecom long connection: handler still working; sending an unfinished stream", "timeout", lc.o.Timeout)
			body := replyBody{MsgType: "stream", Stream: &streamBody{ID: stream, Content: msgWorking}}
			if err := lc.respond(ctx, cmdRespondMsg, reqID, body); err != nil {
				log.Warn("wecom long connection: unfinished stream not sent", "err", err)
			} else {
				unfinished = true
			}
		}
		select {
		case <-wk.done:
		case <-time.After(lc.o.LateTimeout + 30*time.Second):
			log.Error("wecom long connection: handler ignored its deadline and never returned")
			return
		}
		log.Info("wecom long connection: late handler finished", "elapsed", time.Since(wk.start))
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := cl.settle(lctx, wk); err != nil {
		log.Warn("wecom long connection: message ledger not updated", "failed", wk.failed, "err", err)
	}
	cancel()
	if cmd == cmdEventCallback {
		lc.answerEvent(ctx, log, reqID, m, wk)
		return
	}
	answer := wk.answer()
	if wk.reply.Empty() && !wk.failed {
		if !unfinished {
			return
		}
		answer = msgDone
	}
	if !wk.failed && !wk.reply.Empty() && !lc.markDelivered(ctx, log, cl) {
		// A delivery of the same message that waited for this answer took it out (see
		// await): this one only closes its unfinished stream.
		log.Warn("wecom long connection: the answer went out on another delivery of the message")
		if !unfinished {
			return
		}
		answer = msgDone
	}
	if err := lc.finishReply(ctx, log, reqID, m, stream, answer); err != nil {
		lc.owe(ctx, log, m, answer, err)
	}
}

// owe hands an answer the connection could not send to Undelivered, which sends it
// another way; without it the answer is lost, and the log says so.
func (lc *LongConn) owe(ctx context.Context, log *slog.Logger, m Message, markdown string, err error) {
	if lc.o.Undelivered == nil {
		log.Error("wecom long connection: answer not sent", "err", err)
		return
	}
	if herr := lc.o.Undelivered(ctx, m, markdown); herr != nil {
		log.Error("wecom long connection: answer not sent, and it could not be handed on", "err", err, "handoff_err", herr)
		return
	}
	log.Warn("wecom long connection: answer not sent on the connection; handed on to go as a push", "err", err)
}

// answerEvent sends the welcome of an enter_chat event (WeCom takes no other answer to
// an event: aibot_respond_msg to one gives 846605).
func (lc *LongConn) answerEvent(ctx context.Context, log *slog.Logger, reqID string, m Message, wk *work) {
	body, kind := buildReply(m, wk.reply)
	if kind != replyWelcome {
		if !wk.reply.Empty() {
			log.Warn("wecom long connection: WeCom takes no reply to this event; dropped")
		}
		return
	}
	if err := lc.respond(ctx, cmdRespondWelcom, reqID, body); err != nil {
		log.Warn("wecom long connection: welcome not sent", "err", err)
	}
}

// finishReply sends the finished stream; when WeCom no longer takes frames of it (846608,
// 846605) or no connection came back in time, the answer goes to the chat with
// aibot_send_msg instead, as WeCom's own plugin does. It returns why the answer did not
// go out.
func (lc *LongConn) finishReply(ctx context.Context, log *slog.Logger, reqID string, m Message, stream, markdown string) error {
	content := truncateContent(ChatMarkdown(markdown), MaxStreamContent)
	body := replyBody{MsgType: "stream", Stream: &streamBody{ID: stream, Finish: true, Content: content}}
	err := lc.respond(ctx, cmdRespondMsg, reqID, body)
	if err == nil {
		lc.replied(m)
		return nil
	}
	var api *APIError
	if !errors.Is(err, ErrNotConnected) && !(errors.As(err, &api) && (api.Code == ErrCodeStreamExpired || api.Code == ErrCodeInvalidReqID)) {
		return err
	}
	chat := m.ChatID
	if chat == "" {
		chat = m.From.UserID
	}
	log.Warn("wecom long connection: the stream cannot be finished any more; sending the answer as a message", "err", err)
	if err := lc.SendMarkdown(ctx, chat, markdown); err != nil {
		return err
	}
	lc.replied(m)
	return nil
}

func (lc *LongConn) replied(m Message) {
	if lc.o.OnReply == nil {
		return
	}
	if chat := m.ChatID; chat != "" {
		lc.o.OnReply(chat)
	} else if m.From.UserID != "" {
		lc.o.OnReply(m.From.UserID)
	}
}

// respond sends an answer frame on the current connection and waits for its
// acknowledgement; without a connection it waits for one up to a minute.
func (lc *LongConn) respond(ctx context.Context, cmd, reqID string, body replyBody) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := lc.current(wctx)
	if err != nil {
		return err
	}
	return c.request(ctx, outFrame{Cmd: cmd, Headers: frameHeaders{ReqID: reqID}, Body: body})
}

// SendMarkdown pushes markdown into a chat (a group's chatid, or a userid for the 1:1
// chat) with aibot_send_msg. It needs a subscribed connection (ErrNotConnected after
// waiting up to ctx's deadline or 10 s for one while Run reconnects, at once while Run is
// not running), and WeCom takes it only in a chat where
// someone has spoken to the bot (else 93006). WeCom's refusals come as *APIError.
func (lc *LongConn) SendMarkdown(ctx context.Context, chatID, markdown string) error {
	if chatID == "" {
		return errors.New("wecom long connection: send: empty chatid")
	}
	content := ChatMarkdown(markdown)
	if len(content) > MaxStreamContent {
		return fmt.Errorf("wecom long connection: send: %d bytes of markdown, WeCom takes at most %d", len(content), MaxStreamContent)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := lc.current(wctx)
	if err != nil {
		return err
	}
	return c.request(ctx, outFrame{Cmd: cmdSendMsg, Headers: frameHeaders{ReqID: reqID(cmdSendMsg)}, Body: map[string]any{
		"chatid": chatID, "msgtype": "markdown", "markdown": map[string]string{"content": content},
	}})
}
