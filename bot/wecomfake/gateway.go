package wecomfake

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Gateway is a local stand-in for WeCom's AI-bot long-connection endpoint
// (wss://openws.work.weixin.qq.com, doc 101463), as WeCom's own SDK (aibot-node-sdk) talks
// to it: aibot_subscribe with bot_id and secret, ping, aibot_msg_callback and
// aibot_event_callback sent by Deliver, aibot_respond_msg (stream frames),
// aibot_respond_welcome_msg and aibot_send_msg, each acknowledged with
// {"headers":{"req_id"},"errcode","errmsg"}. It applies WeCom's rules as documented or as
// WeCom's SDK and bot plugin handle them:
//
//   - one connection per bot: a newer subscription sends the older connection a
//     disconnected_event and closes it; more than SubscribesPerMinute subscriptions of a
//     bot within a minute are refused with 45009;
//   - an unknown bot_id is refused with 93019, a wrong secret with 40001;
//   - an answer needs the req_id of a callback of the last 24 hours (else 846605), and
//     aibot_respond_msg to an event is refused with 846605; a welcome needs an
//     enter_chat event of the last 5 seconds;
//   - frames of a stream are taken for 6 minutes after its first frame (then 846608);
//   - stream and markdown content up to 20480 bytes (else 40058);
//   - aibot_send_msg only into a chat someone has spoken to the bot in (else 93006), and
//     at most 30 messages a minute and 1000 an hour per chat, replies included (45009);
//   - media uploads (aibot_upload_media_init, _chunk, _finish: chunks of at most 512 KB,
//     at most 100, md5 and size checked) give a media_id for an image or file message,
//     kept 3 days.
//
// Mount it where the bot's WECOM_WS_URL points (ws://host/path).
type Gateway struct {
	now func() time.Time
	log *slog.Logger

	// SubscribesPerMinute bounds subscriptions per bot per minute (default 10).
	SubscribesPerMinute int

	mu      sync.Mutex
	seq     int64
	bots    map[string]string // bot_id → secret
	conns   map[string]*gwConn
	subs    map[string][]time.Time // bot_id → subscription times
	nSubs   map[string]int
	calls   map[string]*Exchange // req_id → callback
	spoken  map[string]bool      // chats someone spoke to the bot in
	sent    map[string][]time.Time
	pushes  []Push
	streams map[string]time.Time // req_id + stream id → first frame
	uploads map[string]*gwUpload // upload_id → upload in progress
	media   map[string]*Media    // media_id → finished upload

	feed feed
}

// Push is one accepted aibot_send_msg.
type Push struct {
	Seq     int64           `json:"seq"`
	BotID   string          `json:"bot_id"`
	ChatID  string          `json:"chatid"`
	Time    time.Time       `json:"time"`
	MsgType string          `json:"msgtype"`
	Content string          `json:"content"` // markdown.content; for media {"media_id","name","size"}
	Body    json.RawMessage `json:"body"`
	Media   *Media          `json:"media,omitempty"` // the uploaded image or file an image or file message names
}

// Frame is one answer frame the bot sent for a callback.
type Frame struct {
	Cmd      string    `json:"cmd"`
	Time     time.Time `json:"time"`
	MsgType  string    `json:"msgtype"`
	StreamID string    `json:"stream_id,omitempty"`
	Finish   bool      `json:"finish"`
	Content  string    `json:"content"`
	ErrCode  int       `json:"errcode"` // what the gateway answered
}

// Exchange is one callback the gateway delivered and the answers to it.
type Exchange struct {
	ReqID  string
	BotID  string
	Cmd    string // aibot_msg_callback or aibot_event_callback
	Event  string // the eventtype of an event callback
	Chat   string // chatid, or the sender's userid in a 1:1 chat
	Sent   time.Time
	mu     sync.Mutex
	frames []Frame
	done   chan struct{} // closed by the first finished stream or welcome
	once   sync.Once
}

// Frames returns the accepted and refused answer frames so far.
func (x *Exchange) Frames() []Frame {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]Frame(nil), x.frames...)
}

