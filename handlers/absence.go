package handlers

import (
	"fmt"
	"slices"
	"strings"

	"huanjie/campaign"
	"huanjie/handlers/reader"
	"huanjie/storage"
)

// The office's exemptions (免报 an item a community need not file) and leaves (请假: a
// secretary away until a day, so the nudges @-mention someone else). An exemption is
// judged like a filing — every view shows it — and a leave changes whom nudges mention.
// Both stores are found on the filings and bindings stores by type assertion (the
// Redis store implements them); without them the commands say they are off.

// maxLeaveDays bounds a leave: a longer one is most likely a mistyped date.
const maxLeaveDays = 90

// absenceCommands are the office's commands for exemptions and leaves.
func (b *Bot) absenceCommands() []*command {
	return []*command{
		{name: "免报", aliases: []string{"免于报送"}, roles: officeOnly,
			usage: "免报 <社区> <事项> <原因>（只发「免报」列出已免报的）", example: "免报 凤凰园 代表 会员大会代替",
			summary: "某社区某项不用报（不再算未报、逾期，也不催报）", run: b.exempt},
		{name: "取消免报", aliases: []string{"撤销免报"}, roles: officeOnly,
			usage: "取消免报 <社区> <事项>", example: "取消免报 凤凰园 代表", summary: "取消一项免报，该项重新要报", run: b.unexempt},
		{name: "请假", aliases: []string{"登记请假"}, roles: officeOnly,
			usage: "请假 <姓名> 到<日期>（只发「请假」列出请假的人）", example: "请假 崔宏 到7月20日", ahead: 7,
			summary: "秘书长请假期间不@他，改为提醒本社区其他人或书记", run: b.away},
		{name: "销假", aliases: []string{"取消请假", "结束请假"}, roles: officeOnly,
			usage: "销假 <姓名>", example: "销假 崔宏", summary: "请假的人回来了，恢复@他", run: b.back},
	}
}

func (b *Bot) exemptions() (storage.Exemptions, bool) {
	e, ok := b.Filings.(storage.Exemptions)
	return e, ok
}

func (b *Bot) absences() (storage.Absences, bool) {
	a, ok := b.Bindings.(storage.Absences)
	return a, ok
}

// plannedVocabulary names the street's planned items: their words and labels.
func plannedVocabulary(s *campaign.Street) reader.Vocabulary {
	v := reader.Vocabulary{}
	for _, st := range s.Steps {
		if d, ok := campaign.Lookup(st.Item); ok {
			for _, w := range append([]string{d.Label}, d.Words...) {
				v[w] = string(d.ID)
			}
		}
	}
	return v
}

// exemptTarget reads 「<社区> <事项> <原因>」 as the office's review commands are read:
// the community (typos asked back), the item as a word of its own, the rest the reason.
func (b *Bot) exemptTarget(r *request, example string) (string, *campaign.Def, string, error) {
	rv := reader.ReadReview(r.line, r.cmd, r.street.CommunityNames(), plannedVocabulary(r.street))
	switch rv.Community.Kind {
	case reader.Exact:
	case reader.Close, reader.Several:
		return "", nil, "", askf("%s", rv.Community.Question())
	default:
		if r.rest == "" {
			return "", nil, "", badf(msgWhichCommunity, example)
		}
		return "", nil, "", badf(msgNoSuchCommunity, r.street.Name, strings.Fields(r.rest)[0], strings.Join(r.street.CommunityNames(), "、"))
	}
	if rv.Item == "" {
		if rv.Reason == "" {
			return "", nil, "", badf(msgExemptWhichItem, itemWords(r))
		}
		return "", nil, "", badf(msgExemptUnknownItem, strings.Fields(rv.Reason)[0], itemWords(r))
	}
	d, _ := campaign.Lookup(campaign.Item(rv.Item))
	return rv.Community.Name, d, strings.TrimSpace(rv.Reason), nil
}

// itemNow judges one item of community c as it stands now.
func (b *Bot) itemNow(r *request, c string, item campaign.Item) (*campaign.ItemState, error) {
	rec, err := b.record(r, c)
	if err != nil {
		return nil, err
	}
	cs := r.street.Judge(c, rec, r.today)
	return cs.Item(item), nil
}

