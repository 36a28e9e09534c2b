package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/robot"
)

// Limits of the group push webhook (doc 91770).
const (
	MaxTextBytes     = 2048
	MaxMarkdownBytes = 4096
	// WeComAPIBase is the real API host; SetWeComAPIBase redirects it.
	WeComAPIBase = "https://qyapi.weixin.qq.com"
	// webhookSendURL is the same URL silenceper's robot.RobotBroadcast posts to.
	webhookSendURL = WeComAPIBase + "/cgi-bin/webhook/send?key=%s"
	// webhookHTTPTimeout bounds each webhook request (util.DefaultHTTPClient has none).
	webhookHTTPTimeout = 10 * time.Second
)

// Webhook errcodes worth naming.
const (
	ErrCodeInvalidWebhook = 93000 // key invalid, or the robot was removed from the group
	ErrCodeFreqLimit      = 45009 // api freq out of limit (20 messages a minute per key)
	ErrCodeInvalidMsgType = 40008
	ErrCodeInvalidParam   = 40058 // e.g. content longer than allowed
	ErrCodeEmptyContent   = 44004
)

// ErrEmptyPush is returned for a Push with neither Text nor Markdown.
var ErrEmptyPush = errors.New("wecom webhook: nothing to push")

// WebhookError is a non-zero errcode from the webhook (WeCom answers HTTP 200 then).
type WebhookError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *WebhookError) Error() string {
	return fmt.Sprintf("wecom webhook: errcode %d: %s", e.Code, e.Msg)
}

// Permanent reports whether sending the same message again cannot succeed: the key is
// dead (93000: fix the configuration, tell the office) or the message itself is invalid.
// Rate limits (45009), system busy (-1) and unknown codes are temporary: retry later.
func (e *WebhookError) Permanent() bool {
	switch e.Code {
	case ErrCodeInvalidWebhook, ErrCodeInvalidMsgType, ErrCodeInvalidParam, ErrCodeEmptyContent:
		return true
	}
	return false
}

// RateLimited reports whether WeCom refused the message for exceeding its rate limit.
func (e *WebhookError) RateLimited() bool { return e.Code == ErrCodeFreqLimit }

var setHTTPClient sync.Once

var _ Pusher = (*Webhook)(nil)

// Webhook sends pushes through groups' push webhooks. It implements Pusher.
//
// It uses silenceper's work/robot option structs and util.PostJSONContext, the
// context-aware form of the call robot.RobotBroadcast makes (RobotBroadcast takes no
// context), so the same util.DefaultHTTPClient and URI modifier apply.
type Webhook struct {
	log *slog.Logger
}

// NewWebhook returns a Webhook. On first use it replaces silenceper's
// util.DefaultHTTPClient, if it is still http.DefaultClient, by one with a 10 s timeout.
func NewWebhook(log *slog.Logger) *Webhook {
	if log == nil {
		log = slog.Default()
	}
	setHTTPClient.Do(func() {
		if util.DefaultHTTPClient == http.DefaultClient {
			util.DefaultHTTPClient = &http.Client{Timeout: webhookHTTPTimeout}
		}
	})
	return &Webhook{log: log}
}

// SetWeComAPIBase makes every silenceper request to https://qyapi.weixin.qq.com go to base
// instead, keeping the path and query: with base "http://127.0.0.1:8080/wecom-api" the
// webhook becomes http://127.0.0.1:8080/wecom-api/cgi-bin/webhook/send?key=…. An empty
// base restores the real host. The modifier is process-wide (silenceper keeps it in a
// package variable without locking): call this at start-up, before any request.
func SetWeComAPIBase(base string) error {
	if base == "" {
		util.SetURIModifier(nil)
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("wecom: API base %q must be an http(s) URL without a query", base)
	}
	base = strings.TrimRight(base, "/")
	util.SetURIModifier(func(uri string) string { return rewriteAPIBase(uri, base) })
	return nil
}

// rewriteAPIBase replaces the WeComAPIBase prefix of uri by base.
func rewriteAPIBase(uri, base string) string {
	rest, ok := strings.CutPrefix(uri, WeComAPIBase)
	if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') {
		return uri
	}
	return base + rest
}

// Push sends p to the group of webhookKey; see PushParts.
func (wh *Webhook) Push(ctx context.Context, webhookKey string, p Push) error {
	_, err := wh.PushParts(ctx, webhookKey, p)
	return err
}

