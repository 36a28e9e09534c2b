package handlers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"huanjie/campaign"
	"huanjie/handlers/reader"
	"huanjie/reminders"
	"huanjie/storage"
)

// Reminders is what the reminder commands need from the scheduler.
type Reminders interface {
	Plan(ctx context.Context, street string, q reminders.PlanQuery) (reminders.Plan, error)
	NudgeNow(ctx context.Context, street string, item campaign.Item) (reminders.Nudged, error)
	SetPaused(ctx context.Context, street string, paused bool, by string) error
	// Nudges says whom a nudge of community would @-mention today (leaves counted).
	Nudges(ctx context.Context, street, community string) ([]string, error)
}

// HowToFile says in one line how to file item, for reminders: "@换届助手 <command format>",
// or for photos where to send them.
func (b *Bot) HowToFile(item campaign.Item) string {
	if item == campaign.ItemPhotos {
		return fmt.Sprintf(msgPhotosHowToFile, b.Config.BotName)
	}
	if d, ok := campaign.Lookup(item); ok {
		return "@" + b.Config.BotName + " " + d.Usage
	}
	return item.Label()
}

// planListed caps the lines 提醒计划 lists per part; the rest are counted. Up to
// planTitled missed reminders of one reason are named, more are counted per day.
const (
	planListed = 8
	planTitled = 3
)

func (b *Bot) reminderPlan(r *request) (string, error) {
	if b.Reminders == nil {
		return msgRemindersOff, nil
	}
	q := reminders.PlanQuery{Upcoming: 5}
	if r.rest != "" {
		d, err := pastDay(r, r.rest)
		if err != nil {
			return "", err
		}
		q.Since = d
	}
	p, err := b.Reminders.Plan(r.ctx, r.street.ID, q)
	if err != nil {
		return "", fmt.Errorf("reminder plan: %w", err)
	}
	at := func(t time.Time) string {
		return fmt.Sprintf("%s %s", campaign.DateOf(t), t.In(campaign.Shanghai).Format("15:04"))
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, msgPlanTitle, r.street.Name, r.today, r.now.Format("15:04"))
	if p.Paused {
		sb.WriteString(msgPlanPaused)
	}
	if len(p.Upcoming) > 0 {
		sb.WriteString(msgPlanNext)
		for _, u := range p.Upcoming {
			fmt.Fprintf(&sb, "\n- %s %s", at(u.At), u.Title)
		}
	} else {
		sb.WriteString(msgPlanNoneNext)
	}
	messages := 0
	for _, o := range p.Sent {
		messages += o.Count
	}
	fmt.Fprintf(&sb, msgPlanSince, p.Since)
	switch {
	case len(p.Sent)+len(p.Missed)+p.Quiet == 0:
		sb.WriteString(msgPlanNothingDue)
	default:
		fmt.Fprintf(&sb, msgPlanSent, len(p.Sent), messages)
		if p.Quiet > 0 {
			fmt.Fprintf(&sb, msgPlanQuiet, p.Quiet)
		}
		if len(p.Missed) > 0 {
			fmt.Fprintf(&sb, msgPlanMissed, len(p.Missed))
		}
		sb.WriteString("。")
	}
	if p.Truncated {
		sb.WriteString(msgPlanTruncated)
	}
	// What should have gone out and did not, oldest first, one line per reason: the
	// reminders themselves when few, else how many on each day.
	var reasons []string
	missed := map[string][]storage.Occurrence{}
	for i := len(p.Missed) - 1; i >= 0; i-- {
		o := p.Missed[i]
		reason := o.Reason
		if reason == "" {
			reason = o.Status
		}
		if _, ok := missed[reason]; !ok {
			reasons = append(reasons, reason)
		}
		missed[reason] = append(missed[reason], o)
	}
	for _, reason := range reasons {
		var list []string
		if os := missed[reason]; len(os) <= planTitled {
			for _, o := range os {
				list = append(list, at(o.At)+" "+o.Title)
			}
		} else {
			var days []campaign.Date
			count := map[campaign.Date]int{}
			for _, o := range os {
				d := campaign.DateOf(o.At)
				if count[d]++; count[d] == 1 {
					days = append(days, d)
				}
			}
			for _, d := range days {
				list = append(list, fmt.Sprintf(msgPlanDayCount, d, count[d]))
			}
		}
		fmt.Fprintf(&sb, "\n- ⚠️ %s：%s", reason, capped(list, "、"))
	}
	if len(p.Failures) > 0 {
		fmt.Fprintf(&sb, msgPlanFailed, len(p.Failures))
		for i, f := range p.Failures {
			if i == planListed {
				fmt.Fprintf(&sb, msgPlanMore, len(p.Failures)-i)
				break
			}
			fmt.Fprintf(&sb, "\n- ⚠️ %s %s：%s", at(f.Done), b.groupName(r, f.ChatID), f.LastError)
		}
	}
	if p.Pending > 0 {
		fmt.Fprintf(&sb, msgPlanPending, p.Pending)
	}
	return sb.String(), nil
}