// Wait waits until the answer is finished (a finished stream frame or a welcome) or ctx
// ends, and returns the last accepted frame.
func (x *Exchange) Wait(ctx context.Context) (Frame, error) {
	select {
	case <-x.done:
	case <-ctx.Done():
		return Frame{}, fmt.Errorf("wecomfake: no finished answer to %s: %w", x.ReqID, ctx.Err())
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := len(x.frames) - 1; i >= 0; i-- {
		if f := x.frames[i]; f.ErrCode == 0 && (f.Finish || f.Cmd == gwRespondWelcome) {
			return f, nil
		}
	}
	return Frame{}, errors.New("wecomfake: finished without an accepted frame")
}

// Gateway errcodes and limits.
const (
	CodeInvalidBotID   = 93019
	CodeInvalidSecret  = 40001
	CodeInvalidChatID  = 93006
	CodeInvalidReqID   = 846605
	CodeStreamExpired  = 846608
	MaxStreamBytes     = 20480
	ChatPerMinute      = 30
	ChatPerHour        = 1000
	StreamWindow       = 6 * time.Minute
	ReplyWindow        = 24 * time.Hour
	WelcomeWindow      = 5 * time.Second
	gwSubscribe        = "aibot_subscribe"
	gwPing             = "ping"
	gwMsgCallback      = "aibot_msg_callback"
	gwEventCallback    = "aibot_event_callback"
	gwRespondMsg       = "aibot_respond_msg"
	gwRespondWelcome   = "aibot_respond_welcome_msg"
	gwSendMsg          = "aibot_send_msg"
	gwUploadInit       = "aibot_upload_media_init"
	gwUploadChunk      = "aibot_upload_media_chunk"
	gwUploadFinish     = "aibot_upload_media_finish"
	UploadChunkBytes   = 512 << 10
	UploadMaxChunks    = 100
	defaultSubsPerMin  = 10
	gatewayFrameLimit  = 1 << 20
	gatewayWriteTimout = 5 * time.Second
)

// NewGateway returns a gateway with no bots; opts are those of New (WithClock,
// WithLogger).
func NewGateway(opts ...Option) *Gateway {
	s := New(opts...) // reuse the options' clock and logger
	return &Gateway{now: s.now, log: s.log, bots: map[string]string{}, conns: map[string]*gwConn{},
		subs: map[string][]time.Time{}, nSubs: map[string]int{}, calls: map[string]*Exchange{},
		spoken: map[string]bool{}, sent: map[string][]time.Time{}, streams: map[string]time.Time{},
		uploads: map[string]*gwUpload{}, media: map[string]*Media{}}
}

// AddBot registers a bot id and its secret.
func (g *Gateway) AddBot(botID, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.bots[botID] = secret
}

// Subscriptions counts the accepted subscriptions of botID.
func (g *Gateway) Subscriptions(botID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nSubs[botID]
}

// Connected reports whether botID has a subscribed connection.
func (g *Gateway) Connected(botID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[botID] != nil
}

// Pushes returns the accepted aibot_send_msg pushes, oldest first.
func (g *Gateway) Pushes() []Push {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Push(nil), g.pushes...)
}

// Subscribe calls fn with the chat and request body of every push accepted after it
// returns (from the connection's goroutine: fn must be quick); cancel stops the calls.
func (g *Gateway) Subscribe(fn func(chatID string, body []byte)) (cancel func()) {
	return g.feed.subscribe(fn)
}

// Backlog returns the bodies of the pushes accepted for chatID, oldest first.
func (g *Gateway) Backlog(chatID string) [][]byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out [][]byte
	for _, p := range g.pushes {
		if p.ChatID == chatID {
			out = append(out, p.display())
		}
	}
	return out
}

// display is the push in the group webhook's message shape, which the chat page shows:
// an image carries its bytes (base64), a file its media_id.
func (p Push) display() []byte {
	if p.MsgType == "image" && p.Media != nil {
		sum := md5.Sum(p.Media.Data)
		b, _ := json.Marshal(map[string]any{"msgtype": "image", "image": map[string]string{
			"base64": base64.StdEncoding.EncodeToString(p.Media.Data), "md5": hex.EncodeToString(sum[:])}})
		return b
	}
	return append([]byte(nil), p.Body...)
}

// gwConn is one connection.
type gwConn struct {
	ws    *websocket.Conn
	wmu   sync.Mutex
	botID string // "" until subscribed
}

func (c *gwConn) write(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeRaw(data)
}

func (c *gwConn) writeRaw(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), gatewayWriteTimout)
	defer cancel()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.Write(ctx, websocket.MessageText, data)
}

type gwHeaders struct {
	ReqID string `json:"req_id"`
}

type gwFrame struct {
	Cmd     string          `json:"cmd,omitempty"`
	Headers gwHeaders       `json:"headers"`
	Body    json.RawMessage `json:"body,omitempty"`
}

type gwAck struct {
	Headers gwHeaders `json:"headers"`
	ErrCode int       `json:"errcode"`
	ErrMsg  string    `json:"errmsg"`
}

type gwAckBody struct {
	Headers gwHeaders `json:"headers"`
	ErrCode int       `json:"errcode"`
	ErrMsg  string    `json:"errmsg"`
	Body    any       `json:"body,omitempty"`
}

// ServeHTTP accepts a WebSocket connection and serves it until it closes.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(gatewayFrameLimit)
	c := &gwConn{ws: ws}
	defer func() {
		ws.CloseNow()
		g.mu.Lock()
		if c.botID != "" && g.conns[c.botID] == c {
			delete(g.conns, c.botID)
		}
		g.mu.Unlock()
	}()
	ctx := context.WithoutCancel(r.Context())
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var f gwFrame
		if err := json.Unmarshal(data, &f); err != nil {
			g.log.Info("wecomfake gateway: frame is not JSON", "bytes", len(data))
			continue
		}
		if code, msg, body, ok := g.handleWithBody(c, f); ok {
			if err := c.write(gwAckBody{Headers: f.Headers, ErrCode: code, ErrMsg: msg, Body: body}); err != nil {
				return
			}
			continue
		}
		code, msg := g.handle(c, f)
		if f.Cmd == gwSubscribe && code != 0 {
			_ = c.write(gwAck{Headers: f.Headers, ErrCode: code, ErrMsg: msg})
			return
		}
		if err := c.write(gwAck{Headers: f.Headers, ErrCode: code, ErrMsg: msg}); err != nil {
			return
		}
	}
}

// handle applies one frame and returns the acknowledgement's errcode and errmsg.
func (g *Gateway) handle(c *gwConn, f gwFrame) (int, string) {
	switch f.Cmd {
	case gwSubscribe:
		return g.subscribe(c, f)
	case gwPing:
		return 0, "ok"
	}
	if c.botID == "" {
		return CodeInvalidParam, "invalid request: subscribe first"
	}
	switch f.Cmd {
	case gwRespondMsg, gwRespondWelcome:
		return g.respond(c, f)
	case gwSendMsg:
		return g.send(c, f)
	}
	return CodeInvalidParam, fmt.Sprintf("invalid request: unknown cmd %q", f.Cmd)
}

// ServeHTTP's frames that answer with a body.
func (g *Gateway) handleWithBody(c *gwConn, f gwFrame) (code int, msg string, body any, ok bool) {
	if c.botID == "" {
		return 0, "", nil, false
	}
	switch f.Cmd {
	case gwUploadInit:
		code, msg, body = g.uploadInit(c, f)
	case gwUploadChunk:
		code, msg = g.uploadChunk(c, f)
	case gwUploadFinish:
		code, msg, body = g.uploadFinish(c, f)
	default:
		return 0, "", nil, false
	}
	return code, msg, body, true
}

