// Package handlers turns what people type in the group chat into campaign actions: it
// finds who is speaking and for which street, parses the command, checks it against
// the street's rules, stores it through storage, and answers in Chinese markdown.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/photos"
	"huanjie/storage"
)

// Deps are what the handlers need; each is an interface or plain data, so tests can
// wire real Redis and a recording Pusher.
type Deps struct {
	Config     *config.Config
	Filings    storage.Filings
	Bindings   storage.Bindings
	Pusher     bot.Pusher       // may be nil: no group pushes
	Reminders  Reminders        // may be nil: reminder commands say they are off
	Photos     PhotoService     // may be nil: photo commands say they are off
	PhotoStore storage.Photos   // photo counts for exports (may be nil)
	MediaKey   []byte           // the EncodingAESKey, for images that carry no key of their own
	Links      Links            // may be nil: no download links
	Clock      func() time.Time // defaults to time.Now
	Log        *slog.Logger
}

// Bot is the bot.Handler of the campaign.
type Bot struct {
	Deps
	commands []*command
}

// New builds the handler with every command registered.
func New(d Deps) *Bot {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	b := &Bot{Deps: d}
	b.commands = b.registry()
	return b
}

// who is the person speaking, as far as the street knows them.
type who struct {
	UserID    string
	Role      campaign.Role // "" when unknown
	Community string
	Name      string
	Title     string
}

// label names the person in replies.
func (w who) label() string {
	switch {
	case w.Name != "":
		return w.Name
	case w.Title != "":
		return w.Community + w.Title
	}
	return w.UserID
}

// request is one message being handled.
type request struct {
	ctx    context.Context
	msg    bot.Message
	street *config.Street // nil when no street could be found
	group  *config.Group  // nil in a 1:1 chat
	who    who
	now    time.Time
	today  campaign.Date
	line   string   // normalised text, command word included
	raw    string   // the text as typed, leading @mentions removed
	args   []string // tokens after the command word
	rest   string   // normalised text after the command word
}

// Handle answers one message.
func (b *Bot) Handle(ctx context.Context, m bot.Message) bot.Reply {
	if m.MsgType == "event" || m.MsgType == "stream" {
		return bot.Reply{}
	}
	now := b.Clock().In(campaign.Shanghai)
	r := &request{ctx: ctx, msg: m, now: now, today: campaign.DateOf(now),
		line: strings.TrimRight(bot.Normalize(m.PlainText()), "?!.~ "), raw: stripMentions(m.PlainText())}
	text, err := b.dispatch(r)
	if err != nil {
		b.Log.ErrorContext(ctx, "handling message failed", "msgid", m.MsgID, "user", m.From.UserID, "chat", m.ChatID, "text", r.line, "err", err)
		office := "街道计生协办公室"
		if r.street != nil {
			office = r.street.Office
		}
		text = fmt.Sprintf(msgSystemError, office)
	}
	return bot.Reply{Markdown: text}
}

func (b *Bot) dispatch(r *request) (string, error) {
	if r.msg.IsGroup() {
		s, g, ok := b.Config.StreetOfChat(r.msg.ChatID)
		if !ok {
			return fmt.Sprintf(msgUnknownChat, r.msg.ChatID), nil
		}
		r.street, r.group = s, g
	}
	if err := b.identify(r); err != nil {
		return "", err
	}
	if imgs := photos.Images(r.msg); len(imgs) > 0 {
		return b.receivePhotos(r, imgs)
	}
	if r.line == "" {
		return fmt.Sprintf(msgGreeting, b.Config.BotName), nil
	}
	cmd, word := b.match(r.line)
	if cmd == nil {
		if r.street != nil && r.who.Role != "" {
			if c, ok := r.street.Community(r.line); ok {
				return b.card(r, c.Name)
			}
		}
		return b.notUnderstood(r), nil
	}
	r.rest = strings.TrimSpace(strings.TrimPrefix(r.line, word))
	r.args = tokenize(r.rest)
	if !cmd.allows(r.who.Role) {
		return b.refuse(r, cmd), nil
	}
	reply, err := cmd.run(r)
	var ue usageError
	if errors.As(err, &ue) {
		return fmt.Sprintf(msgBadArgs, cmd.name, ue.reason, cmd.usage, cmd.example), nil
	}
	return reply, err
}

// identify finds the street (for 1:1 chats) and the speaker's role in it.
func (b *Bot) identify(r *request) error {
	uid := r.msg.From.UserID
	streets := b.Config.Streets
	if r.street != nil {
		streets = []config.Street{*r.street}
	}
	for i := range streets {
		s, _ := b.Config.Street(streets[i].ID)
		if p, ok := s.Person(uid); ok {
			r.street = s
			r.who = who{UserID: uid, Role: p.Role, Community: p.Community, Name: p.Name, Title: p.Title}
			return nil
		}
		bd, err := b.Bindings.Binding(r.ctx, s.ID, uid)
		if err != nil {
			return fmt.Errorf("look up binding of %s: %w", uid, err)
		}
		if bd != nil {
			r.street = s
			r.who = who{UserID: uid, Role: bd.Role, Community: bd.Community, Name: bd.Name, Title: bd.Title}
			return nil
		}
	}
	r.who = who{UserID: uid}
	if r.street == nil && len(b.Config.Streets) == 1 {
		r.street = &b.Config.Streets[0]
	}
	return nil
}

func (b *Bot) refuse(r *request, cmd *command) string {
	if r.who.Role == "" {
		if r.street == nil {
			return msgNoStreet
		}
		return fmt.Sprintf(msgUnknownUser, r.street.Office)
	}
	var allowed []string
	for _, role := range cmd.roles {
		allowed = append(allowed, roleNames[string(role)])
	}
	return fmt.Sprintf(msgForbidden, cmd.name, strings.Join(allowed, "或"), roleNames[string(r.who.Role)], r.street.Office)
}

func (b *Bot) notUnderstood(r *request) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, msgNotUnderstood, r.line)
	if r.who.Role == "" && r.street != nil {
		return sb.String() + "\n" + fmt.Sprintf(msgUnknownUser, r.street.Office)
	}
	if c := b.nearest(r.line, r.who.Role); c != nil {
		sb.WriteString("\n")
		fmt.Fprintf(&sb, msgDidYouMean, c.name, c.usage, c.example)
	}
	sb.WriteString("\n" + msgSeeHelp)
	return sb.String()
}

// stripMentions removes the leading @mentions from what was typed, keeping the rest as is.
func stripMentions(s string) string {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "@") || strings.HasPrefix(s, "＠") {
		i := strings.IndexFunc(s, func(r rune) bool { return r == ' ' || r == '\u3000' || r == '\n' })
		if i < 0 {
			return ""
		}
		s = strings.TrimSpace(strings.TrimLeft(s[i:], " \u3000\n"))
	}
	return s
}

// textAfter returns what was typed after the command word, unnormalised (for free text).
func (r *request) textAfter(words []string) string {
	for _, w := range words {
		if i := strings.Index(r.raw, w); i >= 0 {
			return strings.TrimLeft(r.raw[i+len(w):], " \u3000:：，,\n")
		}
	}
	return r.rest
}

// usageError is a command typed wrongly; its reason is shown to the user.
type usageError struct{ reason string }

func (e usageError) Error() string { return e.reason }

func badf(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }
