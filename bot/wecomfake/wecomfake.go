// Package wecomfake is a local stand-in for WeCom's group push webhook
// (POST /cgi-bin/webhook/send?key=KEY) and its file upload
// (POST /cgi-bin/webhook/upload_media?key=KEY&type=file). It validates messages the way
// WeCom does, answers WeCom's errcodes, enforces the 20-messages-a-minute limit per key,
// keeps uploaded files for 3 days for the key that uploaded them, records every accepted
// message (with the decoded image or the uploaded file it carries) and lets a page
// follow them live.
//
// Mount it at the root of a server, or under a prefix with http.StripPrefix, and point
// the bot at it with bot.SetWeComAPIBase.
package wecomfake

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The paths the fake serves.
const (
	SendPath   = "/cgi-bin/webhook/send"
	UploadPath = "/cgi-bin/webhook/upload_media"
)

// WeCom's limits and errcodes as the fake applies them.
const (
	MaxTextBytes     = 2048
	MaxMarkdownBytes = 4096
	PerMinute        = 20       // accepted messages per key in any 60 s window
	MaxImageBytes    = 2 << 20  // an image message's decoded bytes
	MaxFileBytes     = 20 << 20 // an uploaded file
	MinFileBytes     = 6        // an uploaded file must have more than 5 bytes
	MediaLifetime    = 72 * time.Hour
	maxBody          = 4 << 20
	maxUploadBody    = MaxFileBytes + 1<<20

	CodeOK             = 0
	CodeInvalidWebhook = 93000 // unknown or removed key
	CodeFreqLimit      = 45009 // more than PerMinute messages a minute
	CodeInvalidMsgType = 40008
	CodeInvalidParam   = 40058 // bad JSON, missing or too long content
	CodeEmptyContent   = 44004
	CodeMediaType      = 40004 // image not PNG/JPG
	CodeInvalidType    = 40005 // upload type other than file
	CodeFileSize       = 40006 // upload > 20 MB or ≤ 5 bytes
	CodeInvalidMediaID = 40007 // unknown, expired or another key's media_id
	CodeImageSize      = 40009 // image > 2 MB
	CodeMediaMissing   = 41005 // upload without a "media" part
)

// Message is one accepted webhook message.
type Message struct {
	Seq     int64     `json:"seq"` // 1, 2, … across all keys
	Key     string    `json:"key"`
	Time    time.Time `json:"time"`
	MsgType string    `json:"msgtype"`
	// Content is text.content, markdown(_v2).content, for an image {"md5","size"}, for a
	// file {"media_id","name","size"}, or for other types the JSON of their object.
	Content             string          `json:"content"`
	MentionedList       []string        `json:"mentioned_list,omitempty"`
	MentionedMobileList []string        `json:"mentioned_mobile_list,omitempty"`
	Body                json.RawMessage `json:"body"` // the request body as received
	// Image is the decoded image of an image message.
	Image []byte `json:"-"`
	// File is the upload a file message's media_id named.
	File *Media `json:"file,omitempty"`
}

// Media is one file accepted by upload_media.
type Media struct {
	ID       string    `json:"media_id"`
	Key      string    `json:"key"`  // only this key (or, over the long connection, this bot id) may send it
	Type     string    `json:"type"` // "file"
	Name     string    `json:"name"` // the multipart filename, shown in the chat
	Data     []byte    `json:"-"`
	Size     int       `json:"size"`
	Uploaded time.Time `json:"uploaded"` // valid for MediaLifetime from then
}

func (m *Media) clone() *Media {
	if m == nil {
		return nil
	}
	c := *m
	c.Data = bytes.Clone(m.Data)
	return &c
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

	mu    sync.Mutex
	seq   int64
	keys  map[string]bool
	msgs  map[string][]Message
	sent  map[string][]time.Time // accepted send times per key, for the rate limit
	media map[string]*Media      // uploads by media_id, dropped once expired
	ups   map[string][]*Media    // uploads per key, oldest first, kept for Uploads

	feed feed
}

// New returns an empty fake with no keys.
func New(opts ...Option) *Server {
	s := &Server{
		now:   time.Now,
		log:   slog.Default(),
		keys:  map[string]bool{},
		msgs:  map[string][]Message{},
		sent:  map[string][]time.Time{},
		media: map[string]*Media{},
		ups:   map[string][]*Media{},
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
		out[i].Image = bytes.Clone(out[i].Image)
		out[i].File = out[i].File.clone()
	}
	return out
}

// Uploads returns copies of the files uploaded with key, oldest first, expired or not.
func (s *Server) Uploads(key string) []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Media, 0, len(s.ups[key]))
	for _, m := range s.ups[key] {
		out = append(out, *m.clone())
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
	return s.feed.subscribe(fn)
}

