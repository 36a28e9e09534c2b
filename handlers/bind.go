package handlers

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/storage"
)

// bindingTTL is how long a 绑定 request waits for the office.
const bindingTTL = 7 * 24 * time.Hour

var (
	officeTitles = []string{"街道办", "街道", "办公室", "计生协办公室", "街道计生协", "街道计生协办公室"}
	leaderWords  = []string{"领导", "领导小组"}
)

func (b *Bot) requestBinding(r *request) (string, error) {
	if r.who.Role != "" {
		where := roleNames[string(r.who.Role)]
		if r.who.Community != "" {
			where = r.who.Community + "社区 " + r.who.Title
		}
		return fmt.Sprintf("您已登记为%s，无需再绑定。如需变更请联系%s。", where, r.street.Office), nil
	}
	if len(r.args) == 0 {
		return "", badf("请写上社区和职务")
	}
	bd := campaign.Binding{UserID: r.who.UserID, At: r.now}
	first := strings.TrimSuffix(r.args[0], "社区")
	rest := r.args[1:]
	street := r.street
	switch {
	case contains(officeTitles, first):
		bd.Role = campaign.RoleOffice
	case contains(leaderWords, first):
		bd.Role = campaign.RoleLeader
	default:
		s, c, err := b.findCommunity(r, r.args[0])
		if err != nil {
			return "", err
		}
		street, bd.Role, bd.Community = s, campaign.RoleSecretary, c
	}
	if street == nil {
		return msgNoStreet, nil
	}
	bd.Street = street.ID
	if len(rest) > 0 {
		bd.Title, rest = rest[0], rest[1:]
	}
	if bd.Title == "" {
		return "", badf("请写上您的职务，例如 秘书长、卫计主任")
	}
	if len(rest) > 0 {
		bd.Name = rest[0]
	}
	code, err := b.Bindings.RequestBinding(r.ctx, bd, bindingTTL)
	if err != nil {
		return "", fmt.Errorf("request binding: %w", err)
	}
	desc := describeBinding(bd)
	reply := fmt.Sprintf("已提交绑定申请（编号 **%s**）：%s。\n请%s @我 回复「同意绑定 %s」确认，确认后即可使用。", code, desc, street.Office, code)
	if !r.msg.IsGroup() {
		rr := *r
		rr.street = street
		var office []string
		for _, p := range street.People {
			if p.Role == campaign.RoleOffice {
				office = append(office, p.UserID)
			}
		}
		b.pushToStreet(&rr, bot.Push{Text: fmt.Sprintf("有新的身份绑定申请（编号 %s）：%s。街道办请 @%s 回复「同意绑定 %s」。", code, desc, b.Config.BotName, code), Mentions: office})
	}
	return reply, nil
}

// findCommunity finds a community in the request's street, or in any street for a 1:1 chat.
func (b *Bot) findCommunity(r *request, word string) (*config.Street, string, error) {
	if r.msg.IsGroup() && r.street != nil {
		c, ok := r.street.Community(word)
		if !ok {
			return nil, "", badf(msgNoSuchCommunity, r.street.Name, word, strings.Join(r.street.CommunityNames(), "、"))
		}
		return r.street, c.Name, nil
	}
	var found []*config.Street
	name := ""
	for i := range b.Config.Streets {
		if c, ok := b.Config.Streets[i].Community(word); ok {
			found = append(found, &b.Config.Streets[i])
			name = c.Name
		}
	}
	switch len(found) {
	case 0:
		return nil, "", badf("没有找到「%s」社区", word)
	case 1:
		return found[0], name, nil
	}
	return nil, "", badf("有几个街道都有「%s」社区，请在本街道的工作群里 @我 绑定", word)
}

func describeBinding(bd campaign.Binding) string {
	var s string
	switch bd.Role {
	case campaign.RoleSecretary:
		s = bd.Community + "社区 " + bd.Title
	case campaign.RoleOffice:
		s = "街道计生协办公室 " + bd.Title
	default:
		s = "领导小组 " + bd.Title
	}
	if bd.Name != "" {
		s += " " + bd.Name
	}
	return s
}

func (b *Bot) approveBinding(r *request) (string, error) {
	code := ""
	if len(r.args) > 0 {
		code = r.args[0]
	} else {
		pending, err := b.Bindings.PendingBindings(r.ctx, r.street.ID)
		if err != nil {
			return "", fmt.Errorf("pending bindings: %w", err)
		}
		if len(pending) != 1 {
			return b.pendingBindings(r)
		}
		code = pending[0].Code
	}
	bd, err := b.Bindings.ApproveBinding(r.ctx, r.street.ID, code, r.who.UserID, r.now)
	if errors.Is(err, storage.ErrNoSuchRequest) {
		return fmt.Sprintf("没有编号为 %s 的绑定申请（可能已确认或已过期）。发「待绑定」查看。", code), nil
	}
	if err != nil {
		return "", fmt.Errorf("approve binding %s: %w", code, err)
	}
	b.Log.InfoContext(r.ctx, "binding approved", "street", r.street.ID, "user", bd.UserID, "role", bd.Role, "community", bd.Community, "by", r.who.UserID)
	return fmt.Sprintf("已确认：%s（编号 %s）。现在可以直接使用了，发「帮助」查看命令。", describeBinding(bd), code), nil
}

func (b *Bot) pendingBindings(r *request) (string, error) {
	pending, err := b.Bindings.PendingBindings(r.ctx, r.street.ID)
	if err != nil {
		return "", fmt.Errorf("pending bindings: %w", err)
	}
	if len(pending) == 0 {
		return "目前没有等待确认的绑定申请。", nil
	}
	var sb strings.Builder
	sb.WriteString("**等待确认的绑定申请**")
	for _, p := range pending {
		fmt.Fprintf(&sb, "\n- 编号 %s：%s（%s申请）", p.Code, describeBinding(p.Binding), campaign.DateOf(p.Binding.At))
	}
	sb.WriteString("\n回复「同意绑定 编号」确认。")
	return sb.String(), nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