func (g *Gateway) subscribe(c *gwConn, f gwFrame) (int, string) {
	var b struct {
		BotID  string `json:"bot_id"`
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(f.Body, &b)
	g.mu.Lock()
	now := g.now()
	secret, known := g.bots[b.BotID]
	if !known {
		g.mu.Unlock()
		return CodeInvalidBotID, "invalid bot_id"
	}
	window := g.subs[b.BotID][:0]
	for _, t := range g.subs[b.BotID] {
		if now.Sub(t) < time.Minute {
			window = append(window, t)
		}
	}
	limit := g.SubscribesPerMinute
	if limit <= 0 {
		limit = defaultSubsPerMin
	}
	if len(window) >= limit {
		g.subs[b.BotID] = window
		g.mu.Unlock()
		return CodeFreqLimit, "api freq out of limit"
	}
	g.subs[b.BotID] = append(window, now)
	if secret != b.Secret {
		g.mu.Unlock()
		return CodeInvalidSecret, "invalid secret"
	}
	old := g.conns[b.BotID]
	c.botID = b.BotID
	g.conns[b.BotID] = c
	g.nSubs[b.BotID]++
	g.mu.Unlock()
	if old != nil && old != c {
		g.kick(old)
	}
	g.log.Info("wecomfake gateway: subscribed", "bot_id", b.BotID, "replaced", old != nil)
	return 0, "ok"
}

// kick tells c that a newer connection took its bot id, and closes it.
func (g *Gateway) kick(c *gwConn) {
	body, _ := json.Marshal(map[string]any{"msgid": randomID(), "create_time": g.now().Unix(), "aibotid": c.botID,
		"msgtype": "event", "event": map[string]string{"eventtype": "disconnected_event"}})
	_ = c.write(gwFrame{Cmd: gwEventCallback, Headers: gwHeaders{ReqID: randomID()}, Body: body})
	_ = c.ws.Close(websocket.StatusNormalClosure, "replaced by a newer connection")
}

// Kick does to botID's connection what a second instance subscribing with the same bot
// id does: a disconnected_event, then the connection closes.
func (g *Gateway) Kick(botID string) bool {
	g.mu.Lock()
	c := g.conns[botID]
	delete(g.conns, botID)
	g.mu.Unlock()
	if c == nil {
		return false
	}
	g.kick(c)
	return true
}

// SendRaw writes data as a text frame to botID's connection, as is (tests use it for
// frames with control characters).
func (g *Gateway) SendRaw(botID string, data []byte) error {
	g.mu.Lock()
	c := g.conns[botID]
	g.mu.Unlock()
	if c == nil {
		return fmt.Errorf("wecomfake gateway: bot %s is not connected", botID)
	}
	return c.writeRaw(data)
}

// callbackBody is what the gateway reads of a callback it delivers.
type callbackBody struct {
	MsgID    string `json:"msgid"`
	ChatID   string `json:"chatid"`
	ChatType string `json:"chattype"`
	From     struct {
		UserID string `json:"userid"`
	} `json:"from"`
	MsgType string `json:"msgtype"`
	Event   *struct {
		EventType string `json:"eventtype"`
	} `json:"event"`
}

// Deliver sends msg (a message or event in the URL-mode plaintext shape, marshalled to
// JSON) to botID's connection as aibot_msg_callback or, for msgtype "event",
// aibot_event_callback, with a new req_id. The chat counts as spoken in from then on.
func (g *Gateway) Deliver(botID string, msg any) (*Exchange, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var cb callbackBody
	if err := json.Unmarshal(body, &cb); err != nil {
		return nil, err
	}
	x := &Exchange{ReqID: "REQ" + randomID(), BotID: botID, Cmd: gwMsgCallback, Chat: cb.ChatID, done: make(chan struct{})}
	if x.Chat == "" {
		x.Chat = cb.From.UserID
	}
	if cb.MsgType == "event" {
		x.Cmd = gwEventCallback
		if cb.Event != nil {
			x.Event = cb.Event.EventType
		}
	}
	g.mu.Lock()
	c := g.conns[botID]
	x.Sent = g.now()
	if c != nil {
		g.calls[x.ReqID] = x
		if x.Chat != "" {
			g.spoken[x.Chat] = true
		}
	}
	g.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("wecomfake gateway: bot %s is not connected", botID)
	}
	if err := c.write(gwFrame{Cmd: x.Cmd, Headers: gwHeaders{ReqID: x.ReqID}, Body: body}); err != nil {
		return nil, fmt.Errorf("wecomfake gateway: deliver: %w", err)
	}
	return x, nil
}

// replyBody is what the gateway reads of an answer.
type replyBody struct {
	MsgType string `json:"msgtype"`
	Stream  *struct {
		ID      string `json:"id"`
		Finish  bool   `json:"finish"`
		Content string `json:"content"`
	} `json:"stream"`
	Text *struct {
		Content string `json:"content"`
	} `json:"text"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown"`
	Image *struct {
		MediaID string `json:"media_id"`
	} `json:"image"`
	File *struct {
		MediaID string `json:"media_id"`
	} `json:"file"`
	ChatID string `json:"chatid"`
}

