// Package wecomfake is a local stand-in for WeCom's group push webhook
// (POST /cgi-bin/webhook/send?key=KEY). It validates messages the way WeCom does,
// answers WeCom's errcodes, enforces the 20-messages-a-minute limit per key, records
// every accepted message and lets a page follow them live.
//
// Mount it at the root of a server, or under a prefix with http.StripPrefix, and point
// the bot at it with bot.SetWeComAPIBase.
package wecomfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// SendPath is the path the fake serves.
const SendPath = "/cgi-bin/webhook/send"

// WeCom's limits and errcodes as the fake applies them.
const (
	MaxTextBytes     = 2048
	MaxMarkdownBytes = 4096
	PerMinute        = 20 // accepted messages per key in any 60 s window
	maxBody          = 4 << 20

	CodeOK             = 0
	CodeInvalidWebhook = 93000 // unknown or removed key
	CodeFreqLimit      = 45009 // more than PerMinute messages a minute
	CodeInvalidMsgType = 40008
	CodeInvalidParam   = 40058 // bad JSON, missing or too long content
	CodeEmptyContent   = 44004
)

// Message is one accepted webhook message.
type Message struct {
	Seq     int64     `json:"seq"` // 1, 2, … across all keys
	Key     string    `json:"key"`
	Time    time.Time `json:"time"`
	MsgType string    `json:"msgtype"`
	// Content is text.content, markdown(_v2).content, or for other types the JSON of
	// their object.
	Content             string          `json:"content"`
	MentionedList       []string        `json:"mentioned_list,omitempty"`
	MentionedMobileList []string        `json:"mentioned_mobile_list,omitempty"`
	Body                json.RawMessage `json:"body"` // the request body as received
}

// Option configures New.
type Option func(*Server)

// WithClock replaces time.Now (for the rate limit and timestamps).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// Server is the fake webhook endpoint; it is an http.Handler. It is safe for concurrent use.
type Server struct {
	now func() time.Time
	log *slog.Logger

	mu   sync.Mutex
	seq  int64
	keys map[string]bool
	msgs map[string][]Message
	sent map[string][]time.Time // accepted send times per key, for the rate limit

	subMu  sync.RWMutex // held for reading while subscribers are called
	nextID int
	subs   map[int]func(key string, body []byte)
}

// New returns an empty fake with no keys.
func New(opts ...Option) *Server {
	s := &Server{
		now:  time.Now,
		log:  slog.Default(),
		keys: map[string]bool{},
		msgs: map[string][]Message{},
		sent: map[string][]time.Time{},
		subs: map[int]func(string, []byte){},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AddKey registers a webhook key; messages to other keys get errcode 93000.
func (s *Server) AddKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = true
}

// RemoveKey unregisters key, as when the robot is removed from its group. Its recorded
// messages stay.
func (s *Server) RemoveKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
}

// Messages returns a copy of the messages accepted for key, oldest first.
func (s *Server) Messages(key string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Message(nil), s.msgs[key]...)
	for i := range out {
		out[i].Body = bytes.Clone(out[i].Body)
		out[i].MentionedList = append([]string(nil), out[i].MentionedList...)
		out[i].MentionedMobileList = append([]string(nil), out[i].MentionedMobileList...)
	}
	return out
}

// Backlog returns the request bodies accepted for key, oldest first.
func (s *Server) Backlog(key string) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, 0, len(s.msgs[key]))
	for _, m := range s.msgs[key] {
		out = append(out, bytes.Clone(m.Body))
	}
	return out
}

// Subscribe calls fn with the key and request body of every message accepted after it
// returns, from the request's goroutine, so fn must be quick and must not call cancel.
// After cancel returns fn is not called any more.
func (s *Server) Subscribe(fn func(key string, body []byte)) (cancel func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			s.subMu.Lock()
			defer s.subMu.Unlock()
			delete(s.subs, id)
		})
	}
}

