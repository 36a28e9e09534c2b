package handlers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"huanjie/campaign"
	"huanjie/storage"
)

// maxTextChars bounds a free text (the summary): longer texts are refused with a clear
// reply, never cut.
const maxTextChars = 5000

// confirmTTL is how long a filing waiting for 「确认」 is held.
const confirmTTL = 5 * time.Minute

// record loads a community's record.
func (b *Bot) record(r *request, community string) (*campaign.Record, error) {
	rec, err := b.Filings.Record(r.ctx, r.street.ID, community)
	if err != nil {
		return nil, fmt.Errorf("load %s/%s: %w", r.street.ID, community, err)
	}
	return rec, nil
}

// filer is the command of one item: it loads the speaker's community's record once,
// reads the value from the message, stores it and answers with the item's judgement.
func (b *Bot) filer(d *campaign.Def) func(r *request) (string, error) {
	return func(r *request) (string, error) {
		if _, planned := r.street.Step(d.ID); !planned {
			return fmt.Sprintf(msgNotPlanned, r.street.Name, d.Label), nil
		}
		if other := otherCommunity(r); other != "" {
			return fmt.Sprintf(msgOtherCommunity, r.who.Community, other), nil
		}
		if asking(r, d) {
			return howToFile(r, d), nil
		}
		rec, err := b.record(r, r.who.Community)
		if err != nil {
			return "", err
		}
		f, err := b.read(r, d, rec)
		if err != nil {
			return "", err
		}
		if held, ok := b.implausible(r, d, rec, f); ok {
			if err := b.hold(r, f); err != nil {
				return b.filedBefore(r, f.Version, held, err)
			}
			return held, nil
		}
		return b.save(r, d, rec, f)
	}
}

// read turns the message into a filing of d, or a usage error (nothing stored).
func (b *Bot) read(r *request, d *campaign.Def, rec *campaign.Record) (campaign.Filing, error) {
	f := campaign.Filing{Street: r.street.ID, Community: r.who.Community, Item: d.ID, By: r.who.UserID, At: r.now,
		Version: version(r), Raw: r.msg.PlainText()}
	var err error
	switch d.Kind {
	case campaign.KindLeadingGroup:
		f.Value, err = b.readLeadingGroup(r)
	case campaign.KindMembers:
		f.Value, err = b.readMembers(r)
	case campaign.KindRepresentatives:
		f.Value, err = b.readRepresentatives(r)
	case campaign.KindPublicity:
		f.Value, err = b.readPublicity(r)
	case campaign.KindCandidates:
		f.Value.Roster, err = b.readRoster(r, msgNoCandidates)
	case campaign.KindElection:
		f.Value, err = b.readElection(r)
	case campaign.KindDone:
		f.Value, err = b.readDone(r, d)
	case campaign.KindText:
		f.Value, f.Text, err = b.readText(r, d)
	default:
		err = badf("这一项不用输入")
	}
	return f, err
}

