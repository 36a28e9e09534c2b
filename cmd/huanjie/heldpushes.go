package main

import (
	"context"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/standin"
	"huanjie/storage"
)

// heldPushes is the chat page's view of the outbox (standin.PushQueue): per group, the
// pushes that wait for WeCom's rate limit, and when they should all be out.
type heldPushes struct {
	outbox  *storage.RedisOutbox
	now     func() time.Time // the campaign clock the deliverer runs on
	streets []heldStreet
}

type heldStreet struct {
	id     string
	chats  []string
	limits map[string][]bot.Window // by chat: the limits of the group's push path
}

// newHeldPushes reads the groups and their push paths from cfg once: a group with a
// webhook key pushes through it (unless it asks for the bot), any other through the bot.
func newHeldPushes(cfg *config.Config, outbox *storage.RedisOutbox, now func() time.Time) *heldPushes {
	h := &heldPushes{outbox: outbox, now: now}
	for _, st := range cfg.Streets {
		hs := heldStreet{id: st.ID, chats: groupChats(st), limits: map[string][]bot.Window{}}
		for _, g := range st.Groups {
			via := bot.ViaBot
			if g.WebhookKey != "" && g.Push != bot.ViaBot {
				via = bot.ViaWebhook
			}
			hs.limits[g.ChatID] = bot.LimitsOf(via)
		}
		h.streets = append(h.streets, hs)
	}
	return h
}

// Held implements standin.PushQueue, with one Backlogs (two round trips) per street. A
// group's pushes are held back while its first one is due later than now without a
// failed attempt: the deliverer deferred it to when the rate limit has room again. One
// due now is about to go out; one after an error waits for its retry, not the limit.
func (h *heldPushes) Held(ctx context.Context) (map[string]standin.Held, error) {
	now := h.now()
	out := map[string]standin.Held{}
	for _, st := range h.streets {
		bl, err := h.outbox.Backlogs(ctx, st.id, st.chats)
		if err != nil {
			return nil, err
		}
		for _, chat := range st.chats {
			b := bl[chat]
			if b.Pending == 0 || b.Attempts > 0 || !b.Due.After(now) {
				continue
			}
			next := b.Due.In(campaign.Shanghai)
			out[chat] = standin.Held{Count: b.Pending, Next: next, Until: clearedBy(next, b.Pending, st.limits[chat])}
		}
	}
	return out, nil
}

// clearedBy is when n pushes, the first free to go at next, are out under limits: a
// window lets N through per Per, so after the first N the rest take ⌈n/N⌉−1 more.
func clearedBy(next time.Time, n int, limits []bot.Window) time.Time {
	until := next
	for _, w := range limits {
		if t := next.Add(time.Duration((n-1)/w.N) * w.Per); t.After(until) {
			until = t
		}
	}
	return until
}

// groupChats are the chatids of a street's groups.
func groupChats(st campaign.Street) []string {
	chats := make([]string, len(st.Groups))
	for i, g := range st.Groups {
		chats[i] = g.ChatID
	}
	return chats
}
