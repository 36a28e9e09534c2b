package handlers

import (
	"fmt"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
)

// reviewTarget parses "<社区> [事项] [原因…]" for the office's commands.
func (b *Bot) reviewTarget(r *request, example string) (string, []string, error) {
	if len(r.args) == 0 {
		return "", nil, badf(msgWhichCommunity, example)
	}
	c, ok := r.street.Community(r.args[0])
	if !ok {
		return "", nil, badf(msgNoSuchCommunity, r.street.Name, r.args[0], strings.Join(r.street.CommunityNames(), "、"))
	}
	return c.Name, r.args[1:], nil
}

func (b *Bot) approveCandidates(r *request) (string, error) {
	return b.review(r, campaign.ItemCandidates, campaign.ReviewApproved, "")
}

func (b *Bot) approveElection(r *request) (string, error) {
	return b.review(r, campaign.ItemElection, campaign.ReviewApproved, "")
}

// returnFiling returns the election result if one awaits 批复, else the candidates.
// "退回 大辛 候选人 …" or "退回 大辛 选举 …" names the item explicitly.
func (b *Bot) returnFiling(r *request) (string, error) {
	c, rest, err := b.reviewTarget(r, "退回 大辛 副会长人选需调整")
	if err != nil {
		return "", err
	}
	cur, err := b.state(r, c)
	if err != nil {
		return "", err
	}
	item := campaign.Item("")
	if len(rest) > 0 {
		if it, ok := b.itemOfWord(rest[0]); ok && it.Review() != "" {
			item, rest = it, rest[1:]
		}
	}
	if item == "" {
		if st, _ := campaign.ReviewStatus(cur, campaign.ItemElection); st != campaign.ReviewNone && st != campaign.ReviewApproved {
			item = campaign.ItemElection
		} else {
			item = campaign.ItemCandidates
		}
	}
	reason := strings.TrimSpace(strings.Join(rest, " "))
	if reason == "" {
		return "", badf("请写明退回原因，社区才知道怎么改")
	}
	return b.reviewLoaded(r, c, cur, item, campaign.ReviewReturned, reason)
}

func (b *Bot) review(r *request, item campaign.Item, status, reason string) (string, error) {
	c, _, err := b.reviewTarget(r, fmt.Sprintf("%s 大辛", map[campaign.Item]string{campaign.ItemCandidates: "初审通过", campaign.ItemElection: "批复"}[item]))
	if err != nil {
		return "", err
	}
	cur, err := b.state(r, c)
	if err != nil {
		return "", err
	}
	return b.reviewLoaded(r, c, cur, item, status, reason)
}

func (b *Bot) reviewLoaded(r *request, c string, cur map[campaign.Item]campaign.Filing, item campaign.Item, status, reason string) (string, error) {
	f, ok := cur[item]
	if !ok {
		return fmt.Sprintf("%s社区还没有报%s，无法审核。", c, item.Label()), nil
	}
	if st, rv := campaign.ReviewStatus(cur, item); st == status && status == campaign.ReviewApproved {
		return fmt.Sprintf("%s社区的%s已于%s审核通过，无需重复操作。", c, item.Label(), campaign.DateOf(rv.At)), nil
	}
	verb := map[string]string{campaign.ReviewApproved: map[campaign.Item]string{campaign.ItemCandidates: "通过初审", campaign.ItemElection: "批复备案"}[item], campaign.ReviewReturned: "退回"}[status]
	rec := campaign.Filing{
		Street: r.street.ID, Community: c, Item: item.Review(),
		Fields:  map[string]string{"of": campaign.Stamp(f), "status": status, "reason": reason},
		Summary: fmt.Sprintf("%s已%s", item.Label(), verb), By: r.who.UserID, At: r.now, Raw: r.msg.PlainText(),
	}
	if reason != "" {
		rec.Summary += "，原因：" + reason
	}
	if err := b.Filings.Save(r.ctx, rec, false); err != nil {
		return "", fmt.Errorf("save review %s/%s: %w", c, item, err)
	}
	b.Log.InfoContext(r.ctx, "reviewed", "street", r.street.ID, "community", c, "item", item, "status", status, "by", r.who.UserID)

	var note string
	switch {
	case status == campaign.ReviewReturned:
		note = fmt.Sprintf("【街道退回】%s社区的%s被退回，原因：%s。请修改后重新报送。", c, item.Label(), reason)
	case item == campaign.ItemCandidates:
		note = fmt.Sprintf("【街道初审】%s社区的候选人名单已通过初审，请进行公示并筹备会员代表大会。", c)
	default:
		note = fmt.Sprintf("【街道批复】%s社区的选举结果已批复备案。请新班子落实职责分工，参加新当选人员培训。", c)
	}
	reply := fmt.Sprintf("已%s：**%s社区 · %s**（%s）", verb, c, item.Label(), f.Summary)
	if len(f.Flags) > 0 && status == campaign.ReviewApproved {
		reply += "\n> <font color=\"warning\">注意：这份报送有问题未改正：" + strings.Join(f.Flags, "；") + "</font>"
	}
	reply += "\n" + b.notify(r, c, note)
	return reply, nil
}

// notify pushes note into the street's groups, @-mentioning the community's secretaries,
// and says in one line how that went.
func (b *Bot) notify(r *request, community, note string) string {
	mentions, err := b.secretaries(r, community)
	if err != nil {
		b.Log.WarnContext(r.ctx, "listing secretaries failed", "community", community, "err", err)
	}
	sent, failed := b.pushToStreet(r, bot.Push{Text: note, Mentions: mentions})
	switch {
	case sent > 0 && failed == 0:
		return fmt.Sprintf("已在群里通知%s社区。", community)
	case failed > 0:
		return "（群通知发送失败，已记录，请稍后提醒社区查看。）"
	}
	return ""
}

// pushToStreet sends p to every group of the street that has a webhook key.
func (b *Bot) pushToStreet(r *request, p bot.Push) (sent, failed int) {
	if b.Pusher == nil {
		return 0, 0
	}
	for _, g := range r.street.Groups {
		if g.WebhookKey == "" {
			continue
		}
		if err := b.Pusher.Push(r.ctx, g.WebhookKey, p); err != nil {
			b.Log.ErrorContext(r.ctx, "group push failed", "street", r.street.ID, "group", g.ChatID, "err", err)
			failed++
			continue
		}
		sent++
	}
	return sent, failed
}

// secretaries lists the userids that file for a community: from the config and bindings.
func (b *Bot) secretaries(r *request, community string) ([]string, error) {
	bound, err := b.Bindings.Bound(r.ctx, r.street.ID)
	if err != nil {
		return r.street.SecretariesOf(community, nil), fmt.Errorf("list bindings: %w", err)
	}
	return r.street.SecretariesOf(community, bound), nil
}