func (b *Bot) exempt(r *request) (string, error) {
	store, ok := b.exemptions()
	if !ok {
		return msgExemptOff, nil
	}
	if r.rest == "" && strings.TrimSpace(r.cmd.Before) == "" {
		return b.listExemptions(r)
	}
	c, d, reason, err := b.exemptTarget(r, "免报 凤凰园 代表 会员大会代替")
	if err != nil {
		return "", err
	}
	if reason == "" {
		return "", badf(msgExemptWhy)
	}
	is, err := b.itemNow(r, c, d.ID)
	if err != nil {
		return "", err
	}
	switch {
	case is.Exemption != nil && is.Exemption.Reason == reason:
		return fmt.Sprintf(msgAlreadyExempt, c, d.Label, is.Exemption.Text()), nil
	case is.Exemption == nil && is.Done && len(is.Problems) == 0:
		return fmt.Sprintf(msgExemptDone, c, d.Label, r.street.Summary(is)), nil
	}
	ex := campaign.Exemption{Item: d.ID, Reason: reason, By: r.who.UserID, At: r.now}
	if err := store.Exempt(r.ctx, r.street.ID, c, ex, r.raw); err != nil {
		return "", fmt.Errorf("exempt: %w", err)
	}
	b.Log.InfoContext(r.ctx, "exempted", "street", r.street.ID, "community", c, "item", d.ID, "by", r.who.UserID)
	return fmt.Sprintf(msgExempted, c, d.Label, ex.Text(), c, d.Words[0]), nil
}

func (b *Bot) unexempt(r *request) (string, error) {
	store, ok := b.exemptions()
	if !ok {
		return msgExemptOff, nil
	}
	c, d, _, err := b.exemptTarget(r, "取消免报 凤凰园 代表")
	if err != nil {
		return "", err
	}
	removed, err := store.Unexempt(r.ctx, r.street.ID, c, d.ID, r.who.UserID, r.now, r.raw)
	if err != nil {
		return "", fmt.Errorf("unexempt: %w", err)
	}
	is, err := b.itemNow(r, c, d.ID)
	if err != nil {
		return "", err
	}
	switch {
	case !removed && is.Exemption != nil:
		return fmt.Sprintf(msgExemptInConfig, c, d.Label, r.street.Office), nil
	case !removed:
		return fmt.Sprintf(msgNotExempt, c, d.Label), nil
	}
	b.Log.InfoContext(r.ctx, "exemption taken back", "street", r.street.ID, "community", c, "item", d.ID, "by", r.who.UserID)
	return fmt.Sprintf(msgUnexempted, c, d.Label, is.Status.Icon(), r.street.Summary(is)), nil
}

func (b *Bot) listExemptions(r *request) (string, error) {
	ss, err := b.judged(r)
	if err != nil {
		return "", err
	}
	var lines []string
	for i := range ss.Communities {
		cs := &ss.Communities[i]
		for j := range cs.Items {
			if is := &cs.Items[j]; is.Exemption != nil {
				lines = append(lines, fmt.Sprintf("- %s：%s %s", cs.Name, is.Def.Label, is.Exemption.Text()))
			}
		}
	}
	if len(lines) == 0 {
		return msgNoExemptions, nil
	}
	return fmt.Sprintf(msgExemptionList, r.street.Name, len(lines)) + "\n" + strings.Join(lines, "\n"), nil
}

