package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
)

// help answers 帮助 by who is asking and where their community stands: a newcomer learns
// how to bind; a secretary first sees what their community owes next, then how to say it;
// the office and the leaders see their commands. It is generated from the command table.
func (b *Bot) help(r *request) (string, error) {
	var sb strings.Builder
	switch r.who.Role {
	case "":
		if r.street == nil {
			return msgNoStreet, nil
		}
		fmt.Fprintf(&sb, msgHelpNewcomer, b.Config.BotName, r.street.Office)
		return sb.String(), nil
	case campaign.RoleSecretary:
		fmt.Fprintf(&sb, "**%s · %s社区**", b.Config.BotName, r.who.Community)
		owes, err := b.nextOwed(r, 4)
		if err != nil {
			return "", err
		}
		if owes != "" {
			sb.WriteString("\n\n" + owes)
		}
		sb.WriteString("\n\n" + fmt.Sprintf(msgSaySentence, sayExamples(r, 3)))
		var words []string
		for _, st := range r.street.Steps {
			if d := st.Item.Def(); d.Kind != campaign.KindPhotos {
				words = append(words, d.Words[0])
			}
		}
		fmt.Fprintf(&sb, "\n\n能报的事项：%s（照片在单聊里直接发）。", strings.Join(words, "、"))
		sb.WriteString("\n\n" + b.commandLines(r, secretaryOnly, func(c *command) bool { return c.item == nil && c.name != "确认" }))
	case campaign.RoleOffice:
		fmt.Fprintf(&sb, "**%s · 街道办**\n\n%s", b.Config.BotName, b.commandLines(r, officeOnly, nil))
		sb.WriteString("\n" + b.commandLines(r, leadersAndOffice, nil))
	case campaign.RoleLeader:
		fmt.Fprintf(&sb, "**%s · 领导小组**\n\n%s", b.Config.BotName, b.commandLines(r, leadersAndOffice, nil))
	}
	sb.WriteString("\n" + b.commandLines(r, anyKnown, func(c *command) bool { return c.name != "照片打包" }))
	sb.WriteString("\n\n发社区名（例如「大辛」）可查看该社区的详细情况。")
	return sb.String(), nil
}

// commandLines lists the commands of exactly the roles kinds, one line each, with an example.
func (b *Bot) commandLines(r *request, kinds []campaign.Role, keep func(*command) bool) string {
	var lines []string
	for _, c := range b.commands {
		if !slices.Equal(c.roles, kinds) || c.name == "帮助" || (keep != nil && !keep(c)) {
			continue
		}
		if c.item != nil && r.street != nil {
			if _, planned := r.street.Step(c.item.ID); !planned {
				continue
			}
		}
		lines = append(lines, fmt.Sprintf("- **%s** %s，例：%s", c.name, c.summary, c.exampleIn(r)))
	}
	return strings.Join(lines, "\n")
}

// sayExamples are sentences the secretary's community would send next (what it owes
// first), up to n, as 「…」 joined.
func sayExamples(r *request, n int) string {
	var out []string
	for _, st := range r.street.Steps {
		d := st.Item.Def()
		if d.Kind == campaign.KindPhotos || d.Says == "" || len(out) == n {
			continue
		}
		if st.Open(r.today) || len(out) < n {
			out = append(out, "「"+r.street.Says(d)+"」")
		}
	}
	return strings.Join(out, "、")
}

// nextOwed lists what the speaker's community owes next, late first, up to n items.
func (b *Bot) nextOwed(r *request, n int) (string, error) {
	rec, err := b.record(r, r.who.Community)
	if err != nil {
		return "", err
	}
	cs := r.street.Judge(r.who.Community, rec, r.today)
	owes := cs.Owes()
	slices.SortStableFunc(owes, func(a, b *campaign.ItemState) int { return int(a.DaysLeft - b.DaysLeft) })
	if len(owes) == 0 {
		return "目前没有要报的，做得好！", nil
	}
	var sb strings.Builder
	sb.WriteString("**接下来要报：**")
	for i, is := range owes {
		if i == n {
			fmt.Fprintf(&sb, "\n还有 %d 项，发「%s」查看全部。", len(owes)-n, r.who.Community)
			break
		}
		how := r.street.Example(is.Def)
		if is.Def.Kind == campaign.KindPhotos {
			how = fmt.Sprintf(msgPhotosHowToFile, b.Config.BotName)
		}
		fmt.Fprintf(&sb, "\n%s %s（%s）：%s", is.Status.Icon(), is.Def.Label, is.Due(), how)
	}
	return sb.String(), nil
}

// welcome greets someone opening the 1:1 chat: by name, with what their community owes
// next, or how to bind.
func (b *Bot) welcome(ctx context.Context, m bot.Message) string {
	r := &request{ctx: ctx, msg: m}
	now := b.Clock().In(campaign.Shanghai)
	r.now, r.today = now, campaign.DateOf(now)
	if err := b.identify(r); err != nil || r.street == nil {
		return fmt.Sprintf(msgGreeting, b.Config.BotName)
	}
	if r.who.Role == "" {
		return fmt.Sprintf(msgHelpNewcomer, b.Config.BotName, r.street.Office)
	}
	text := fmt.Sprintf(msgWelcome, r.who.label(), r.who.describe(), b.Config.BotName)
	if r.who.Role == campaign.RoleSecretary {
		if owes, err := b.nextOwed(r, 3); err == nil {
			text += "\n\n" + owes
		}
		if _, photos := r.street.Step(campaign.ItemPhotos); photos { // a street may plan no photos
			text += "\n\n" + fmt.Sprintf(msgWelcomePhotos, campaign.ItemPhotos.Label(), r.street.Rules.Photos.Describe())
		}
	}
	return text
}
