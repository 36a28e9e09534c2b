// Package standin is the local stand-in for WeCom: a chat page that looks like a WeCom
// group chat, sends what people type to the bot exactly as WeCom would — to its URL
// callback (signed and encrypted, with stream refreshes and a response_url), or over the
// long connection through the gateway stand-in — shows the bot's answers, and shows live
// what the bot pushes through the group webhook stand-in or, over the long connection,
// with aibot_send_msg.
package standin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
)

// Persona is someone the page lets you speak as.
type Persona struct {
	UserID string `json:"userid"`
	Label  string `json:"label"` // e.g. "崔宏 · 大辛社区秘书长"; the part before " · " is the name
}

// Name is the part of Label before " · " (or the whole label, or the userid).
func (p Persona) Name() string {
	name, _, _ := strings.Cut(p.Label, "·")
	if name = strings.TrimSpace(name); name != "" {
		return name
	}
	return p.UserID
}

// Chat is a group the bot is in, with the key of the group's push webhook.
type Chat struct {
	ChatID     string `json:"chatid"`
	Name       string `json:"name"`
	WebhookKey string `json:"-"`
}

// Options configures the stand-in.
type Options struct {
	CallbackURL string      // the bot's URL callback, e.g. http://127.0.0.1:8080/wecom/callback
	Crypto      *bot.Crypto // the same token and EncodingAESKey the callback uses

	// Gateway and BotID, when set, make the page talk to the bot over the long
	// connection instead of the URL callback: messages are delivered by the gateway
	// stand-in the bot is subscribed to, and the bot's aibot_send_msg pushes are shown.
	Gateway  *wecomfake.Gateway
	BotID    string
	BotName  string // e.g. 换届助手; group messages are sent as "@BotName text"
	Personas []Persona
	Chats    []Chat
	Pushes   PushFeed // the webhook stand-in (*wecomfake.Server fits); nil shows no pushes
	// Queue tells which groups' pushes wait for WeCom's rate limit (the bot's outbox);
	// nil shows no queue notice.
	Queue PushQueue
	// Clock is the campaign clock the bot runs on (local mode's demo clock): the page
	// stamps messages and pushes with it. Default time.Now.
	Clock      func() time.Time
	Log        *slog.Logger
	HTTPClient *http.Client // default: 15 s timeout

	// MediaBaseURL is where the bot fetches the images sent in the 单聊 from, e.g.
	// http://127.0.0.1:8080; default: the scheme and host the page was loaded from.
	MediaBaseURL string

	// StreamPoll is the pause between stream-refresh callbacks while a reply is
	// unfinished (default 1 s); StreamPolls caps their number (default 30).
	StreamPoll  time.Duration
	StreamPolls int
}

// Server is the stand-in's http.Handler. Close it to end the page's live streams.
type Server struct {
	o        Options
	mux      *http.ServeMux
	page     []byte
	log      *pushLog
	byKey    map[string]Chat
	byChat   map[string]Chat
	byUser   map[string]Persona
	stopFeed []func()
	once     sync.Once
	media    *mediaStore
	answers  *responseURLs
}

const (
	maxText       = 4000
	keptPushes    = 500
	wecomPatience = 5 * time.Second
	aibotID       = "local-aibot"
)

