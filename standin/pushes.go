package standin

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// PushFeed is where the webhook stand-in's messages come from. Subscribe must call fn,
// without blocking for long, with the JSON body of every message accepted for a key
// after Subscribe returns; cancel stops the calls.
type PushFeed interface {
	Subscribe(fn func(key string, body []byte)) (cancel func())
}

// PushBacklog is optionally implemented by a PushFeed: the bodies key has already
// received, oldest first. New reads it once so a restart of the page shows them.
type PushBacklog interface {
	Backlog(key string) [][]byte
}

// pushView is one push as the page shows it.
type pushView struct {
	Seq      int64     `json:"seq"`
	ChatID   string    `json:"chatid"` // a group's chatid, or single:<userid>
	Via      string    `json:"via"`    // webhook, bot (aibot_send_msg) or response_url
	Chat     string    `json:"chat"`
	At       time.Time `json:"at"`       // campaign time (Options.Clock) the bot sent it at
	Received time.Time `json:"received"` // real time: the page orders by it across restarts
	MsgType  string    `json:"msgtype"`
	Text     string    `json:"text,omitempty"`
	Markdown string    `json:"markdown,omitempty"`
	Mentions []string  `json:"mentions,omitempty"` // userids, or "@all"
	Mobiles  []string  `json:"mentioned_mobiles,omitempty"`
	Image    string    `json:"image,omitempty"` // data: URL
	Articles []article `json:"articles,omitempty"`
}

type article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	URL         string `json:"url,omitempty"`
	PicURL      string `json:"picurl,omitempty"`
}

// parsePush turns a webhook body (…/cgi-bin/webhook/send) into what the page shows.
func parsePush(body []byte) pushView {
	var m struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content  string   `json:"content"`
			Mentions []string `json:"mentioned_list"`
			Mobiles  []string `json:"mentioned_mobile_list"`
		} `json:"text"`
		Markdown   *struct{ Content string }     `json:"markdown"`
		MarkdownV2 *struct{ Content string }     `json:"markdown_v2"`
		Image      *struct{ Base64 string }      `json:"image"`
		News       *struct{ Articles []article } `json:"news"`
		File       *struct {
			MediaID string `json:"media_id"`
		} `json:"file"`
		Voice *struct {
			MediaID string `json:"media_id"`
		} `json:"voice"`
		Card *struct {
			MainTitle *struct{ Title, Desc string } `json:"main_title"`
		} `json:"template_card"`
	}
	v := pushView{}
	if err := json.Unmarshal(body, &m); err != nil {
		v.MsgType = "text"
		v.Text = fmt.Sprintf(msgPushBadJSON, truncate(string(body), 200))
		return v
	}
	v.MsgType = m.MsgType
	switch {
	case m.MsgType == "text" && m.Text != nil:
		v.Text, v.Mentions, v.Mobiles = m.Text.Content, m.Text.Mentions, m.Text.Mobiles
	case m.MsgType == "markdown" && m.Markdown != nil:
		v.Markdown = m.Markdown.Content
	case m.MsgType == "markdown_v2" && m.MarkdownV2 != nil:
		v.Markdown = m.MarkdownV2.Content
	case m.MsgType == "image" && m.Image != nil:
		raw, err := base64.StdEncoding.DecodeString(m.Image.Base64)
		if err != nil || len(raw) == 0 {
			v.Text = msgPushImageBad
			break
		}
		mime := "image/png"
		if len(raw) > 2 && raw[0] == 0xff && raw[1] == 0xd8 {
			mime = "image/jpeg"
		}
		v.Image = "data:" + mime + ";base64," + m.Image.Base64
	case m.MsgType == "news" && m.News != nil:
		v.Articles = m.News.Articles
	case m.MsgType == "file" && m.File != nil:
		v.Text = fmt.Sprintf(msgPushFile, m.File.MediaID)
	case m.MsgType == "voice" && m.Voice != nil:
		v.Text = fmt.Sprintf(msgPushVoice, m.Voice.MediaID)
	case m.MsgType == "template_card" && m.Card != nil:
		title := ""
		if m.Card.MainTitle != nil {
			title = strings.TrimSpace(m.Card.MainTitle.Title + " " + m.Card.MainTitle.Desc)
		}
		v.Text = fmt.Sprintf(msgPushCard, title)
	default:
		v.Text = fmt.Sprintf(msgPushUnknown, m.MsgType)
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// pushLog keeps the latest pushes and fans new ones out to the page's streams.
type pushLog struct {
	mu     sync.Mutex
	seq    int64
	items  []pushView
	max    int
	subs   map[chan pushView]struct{}
	closed bool
}

// newPushLog starts numbering at the clock in milliseconds, so that a page still holding
// the ids of a previous run (EventSource's Last-Event-ID) does not miss new pushes.
func newPushLog(max int) *pushLog {
	return &pushLog{max: max, seq: time.Now().UnixMilli(), subs: map[chan pushView]struct{}{}}
}

func (l *pushLog) add(p pushView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.seq++
	p.Seq = l.seq
	l.items = append(l.items, p)
	if len(l.items) > l.max {
		l.items = append(l.items[:0:0], l.items[len(l.items)-l.max:]...)
	}
	for ch := range l.subs {
		select {
		case ch <- p:
		default: // too slow: drop it; the page reconnects with Last-Event-ID and catches up
			delete(l.subs, ch)
			close(ch)
		}
	}
}

// since returns the kept pushes with Seq > seq.
func (l *pushLog) since(seq int64) []pushView {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sinceLocked(seq)
}

func (l *pushLog) sinceLocked(seq int64) []pushView {
	out := []pushView{}
	for _, p := range l.items {
		if p.Seq > seq {
			out = append(out, p)
		}
	}
	return out
}

// subscribe returns the backlog after seq and a channel for what comes next, atomically.
// The channel is closed when the subscriber falls behind or the log closes.
func (l *pushLog) subscribe(seq int64) ([]pushView, chan pushView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan pushView, 64)
	if l.closed {
		close(ch)
		return nil, ch
	}
	l.subs[ch] = struct{}{}
	return l.sinceLocked(seq), ch
}

func (l *pushLog) unsubscribe(ch chan pushView) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.subs[ch]; ok {
		delete(l.subs, ch)
		close(ch)
	}
}

func (l *pushLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for ch := range l.subs {
		delete(l.subs, ch)
		close(ch)
	}
}