// save stores a filing and answers with its judgement: what it holds, its problems
// judged now, and what changed for the community's other items. The answer is stored
// with the filing, so that the same message handled again (WeCom's retry, on any
// replica) gets the first handling's answer, and what the first did besides storing
// (the office's notice) is not repeated.
func (b *Bot) save(r *request, d *campaign.Def, rec *campaign.Record, f campaign.Filing) (string, error) {
	before := r.street.Judge(f.Community, rec, r.today)
	after := rec.With(f)
	now := r.street.Judge(f.Community, after, r.today)
	is := now.Item(d.ID)

	var sb strings.Builder
	if is != nil && len(is.Problems) > 0 {
		fmt.Fprintf(&sb, msgFiledFlagged, f.Community, d.Label)
	} else {
		fmt.Fprintf(&sb, msgFiled, f.Community, d.Label)
	}
	sb.WriteString("\n\n" + r.street.Describe(f))
	if day := f.Value.Start; !day.IsZero() {
		sb.WriteString(dateNote(r, day))
	} else if day := f.Value.Date; !day.IsZero() {
		sb.WriteString(dateNote(r, day))
	}
	if is != nil {
		for _, p := range is.Problems {
			sb.WriteString("\n\n⚠️ " + p)
		}
	}
	if d.Kind == campaign.KindPublicity {
		fmt.Fprintf(&sb, "\n\n"+msgPublicityThen, r.street.PublicityEnd(f).AddDays(1))
	}
	if d.Kind == campaign.KindText && f.Value.Chars > 0 {
		fmt.Fprintf(&sb, "\n\n"+msgTextKept, f.Value.Chars)
	}
	if old, ok := rec.Filing(d.ID); ok && old.Stamp() != f.Stamp() { // not itself, handled again
		sb.WriteString("\n\n" + fmt.Sprintf(msgReplaced, r.street.Describe(old)))
	}
	var notice string
	if d.Review != nil {
		var text string
		text, notice = refiled(d, rec, f)
		sb.WriteString("\n\n" + text)
	}
	sb.WriteString(othersChanged(&before, &now, d.ID))
	if st, ok := r.street.Step(d.ID); ok && st.Overdue(r.today) {
		sb.WriteString("\n\n" + fmt.Sprintf(msgLate, st.Due, st.Due.DaysUntil(r.today)))
	}
	if is != nil && len(is.Problems) > 0 {
		sb.WriteString("\n\n" + msgFixHint)
	}
	answer := sb.String()

	// The notice is kept with the answer: the same message handled again (the process
	// died before queueing it) queues it then, unless the first handling did.
	if err := b.Filings.SaveAnswered(r.ctx, f, answer, notice); err != nil {
		return b.filedBefore(r, f.Version, answer, fmt.Errorf("save %s/%s/%s: %w", r.street.ID, f.Community, f.Item, err))
	}
	r.answered = f.Version == version(r)
	b.Log.InfoContext(r.ctx, "filed", "street", r.street.ID, "community", f.Community, "item", f.Item, "by", r.who.UserID)
	b.tellOfficeOnce(r, f.Version, notice)
	return answer, nil
}

// tellOfficeOnce queues notice (if any) for the office and marks the version noticed.
func (b *Bot) tellOfficeOnce(r *request, version, notice string) {
	if notice == "" || !b.tellOffice(r, notice) {
		return
	}
	if err := b.Filings.MarkNoticed(r.ctx, r.street.ID, version); err != nil {
		b.Log.WarnContext(r.ctx, "marking the office's notice queued failed; a retry may queue it again", "err", err)
	}
}

// filedBefore answers a message whose filing was saved or held before (err matches
// storage.ErrFiledBefore; any other err is returned): with the answer the first saving
// kept, else with answer (the message ledger then keeps the first handling's).
func (b *Bot) filedBefore(r *request, version, answer string, err error) (string, error) {
	var fb *storage.FiledBefore
	if !errors.As(err, &fb) {
		return "", err
	}
	if fb.Answer == "" {
		return answer, nil
	}
	r.answered, r.repeat = true, true
	if fb.Notice != "" {
		// The first handling may have died between the save and the notice.
		queued, err := b.Filings.NoticeQueued(r.ctx, r.street.ID, version)
		if err != nil {
			b.Log.WarnContext(r.ctx, "reading whether the office was told failed; telling it", "err", err)
		}
		if !queued {
			b.tellOfficeOnce(r, version, fb.Notice)
		}
	}
	return fb.Answer, nil
}

// refiled says what becomes of the office's review, and the notice to the office when a
// version it had already decided on is replaced ("" when none).
func refiled(d *campaign.Def, rec *campaign.Record, f campaign.Filing) (text, notice string) {
	rs := d.Review
	status, _ := rec.ReviewOf(d.ID)
	switch status {
	case campaign.ReviewApproved:
		return fmt.Sprintf(msgRefiledApproved, rs.Approved), fmt.Sprintf(noticeRefiledApproved, f.Community, d.Label, rs.Approved)
	case campaign.ReviewReturned:
		return msgRefiledReturned, fmt.Sprintf(noticeRefiledReturned, f.Community, d.Label)
	}
	return fmt.Sprintf(msgAwaitReview, rs.Label), ""
}

