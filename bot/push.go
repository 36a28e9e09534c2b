package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Push paths: a group's 消息推送 webhook, or the bot itself with aibot_send_msg over the
// long connection (doc 101463).
const (
	ViaWebhook = "webhook"
	ViaBot     = "bot"
)

// Target says where a push goes and how it may travel.
type Target struct {
	ChatID     string // the group's chatid (the bot's path needs it)
	WebhookKey string // the group's webhook key; "" when it has none
	// Via is the path the configuration asks for: ViaWebhook, ViaBot, or "" for the
	// webhook when there is a key, else the bot.
	Via string
}

// Errors of Router.
var (
	// ErrNoPushPath: the group has no webhook key and the bot cannot push (URL-callback
	// mode), or it asks for the webhook without a key.
	ErrNoPushPath = errors.New("wecom: the group has no push path: no webhook key, and the bot pushes only over the long connection")
	// ErrBotMedia: the group has no webhook key and the bot's sender takes no media.
	ErrBotMedia = errors.New("wecom: the bot cannot push images and files here, and the group has no webhook key")
)

// Window is a rate limit: at most N messages per Per.
type Window struct {
	N   int
	Per time.Duration
}

// Limits of each path (doc 91770: 20 a minute per webhook key; doc 101463: 30 a minute
// and 1000 an hour per chat for the bot, replies included).
var (
	WebhookLimits = []Window{{20, time.Minute}}
	BotLimits     = []Window{{30, time.Minute}, {1000, time.Hour}}
)

// LimitsOf returns the rate limits of a path.
func LimitsOf(via string) []Window {
	if via == ViaBot {
		return BotLimits
	}
	return WebhookLimits
}

// BotSender pushes markdown into a chat as the bot; *LongConn is one.
type BotSender interface {
	SendMarkdown(ctx context.Context, chatID, markdown string) error
}

// Router is the Pusher of the application: it chooses each push's path and sends it.
//
// A group pushes through its webhook when it has a key, and through the bot when it has
// none (or when the configuration asks for the bot). Only the webhook can @-mention
// people (text mentioned_list, markdown <@userid>; whether the bot's markdown renders
// mentions is not documented): a push that mentions people takes the webhook whenever the
// group has a key, and without one goes through the bot without the mentions. Images and
// files take the webhook when there is a key too (one request instead of an upload in
// chunks); without one the bot uploads and sends them (MediaSender).
type Router struct {
	Webhook *Webhook
	Bot     BotSender // nil: the bot cannot push (URL-callback mode)
	Log     *slog.Logger
}

var _ Pusher = (*Router)(nil)

func mentions(p Push) bool {
	return len(p.Mentions) > 0 || mentionTag.MatchString(p.Markdown) || mentionTag.MatchString(p.Text)
}

// Route returns the path p takes to.
func (r *Router) Route(to Target, p Push) (string, error) {
	key := to.WebhookKey != ""
	switch to.Via {
	case ViaWebhook:
		if !key {
			return "", ErrNoPushPath
		}
		return ViaWebhook, nil
	case "", ViaBot:
	default:
		return "", fmt.Errorf("wecom: unknown push path %q", to.Via)
	}
	media := p.Image != nil || p.File != nil
	switch {
	case key && (to.Via == "" || media || mentions(p) || r.Bot == nil):
		return ViaWebhook, nil
	case r.Bot == nil:
		return "", ErrNoPushPath
	case media:
		if _, ok := r.Bot.(MediaSender); !ok {
			return "", ErrBotMedia
		}
	}
	return ViaBot, nil
}

// Plan resolves to's path for p (Target.Via is set) and cuts p into pushes of one
// message each on that path, in order.
func (r *Router) Plan(to Target, p Push) (Target, []Push, error) {
	via, err := r.Route(to, p)
	if err != nil {
		return to, nil, err
	}
	to.Via = via
	if via == ViaWebhook {
		parts, err := SplitWebhook(p)
		return to, parts, err
	}
	text := p.Markdown
	if strings.TrimSpace(text) == "" {
		text = p.Text
	}
	var parts []Push
	if strings.TrimSpace(text) != "" {
		for _, part := range splitContent(ChatMarkdown(text), MaxStreamContent) {
			parts = append(parts, Push{Markdown: part})
		}
	}
	if p.Image != nil {
		if err := checkImage(p.Image); err != nil {
			return to, nil, err
		}
		parts = append(parts, Push{Image: p.Image})
	}
	if p.File != nil {
		parts = append(parts, Push{File: p.File, FileName: p.FileName})
	}
	if len(parts) == 0 {
		return to, nil, ErrEmptyPush
	}
	return to, parts, nil
}

// Push sends p to the group to on its path (see Route); on the bot's path mentions are
// dropped, and the log says so.
func (r *Router) Push(ctx context.Context, to Target, p Push) error {
	to, parts, err := r.Plan(to, p)
	if err != nil {
		return err
	}
	if to.Via == ViaWebhook {
		return r.Webhook.Push(ctx, to.WebhookKey, p)
	}
	if mentions(p) && r.Log != nil {
		r.Log.Warn("wecom: a push that mentions people goes through the bot, which cannot @-mention; "+
			"give the group a webhook key for mentions", "chat", to.ChatID)
	}
	for i, part := range parts {
		var err error
		switch {
		case part.Image != nil:
			err = r.Bot.(MediaSender).SendMedia(ctx, to.ChatID, MediaImage, "", part.Image)
		case part.File != nil:
			err = r.Bot.(MediaSender).SendMedia(ctx, to.ChatID, MediaFile, part.FileName, part.File)
		default:
			err = r.Bot.SendMarkdown(ctx, to.ChatID, part.Markdown)
		}
		if err != nil {
			if len(parts) > 1 {
				return fmt.Errorf("wecom bot push: part %d of %d: %w", i+1, len(parts), err)
			}
			return err
		}
	}
	return nil
}
