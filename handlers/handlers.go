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
	"huanjie/handlers/reader"
	"huanjie/photos"
	"huanjie/storage"
)

// Deps are what the handlers need; each is an interface or plain data, so tests can
// wire real Redis and a recording Pusher.
type Deps struct {
	Config        *config.Config
	Filings       storage.Filings
	Bindings      storage.Bindings
	Confirmations storage.Confirmations
	Outbox        Outbox           // group notices; may be nil: none are sent
	Pusher        bot.Pusher       // may be nil: no group pushes
	Reminders     Reminders        // may be nil: reminder commands say they are off
	Photos        PhotoService     // may be nil: photo commands say they are off
	PhotoStore    storage.Photos   // photo counts for exports (may be nil)
	MediaKey      []byte           // the EncodingAESKey, for images that carry no key of their own
	Links         Links            // may be nil: no download links
	Clock         func() time.Time // defaults to time.Now
	Log           *slog.Logger
	// Memo keeps the last judgement of each street; share one with the dashboard and the
	// scheduler so a street is judged once for all of them (nil: the bot's own).
	Memo *campaign.Memo
}

// Outbox queues group notices (review results, re-filings) for delivery within the
// groups' rate limits, with retries.
type Outbox interface {
	Enqueue(ctx context.Context, street string, msgs []storage.OutMsg) error
}

// Bot is the bot.Handler of the campaign.
type Bot struct {
	Deps
	commands []*command
	byName   map[string]*command
	vocab    map[campaign.Role]*reader.Matcher // command words by who may use them
	allWords *reader.Matcher                   // every command word
}

// New builds the handler with every command registered.
func New(d Deps) *Bot {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Memo == nil {
		d.Memo = new(campaign.Memo)
	}
	b := &Bot{Deps: d}
	b.commands = append(b.registry(), b.absenceCommands()...)
	b.indexWords()
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
	ctx      context.Context
	msg      bot.Message
	street   *config.Street     // nil when no street could be found, and in a district's chat
	district *campaign.District // set in a district's group chat, or for a district's people
	group    *config.Group      // nil in a 1:1 chat
	who      who
	now      time.Time
	today    campaign.Date
	line     string         // normalised text (reader.Normalize), command word included
	raw      string         // the text as typed, leading @mentions removed
	cmd      reader.Command // the command word found in line, with what is before and after it
	args     []string       // tokens after the command word
	rest     string         // normalised text after the command word
	// answered: the answer is stored with what the message filed, and the same message
	// handled again gets it back (bot.Reply.Recorded)
	answered bool
	repeat   bool // the answer is the one recorded by the message's first handling
}

// Handle answers one message.
func (b *Bot) Handle(ctx context.Context, m bot.Message) bot.Reply {
	if m.MsgType == "event" && m.Event != nil && m.Event.EventType == bot.EventEnterChat {
		return bot.Reply{Markdown: b.welcome(ctx, m)}
	}
	if m.MsgType == "event" || m.MsgType == "stream" {
		return bot.Reply{}
	}
	now := b.Clock().In(campaign.Shanghai)
	raw := stripMentions(m.PlainText())
	r := &request{ctx: ctx, msg: m, now: now, today: campaign.DateOf(now),
		line: strings.TrimRight(reader.Normalize(raw), "?？!！.。~ "), raw: raw}
	text, err := b.dispatch(r)
	if err != nil {
		b.Log.ErrorContext(ctx, "handling message failed", "msgid", m.MsgID, "user", m.From.UserID, "chat", m.ChatID, "command", b.CommandOf(m), "chars", len([]rune(r.line)), "err", err)
		office := "街道计生协办公室"
		if r.street != nil {
			office = r.street.Office
		}
		text = fmt.Sprintf(msgSystemError, office)
		r.answered, r.repeat = false, false
	}
	return bot.Reply{Markdown: text, Recorded: r.answered, Repeat: r.repeat}
}

func (b *Bot) dispatch(r *request) (string, error) {
	if r.msg.IsGroup() {
		if s, g, ok := b.Config.StreetOfChat(r.msg.ChatID); ok {
			r.street, r.group = s, g
		} else if d, g, ok := b.Config.DistrictOfChat(r.msg.ChatID); ok {
			r.district, r.group = d, g
		} else {
			return fmt.Sprintf(msgUnknownChat, r.msg.ChatID), nil
		}
	}
	if r.msg.From.UserID == "" {
		return msgNoUserID, nil // no one to identify, bind or answer for
	}
	if err := b.identify(r); err != nil {
		return "", err
	}
	if r.district != nil {
		return b.dispatchDistrict(r)
	}
	if imgs := photos.Images(r.msg); len(imgs) > 0 {
		return b.receivePhotos(r, imgs)
	}
	if r.line == "" {
		return fmt.Sprintf(msgGreeting, b.Config.BotName), nil
	}
	cmd, found := b.find(r.line, r.who.Role)
	if cmd == nil {
		if r.street != nil && r.who.Role != "" {
			switch m := reader.MatchCommunity(r.line, r.street.CommunityNames()); m.Kind {
			case reader.Exact:
				return b.card(r, m.Name)
			case reader.Close, reader.Several:
				return m.Question() + msgCardHint, nil
			}
		}
		return b.notUnderstood(r), nil
	}
	return b.run(r, cmd, found)
}

