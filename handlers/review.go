package handlers

import (
	"fmt"
	"strings"

	"huanjie/campaign"
	"huanjie/handlers/reader"
	"huanjie/storage"
)

// reviewedVocabulary names the items the office reviews: their words and labels.
func reviewedVocabulary() reader.Vocabulary {
	v := reader.Vocabulary{}
	for _, d := range campaign.Items() {
		if d.Review == nil {
			continue
		}
		for _, w := range append([]string{d.Label}, d.Words...) {
			v[w] = string(d.ID)
		}
	}
	return v
}

// readReview reads the office's command: which community (typos asked back), which item
// when one is named as a word of its own, and the reason.
func (b *Bot) readReview(r *request, example string) (string, reader.Review, error) {
	rv := reader.ReadReview(r.line, r.cmd, r.street.CommunityNames(), reviewedVocabulary())
	switch rv.Community.Kind {
	case reader.Exact:
		return rv.Community.Name, rv, nil
	case reader.Close, reader.Several:
		return "", rv, askf("%s", rv.Community.Question())
	}
	if r.rest == "" {
		return "", rv, badf(msgWhichCommunity, example)
	}
	first := strings.Fields(r.rest)[0]
	return "", rv, badf(msgNoSuchCommunity, r.street.Name, first, strings.Join(r.street.CommunityNames(), "、"))
}

// approve is the office's approval of item d (初审通过, 批复).
func (b *Bot) approve(d *campaign.Def) func(r *request) (string, error) {
	return func(r *request) (string, error) {
		c, _, err := b.readReview(r, d.Review.Approve[0]+" 大辛")
		if err != nil {
			return "", err
		}
		rec, err := b.record(r, c)
		if err != nil {
			return "", err
		}
		return b.decide(r, c, rec, d, campaign.ReviewApproved, "")
	}
}

// returnFiling returns a reviewed item: the one named as a word of its own ("退回 大辛 选举
// …"; a reason that only begins like an item word stays the reason), else the one awaiting
// the office's decision, latest in the campaign first.
func (b *Bot) returnFiling(r *request) (string, error) {
	c, rv, err := b.readReview(r, "退回 大辛 副会长人选需调整")
	if err != nil {
		return "", err
	}
	rec, err := b.record(r, c)
	if err != nil {
		return "", err
	}
	var d *campaign.Def
	if rv.Item != "" {
		d, _ = campaign.Lookup(campaign.Item(rv.Item))
	}
	if d == nil {
		items := campaign.Items()
		for i := len(items) - 1; i >= 0 && d == nil; i-- {
			if it := items[i]; it.Review != nil {
				if st, _ := rec.ReviewOf(it.ID); st == campaign.ReviewPending {
					d = it
				}
			}
		}
		for _, it := range items {
			if d == nil && it.Review != nil {
				if _, filed := rec.Filing(it.ID); filed {
					d = it
				}
			}
		}
	}
	reason := strings.TrimSpace(rv.Reason)
	if reason == "" {
		return "", badf("请写明退回原因，社区才知道怎么改")
	}
	if d == nil {
		return fmt.Sprintf(msgNothingToReview, c, strings.Join(reviewedLabels(), "或")), nil
	}
	return b.decide(r, c, rec, d, campaign.ReviewReturned, reason)
}

