package handlers

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
		return fmt.Sprintf(msgBindAlready, where, r.street.Office), nil
	}
	if len(r.args) == 0 {
		return "", badf(msgBindWhere)
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
		return "", badf(msgBindTitle)
	}
	if len(rest) > 0 {
		bd.Name = rest[0]
	}
	code, replaced, err := b.Bindings.RequestBinding(r.ctx, bd, bindingTTL)
	if err != nil {
		return "", fmt.Errorf("request binding: %w", err)
	}
	desc := describeBinding(bd)
	warning, err := b.nameWarning(r, street, bd)
	if err != nil {
		return "", err
	}
	reply := fmt.Sprintf(msgBindRequested, code, desc, bd.UserID, street.Office, code)
	notice := fmt.Sprintf(msgBindNotice, code, desc, bd.UserID, b.Config.BotName, code)
	if replaced != "" && replaced != code {
		reply += "\n" + fmt.Sprintf(msgBindReplaced, replaced, code)
		notice += fmt.Sprintf(msgBindNoticeReplaces, replaced)
	}
	if warning != "" {
		reply += "\n" + warning
		notice += "\n" + warning
	}
	if !r.msg.IsGroup() {
		rr := *r
		rr.street = street
		b.tellOffice(&rr, notice)
	}
	return reply, nil
}

// nameWarning warns when the name a request claims belongs to someone else: a person in
// the config, or an approved binding, with another WeCom userid.
func (b *Bot) nameWarning(r *request, street *config.Street, bd campaign.Binding) (string, error) {
	if bd.Name == "" {
		return "", nil
	}
	var others []string
	for _, p := range street.People {
		if p.Name == bd.Name && p.UserID != bd.UserID {
			others = append(others, fmt.Sprintf(msgBindNameOwner, describePerson(p), p.UserID))
		}
	}
	bound, err := b.Bindings.Bound(r.ctx, street.ID)
	if err != nil {
		return "", fmt.Errorf("bindings of %s: %w", street.ID, err)
	}
	for _, o := range bound {
		if o.Name == bd.Name && o.UserID != bd.UserID {
			others = append(others, fmt.Sprintf(msgBindNameOwner, describeBinding(o), o.UserID))
		}
	}
	if len(others) == 0 {
		return "", nil
	}
	return fmt.Sprintf(msgBindNameClash, bd.Name, strings.Join(others, "、"), bd.UserID), nil
}

// describePerson names a configured person the way describeBinding names a binding.
func describePerson(p config.Person) string {
	return describeBinding(campaign.Binding{Role: p.Role, Community: p.Community, Title: p.Title, Name: p.Name})
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

// approveBinding confirms one request by its code. Without a code it confirms nothing
// (whichever request happens to be pending may be a stranger's): it lists them.
func (b *Bot) approveBinding(r *request) (string, error) {
	if len(r.args) == 0 {
		list, err := b.pendingBindings(r)
		if err != nil {
			return "", err
		}
		return msgApproveNeedsCode + "\n\n" + list, nil
	}
	code := r.args[0]
	bd, err := b.Bindings.ApproveBinding(r.ctx, r.street.ID, code, r.who.UserID, r.now)
	if errors.Is(err, storage.ErrNoSuchRequest) {
		return fmt.Sprintf(msgNoSuchRequest, code), nil
	}
	if err != nil {
		return "", fmt.Errorf("approve binding %s: %w", code, err)
	}
	b.Log.InfoContext(r.ctx, "binding approved", "street", r.street.ID, "user", bd.UserID, "role", bd.Role, "community", bd.Community, "by", r.who.UserID)
	return fmt.Sprintf(msgBindApproved, describeBinding(bd), bd.UserID, code), nil
}

func (b *Bot) pendingBindings(r *request) (string, error) {
	pending, err := b.Bindings.PendingBindings(r.ctx, r.street.ID)
	if err != nil {
		return "", fmt.Errorf("pending bindings: %w", err)
	}
	if len(pending) == 0 {
		return msgNoPending, nil
	}
	var sb strings.Builder
	sb.WriteString(msgPendingTitle)
	for _, p := range pending {
		fmt.Fprintf(&sb, msgPendingLine, p.Code, describeBinding(p.Binding), p.Binding.UserID, campaign.DateOf(p.Binding.At))
		warning, err := b.nameWarning(r, r.street, p.Binding)
		if err != nil {
			return "", err
		}
		if warning != "" {
			sb.WriteString("\n  " + warning)
		}
	}
	sb.WriteString("\n" + msgPendingHowTo)
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
