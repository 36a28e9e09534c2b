package bot

import (
	"context"
	"strings"
	"unicode"
)

// Message is one decrypted AI-bot callback (doc 100719), the same for the URL callback
// and the long connection.
type Message struct {
	MsgID       string `json:"msgid"`
	AIBotID     string `json:"aibotid"`
	ChatID      string `json:"chatid,omitempty"` // groups only
	ChatType    string `json:"chattype"`         // "single" | "group"
	From        From   `json:"from"`
	ResponseURL string `json:"response_url,omitempty"`
	MsgType     string `json:"msgtype"` // text, image, mixed, voice, file, stream, event
	Text        *Text  `json:"text,omitempty"`
	Image       *Image `json:"image,omitempty"`
	Mixed       *Mixed `json:"mixed,omitempty"`
	Voice       *Text  `json:"voice,omitempty"`
	Quote       *Quote `json:"quote,omitempty"`
	Stream      *struct {
		ID string `json:"id"`
	} `json:"stream,omitempty"`
	Event *struct {
		EventType string `json:"eventtype"`
	} `json:"event,omitempty"`
}

// From names the sender.
type From struct {
	UserID string `json:"userid"`
}

// Text is a text body.
type Text struct {
	Content string `json:"content"`
}

// Image is an image body (1:1 chats only): a URL to a file encrypted with AES-256-CBC,
// IV = key[:16], PKCS#7 to 32 bytes. The key is AESKey (base64, long connection) when
// set, else the bot's EncodingAESKey (URL callback).
type Image struct {
	URL    string `json:"url"`
	AESKey string `json:"aeskey,omitempty"`
}

// Mixed is text and images in one message.
type Mixed struct {
	Items []MixedItem `json:"msg_item"`
}

// MixedItem is one part of a mixed message.
type MixedItem struct {
	MsgType string `json:"msgtype"`
	Text    *Text  `json:"text,omitempty"`
	Image   *Image `json:"image,omitempty"`
}

// Quote is the message a user replied to.
type Quote struct {
	MsgType string `json:"msgtype"`
	Text    *Text  `json:"text,omitempty"`
}

// IsGroup reports whether the message came from a group chat.
func (m Message) IsGroup() bool { return m.ChatType == "group" }

// PlainText returns the text a person typed: text, voice transcript or the text parts
// of a mixed message, not yet normalised.
func (m Message) PlainText() string {
	switch {
	case m.Text != nil:
		return m.Text.Content
	case m.Voice != nil:
		return m.Voice.Content
	case m.Mixed != nil:
		var parts []string
		for _, it := range m.Mixed.Items {
			if it.Text != nil {
				parts = append(parts, it.Text.Content)
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// Reply is what the bot answers to one message: markdown text, sent as one finished
// stream message. An empty Reply means no answer.
type Reply struct {
	Markdown string
	// Recorded: the handler stored this answer with what the message did, and handling
	// the same msgid again returns it (see Repeater); the URL callback then records it
	// in no ledger of its own.
	Recorded bool
	// Repeat: the message was handled before and Markdown is the answer recorded then
	// (a WeCom retry), for metrics.
	Repeat bool
}

// Empty reports whether there is nothing to send.
func (r Reply) Empty() bool { return strings.TrimSpace(r.Markdown) == "" }

// Handler answers one incoming message. Transports (URL callback, long connection,
// a legacy XML group-robot callback) call it; it never sees WeCom's wire formats.
type Handler interface {
	Handle(ctx context.Context, m Message) Reply
}

// Questioner is optionally implemented by a Handler: Question reports that handling m
// changes nothing — a question such as 「进度」 — so that handling it twice is harmless.
// The URL callback answers such a message first and records the answer after, one
// ledger call instead of a claim before and a record after (see FirstAnswerLedger).
type Questioner interface {
	Question(m Message) bool
}

// Repeater is optionally implemented by a Handler: Repeatable reports that handling m
// again — while the first handling runs, on another replica, or after it, whatever
// happened in between — changes nothing the first did not: a question, or a filing whose
// every write is made once per msgid. The URL callback answers such a message first and
// records the answer after, as it does a question (see Questioner).
type Repeater interface {
	Repeatable(m Message) bool
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m Message) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, m Message) Reply { return f(ctx, m) }

// Push is a message nobody asked for, sent into one group: through the group's webhook,
// or by the bot itself over the long connection (see Router).
type Push struct {
	// Text is plain text (≤ 2048 bytes); Mentions are userids to @ (or "@all").
	Text     string
	Mentions []string
	// Markdown, when set, is sent instead of Text (≤ 4096 bytes; mention with <@userid>).
	Markdown string
	// Image, when set, is sent as an image message (JPG or PNG, ≤ 2 MB), after any text.
	Image []byte
	// File, when set, is uploaded and sent as a file message (≤ 20 MB) named FileName,
	// after any text.
	File     []byte
	FileName string
}

// Pusher delivers a Push to a group.
type Pusher interface {
	Push(ctx context.Context, to Target, p Push) error
}

// Normalize turns what a person typed on a phone into a command line: it drops leading
// @mentions (the bot's and anyone's), folds full-width ASCII and the ideographic space
// to half-width, maps Chinese punctuation used as separators to spaces, and collapses runs
// of white space. Chinese characters are untouched.
func Normalize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\u3000' || r == '\u00a0':
			r = ' '
		case r >= '\uff01' && r <= '\uff5e':
			r -= 0xfee0
		}
		switch r {
		case '，', '、', '；', '：', '。', ',', ';', ':', '\u200b':
			r = ' '
		}
		b.WriteRune(r)
	}
	fields := strings.FieldsFunc(b.String(), unicode.IsSpace)
	for len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		fields = fields[1:]
	}
	return strings.Join(fields, " ")
}