// secretaryNamed finds the one secretary of the street called name (or with that userid).
func (b *Bot) secretaryNamed(r *request, people *campaign.People, name string) (campaign.Person, error) {
	var found []campaign.Person
	for _, p := range people.Find(name) {
		if p.Role == campaign.RoleSecretary && !slices.ContainsFunc(found, func(f campaign.Person) bool { return f.UserID == p.UserID }) {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return campaign.Person{}, badf(msgNoSuchSecretary, r.street.Name, name)
	case 1:
		return found[0], nil
	}
	var where []string
	for _, p := range found {
		where = append(where, p.Community+p.Title+"（"+p.UserID+"）")
	}
	return campaign.Person{}, badf(msgSeveralNamed, name, strings.Join(where, "、"))
}

func (b *Bot) away(r *request) (string, error) {
	store, ok := b.absences()
	if !ok {
		return msgAwayOff, nil
	}
	people, err := b.people(r)
	if err != nil {
		return "", err
	}
	// 「请假 崔宏 到7月20日」「崔宏请假到7月20日」「请假 崔宏 7月12日至7月20日」: the name
	// is what comes before the first date, the command word aside.
	text := nameAndRest(r)
	if text == "" {
		return b.listAway(r, store, people)
	}
	ds := reader.Dates(text, reader.Clock{Today: r.today, Year: r.street.Year(), Lean: reader.Future})
	name := text
	if len(ds) > 0 {
		name = text[:ds[0].Pos]
	}
	name = strings.TrimRight(strings.TrimSpace(name), " 到至从自起:：，,")
	if name == "" {
		return "", badf(msgAwayWho, r.today.AddDays(7))
	}
	p, err := b.secretaryNamed(r, people, name)
	if f := strings.Fields(name); err != nil && len(ds) == 0 && len(f) > 1 {
		// 「请假 崔宏 一周」: no date to end the name; the name is the first word.
		if q, e := b.secretaryNamed(r, people, f[0]); e == nil {
			p, err = q, nil
		}
	}
	if err != nil {
		return "", err
	}
	from, until, err := leaveDays(r, ds)
	if err != nil {
		return "", err
	}
	a := campaign.Away{UserID: p.UserID, Name: people.Name(p.UserID), From: from, Until: until, By: r.who.UserID, At: r.now}
	if err := store.SetAway(r.ctx, r.street.ID, a, r.raw); err != nil {
		return "", fmt.Errorf("away: %w", err)
	}
	b.Log.InfoContext(r.ctx, "away", "street", r.street.ID, "userid", p.UserID, "until", until.ISO(), "by", r.who.UserID)
	reply := fmt.Sprintf(msgAwaySet, a.Name, p.Community+p.Title, from, until, a.Name)
	if b.Reminders == nil || from.After(r.today) {
		return reply, nil
	}
	mention, err := b.Reminders.Nudges(r.ctx, r.street.ID, p.Community)
	if err != nil {
		return "", fmt.Errorf("who is nudged instead: %w", err)
	}
	if len(mention) == 0 {
		return reply + "\n\n" + fmt.Sprintf(msgAwayNobody, p.Community, r.street.Office), nil
	}
	names := make([]string, len(mention))
	for i, id := range mention {
		names[i] = people.Name(id)
	}
	return reply + "\n\n" + fmt.Sprintf(msgAwayInstead, p.Community, strings.Join(names, "、")), nil
}

// nameAndRest is what was typed around the command word, the word itself left out:
// 「崔宏请假到7月20日」 → 「崔宏 到7月20日」.
func nameAndRest(r *request) string {
	before := strings.Trim(r.cmd.Before, " ，,:：")
	return strings.TrimSpace(before + " " + r.rest)
}

// leaveDays reads the leave's days from the dates typed: 「到7月20日」 (from today),
// 「7月12日到7月20日」.
func leaveDays(r *request, ds []reader.Date) (from, until campaign.Date, err error) {
	for _, d := range ds {
		if d.Status != reader.Certain {
			return from, until, badf("%s", d.Why)
		}
	}
	// One day it ends (到7月20日), or one range (7月12日到7月20日); any other pair of dates
	// (「到7月20日 7月21日」) is asked back, as a filing's are.
	switch {
	case len(ds) == 1 && ds[0].Role != reader.Start:
		from, until = r.today, ds[0].Day
	case len(ds) == 2 && ds[0].Role == reader.Start && ds[1].Role == reader.End:
		from, until = ds[0].Day, ds[1].Day
	case len(ds) >= 2:
		return from, until, badf(msgAwaySeveral, r.today.AddDays(7), r.today.AddDays(2), r.today.AddDays(7))
	default:
		return from, until, badf(msgAwayUntil, r.today.AddDays(7), r.today.AddDays(2), r.today.AddDays(7))
	}
	for _, d := range ds {
		if err := inCampaign(r, d); err != nil {
			return from, until, err
		}
	}
	switch {
	case until.Before(r.today):
		return from, until, badf(msgAwayPast, until)
	case until.Before(from):
		return from, until, badf(msgAwayBackwards, from, until)
	case from.DaysUntil(until) > maxLeaveDays:
		return from, until, badf(msgAwayTooLong, from, until, maxLeaveDays)
	}
	return from, until, nil
}

func (b *Bot) listAway(r *request, store storage.Absences, people *campaign.People) (string, error) {
	all, err := store.Away(r.ctx, r.street.ID)
	if err != nil {
		return "", fmt.Errorf("list leaves: %w", err)
	}
	var lines []string
	for _, a := range all {
		if a.Until.Before(r.today) {
			continue
		}
		w, _ := people.Who(a.UserID)
		lines = append(lines, fmt.Sprintf("- %s（%s%s）%s至%s", people.Name(a.UserID), w.Community, w.Title, a.From, a.Until))
	}
	if len(lines) == 0 {
		return msgNobodyAway, nil
	}
	return fmt.Sprintf(msgAwayList, r.street.Name, len(lines)) + "\n" + strings.Join(lines, "\n"), nil
}

func (b *Bot) back(r *request) (string, error) {
	store, ok := b.absences()
	if !ok {
		return msgAwayOff, nil
	}
	name := nameAndRest(r)
	if name == "" {
		return "", badf(msgBackWho)
	}
	people, err := b.people(r)
	if err != nil {
		return "", err
	}
	p, err := b.secretaryNamed(r, people, strings.Fields(name)[0])
	if err != nil {
		return "", err
	}
	cleared, err := store.ClearAway(r.ctx, r.street.ID, p.UserID, r.who.UserID, r.now, r.raw)
	if err != nil {
		return "", fmt.Errorf("back: %w", err)
	}
	if !cleared {
		return fmt.Sprintf(msgNotAway, people.Name(p.UserID)), nil
	}
	b.Log.InfoContext(r.ctx, "back", "street", r.street.ID, "userid", p.UserID, "by", r.who.UserID)
	return fmt.Sprintf(msgBack, people.Name(p.UserID), people.Name(p.UserID)), nil
}

// The words of 免报, 取消免报, 请假 and 销假.
const (
	msgExemptOff         = "免报功能没有启用。"
	msgExemptWhichItem   = "请写上事项，可以写：%s"
	msgExemptUnknownItem = "不认识事项「%s」，可以写：%s"
	msgExemptWhy         = "请写明免报原因（例如「会员大会代替」），大家才知道为什么不用报"
	msgAlreadyExempt     = "**%s社区 · %s** 已经是%s，无需重复登记。"
	msgExemptDone        = "%s社区已经报了「%s」（%s），不需要免报，没有保存。如果这份登记不算数，请先让社区「撤销」。"
	msgExempted          = "➖ 已登记免报：**%s社区 · %s**，%s。\n\n这一项不再算未报或逾期，也不再催报。要恢复请发「取消免报 %s %s」。"
	msgExemptInConfig    = "%s社区的「%s」是配置文件里写明的免报，群里不能取消，请联系%s修改配置。"
	msgNotExempt         = "%s社区的「%s」没有免报，不用取消。"
	msgUnexempted        = "已取消免报：**%s社区 · %s**，这一项重新要报。现在：%s %s"
	msgNoExemptions      = "现在没有免报的事项。"
	msgExemptionList     = "**%s免报的事项**（%d 项）"

	msgAwayOff = "请假功能没有启用。"
	// The days in these examples are the asker's today plus a few (「到%s」).
	msgAwayWho         = "请先写请假人的姓名，例如「请假 崔宏 到%s」"
	msgAwaySeveral     = "写了几个日期，不知道请假到哪一天，请写「到%s」或「%s到%s」"
	msgAwayUntil       = "请写请假到哪一天，例如「请假 崔宏 到%s」或「请假 崔宏 %s到%s」"
	msgAwayPast        = "%s已经过去了，请写请假到哪一天（今天或以后）"
	msgAwayBackwards   = "请假从%s到%s，结束早于开始"
	msgAwayTooLong     = "请假从%s到%s，超过了 %d 天，请核对日期"
	msgNoSuchSecretary = "%s没有叫「%s」的秘书长（请写配置或绑定时登记的姓名）"
	msgSeveralNamed    = "叫「%s」的有好几位：%s，请写 userid"
	msgAwaySet         = "已登记：**%s**（%s）%s至%s请假，这期间催报不@%s。"
	msgAwayInstead     = "%s社区的催报改为@%s。"
	msgAwayNobody      = "⚠️ 这期间%s社区没有其他可以@的人，催报会在群里提醒%s联系落实。"
	msgNobodyAway      = "现在没有人请假。"
	msgAwayList        = "**%s请假的人**（%d 位）"
	msgBackWho         = "请写销假人的姓名，例如「销假 崔宏」"
	msgNotAway         = "%s没有登记请假，不用销假。"
	msgBack            = "已销假：**%s**，从现在起催报恢复@%s。"
)