// decide records the office's decision on the current version of d and tells the
// community's secretaries through the outbox.
func (b *Bot) decide(r *request, c string, rec *campaign.Record, d *campaign.Def, status, reason string) (string, error) {
	rs := d.Review
	f, ok := rec.Filing(d.ID)
	if !ok {
		return fmt.Sprintf(msgNotFiledYet, c, d.Label), nil
	}
	cs := r.street.Judge(c, rec, r.today)
	is := cs.Item(d.ID)
	current, rv := rec.ReviewOf(d.ID)
	if current == status && status == campaign.ReviewApproved {
		return fmt.Sprintf(msgAlreadyApproved, c, d.Label, campaign.DateOf(rv.At)), nil
	}
	if status == campaign.ReviewApproved {
		if current == campaign.ReviewReturned {
			return fmt.Sprintf(msgApproveReturned, c, d.Label, campaign.DateOf(rv.At), rv.Reason), nil
		}
		if rs.Strict && is != nil && len(is.Problems) > 0 {
			return fmt.Sprintf(msgApproveProblems, c, d.Label, rs.Verb, "- "+strings.Join(is.Problems, "\n- ")), nil
		}
	}
	review := campaign.Review{Item: d.ID, Of: f.Stamp(), Status: status, Reason: reason, By: r.who.UserID, At: r.now}
	if err := b.Filings.SaveReview(r.ctx, r.street.ID, c, review, r.msg.PlainText()); err != nil {
		return "", fmt.Errorf("save review %s/%s: %w", c, d.ID, err)
	}
	b.Log.InfoContext(r.ctx, "reviewed", "street", r.street.ID, "community", c, "item", d.ID, "status", status, "by", r.who.UserID)

	verb, note := rs.Verb, fmt.Sprintf(rs.Notice, c)
	if status == campaign.ReviewReturned {
		verb, note = "退回", fmt.Sprintf(noticeReturned, c, d.Label, reason)
	}
	reply := fmt.Sprintf(msgDecided, verb, c, d.Label, r.street.Describe(f))
	if is != nil && len(is.Problems) > 0 && status == campaign.ReviewApproved {
		reply += "\n\n" + fmt.Sprintf(msgApprovedWithProblems, strings.Join(is.Problems, "；"))
	}
	return reply + "\n\n" + b.tellCommunity(r, c, note), nil
}

// tellCommunity queues note for the groups the community's secretaries are in,
// @-mentioning them, and says in one line what was done.
func (b *Bot) tellCommunity(r *request, community, note string) string {
	people, err := b.people(r)
	if err != nil {
		b.Log.WarnContext(r.ctx, "listing secretaries failed", "community", community, "err", err)
		people = r.street.PeopleOf(nil)
	}
	var msgs []storage.OutMsg
	for _, g := range r.street.Groups {
		if g.Covers(community) {
			msgs = append(msgs, storage.OutMsg{Street: r.street.ID, ChatID: g.ChatID, Text: note, Mentions: people.Secretaries(community), Created: r.now})
		}
	}
	if b.enqueue(r, msgs) {
		return fmt.Sprintf(msgCommunityTold, community)
	}
	return msgNoticeFailed
}

// tellOffice queues note for the street's groups, @-mentioning the office.
func (b *Bot) tellOffice(r *request, note string) bool {
	people, err := b.people(r)
	if err != nil {
		b.Log.WarnContext(r.ctx, "listing the office failed", "err", err)
		people = r.street.PeopleOf(nil)
	}
	var msgs []storage.OutMsg
	for _, g := range r.street.Groups {
		msgs = append(msgs, storage.OutMsg{Street: r.street.ID, ChatID: g.ChatID, Text: note, Mentions: people.Office(), Created: r.now})
	}
	return b.enqueue(r, msgs)
}

// enqueue puts notices in the street's outbox, whence they are delivered within the
// groups' rate limits and retried; it reports whether they were queued.
func (b *Bot) enqueue(r *request, msgs []storage.OutMsg) bool {
	if b.Outbox == nil || len(msgs) == 0 {
		return false
	}
	if err := b.Outbox.Enqueue(r.ctx, r.street.ID, msgs); err != nil {
		b.Log.ErrorContext(r.ctx, "queueing a group notice failed", "street", r.street.ID, "err", err)
		return false
	}
	return true
}

// people are the street's people, configured and bound.
func (b *Bot) people(r *request) (*campaign.People, error) {
	bound, err := b.Bindings.Bound(r.ctx, r.street.ID)
	if err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	return r.street.PeopleOf(bound), nil
}