// PushParts sends p and reports how many webhook messages went out.
//
// Markdown (when set) is sent instead of Text. Content over the limit (2048 bytes for
// text, 4096 for markdown) is split at line ends, or inside an overlong line at a rune
// boundary, into several messages sent in order; nothing is truncated. Text mentions go
// in mentioned_list of the first message; markdown mentions are appended to the first
// message as <@userid> tokens, except "@all", which markdown cannot express: it adds one
// more text message mentioning @all. Each message counts against WeCom's 20 a minute per
// key. On an error the remaining parts are not sent; the error wraps *WebhookError when
// WeCom refused a message.
func (wh *Webhook) PushParts(ctx context.Context, webhookKey string, p Push) (int, error) {
	msgs, err := buildPushMessages(p)
	if err != nil {
		return 0, err
	}
	if webhookKey == "" {
		return 0, errors.New("wecom webhook: empty key")
	}
	log := wh.log.With("key", maskKey(webhookKey))
	for i, m := range msgs {
		if err := wh.send(ctx, webhookKey, m); err != nil {
			log.Warn("wecom webhook: push failed", "part", i+1, "parts", len(msgs), "err", err)
			if len(msgs) > 1 {
				return i, fmt.Errorf("wecom webhook: part %d of %d: %w", i+1, len(msgs), err)
			}
			return i, err
		}
	}
	log.Info("wecom webhook: pushed", "parts", len(msgs))
	return len(msgs), nil
}

// send posts one option struct and turns a non-zero errcode into *WebhookError.
func (wh *Webhook) send(ctx context.Context, key string, opt any) error {
	data, err := util.PostJSONContext(ctx, fmt.Sprintf(webhookSendURL, url.QueryEscape(key)), opt)
	if err != nil {
		return &redactedError{err: err, key: key}
	}
	var resp robot.WebhookSendResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("wecom webhook: answer is not JSON: %w", err)
	}
	if resp.ErrCode != 0 {
		return &WebhookError{Code: int(resp.ErrCode), Msg: resp.ErrMsg}
	}
	return nil
}

// buildPushMessages turns p into the webhook messages to send, in order.
func buildPushMessages(p Push) ([]any, error) {
	var msgs []any
	if strings.TrimSpace(p.Markdown) != "" {
		var tokens strings.Builder
		all := false
		for _, id := range p.Mentions {
			switch id = strings.TrimSpace(id); id {
			case "":
			case "@all":
				all = true
			default:
				fmt.Fprintf(&tokens, "<@%s>", id)
			}
		}
		suffix := ""
		if tokens.Len() > 0 {
			suffix = "\n" + tokens.String()
		}
		if len(suffix) > MaxMarkdownBytes/2 {
			return nil, fmt.Errorf("wecom webhook: %d mentions do not fit in one markdown message", len(p.Mentions))
		}
		for i, part := range splitContent(p.Markdown, MaxMarkdownBytes-len(suffix)) {
			o := &robot.WebhookSendMarkdownOption{MsgType: "markdown"}
			o.Markdown.Content = part
			if i == 0 {
				o.Markdown.Content += suffix
			}
			msgs = append(msgs, o)
		}
		if all {
			o := &robot.WebhookSendTextOption{MsgType: "text"}
			o.Text.Content = "请大家查看上面的消息。"
			o.Text.MentionedList = []string{"@all"}
			msgs = append(msgs, o)
		}
		return msgs, nil
	}
	if strings.TrimSpace(p.Text) == "" {
		return nil, ErrEmptyPush
	}
	var mentions []string
	for _, id := range p.Mentions {
		if id = strings.TrimSpace(id); id != "" {
			mentions = append(mentions, id)
		}
	}
	for i, part := range splitContent(p.Text, MaxTextBytes) {
		o := &robot.WebhookSendTextOption{MsgType: "text"}
		o.Text.Content = part
		if i == 0 {
			o.Text.MentionedList = mentions
		}
		msgs = append(msgs, o)
	}
	return msgs, nil
}

// splitContent cuts s into parts of at most limit bytes, preferring to cut after a
// newline and otherwise at a rune boundary. Concatenating the parts gives s back.
func splitContent(s string, limit int) []string {
	var parts []string
	for len(s) > limit {
		cut := strings.LastIndexByte(s[:limit], '\n') + 1
		if cut <= 0 {
			cut = limit
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if cut == 0 { // limit smaller than one rune: cannot happen with our limits
				_, cut = utf8.DecodeRuneInString(s)
			}
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" || len(parts) == 0 {
		parts = append(parts, s)
	}
	return parts
}

// maskKey keeps the first 4 characters of a webhook key for logs.
func maskKey(key string) string {
	if len(key) <= 4 {
		return "****"
	}
	return key[:4] + "****"
}

// redactedError hides the webhook key that silenceper and net/http put in error texts.
type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), url.QueryEscape(e.key), maskKey(e.key))
	return "wecom webhook: " + strings.ReplaceAll(msg, e.key, maskKey(e.key))
}

func (e *redactedError) Unwrap() error { return e.err }