// run runs a command found in the message, turning usage errors and questions into
// replies that store nothing.
func (b *Bot) run(r *request, cmd *command, found reader.Command) (string, error) {
	r.cmd, r.rest = found, found.Rest
	r.args = tokenize(r.rest)
	if !cmd.allows(r.who.Role) {
		return b.refuse(r, cmd), nil
	}
	reply, err := cmd.run(r)
	var ue usageError
	var q question
	switch {
	case errors.As(err, &q):
		return q.text + "\n\n" + msgNothingStored, nil
	case errors.As(err, &ue):
		return fmt.Sprintf(msgBadArgs, cmd.name, ue.reason, cmd.usage, cmd.exampleIn(r)), nil
	}
	return reply, err
}

// identify finds the speaker's role: in a street's group, as that street knows them; in a
// district's group, among the district's people; in a 1:1 chat, wherever the config or a
// binding names them — the configured by one map lookup, the bound by one pipelined
// look across every street.
func (b *Bot) identify(r *request) error {
	uid := r.msg.From.UserID
	switch {
	case r.district != nil:
		if p, ok := r.district.Person(uid); ok {
			r.who = who{UserID: uid, Role: p.Role, Name: p.Name, Title: p.Title}
		} else {
			r.who = who{UserID: uid}
		}
		return nil
	case r.street != nil:
		if p, ok := r.street.Person(uid); ok {
			r.who = who{UserID: uid, Role: p.Role, Community: p.Community, Name: p.Name, Title: p.Title}
			return nil
		}
		bd, err := b.Bindings.Binding(r.ctx, r.street.ID, uid)
		if err != nil {
			return fmt.Errorf("look up binding of %s: %w", uid, err)
		}
		r.who = who{UserID: uid}
		if bd != nil {
			r.who = who{UserID: uid, Role: bd.Role, Community: bd.Community, Name: bd.Name, Title: bd.Title}
		}
		return nil
	}
	if s, ok := b.Config.StreetOfPerson(uid); ok {
		p, _ := s.Person(uid)
		r.street, r.who = s, who{UserID: uid, Role: p.Role, Community: p.Community, Name: p.Name, Title: p.Title}
		return nil
	}
	if d, ok := b.Config.DistrictOfPerson(uid); ok {
		p, _ := d.Person(uid)
		r.district, r.who = d, who{UserID: uid, Role: p.Role, Name: p.Name, Title: p.Title}
		return nil
	}
	ids := make([]string, len(b.Config.Streets))
	for i := range b.Config.Streets {
		ids[i] = b.Config.Streets[i].ID
	}
	bd, err := b.Bindings.BindingAny(r.ctx, ids, uid)
	if err != nil {
		return fmt.Errorf("look up binding of %s: %w", uid, err)
	}
	r.who = who{UserID: uid}
	if bd != nil {
		if s, ok := b.Config.Street(bd.Street); ok {
			r.street = s
			r.who = who{UserID: uid, Role: bd.Role, Community: bd.Community, Name: bd.Name, Title: bd.Title}
			return nil
		}
	}
	if len(b.Config.Streets) == 1 {
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
	return fmt.Sprintf(msgForbidden, cmd.name, strings.Join(allowed, "或"), r.who.describe(), r.street.Office)
}

// describe says who the person is as the street knows them: 大辛社区书记, 街道计生协办公室主任,
// 领导小组组长 — their configured or bound title, never a role name they do not hold.
func (w who) describe() string {
	switch w.Role {
	case campaign.RoleSecretary:
		return w.Community + "社区" + or(w.Title, "秘书长")
	case campaign.RoleOffice:
		return "街道计生协办公室" + w.Title
	case campaign.RoleLeader:
		return "领导小组" + w.Title
	}
	return roleNames[""]
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (b *Bot) notUnderstood(r *request) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, msgNotUnderstood, r.line)
	if r.who.Role == "" && r.street != nil {
		return sb.String() + "\n" + fmt.Sprintf(msgUnknownUser, r.street.Office)
	}
	if c := b.nearest(r.line, r.who.Role); c != nil {
		sb.WriteString("\n\n")
		fmt.Fprintf(&sb, msgDidYouMean, c.name, c.usage, c.exampleIn(r))
	}
	if r.who.Role == campaign.RoleSecretary {
		sb.WriteString("\n\n" + fmt.Sprintf(msgSaySentence, sayExamples(r, 2)))
	}
	sb.WriteString("\n\n" + msgSeeHelp)
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

// question is something the bot must ask back before it can act (「您是不是要找「大辛」？」);
// nothing is stored.
type question struct{ text string }

func (q question) Error() string { return q.text }

func askf(format string, a ...any) error { return question{fmt.Sprintf(format, a...)} }