// New builds the stand-in. It reads o.Pushes' backlog (if it is a PushBacklog) for the
// chats' keys and subscribes to it at once; build it before the bot starts pushing.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if o.BotName == "" {
		o.BotName = "机器人"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.StreamPoll <= 0 {
		o.StreamPoll = time.Second
	}
	if o.StreamPolls <= 0 {
		o.StreamPolls = 30
	}
	s := &Server{
		o:       o,
		mux:     http.NewServeMux(),
		log:     newPushLog(keptPushes),
		byKey:   map[string]Chat{},
		byChat:  map[string]Chat{},
		byUser:  map[string]Persona{},
		media:   newMediaStore(),
		answers: newResponseURLs(),
	}
	for _, c := range o.Chats {
		s.byChat[c.ChatID] = c
		if _, dup := s.byKey[c.WebhookKey]; c.WebhookKey != "" && !dup {
			s.byKey[c.WebhookKey] = c
		}
	}
	for _, p := range o.Personas {
		s.byUser[p.UserID] = p
	}
	page, err := renderPage(s.pageData())
	if err != nil {
		panic(fmt.Sprintf("standin: page template: %v", err)) // the template is embedded: a bug
	}
	s.page = page
	if o.Pushes != nil {
		if b, ok := o.Pushes.(PushBacklog); ok {
			for _, c := range o.Chats {
				if c.WebhookKey == "" {
					continue
				}
				for _, body := range b.Backlog(c.WebhookKey) {
					s.deliver(c.WebhookKey, body)
				}
			}
		}
		s.stopFeed = append(s.stopFeed, o.Pushes.Subscribe(s.deliver))
	}
	if o.Gateway != nil {
		for _, c := range o.Chats {
			for _, body := range o.Gateway.Backlog(c.ChatID) {
				s.deliverChat(c.ChatID, viaBot, body)
			}
		}
		s.stopFeed = append(s.stopFeed, o.Gateway.Subscribe(func(chatID string, body []byte) {
			s.deliverChat(chatID, viaBot, body)
		}))
	}
	s.mux.HandleFunc("GET /{$}", s.handlePage)
	s.mux.HandleFunc("GET /api/personas", s.handlePersonas)
	s.mux.HandleFunc("POST /api/send", s.handleSend)
	s.mux.HandleFunc("POST /api/enter", s.handleEnter)
	s.mux.HandleFunc("POST /api/send-image", s.handleSendImage)
	s.mux.HandleFunc("GET "+mediaPath+"{id}", s.handleMedia)
	s.mux.HandleFunc("GET /api/pushes", s.handlePushes)
	s.mux.HandleFunc("GET /api/queue", s.handleQueue)
	s.mux.HandleFunc("POST "+ResponsePath, s.handleResponseURL)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops listening to the push feed and ends open push streams.
func (s *Server) Close() error {
	s.once.Do(func() {
		for _, stop := range s.stopFeed {
			stop()
		}
		s.log.close()
	})
	return nil
}

// How a message shown as a push reached the chat.
const (
	viaWebhook  = "webhook"
	viaBot      = "bot"          // aibot_send_msg over the long connection
	viaResponse = "response_url" // the bot's late answer to a message
)

func (s *Server) deliver(key string, body []byte) {
	c, ok := s.byKey[key]
	if !ok {
		return
	}
	s.deliverChat(c.ChatID, viaWebhook, body)
}

// deliverChat shows body (a message in the webhook's shape) in chat: a group's chatid, or
// a person's userid for the 1:1 chat.
func (s *Server) deliverChat(chat, via string, body []byte) {
	p := parsePush(body)
	p.Via, p.At, p.Received = via, s.o.Clock(), time.Now()
	if c, ok := s.byChat[chat]; ok {
		p.ChatID, p.Chat = c.ChatID, c.Name
	} else {
		p.ChatID, p.Chat = singleChat(chat), msgSingleChatName
	}
	s.log.add(p)
}

// singleChat is how the page names the 1:1 chat of userid.
func singleChat(userid string) string { return "single:" + userid }

// --- GET / and /api/personas

type personaView struct {
	UserID string `json:"userid"`
	Label  string `json:"label"`
	Name   string `json:"name"`
}

type pageData struct {
	BotName  string        `json:"bot_name"`
	Personas []personaView `json:"personas"`
	Chats    []Chat        `json:"chats"`
	Single   string        `json:"single_label"`
	LongConn bool          `json:"long_connection"`
}

func (s *Server) pageData() pageData {
	d := pageData{BotName: s.o.BotName, Personas: []personaView{}, Chats: []Chat{}, Single: msgSingleChatName, LongConn: s.o.Gateway != nil}
	for _, p := range s.o.Personas {
		d.Personas = append(d.Personas, personaView{p.UserID, p.Label, p.Name()})
	}
	d.Chats = append(d.Chats, s.o.Chats...)
	return d
}

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob: https: http:; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	_, _ = w.Write(s.page)
}

func (s *Server) handlePersonas(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.pageData())
}

// --- POST /api/send

type sendRequest struct {
	UserID string `json:"userid"`
	ChatID string `json:"chatid"` // "" = single chat
	Text   string `json:"text"`
	// Voice sends Text as a voice message in the 1:1 chat, as WeCom does with what it
	// transcribed (voice reaches the bot only in 1:1 chats).
	Voice bool `json:"voice,omitempty"`
}

type sendResponse struct {
	Reply     string `json:"reply"`
	Status    int    `json:"status"` // the callback's HTTP status; 0 if unreachable
	Error     string `json:"error,omitempty"`
	Warning   string `json:"warning,omitempty"`
	MsgID     string `json:"msgid,omitempty"`
	ElapsedMS int64  `json:"elapsed_ms"`
	// SentAt and ReplyAt are campaign times (Options.Clock): when the message went to
	// the bot, and when its answer (or the error) came back.
	SentAt  time.Time `json:"sent_at,omitzero"`
	ReplyAt time.Time `json:"reply_at,omitzero"`
}

func (s *Server) handleSend(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !s.readRequest(w, r, &req) {
		return
	}
	text := strings.TrimSpace(req.Text)
	switch {
	case req.ChatID != "" && s.byChat[req.ChatID].ChatID == "":
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: fmt.Sprintf(msgUnknownChat, req.ChatID)})
		return
	case text == "":
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: msgEmptyText})
		return
	case len(text) > maxText:
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: fmt.Sprintf(msgTooLong, maxText)})
		return
	case req.Voice && req.ChatID != "":
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: msgVoiceInGroup})
		return
	}
	m := bot.Message{
		MsgID:    randomHex(16),
		AIBotID:  aibotID,
		ChatType: "single",
		From:     bot.From{UserID: req.UserID},
		MsgType:  "text",
		Text:     &bot.Text{Content: text},
	}
	if req.ChatID != "" {
		m.ChatID, m.ChatType = req.ChatID, "group"
		m.Text.Content = "@" + s.o.BotName + " " + text
	}
	if req.Voice {
		m.MsgType, m.Text, m.Voice = "voice", nil, &bot.Text{Content: text}
	}
	s.respond(w, r, m)
}

// handleEnter sends the enter_chat event WeCom sends when someone opens the bot's 1:1
// chat (the first time in a day); the page calls it when you switch to 单聊.
func (s *Server) handleEnter(w http.ResponseWriter, r *http.Request) {
	var req sendRequest
	if !s.readRequest(w, r, &req) {
		return
	}
	m := bot.Message{
		MsgID:    randomHex(16),
		AIBotID:  aibotID,
		ChatType: "single",
		From:     bot.From{UserID: req.UserID},
		MsgType:  "event",
		Event: &struct {
			EventType string `json:"eventtype"`
		}{EventType: bot.EventEnterChat},
	}
	s.respond(w, r, m)
}

// readRequest decodes a JSON request into req and checks its userid; on failure it has
// answered already.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, req *sendRequest) bool {
	// Only JSON: a cross-site form cannot forge this request without a preflight.
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, sendResponse{Error: msgNeedJSON})
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(req); err != nil {
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: fmt.Sprintf(msgBadJSON, err)})
		return false
	}
	switch {
	case req.UserID == "":
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: msgNoUser})
		return false
	case len(s.byUser) > 0 && s.byUser[req.UserID].UserID == "":
		writeJSON(w, http.StatusBadRequest, sendResponse{Error: fmt.Sprintf(msgUnknownUser, req.UserID)})
		return false
	}
	return true
}

// respond delivers m to the bot and answers the page with the outcome.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, m bot.Message) {
	res := s.exchange(r, m)
	code := http.StatusOK
	if res.Error != "" {
		code = http.StatusBadGateway
	}
	writeJSON(w, code, res)
}

// exchange delivers m to the bot and returns the outcome.
func (s *Server) exchange(r *http.Request, m bot.Message) sendResponse {
	start, sentAt := time.Now(), s.o.Clock()
	var res sendResponse
	if s.o.Gateway != nil {
		res = s.converseLong(r.Context(), m)
	} else {
		if m.MsgType != "event" {
			m.ResponseURL = s.answers.issue(s.mediaBase(r), m)
		}
		res = s.converse(r.Context(), m)
	}
	res.MsgID = m.MsgID
	res.ElapsedMS = time.Since(start).Milliseconds()
	res.SentAt, res.ReplyAt = sentAt, s.o.Clock()
	if res.Error == "" && time.Since(start) > wecomPatience {
		res.Warning = fmt.Sprintf(msgSlow, time.Since(start).Seconds())
	}
	s.o.Log.Info("standin: delivered", "msgid", m.MsgID, "msgtype", m.MsgType, "user", m.From.UserID,
		"chat", m.ChatID, "status", res.Status, "elapsed_ms", res.ElapsedMS, "error", res.Error)
	return res
}