// result is WeCom's answer body.
type result struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// ServeHTTP serves POST SendPath?key=KEY and POST UploadPath?key=KEY&type=file. Like
// WeCom, errors come as HTTP 200 with a non-zero errcode; only a wrong path or method
// gets an HTTP error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != SendPath && r.URL.Path != UploadPath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == UploadPath {
		s.serveUpload(w, r)
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
	if m.MsgType == "file" {
		id := m.Content
		f, ok := s.media[id]
		if !ok || f.Key != key || now.Sub(f.Uploaded) >= MediaLifetime {
			s.mu.Unlock()
			return result{CodeInvalidMediaID, "invalid media_id, hint: unknown, expired (3 days) or uploaded with another key"}
		}
		m.File = f // never modified; Messages hands out copies
		m.Content = mustJSON(map[string]any{"media_id": id, "name": f.Name, "size": f.Size})
	}
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

	s.feed.publish(key, body)
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
	case "image":
		var img struct {
			Image *struct {
				Base64 string `json:"base64"`
				MD5    string `json:"md5"`
			} `json:"image"`
		}
		if err := json.Unmarshal(body, &img); err != nil || img.Image == nil || img.Image.Base64 == "" || img.Image.MD5 == "" {
			return Message{}, result{CodeInvalidParam, "invalid Request Parameter: image.base64 and image.md5 are required"}
		}
		data, err := base64.StdEncoding.DecodeString(img.Image.Base64)
		if err != nil {
			return Message{}, result{CodeInvalidParam, "invalid Request Parameter: image.base64 is not base64"}
		}
		if len(data) > MaxImageBytes {
			return Message{}, result{CodeImageSize, fmt.Sprintf("invalid image size, hint: %d bytes, at most %d", len(data), MaxImageBytes)}
		}
		sum := md5.Sum(data)
		if !strings.EqualFold(hex.EncodeToString(sum[:]), img.Image.MD5) {
			return Message{}, result{CodeInvalidParam, "media md5 not match"}
		}
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) && !bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}) {
			return Message{}, result{CodeMediaType, "invalid media type, hint: an image must be PNG or JPG"}
		}
		m.Image = data
		m.Content = mustJSON(map[string]any{"md5": strings.ToLower(img.Image.MD5), "size": len(data)})
	case "file":
		var f struct {
			File *struct {
				MediaID string `json:"media_id"`
			} `json:"file"`
		}
		if err := json.Unmarshal(body, &f); err != nil || f.File == nil || f.File.MediaID == "" {
			return Message{}, result{CodeInvalidMediaID, "invalid media_id, hint: file.media_id missing"}
		}
		m.Content = f.File.MediaID // resolved by accept
	case "news", "voice", "template_card":
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

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// uploadResult is upload_media's answer.
type uploadResult struct {
	result
	Type      string `json:"type,omitempty"`
	MediaID   string `json:"media_id,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
}

// serveUpload serves upload_media: a multipart form whose part "media" is the file.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	res := s.upload(w, r)
	if res.ErrCode != CodeOK {
		s.log.Info("wecomfake: upload refused", "errcode", res.ErrCode, "errmsg", res.ErrMsg)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(res)
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) uploadResult {
	fail := func(code int, msg string) uploadResult { return uploadResult{result: result{code, msg}} }
	key := r.URL.Query().Get("key")
	s.mu.Lock()
	known := s.keys[key]
	s.mu.Unlock()
	if !known {
		return fail(CodeInvalidWebhook, "invalid webhook url, hint: the key is unknown or the robot was removed")
	}
	if t := r.URL.Query().Get("type"); t != "file" {
		return fail(CodeInvalidType, fmt.Sprintf("invalid type %q, hint: upload_media takes type=file", t))
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		return fail(CodeMediaMissing, "media data missing, hint: post multipart/form-data with a part named media")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return fail(CodeMediaMissing, "media data missing: "+err.Error())
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return fail(CodeMediaMissing, "media data missing, hint: no part named media")
		}
		if err != nil {
			return fail(CodeFileSize, "invalid file size, hint: cannot read the form: "+err.Error())
		}
		if part.FormName() != "media" {
			continue
		}
		name := part.FileName()
		data, err := io.ReadAll(io.LimitReader(part, MaxFileBytes+1))
		if err != nil {
			return fail(CodeFileSize, "invalid file size, hint: cannot read the file: "+err.Error())
		}
		if len(data) > MaxFileBytes || len(data) < MinFileBytes {
			return fail(CodeFileSize, fmt.Sprintf("invalid file size, hint: %d bytes; a file must have more than 5 bytes and at most 20 MB", len(data)))
		}
		if name == "" {
			return fail(CodeInvalidParam, "invalid Request Parameter: the media part has no filename")
		}
		return s.store(key, name, data)
	}
}

// store keeps an upload under a new media_id and drops expired ones.
func (s *Server) store(key, name string, data []byte) uploadResult {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	id := "3" + base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for mid, m := range s.media {
		if now.Sub(m.Uploaded) >= MediaLifetime {
			delete(s.media, mid)
		}
	}
	m := &Media{ID: id, Key: key, Type: "file", Name: name, Data: data, Size: len(data), Uploaded: now}
	s.media[id] = m
	s.ups[key] = append(s.ups[key], m)
	return uploadResult{result: result{CodeOK, "ok"}, Type: "file", MediaID: id, CreatedAt: strconv.FormatInt(now.Unix(), 10)}
}
