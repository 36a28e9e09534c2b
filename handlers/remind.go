package handlers

import (
	"context"
	"fmt"
	"strings"

	"huanjie/campaign"
	"huanjie/reminders"
)

// Reminders is what the reminder commands need from the scheduler.
type Reminders interface {
	Plan(ctx context.Context, street string, n int) (reminders.Plan, error)
	NudgeNow(ctx context.Context, street string, item campaign.Item) (reminders.Nudged, error)
	SetPaused(ctx context.Context, street string, paused bool, by string) error
}

// HowToFile says in one line how to file item, for reminders: "@换届助手 <command format>",
// or for photos where to send them.
func (b *Bot) HowToFile(item campaign.Item) string {
	if item == campaign.ItemPhotos {
		return fmt.Sprintf(msgPhotosHowToFile, b.Config.BotName)
	}
	for _, c := range b.commands {
		if c.item == item {
			return "@" + b.Config.BotName + " " + c.usage
		}
	}
	return item.Label()
}

var occurrenceStatus = map[string]string{"queued": "已发送", "skipped": "未发", "paused": "未发"}

func (b *Bot) reminderPlan(r *request) (string, error) {
	if b.Reminders == nil {
		return msgRemindersOff, nil
	}
	p, err := b.Reminders.Plan(r.ctx, r.street.ID, 8)
	if err != nil {
		return "", fmt.Errorf("reminder plan: %w", err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s提醒计划**（%s %s）", r.street.Name, r.today, r.now.Format("15:04"))
	if p.Paused {
		sb.WriteString("\n<font color=\"warning\">提醒已暂停，街道办发「恢复提醒」可恢复。</font>")
	}
	if len(p.Upcoming) > 0 {
		sb.WriteString("\n**接下来**")
		for _, u := range p.Upcoming {
			fmt.Fprintf(&sb, "\n- %s %s %s", campaign.DateOf(u.At), u.At.In(campaign.Shanghai).Format("15:04"), u.Title)
		}
	} else {
		sb.WriteString("\n接下来没有安排的提醒。")
	}
	if len(p.Recent) > 0 {
		sb.WriteString("\n**最近**")
		for _, o := range p.Recent {
			line := fmt.Sprintf("\n- %s %s %s：%s", campaign.DateOf(o.At), o.At.In(campaign.Shanghai).Format("15:04"), o.Title, occurrenceStatus[o.Status])
			if o.Status == "queued" && o.Count > 0 {
				line += fmt.Sprintf(" %d 条", o.Count)
			}
			if o.Reason != "" {
				line += "（" + o.Reason + "）"
			}
			sb.WriteString(line)
		}
	}
	if len(p.Failures) > 0 {
		sb.WriteString("\n**发送失败**")
		for _, f := range p.Failures {
			fmt.Fprintf(&sb, "\n- <font color=\"warning\">%s %s：%s</font>", campaign.DateOf(f.Done), b.groupName(r, f.ChatID), f.LastError)
		}
	}
	if p.Pending > 0 {
		fmt.Fprintf(&sb, "\n还有 %d 条消息排队待发（企业微信每个群每分钟最多 20 条）。", p.Pending)
	}
	return sb.String(), nil
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
	if len(r.args) > 0 {
		it, ok := b.itemOfWord(r.args[0])
		if _, inPlan := r.street.Step(it); !ok || !inPlan {
			return "", badf("不认识事项「%s」，可以写：%s", r.args[0], b.itemWords(r.street))
		}
		item = it
	}
	n, err := b.Reminders.NudgeNow(r.ctx, r.street.ID, item)
	if err != nil {
		return "", fmt.Errorf("nudge: %w", err)
	}
	if n.Messages == 0 {
		if item != "" {
			return fmt.Sprintf("所有社区都已报「%s」，不用催。", item.Label()), nil
		}
		return "目前没有需要催报的社区。", nil
	}
	var labels []string
	for _, it := range n.Items {
		labels = append(labels, "「"+it.Label()+"」")
	}
	b.Log.InfoContext(r.ctx, "nudge asked", "street", r.street.ID, "by", r.who.UserID, "items", len(n.Items))
	return fmt.Sprintf("好的，已在群里催报%s，@了 %d 个未报社区的同事（共 %d 条消息，马上送达）。", strings.Join(labels, ""), n.Communities, n.Messages), nil
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
			return fmt.Sprintf("已暂停%s的群提醒。暂停期间到点的提醒不会补发；发「恢复提醒」恢复。", r.street.Name), nil
		}
		return fmt.Sprintf("已恢复%s的群提醒。发「提醒计划」查看接下来的提醒。", r.street.Name), nil
	}
}