// converse sends m and, while the stream reply is unfinished, polls with stream-refresh
// callbacks the way WeCom does.
func (s *Server) converse(ctx context.Context, m bot.Message) sendResponse {
	reply, res := s.call(ctx, m)
	for i := 0; res.Error == "" && !reply.Empty && !reply.Finish; i++ {
		if i >= s.o.StreamPolls {
			res.Warning = fmt.Sprintf(msgUnfinished, i)
			break
		}
		select {
		case <-ctx.Done():
			return res
		case <-time.After(s.o.StreamPoll):
		}
		refresh := m
		refresh.MsgID, refresh.MsgType, refresh.Text = randomHex(16), "stream", nil
		refresh.Stream = &struct {
			ID string `json:"id"`
		}{ID: reply.ID}
		var next bot.StreamReply
		next, res = s.call(ctx, refresh)
		if res.Error == "" && !next.Empty {
			reply = next
		}
		if next.Empty {
			break
		}
	}
	if res.Error == "" {
		res.Reply = reply.Content
	}
	return res
}

// converseLong delivers m over the long connection through the gateway and waits for
// the finished answer (an unfinished stream first is normal for slow work).
func (s *Server) converseLong(ctx context.Context, m bot.Message) sendResponse {
	x, err := s.o.Gateway.Deliver(s.o.BotID, m)
	if err != nil {
		return sendResponse{Error: fmt.Sprintf(msgNotSubscribed, err)}
	}
	wctx, cancel := context.WithTimeout(ctx, wecomfake.StreamWindow+30*time.Second)
	defer cancel()
	f, err := x.Wait(wctx)
	if err != nil {
		if m.MsgType == "event" || len(x.Frames()) == 0 && ctx.Err() == nil {
			return sendResponse{Status: http.StatusOK} // no answer: nothing to show
		}
		return sendResponse{Status: http.StatusOK, Error: fmt.Sprintf(msgNoFinish, err)}
	}
	return sendResponse{Status: http.StatusOK, Reply: f.Content}
}

// call delivers one callback exactly as WeCom would and opens the passive reply.
func (s *Server) call(ctx context.Context, m bot.Message) (bot.StreamReply, sendResponse) {
	q, body, err := s.o.Crypto.SealCallback(m)
	if err != nil {
		return bot.StreamReply{}, sendResponse{Error: fmt.Sprintf(msgSealFailed, err)}
	}
	u, err := url.Parse(s.o.CallbackURL)
	if err != nil {
		return bot.StreamReply{}, sendResponse{Error: fmt.Sprintf(msgUnreachable, s.o.CallbackURL, err)}
	}
	all := u.Query()
	for k, v := range q {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return bot.StreamReply{}, sendResponse{Error: fmt.Sprintf(msgUnreachable, s.o.CallbackURL, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "huanjie-standin (WeCom stand-in)")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return bot.StreamReply{}, sendResponse{Error: fmt.Sprintf(msgUnreachable, s.o.CallbackURL, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return bot.StreamReply{}, sendResponse{Status: resp.StatusCode, Error: fmt.Sprintf(msgUnreachable, s.o.CallbackURL, err)}
	}
	if resp.StatusCode != http.StatusOK {
		s.o.Log.Warn("standin: callback refused", "status", resp.StatusCode, "body", truncate(string(raw), 200))
		res := sendResponse{Status: resp.StatusCode, Error: fmt.Sprintf(msgRejected, resp.StatusCode)}
		if resp.StatusCode == http.StatusUnauthorized {
			res.Warning = msgRejectedSig
		}
		return bot.StreamReply{}, res
	}
	reply, err := s.o.Crypto.OpenReply(q, raw)
	if err != nil {
		return bot.StreamReply{}, sendResponse{Status: resp.StatusCode, Error: fmt.Sprintf(msgBadReply, err)}
	}
	return reply, sendResponse{Status: resp.StatusCode}
}

// --- GET /api/pushes

// handlePushes answers with the kept pushes after ?since= as JSON, or, when the client
// asks for text/event-stream (EventSource does), streams them and every new one as
// server-sent events whose ids are the push sequence numbers.
func (s *Server) handlePushes(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil && id > since {
		since = id
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") && r.URL.Query().Get("stream") == "" {
		writeJSON(w, http.StatusOK, s.log.since(since))
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	backlog, ch := s.log.subscribe(since)
	defer s.log.unsubscribe(ch)
	write := func(p pushView) error {
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", p.Seq, data)
		return err
	}
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return
	}
	for _, p := range backlog {
		if write(p) != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-ping.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		case p, ok := <-ch:
			if !ok {
				return
			}
			if write(p) != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		slog.Debug("standin: write", "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