// capped joins at most planListed of list and counts the rest.
func capped(list []string, sep string) string {
	if len(list) <= planListed {
		return strings.Join(list, sep)
	}
	return strings.Join(list[:planListed], sep) + fmt.Sprintf(msgPlanAndMore, len(list)-planListed)
}

// pastDay reads one day, today or before, from what was typed (「7月5日」, 「昨天」).
func pastDay(r *request, text string) (campaign.Date, error) {
	ds := reader.Dates(text, reader.Clock{Today: r.today, Year: r.street.Year(), Lean: reader.Past})
	if len(ds) != 1 {
		return campaign.Date{}, badf(msgPlanBadDay, text)
	}
	d := ds[0]
	switch {
	case d.Status != reader.Certain:
		return campaign.Date{}, badf("%s", d.Why)
	case d.Day.After(r.today):
		return campaign.Date{}, badf(msgPlanFutureDay, d.Day)
	}
	return d.Day, nil
}

func (b *Bot) groupName(r *request, chatID string) string {
	for _, g := range r.street.Groups {
		if g.ChatID == chatID {
			return g.Name
		}
	}
	return chatID
}

func (b *Bot) nudgeNow(r *request) (string, error) {
	if b.Reminders == nil {
		return msgRemindersOff, nil
	}
	var item campaign.Item
	if r.rest != "" {
		d, ok := plannedItem(r, r.rest)
		if !ok {
			return "", badf("不认识事项「%s」，可以写：%s", r.rest, itemWords(r))
		}
		item = d.ID
	}
	n, err := b.Reminders.NudgeNow(r.ctx, r.street.ID, item)
	if err != nil {
		return "", fmt.Errorf("nudge: %w", err)
	}
	if n.Messages == 0 {
		if item != "" {
			return fmt.Sprintf(msgNudgeAllFiled, item.Label()), nil
		}
		return msgNudgeNobody, nil
	}
	var labels []string
	for _, it := range n.Items {
		labels = append(labels, "「"+it.Label()+"」")
	}
	b.Log.InfoContext(r.ctx, "nudge asked", "street", r.street.ID, "by", r.who.UserID, "items", len(n.Items))
	// Only who has someone to @-mention is counted as @-mentioned; the rest are named below.
	reply := fmt.Sprintf(msgNudged, strings.Join(labels, ""), n.Communities-len(n.Nobody), n.Messages)
	if len(n.Nobody) > 0 {
		reply += "\n\n" + fmt.Sprintf(msgNudgedNobody, strings.Join(n.Nobody, "、"))
	}
	return reply, nil
}

func (b *Bot) pause(paused bool) func(r *request) (string, error) {
	return func(r *request) (string, error) {
		if b.Reminders == nil {
			return msgRemindersOff, nil
		}
		if err := b.Reminders.SetPaused(r.ctx, r.street.ID, paused, r.who.UserID); err != nil {
			return "", fmt.Errorf("pause: %w", err)
		}
		b.Log.InfoContext(r.ctx, "reminders paused", "street", r.street.ID, "paused", paused, "by", r.who.UserID)
		if paused {
			return fmt.Sprintf("已暂停%s的群提醒。暂停期间到点的提醒不会补发，「催一下」和机器人的答复照常发送；发「恢复提醒」恢复。", r.street.Name), nil
		}
		return fmt.Sprintf("已恢复%s的群提醒。发「提醒计划」查看接下来的提醒。", r.street.Name), nil
	}
}

// The words of 提醒计划 and 催一下.
const (
	msgPlanTitle      = "**%s提醒计划**（%s %s）"
	msgPlanPaused     = "\n\n⏸️ **提醒已暂停**，街道办发「恢复提醒」可恢复。"
	msgPlanNext       = "\n**接下来**"
	msgPlanNoneNext   = "\n接下来没有安排的提醒。"
	msgPlanSince      = "\n**%s以来**："
	msgPlanNothingDue = "没有到点的提醒。"
	msgPlanSent       = "已发 %d 项（%d 条消息）"
	msgPlanQuiet      = "，无需发送 %d 项（已报齐或无人逾期）"
	msgPlanMissed     = "，**没发出 %d 项**"
	msgPlanTruncated  = "（更早的记录已不保存。）"
	msgPlanFailed     = "\n**发送失败 %d 条**"
	msgPlanMore       = "\n- ……还有 %d 条"
	msgPlanAndMore    = " 等 %d 项"
	msgPlanDayCount   = "%s %d 项"
	msgPlanPending    = "\n还有 %d 条消息排队待发（企业微信每个群每分钟最多 20 条）。"
	msgPlanBadDay     = "看不懂「%s」，请写一个日期，例如「提醒计划 7月5日」"
	msgPlanFutureDay  = "%s还没到，请写今天或以前的日期"
	msgNudged         = "好的，已在群里催报%s，@了 %d 个未报社区的同事（共 %d 条消息，马上送达）。"
	msgNudgedNobody   = "⚠️ %s没有可以@的人（没有登记秘书长，或都在请假），请直接联系。"
	msgNudgeAllFiled  = "所有社区都已报「%s」，不用催。"
	msgNudgeNobody    = "目前没有需要催报的社区。"
)
