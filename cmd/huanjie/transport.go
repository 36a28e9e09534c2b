package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/reminders"
	"huanjie/storage"
)

// lateShutdownGrace is how long a stopping bot waits for answers still being worked on.
const lateShutdownGrace = 20 * time.Second

// transportHealth is what /healthz reports about the WeCom transport.
type transportHealth struct {
	kicked atomic.Bool
}

// msgKicked is /healthz's text after WeCom dropped the long connection for another one.
const msgKicked = "long connection stopped: another instance subscribed with this WECOM_BOT_ID and WeCom dropped ours; " +
	"stop the other instance, then restart this bot\n"

// wrap answers /healthz with 503 and the reason while the transport is down for good
// (the reason names no address, key or internal detail), else with next.
func (h *transportHealth) wrap(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := h.problem(); msg != "" {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		next(w, r)
	}
}

// problem is the reason the transport is unhealthy, or "".
func (h *transportHealth) problem() string {
	if h.kicked.Load() {
		return msgKicked
	}
	return ""
}

// runLongConn runs lc while this replica holds the long-connection lease. After a kick
// it stays down for good, holding the lease, so that no replica of ours subscribes again
// and kicks the other instance back; /healthz says so.
func (h *transportHealth) runLongConn(lc *bot.LongConn) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if !h.kicked.Load() {
			err := lc.Run(ctx)
			if !errors.Is(err, bot.ErrKicked) {
				return err
			}
			h.kicked.Store(true)
		}
		<-ctx.Done()
		return nil
	}
}

// pushTarget is where pushes into group g go.
func pushTarget(g campaign.Group) bot.Target {
	return bot.Target{ChatID: g.ChatID, WebhookKey: g.WebhookKey, Via: g.Push}
}

// streetOfChat names the street of a configured group.
func streetOfChat(cfg *config.Config) func(chatID string) (string, bool) {
	return func(chatID string) (string, bool) {
		st, _, ok := cfg.StreetOfChat(chatID)
		if !ok {
			return "", false
		}
		return st.ID, true
	}
}

// warnPushPaths says at start which groups cannot be pushed to, and which cannot be
// @-mentioned in (the bot's path has no mentions).
func warnPushPaths(cfg *config.Config, botPushes bool, log *slog.Logger) {
	for _, st := range cfg.Streets {
		for _, g := range st.Groups {
			switch {
			case g.WebhookKey == "" && !botPushes:
				log.Warn("group has no webhook key and the bot is not on the long connection: nothing can be pushed into it",
					"street", st.ID, "group", g.ChatID, "env", g.WebhookKeyEnv)
			case g.WebhookKey == "":
				log.Warn("group pushes through the bot, which cannot @-mention people: "+
					"give it a webhook key for reminders that mention the late", "street", st.ID, "group", g.ChatID)
			}
		}
	}
}

// countReplies counts each answer the bot sent into a group against the group's limits
// on the bot's path (WeCom: 30 a minute and 1000 an hour per chat, replies included), so
// that queued pushes leave room for them. now is the deliverer's clock: the windows are
// judged on one clock.
func countReplies(cfg *config.Config, outbox storage.Outbox, now func() time.Time, log *slog.Logger) func(chatID string) {
	return func(chatID string) {
		st, _, ok := cfg.StreetOfChat(chatID)
		if !ok {
			return // a 1:1 chat: the outbox pushes only into groups
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		windows := make([]storage.Window, len(bot.BotLimits))
		for i, w := range bot.BotLimits {
			windows[i] = storage.Window{N: w.N, Per: w.Per}
		}
		if _, _, err := outbox.TakeSlots(ctx, st.ID, reminders.BotBucket(chatID), now(), 1, windows, true); err != nil {
			log.Warn("a reply could not be counted against the group's push limits", "group", chatID, "err", err)
		}
	}
}

// errNoChat: the answer's chat is neither a configured group nor a 1:1 chat.
var errNoChat = errors.New("the answer's chat is neither a configured group nor a 1:1 chat: the outbox cannot push into it")

// directPrefix marks a 1:1 chat in the outbox: the rest is the user's userid, which
// aibot_send_msg takes as the chatid of the 1:1 chat (WeCom's SDK: 单聊填用户的 userid).
// Only the bot reaches a 1:1 chat; no webhook does.
const directPrefix = "user:"

// outboxTargets resolves where an outbox message of a street goes: a group of the
// street, a group of a district the street belongs to, or a 1:1 chat (through the bot).
func outboxTargets(cfg *config.Config) func(street, chatID string) (bot.Target, bool) {
	return func(street, chatID string) (bot.Target, bool) {
		if s, g, ok := cfg.StreetOfChat(chatID); ok && s.ID == street {
			return pushTarget(*g), true
		}
		if d, g, ok := cfg.DistrictOfChat(chatID); ok && slices.Contains(d.Streets, street) {
			return pushTarget(*g), true
		}
		if user, ok := strings.CutPrefix(chatID, directPrefix); ok && user != "" {
			return bot.Target{ChatID: user, Via: bot.ViaBot}, true
		}
		return bot.Target{}, false
	}
}

// bindingFinder finds a user's binding in any of the streets (storage.Store).
type bindingFinder interface {
	BindingAny(ctx context.Context, streets []string, userid string) (*campaign.Binding, error)
}

// answersAsPushes queues an answer the long connection could not send (it closed first,
// or WeCom's rate limit refused it) in the outbox, which pushes it into its chat within
// the chat's limits and retries it: held, never dropped. A group's answer is queued in
// its street (a district's group: in the district's first street); a 1:1 answer in the
// street of the user (named in the configuration or bound), else the first street, and
// goes out through the bot.
func answersAsPushes(cfg *config.Config, outbox storage.Outbox, bindings bindingFinder, now func() time.Time) func(ctx context.Context, m bot.Message, markdown string) error {
	return func(ctx context.Context, m bot.Message, markdown string) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		street, chat := "", m.ChatID
		switch {
		case m.ChatID != "":
			if st, _, ok := cfg.StreetOfChat(m.ChatID); ok {
				street = st.ID
			} else if d, _, ok := cfg.DistrictOfChat(m.ChatID); ok && len(cfg.StreetsOf(d)) > 0 {
				street = cfg.StreetsOf(d)[0].ID
			}
		case m.From.UserID != "":
			street, chat = userStreet(ctx, cfg, bindings, m.From.UserID), directPrefix+m.From.UserID
		}
		if street == "" {
			return errNoChat
		}
		return outbox.Enqueue(ctx, street, []storage.OutMsg{{ChatID: chat, Markdown: markdown, Created: now()}})
	}
}

// userStreet is the street a 1:1 answer to userid is queued in: the street (or the
// district's first street) whose configuration names them, the street they are bound
// in, else the first street.
func userStreet(ctx context.Context, cfg *config.Config, bindings bindingFinder, userid string) string {
	if st, ok := cfg.StreetOfPerson(userid); ok {
		return st.ID
	}
	if d, ok := cfg.DistrictOfPerson(userid); ok && len(cfg.StreetsOf(d)) > 0 {
		return cfg.StreetsOf(d)[0].ID
	}
	ids := streetIDs(cfg)
	if bindings != nil {
		if b, err := bindings.BindingAny(ctx, ids, userid); err == nil && b != nil && slices.Contains(ids, b.Street) {
			return b.Street
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}