// othersChanged tells which of the community's other items gained or lost problems
// because of this filing (a corrected population settles the representatives).
func othersChanged(before, after *campaign.CommunityState, filed campaign.Item) string {
	var sb strings.Builder
	for i := range after.Items {
		a := &after.Items[i]
		if a.Def.ID == filed {
			continue
		}
		bi := before.Item(a.Def.ID)
		if bi == nil || slices.Equal(bi.Problems, a.Problems) {
			continue
		}
		if len(a.Problems) == 0 {
			fmt.Fprintf(&sb, "\n\n"+msgOtherSettled, a.Def.Label)
			continue
		}
		fmt.Fprintf(&sb, "\n\n"+msgOtherProblem, a.Def.Label, strings.Join(a.Problems, "；"))
	}
	return sb.String()
}

// implausible holds a filing that can be read but looks wrong: nothing is stored until
// the sender confirms it (「确认」 within confirmTTL). It returns the question to ask.
func (b *Bot) implausible(r *request, d *campaign.Def, rec *campaign.Record, f campaign.Filing) (string, bool) {
	var why string
	switch d.Kind {
	case campaign.KindMembers:
		c, _ := r.street.Community(f.Community)
		if c != nil && c.Population > 0 && farFrom(f.Value.Population, c.Population) {
			why = fmt.Sprintf(askPopulation, f.Value.Population, c.Population)
		}
	case campaign.KindText:
		if old, ok := rec.Filing(d.ID); ok && old.Value.Chars >= 200 && f.Value.Chars*4 < old.Value.Chars {
			why = fmt.Sprintf(askShorterText, f.Value.Chars, old.Value.Chars)
		}
	}
	if why == "" {
		return "", false
	}
	return fmt.Sprintf(msgHeld, f.Community, d.Label, r.street.Describe(f), why, int(confirmTTL.Minutes())), true
}

// farFrom reports a population more than 25 % away from the configured one.
func farFrom(got, want int) bool {
	return abs(got-want)*4 > want
}

// hold keeps f until the sender confirms it.
func (b *Bot) hold(r *request, f campaign.Filing) error {
	c := storage.Confirmation{Kind: confirmFile, Filing: &f, Text: f.Text, Raw: f.Raw, Expires: r.now.Add(confirmTTL)}
	if err := b.Confirmations.Hold(r.ctx, r.street.ID, r.who.UserID, c); err != nil {
		return fmt.Errorf("hold filing: %w", err) // a *storage.FiledBefore stays visible
	}
	return nil
}

// version names the filing a message makes: by the message's id when WeCom gave one, so
// the same message handled again (a retry after a failed attempt, a script re-sent after a
// Redis stall) files once; else a fresh version.
func version(r *request) string {
	if r.msg.MsgID != "" {
		return "msg:" + r.msg.MsgID
	}
	return campaign.NewVersion(r.now)
}

// Confirmation kinds.
const (
	confirmFile = "file"
	confirmUndo = "undo"
)

// confirm carries out what the speaker was asked to confirm.
func (b *Bot) confirm(r *request) (string, error) {
	// What is held stays held until it is done: a 「确认」 whose saving fails (or whose
	// process dies) can be sent again. The same 「确认」 handled twice saves and undoes
	// once (once per message); another one after a failed Drop stores the same value again.
	c, err := b.Confirmations.Peek(r.ctx, r.street.ID, r.who.UserID, r.now)
	if err != nil {
		return "", fmt.Errorf("read confirmation: %w", err)
	}
	if c == nil {
		return msgNothingToConfirm, nil
	}
	var reply string
	switch c.Kind {
	case confirmFile:
		f := *c.Filing
		f.Text, f.Raw, f.At, f.Version = c.Text, c.Raw, r.now, version(r)
		rec, err := b.record(r, f.Community)
		if err != nil {
			return "", err
		}
		if reply, err = b.save(r, f.Item.Def(), rec, f); err != nil {
			return "", err
		}
	case confirmUndo:
		if reply, err = b.doUndo(r, c.Stamp); err != nil {
			return "", err
		}
	default:
		reply = msgNothingToConfirm
	}
	if err := b.Confirmations.Drop(r.ctx, r.street.ID, r.who.UserID, c); err != nil {
		b.Log.WarnContext(r.ctx, "the confirmed filing is still held; a second 「确认」 changes nothing", "err", err)
	}
	return reply, nil
}

