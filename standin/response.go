package standin

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
)

// ResponsePath is where the stand-in takes the bot's late answers: each message it sends
// to the URL callback carries a response_url there (doc 101138: one POST within an hour,
// unencrypted markdown or template_card).
const ResponsePath = "/cgi-bin/aibot/response"

// CodeResponseURLUsed is the stand-in's errcode for a response_url that is unknown, used
// or expired; WeCom documents the rule but not its code.
const CodeResponseURLUsed = 846605

const responseURLLife = time.Hour

// responseURLs are the response codes the stand-in gave out.
type responseURLs struct {
	mu    sync.Mutex
	codes map[string]*responseCode
}

type responseCode struct {
	chat    string // a group's chatid, or the userid of a 1:1 chat
	created time.Time
	used    bool
}

func newResponseURLs() *responseURLs { return &responseURLs{codes: map[string]*responseCode{}} }

// issue gives message m a response_url on base and remembers its chat.
func (a *responseURLs) issue(base string, m bot.Message) string {
	code := randomHex(16)
	chat := m.ChatID
	if chat == "" {
		chat = m.From.UserID
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	for c, rc := range a.codes {
		if now.Sub(rc.created) > responseURLLife {
			delete(a.codes, c)
		}
	}
	a.codes[code] = &responseCode{chat: chat, created: now}
	return base + ResponsePath + "?response_code=" + code
}

// use spends code once: the chat it answers, or false.
func (a *responseURLs) use(code string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rc, ok := a.codes[code]
	if !ok || rc.used || time.Since(rc.created) > responseURLLife {
		return "", false
	}
	rc.used = true
	return rc.chat, true
}

// handleResponseURL takes the bot's one late answer to a message, as WeCom would, and
// shows it in that chat.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	type result struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	var body struct {
		MsgType  string `json:"msgtype"`
		Markdown *struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	switch {
	case err != nil || json.Unmarshal(raw, &body) != nil || body.MsgType != "markdown" || body.Markdown == nil || body.Markdown.Content == "":
		writeJSON(w, http.StatusOK, result{wecomfake.CodeInvalidParam, msgRespBadBody})
		return
	case len(body.Markdown.Content) > wecomfake.MaxStreamBytes:
		writeJSON(w, http.StatusOK, result{wecomfake.CodeInvalidParam, "invalid request: markdown.content exceeds 20480 bytes"})
		return
	}
	chat, ok := s.answers.use(r.URL.Query().Get("response_code"))
	if !ok {
		writeJSON(w, http.StatusOK, result{CodeResponseURLUsed, msgRespUnknown})
		return
	}
	s.deliverChat(chat, viaResponse, raw)
	writeJSON(w, http.StatusOK, result{0, "ok"})
}