func (g *Gateway) respond(c *gwConn, f gwFrame) (int, string) {
	var b replyBody
	if err := json.Unmarshal(f.Body, &b); err != nil {
		return CodeInvalidParam, "invalid request: body is not JSON"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	x := g.calls[f.Headers.ReqID]
	fr := Frame{Cmd: f.Cmd, Time: now, MsgType: b.MsgType}
	code, msg := 0, "ok"
	switch {
	case x == nil || x.BotID != c.botID || now.Sub(x.Sent) > ReplyWindow:
		return CodeInvalidReqID, "invalid req_id"
	case f.Cmd == gwRespondWelcome:
		switch {
		case x.Event != "enter_chat" || now.Sub(x.Sent) > WelcomeWindow:
			code, msg = CodeInvalidReqID, "invalid req_id: a welcome answers an enter_chat event within 5 seconds"
		case b.MsgType != "text" || b.Text == nil || b.Text.Content == "":
			code, msg = CodeInvalidParam, "invalid request: a welcome is a text message"
		default:
			fr.Content = b.Text.Content
		}
	case x.Cmd == gwEventCallback:
		code, msg = CodeInvalidReqID, "invalid req_id: aibot_respond_msg does not answer an event"
	case b.MsgType != "stream" || b.Stream == nil || b.Stream.ID == "":
		code, msg = CodeInvalidMsgType, "invalid message type: answer with a stream"
	case len(b.Stream.Content) > MaxStreamBytes:
		code, msg = CodeInvalidParam, fmt.Sprintf("invalid request: stream.content exceeds %d bytes", MaxStreamBytes)
	default:
		fr.StreamID, fr.Finish, fr.Content = b.Stream.ID, b.Stream.Finish, b.Stream.Content
		key := f.Headers.ReqID + "\n" + b.Stream.ID
		first, seen := g.streams[key]
		switch {
		case !seen:
			g.streams[key] = now
			g.sent[x.Chat] = append(g.sent[x.Chat], now) // a reply counts against the chat's limits
		case now.Sub(first) > StreamWindow:
			code, msg = CodeStreamExpired, "stream expired: more than 6 minutes after its first frame"
		}
	}
	fr.ErrCode = code
	x.mu.Lock()
	x.frames = append(x.frames, fr)
	x.mu.Unlock()
	if code == 0 && (fr.Finish || f.Cmd == gwRespondWelcome) {
		x.once.Do(func() { close(x.done) })
	}
	return code, msg
}

func (g *Gateway) send(c *gwConn, f gwFrame) (int, string) {
	var b replyBody
	if err := json.Unmarshal(f.Body, &b); err != nil {
		return CodeInvalidParam, "invalid request: body is not JSON"
	}
	var mediaID, content string
	switch {
	case b.ChatID == "":
		return CodeInvalidChatID, "invalid chatid"
	case b.MsgType == "markdown":
		switch {
		case b.Markdown == nil || b.Markdown.Content == "":
			return CodeEmptyContent, "empty content"
		case len(b.Markdown.Content) > MaxStreamBytes:
			return CodeInvalidParam, fmt.Sprintf("invalid request: markdown.content exceeds %d bytes", MaxStreamBytes)
		}
		content = b.Markdown.Content
	case b.MsgType == "image" && b.Image != nil:
		mediaID = b.Image.MediaID
	case b.MsgType == "file" && b.File != nil:
		mediaID = b.File.MediaID
	default:
		return CodeInvalidMsgType, fmt.Sprintf("invalid message type %q: the stand-in takes markdown, image and file", b.MsgType)
	}
	g.mu.Lock()
	now := g.now()
	if !g.spoken[b.ChatID] {
		g.mu.Unlock()
		return CodeInvalidChatID, "invalid chatid, hint: nobody has spoken to the bot in this chat"
	}
	var media *Media
	if b.MsgType != "markdown" {
		media = g.media[mediaID]
		if media == nil || media.Key != c.botID || media.Type != b.MsgType || now.Sub(media.Uploaded) >= MediaLifetime {
			g.mu.Unlock()
			return CodeInvalidMediaID, "invalid media_id, hint: unknown, expired (3 days), of another type or another bot's"
		}
		content = mustJSON(map[string]any{"media_id": media.ID, "name": media.Name, "size": media.Size})
	}
	var lastMinute, lastHour []time.Time
	for _, t := range g.sent[b.ChatID] {
		if now.Sub(t) < time.Hour {
			lastHour = append(lastHour, t)
			if now.Sub(t) < time.Minute {
				lastMinute = append(lastMinute, t)
			}
		}
	}
	g.sent[b.ChatID] = lastHour
	if len(lastMinute) >= ChatPerMinute || len(lastHour) >= ChatPerHour {
		g.mu.Unlock()
		return CodeFreqLimit, fmt.Sprintf("api freq out of limit, hint: %d a minute and %d an hour per chat, replies included", ChatPerMinute, ChatPerHour)
	}
	g.sent[b.ChatID] = append(g.sent[b.ChatID], now)
	g.seq++
	p := Push{Seq: g.seq, BotID: c.botID, ChatID: b.ChatID, Time: now, MsgType: b.MsgType, Content: content,
		Body: append([]byte(nil), f.Body...), Media: media}
	g.pushes = append(g.pushes, p)
	g.mu.Unlock()

	g.feed.publish(p.ChatID, p.display())
	return 0, "ok"
}

// gwUpload is one media upload in progress.
type gwUpload struct {
	bot, kind, name, md5 string
	size, total          int
	chunks               map[int][]byte
}

func (g *Gateway) uploadInit(c *gwConn, f gwFrame) (int, string, any) {
	var b struct {
		Type        string `json:"type"`
		Filename    string `json:"filename"`
		TotalSize   int    `json:"total_size"`
		TotalChunks int    `json:"total_chunks"`
		MD5         string `json:"md5"`
	}
	if err := json.Unmarshal(f.Body, &b); err != nil {
		return CodeInvalidParam, "invalid request: body is not JSON", nil
	}
	switch {
	case b.Type != "image" && b.Type != "file" && b.Type != "voice" && b.Type != "video":
		return CodeInvalidType, fmt.Sprintf("invalid type %q", b.Type), nil
	case b.Filename == "":
		return CodeInvalidParam, "invalid request: filename is required", nil
	case b.TotalSize < MinFileBytes || b.TotalSize > MaxFileBytes:
		return CodeFileSize, fmt.Sprintf("invalid file size %d", b.TotalSize), nil
	case b.TotalChunks < 1 || b.TotalChunks > UploadMaxChunks || b.TotalChunks != (b.TotalSize+UploadChunkBytes-1)/UploadChunkBytes:
		return CodeInvalidParam, fmt.Sprintf("invalid total_chunks %d for %d bytes in chunks of %d", b.TotalChunks, b.TotalSize, UploadChunkBytes), nil
	}
	id := "up" + randomID()
	g.mu.Lock()
	g.uploads[id] = &gwUpload{bot: c.botID, kind: b.Type, name: b.Filename, md5: b.MD5, size: b.TotalSize,
		total: b.TotalChunks, chunks: map[int][]byte{}}
	g.mu.Unlock()
	return 0, "ok", map[string]string{"upload_id": id}
}

func (g *Gateway) uploadChunk(c *gwConn, f gwFrame) (int, string) {
	var b struct {
		UploadID   string `json:"upload_id"`
		ChunkIndex int    `json:"chunk_index"`
		Base64Data string `json:"base64_data"`
	}
	if err := json.Unmarshal(f.Body, &b); err != nil {
		return CodeInvalidParam, "invalid request: body is not JSON"
	}
	data, err := base64.StdEncoding.DecodeString(b.Base64Data)
	if err != nil || len(data) == 0 || len(data) > UploadChunkBytes {
		return CodeInvalidParam, "invalid request: base64_data is not base64 of 1 to 512 KB"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.uploads[b.UploadID]
	if u == nil || u.bot != c.botID {
		return CodeInvalidParam, "invalid upload_id"
	}
	if b.ChunkIndex < 0 || b.ChunkIndex >= u.total {
		return CodeInvalidParam, fmt.Sprintf("invalid chunk_index %d of %d", b.ChunkIndex, u.total)
	}
	u.chunks[b.ChunkIndex] = data
	return 0, "ok"
}

func (g *Gateway) uploadFinish(c *gwConn, f gwFrame) (int, string, any) {
	var b struct {
		UploadID string `json:"upload_id"`
	}
	_ = json.Unmarshal(f.Body, &b)
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.uploads[b.UploadID]
	if u == nil || u.bot != c.botID {
		return CodeInvalidParam, "invalid upload_id", nil
	}
	delete(g.uploads, b.UploadID)
	var data []byte
	for i := range u.total {
		chunk, ok := u.chunks[i]
		if !ok {
			return CodeInvalidParam, fmt.Sprintf("invalid request: chunk %d missing", i), nil
		}
		data = append(data, chunk...)
	}
	sum := md5.Sum(data)
	if len(data) != u.size || !strings.EqualFold(hex.EncodeToString(sum[:]), u.md5) {
		return CodeInvalidParam, "invalid request: size or md5 does not match the upload", nil
	}
	now := g.now()
	for id, m := range g.media {
		if now.Sub(m.Uploaded) >= MediaLifetime {
			delete(g.media, id)
		}
	}
	id := "3" + randomID()
	g.media[id] = &Media{ID: id, Key: c.botID, Type: u.kind, Name: u.name, Data: data, Size: len(data), Uploaded: now}
	return 0, "ok", map[string]string{"media_id": id, "type": u.kind, "created_at": fmt.Sprint(now.Unix())}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