// result is WeCom's answer body.
type result struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// ServeHTTP serves POST SendPath?key=KEY. Like WeCom, errors come as HTTP 200 with a
// non-zero errcode; only a wrong path or method gets an HTTP error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != SendPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	key := r.URL.Query().Get("key")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var res result
	if err != nil {
		res = result{CodeInvalidParam, "invalid Request Parameter: cannot read body"}
	} else {
		res = s.accept(key, body)
	}
	if res.ErrCode != CodeOK {
		s.log.Info("wecomfake: refused", "errcode", res.ErrCode, "errmsg", res.ErrMsg)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(res)
}

// accept validates and records one message.
func (s *Server) accept(key string, body []byte) result {
	s.mu.Lock()
	known := s.keys[key]
	s.mu.Unlock()
	if !known {
		return result{CodeInvalidWebhook, "invalid webhook url, hint: the key is unknown or the robot was removed"}
	}
	m, res := parse(body)
	if res.ErrCode != CodeOK {
		return res
	}

	s.mu.Lock()
	now := s.now()
	window := s.sent[key][:0]
	for _, t := range s.sent[key] {
		if now.Sub(t) < time.Minute {
			window = append(window, t)
		}
	}
	s.sent[key] = window
	if len(window) >= PerMinute {
		s.mu.Unlock()
		return result{CodeFreqLimit, fmt.Sprintf("api freq out of limit, hint: at most %d messages a minute per key", PerMinute)}
	}
	s.sent[key] = append(s.sent[key], now)
	s.seq++
	m.Seq, m.Key, m.Time, m.Body = s.seq, key, now, bytes.Clone(body)
	s.msgs[key] = append(s.msgs[key], m)
	s.mu.Unlock()

	s.subMu.RLock()
	defer s.subMu.RUnlock()
	for _, fn := range s.subs {
		fn(key, bytes.Clone(body))
	}
	return result{CodeOK, "ok"}
}

// parse validates a message body like WeCom.
func parse(body []byte) (Message, result) {
	var req struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content             string   `json:"content"`
			MentionedList       []string `json:"mentioned_list"`
			MentionedMobileList []string `json:"mentioned_mobile_list"`
		} `json:"text"`
		Markdown   *struct{ Content string } `json:"markdown"`
		MarkdownV2 *struct{ Content string } `json:"markdown_v2"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return Message{}, result{CodeInvalidParam, "invalid Request Parameter: body is not a JSON object"}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Message{}, result{CodeInvalidParam, "invalid Request Parameter: " + err.Error()}
	}
	m := Message{MsgType: req.MsgType}
	switch req.MsgType {
	case "text":
		if req.Text == nil || req.Text.Content == "" {
			return Message{}, result{CodeEmptyContent, "empty content"}
		}
		if len(req.Text.Content) > MaxTextBytes {
			return Message{}, result{CodeInvalidParam, fmt.Sprintf("invalid Request Parameter: text.content exceed max length %d", MaxTextBytes)}
		}
		m.Content, m.MentionedList, m.MentionedMobileList = req.Text.Content, req.Text.MentionedList, req.Text.MentionedMobileList
	case "markdown", "markdown_v2":
		c := req.Markdown
		if req.MsgType == "markdown_v2" {
			c = req.MarkdownV2
		}
		if c == nil || c.Content == "" {
			return Message{}, result{CodeEmptyContent, "empty content"}
		}
		if len(c.Content) > MaxMarkdownBytes {
			return Message{}, result{CodeInvalidParam, fmt.Sprintf("invalid Request Parameter: %s.content exceed max length %d", req.MsgType, MaxMarkdownBytes)}
		}
		m.Content = c.Content
	case "image", "news", "file", "voice", "template_card":
		obj, ok := raw[req.MsgType]
		if !ok || len(obj) == 0 || string(obj) == "null" {
			return Message{}, result{CodeInvalidParam, "invalid Request Parameter: missing " + req.MsgType}
		}
		m.Content = string(obj)
	default:
		return Message{}, result{CodeInvalidMsgType, fmt.Sprintf("invalid message type %q", req.MsgType)}
	}
	return m, result{CodeOK, "ok"}
}