func (b *Bot) readText(r *request, d *campaign.Def) (campaign.Value, string, error) {
	text := strings.TrimSpace(r.textAfter(d.Words))
	if text == "" {
		return campaign.Value{}, "", badf("缺少%s正文", d.Label)
	}
	n := len([]rune(text))
	if n > maxTextChars {
		return campaign.Value{}, "", badf(msgTextTooLong, d.Label, n, maxTextChars)
	}
	if !readableText(text) {
		return campaign.Value{}, "", badf(msgTextUnreadable, d.Label)
	}
	if n < 40 && saysDoneOnly(text) {
		return campaign.Value{}, "", badf(msgTextDoneOnly, d.Label, d.Label)
	}
	preview := text
	if n > previewChars {
		preview = string([]rune(text)[:previewChars])
	}
	return campaign.Value{Chars: n, Preview: preview}, text, nil
}

// readableText reports a text written in words: at least 10 Han characters, and not one
// character repeated (「AAAA…」, 「。。。」 are not a summary).
func readableText(s string) bool {
	han, counts := 0, map[rune]int{}
	for _, c := range s {
		if unicode.Is(unicode.Han, c) {
			han++
		}
		counts[c]++
	}
	n := len([]rune(s))
	for _, k := range counts {
		if k*2 > n {
			return false
		}
	}
	return han >= 10
}

// previewChars is how much of a long text the compact value shows.
const previewChars = 40

func (b *Bot) undo(r *request) (string, error) {
	c := r.who.Community
	last, err := b.Filings.LastUndoable(r.ctx, r.street.ID, c)
	if errors.Is(err, storage.ErrNothingToUndo) {
		return fmt.Sprintf(msgNothingToUndo, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("undo %s/%s: %w", r.street.ID, c, err)
	}
	if d := last.Item.Def(); d.Review != nil {
		rec, err := b.record(r, c)
		if err != nil {
			return "", err
		}
		if cur, ok := rec.Filing(last.Item); ok && cur.Stamp() == last.Stamp() {
			if status, _ := rec.ReviewOf(last.Item); status == campaign.ReviewApproved {
				hold := storage.Confirmation{Kind: confirmUndo, Stamp: last.Stamp(), Expires: r.now.Add(confirmTTL)}
				if err := b.Confirmations.Hold(r.ctx, r.street.ID, r.who.UserID, hold); err != nil {
					return "", fmt.Errorf("hold undo: %w", err)
				}
				return fmt.Sprintf(msgUndoApproved, c, d.Label, d.Review.Approved, r.street.Describe(last), int(confirmTTL.Minutes())), nil
			}
		}
	}
	return b.doUndo(r, last.Stamp())
}

// doUndo takes back the community's last filing if it is still the version stamp.
func (b *Bot) doUndo(r *request, stamp string) (string, error) {
	c := r.who.Community
	rec, err := b.record(r, c)
	if err != nil {
		return "", err
	}
	last, err := b.Filings.LastUndoable(r.ctx, r.street.ID, c)
	if errors.Is(err, storage.ErrNothingToUndo) {
		return fmt.Sprintf(msgNothingToUndo, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("undo %s/%s: %w", r.street.ID, c, err)
	}
	if last.Stamp() != stamp {
		return msgUndoChanged, nil
	}
	approved := false
	if cur, ok := rec.Filing(last.Item); ok && cur.Stamp() == stamp {
		status, _ := rec.ReviewOf(last.Item)
		approved = status == campaign.ReviewApproved
	}
	undone, current, err := b.Filings.Undo(r.ctx, r.street.ID, c, r.who.UserID, r.msg.MsgID, r.now)
	if errors.Is(err, storage.ErrNothingToUndo) {
		return fmt.Sprintf(msgNothingToUndo, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("undo %s/%s: %w", r.street.ID, c, err)
	}
	b.Log.InfoContext(r.ctx, "undone", "street", r.street.ID, "community", c, "item", undone.Item, "by", r.who.UserID)
	d := undone.Item.Def()
	reply := fmt.Sprintf(msgUndone, c, d.Label, r.street.Describe(undone))
	now := msgUndoNowEmpty
	if current != nil {
		now = fmt.Sprintf(msgUndoNowCurrent, r.street.Describe(*current))
	}
	reply += "\n\n" + now
	if approved {
		b.tellOffice(r, fmt.Sprintf(noticeUndoneApproved, c, d.Review.Approved, d.Label, now))
		reply += "\n\n" + msgOfficeTold
	}
	return reply, nil
}
