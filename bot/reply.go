package bot

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"
)

// MaxStreamContent is the most bytes WeCom accepts in stream.content of a reply.
const MaxStreamContent = 20480

// TruncationNote ends a reply that was cut to fit MaxStreamContent.
const TruncationNote = "…（内容过长，已截断）"

// Event types the transports treat specially.
const (
	// EventEnterChat is sent when a user opens the bot's 1:1 chat for the first time in a day;
	// the only reply WeCom accepts is a text (or template card) welcome.
	EventEnterChat = "enter_chat"
	// EventDisconnected is sent on the long connection when a newer connection replaced it.
	EventDisconnected = "disconnected_event"
)

// streamBody is the "stream" object of a reply.
type streamBody struct {
	ID      string `json:"id"`
	Finish  bool   `json:"finish"`
	Content string `json:"content"`
}

// replyBody is the plaintext of a passive reply, and the body of a long-connection answer.
type replyBody struct {
	MsgType string      `json:"msgtype"`
	Stream  *streamBody `json:"stream,omitempty"`
	Text    *Text       `json:"text,omitempty"`
}

// replyKind says how a Reply to m must travel.
type replyKind int

const (
	replyNone    replyKind = iota // WeCom accepts no reply of ours to this message
	replyStream                   // a finished stream message
	replyWelcome                  // a text welcome (enter_chat)
)

// buildReply turns the handler's Reply to m into what WeCom accepts for that kind of
// callback: a finished stream for messages (reusing the stream id on a stream refresh),
// a text welcome for enter_chat, and nothing for other events. The markdown is made fit
// for a chat reply first (ChatMarkdown).
func buildReply(m Message, r Reply) (replyBody, replyKind) {
	if r.Empty() {
		return replyBody{}, replyNone
	}
	content := truncateContent(ChatMarkdown(r.Markdown), MaxStreamContent)
	switch m.MsgType {
	case "event":
		if m.Event != nil && m.Event.EventType == EventEnterChat {
			return replyBody{MsgType: "text", Text: &Text{Content: truncateContent(chatText(r.Markdown), MaxStreamContent)}}, replyWelcome
		}
		return replyBody{}, replyNone
	case "stream":
		id := ""
		if m.Stream != nil {
			id = m.Stream.ID
		}
		if id == "" {
			id = newID()
		}
		return replyBody{MsgType: "stream", Stream: &streamBody{ID: id, Finish: true, Content: content}}, replyStream
	}
	return replyBody{MsgType: "stream", Stream: &streamBody{ID: newID(), Finish: true, Content: content}}, replyStream
}

// truncateContent cuts s to at most max bytes at a rune boundary, ending it with
// TruncationNote when anything was cut.
func truncateContent(s string, max int) string {
	if len(s) <= max {
		return s
	}
	budget := max - len(TruncationNote)
	if budget < 0 {
		budget = 0
	}
	cut := budget
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncationNote
}

// newID returns 32 random hex digits.
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// marshalJSON encodes v without HTML escaping (markdown keeps its <font> and <@id>) and
// without the trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
