package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/config"
	"huanjie/metrics"
	"huanjie/storage"
)

// The metrics wiring: wrappers around the bot's interfaces that report to package
// metrics, so that bot, handlers and reminders need not know about it.

// Labels of messages that are not a command word.
const (
	labelCommunity = "community" // a community's name: its card
	labelImage     = "image"
	labelEvent     = "event"
)

// commandLabeler returns the function that labels a message for the handler metric:
// the command the handlers read in it (command: the handlers' own reading, so the label
// and the answer cannot drift), "community" when the first word names a community (one
// map lookup, whatever the campaign's size), the message type for images and events,
// else "other".
func commandLabeler(cfg *config.Config, command func(bot.Message) string) func(bot.Message) string {
	communities := map[string]bool{}
	for _, st := range cfg.Streets {
		for _, c := range st.Communities {
			communities[c.Name] = true
			for _, a := range c.Aliases {
				communities[a] = true
			}
		}
	}
	return func(m bot.Message) string {
		switch m.MsgType {
		case "image":
			return labelImage
		case "event":
			return labelEvent
		}
		if c := command(m); c != "" {
			return c
		}
		text := bot.Normalize(m.PlainText())
		first, _, _ := strings.Cut(text, " ")
		if communities[first] || communities[strings.TrimSuffix(first, "社区")] {
			return labelCommunity
		}
		return metrics.OtherLabel
	}
}

// timedHandler reports each handler call's duration to the metrics, and to the URL
// callback's middleware whether it finished in time.
type timedHandler struct {
	next      bot.Handler
	m         *metrics.Metrics
	transport metrics.Transport
	label     func(bot.Message) string
}

func (h timedHandler) Handle(ctx context.Context, msg bot.Message) bot.Reply {
	done := metrics.NoteHandler(ctx)
	start := time.Now()
	defer func() {
		h.m.Handled(h.transport, h.label(msg), time.Since(start))
		done()
	}()
	reply := h.next.Handle(ctx, msg)
	if reply.Repeat { // answered from what the first handling kept: a WeCom retry
		metrics.NoteDuplicate(ctx)
	}
	return reply
}

// notedLedger tells the callback middleware about msgids handled (or being handled)
// before: a WeCom retry.
type notedLedger struct{ msgLedger }

func (d notedLedger) Begin(ctx context.Context, id, owner string, lease, ttl time.Duration) (bot.MsgRecord, bool, error) {
	rec, mine, err := d.msgLedger.Begin(ctx, id, owner, lease, ttl)
	if err == nil && !mine {
		metrics.NoteDuplicate(ctx)
	}
	return rec, mine, err
}

// FinishFirst notes a question whose answer was recorded before: a WeCom retry.
func (d notedLedger) FinishFirst(ctx context.Context, id, answer string, ttl time.Duration) (string, bool, error) {
	stands, recorded, err := d.msgLedger.FinishFirst(ctx, id, answer, ttl)
	if err == nil && !recorded {
		metrics.NoteDuplicate(ctx)
	}
	return stands, recorded, err
}

// Repeatable passes the handler's Repeater through.
func (h timedHandler) Repeatable(m bot.Message) bool {
	r, ok := h.next.(bot.Repeater)
	return ok && r.Repeatable(m)
}

// Question passes the handler's Questioner through.
func (h timedHandler) Question(m bot.Message) bool {
	q, ok := h.next.(bot.Questioner)
	return ok && q.Question(m)
}

// countedPusher counts pushes by result; one that found no long connection is no push.
type countedPusher struct {
	next   *bot.Router
	m      *metrics.Metrics
	source metrics.PushSource
}

// Plan is the router's: the deliverer plans each push before it counts.
func (p countedPusher) Plan(to bot.Target, push bot.Push) (bot.Target, []bot.Push, error) {
	return p.next.Plan(to, push)
}

func (p countedPusher) Push(ctx context.Context, to bot.Target, push bot.Push) error {
	err := p.next.Push(ctx, to, push)
	var we interface{ RateLimited() bool }
	switch {
	case err == nil:
		p.m.Push(p.source, metrics.PushSent)
	case errors.Is(err, bot.ErrNotConnected):
		// Nothing was pushed: it waits for the long connection (a standby replica, or the
		// connection is down), which huanjie_longconn_state shows.
	case errors.As(err, &we) && we.RateLimited():
		p.m.Push(p.source, metrics.PushRateLimited)
	default:
		p.m.Push(p.source, metrics.PushFailed)
	}
	return err
}

// backlogReader reads every configured group's outbox backlog, street by street.
func backlogReader(cfg *config.Config, outbox *storage.RedisOutbox) metrics.BacklogReader {
	return func(ctx context.Context) ([]metrics.GroupBacklog, error) {
		var out []metrics.GroupBacklog
		for _, st := range cfg.Streets {
			chats := groupChats(st)
			bl, err := outbox.Backlogs(ctx, st.ID, chats)
			if err != nil {
				return nil, err
			}
			for _, chat := range chats {
				out = append(out, metrics.GroupBacklog{Street: st.ID, Group: chat, Pending: bl[chat].Pending, Oldest: bl[chat].Oldest})
			}
		}
		return out, nil
	}
}

// leading runs the long connection's Run while this replica holds the lease, and
// reports the state.
func leading(m *metrics.Metrics, run func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		m.SetLongConn(metrics.LongConnConnecting)
		defer m.SetLongConn(metrics.LongConnStandby)
		return run(ctx)
	}
}

// subscribedState is the long connection's OnSubscribed hook.
func subscribedState(m *metrics.Metrics) func(up bool) {
	return func(up bool) {
		if up {
			m.SetLongConn(metrics.LongConnSubscribed)
		} else {
			m.SetLongConn(metrics.LongConnConnecting)
		}
	}
}
