package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"huanjie/campaign"
	"huanjie/storage"
)

// state is the current filings of the speaker's community, loaded once per request.
func (b *Bot) state(r *request, community string) (map[campaign.Item]campaign.Filing, error) {
	cur, err := b.Filings.Current(r.ctx, r.street.ID, community)
	if err != nil {
		return nil, fmt.Errorf("load %s/%s: %w", r.street.ID, community, err)
	}
	return cur, nil
}

// filer adapts a filing command: it loads the speaker's community's current filings
// once, for the checks that compare with them and for the "已覆盖" note.
func (b *Bot) filer(fn func(r *request, cur map[campaign.Item]campaign.Filing) (string, error)) func(r *request) (string, error) {
	return func(r *request) (string, error) {
		cur, err := b.state(r, r.who.Community)
		if err != nil {
			return "", err
		}
		return fn(r, cur)
	}
}

// filing is what a command parsed, before it is stored.
type filing struct {
	item    campaign.Item
	fields  map[string]string
	summary string   // one line, stored and shown in cards
	details []string // extra lines for this reply only
	flags   []string
}

// save stores a secretary's filing (flagged or not) and composes the reply.
func (b *Bot) save(r *request, prev map[campaign.Item]campaign.Filing, f filing) (string, error) {
	c := r.who.Community
	rec := campaign.Filing{
		Street: r.street.ID, Community: c, Item: f.item, Fields: f.fields, Summary: f.summary,
		Flags: f.flags, By: r.who.UserID, At: r.now, Raw: r.msg.PlainText(),
	}
	if err := b.Filings.Save(r.ctx, rec, true); err != nil {
		return "", fmt.Errorf("save %s/%s/%s: %w", r.street.ID, c, f.item, err)
	}
	b.Log.InfoContext(r.ctx, "filed", "street", r.street.ID, "community", c, "item", f.item, "by", r.who.UserID, "flags", len(f.flags))
	var sb strings.Builder
	if len(f.flags) > 0 {
		fmt.Fprintf(&sb, msgFiledFlagged, c, f.item.Label())
	} else {
		fmt.Fprintf(&sb, msgFiled, c, f.item.Label())
	}
	sb.WriteString("\n" + f.summary)
	for _, d := range f.details {
		sb.WriteString("\n" + d)
	}
	for _, fl := range f.flags {
		fmt.Fprintf(&sb, "\n> <font color=\"warning\">%s</font>", fl)
	}
	if old, ok := prev[f.item]; ok {
		sb.WriteString("\n" + fmt.Sprintf(msgReplaced, old.Summary))
	}
	if st, ok := r.street.Step(f.item); ok && st.Overdue(r.today) {
		sb.WriteString("\n" + fmt.Sprintf(msgLate, st.Due, st.Due.DaysUntil(r.today)))
	}
	if len(f.flags) > 0 {
		sb.WriteString("\n" + msgFixHint)
	}
	return sb.String(), nil
}

// population is the community's population: the last filed figure, else the configured one.
func (b *Bot) population(r *request, cur map[campaign.Item]campaign.Filing) int {
	if m, ok := cur[campaign.ItemMembers]; ok {
		if n, err := strconv.Atoi(m.Fields["population"]); err == nil && n > 0 {
			return n
		}
	}
	if c, ok := r.street.Community(r.who.Community); ok {
		return c.Population
	}
	return 0
}

// dateArg finds a date among args; today when none is given.
func (b *Bot) dateArg(r *request, args []string) (campaign.Date, []string, error) {
	for i, a := range args {
		if !campaign.LooksLikeDate(a) {
			continue
		}
		d, ok := campaign.ParseDate(a, r.today, r.street.Year())
		if !ok {
			return campaign.Date{}, nil, badf("「%s」不是有效的日期", a)
		}
		return d, append(append([]string{}, args[:i]...), args[i+1:]...), nil
	}
	return r.today, args, nil
}

func (b *Bot) fileLeadingGroup(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	f := filing{item: campaign.ItemLeadingGroup, fields: map[string]string{}}
	for i := 0; i < len(r.args); i++ {
		if r.args[i] == "组长" && i+1 < len(r.args) {
			f.fields["leader"] = r.args[i+1]
			i++
		} else if strings.HasPrefix(r.args[i], "组长") && len(r.args[i]) > len("组长") {
			f.fields["leader"] = strings.TrimPrefix(r.args[i], "组长")
		}
	}
	f.summary = "领导小组已成立"
	if l := f.fields["leader"]; l != "" {
		f.summary += "，组长 " + l
	}
	return b.save(r, cur, f)
}

func (b *Bot) fileMembers(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	members, population := -1, -1
	for i := 0; i < len(r.args); i++ {
		a := r.args[i]
		n, isNum := number(a)
		switch {
		case (a == "人口" || a == "总人口") && i+1 < len(r.args):
			p, ok := number(r.args[i+1])
			if !ok {
				return "", badf("「%s」后面应是人数", a)
			}
			population = p
			i++
		case isNum && members < 0:
			members = n
		case isNum:
			return "", badf("多了一个数字 %s", a)
		}
	}
	if members < 0 {
		return "", badf("缺少会员人数")
	}
	details := []string(nil)
	if population < 0 {
		c, _ := r.street.Community(r.who.Community)
		if c == nil || c.Population == 0 {
			return "", badf("缺少总人口")
		}
		population = c.Population
		details = append(details, fmt.Sprintf("（没写总人口，按配置的 %d 人计算）", population))
	}
	share, flags := r.street.Rules.MemberShare(members, population)
	ok := "✅"
	if len(flags) > 0 {
		ok = "⚠️"
	}
	return b.save(r, cur, filing{
		item:    campaign.ItemMembers,
		fields:  map[string]string{"members": strconv.Itoa(members), "population": strconv.Itoa(population)},
		summary: fmt.Sprintf("会员 %d 人，总人口 %d 人，占 %s（要求不低于 %s）%s", members, population, campaign.Percent(share), campaign.Percent(r.street.Rules.MemberShareMin), ok),
		details: details,
		flags:   flags,
	})
}

func (b *Bot) fileRepresentatives(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	if len(r.args) > 0 && strings.Contains(r.args[0], "会员大会") {
		return b.save(r, cur, filing{item: campaign.ItemRepresentatives, fields: map[string]string{"assembly": "yes"},
			summary: "会员人数较少，召开会员大会（不推选代表）"})
	}
	count := -1
	for _, a := range r.args {
		if n, ok := number(a); ok {
			count = n
			break
		}
	}
	if count <= 0 {
		return "", badf("缺少代表人数")
	}
	f := filing{item: campaign.ItemRepresentatives, fields: map[string]string{"count": strconv.Itoa(count)},
		summary: fmt.Sprintf("会员代表 %d 名", count)}
	if pop := b.population(r, cur); pop > 0 {
		f.fields["population"] = strconv.Itoa(pop)
		f.flags = r.street.Rules.CheckRepresentatives(count, pop)
		if f.flags == nil {
			f.summary += fmt.Sprintf("（总人口 %d 人，%s应为 %d 名）✅", pop, r.street.Rules.BandText(pop), count)
		}
	} else {
		f.flags = []string{"还不知道本社区总人口，无法核对代表人数，请先报「会员 <会员数> 人口 <总人口>」"}
	}
	return b.save(r, cur, f)
}

func (b *Bot) filePublicity(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	start, _, err := b.dateArg(r, r.args)
	if err != nil {
		return "", err
	}
	end := r.street.Rules.PublicityEnd(start)
	f := filing{item: campaign.ItemPublicity,
		fields:  map[string]string{"start": start.ISO(), "end": end.ISO()},
		summary: fmt.Sprintf("代表名单公示 %s至%s（%d 天）", start, end, r.street.Rules.PublicityDays),
		details: []string{fmt.Sprintf("公示期满后，%s起可以召开会员代表大会。", end.AddDays(1))},
	}
	if len(r.args) == 0 {
		f.details = append(f.details, "（没写日期，按今天开始计算；如不对请发「公示 7月2日」改正）")
	}
	if _, ok := cur[campaign.ItemRepresentatives]; !ok {
		f.details = append(f.details, "还没有报会员代表人数，请补报「代表 <人数>」。")
	}
	return b.save(r, cur, f)
}

// officeWords are the office titles a list of people is labelled with.
var officeWords = []struct{ word, key string }{
	{"副秘书长", "deputy_secretary_general"}, {"秘书长", "secretary_general"},
	{"副会长", "vice_president"}, {"会长", "president"},
	{"理事会", "council"}, {"理事", "council"},
}

// officeLabel is how each office key is shown.
var officeLabel = map[string]string{
	"president": "会长", "vice_president": "副会长", "secretary_general": "秘书长",
	"deputy_secretary_general": "副秘书长", "council": "理事",
}

// roster is a parsed list of office holders, e.g. 会长 崔宏 副会长 王芳 秘书长 李丽 理事 11.
type roster struct {
	names   map[string][]string
	council int            // a council size typed as a number
	makeup  map[string]int // counts per make-up part
	extra   []string       // tokens that fit nowhere
}

func (b *Bot) parseRoster(r *request, args []string) roster {
	ro := roster{names: map[string][]string{}, makeup: map[string]int{}}
	key := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		matched := false
		for _, ow := range officeWords {
			if strings.HasPrefix(a, ow.word) {
				key, matched = ow.key, true
				a = strings.TrimPrefix(a, ow.word)
				break
			}
		}
		if matched && a == "" {
			continue
		}
		if key == "council" {
			if n, ok := number(a); ok {
				ro.council = n
				continue
			}
			if p, ok := r.street.Rules.Council.Part(a); ok && i+1 < len(args) {
				if n, ok := number(args[i+1]); ok {
					ro.makeup[p.Name] += n
					i++
					continue
				}
			}
		}
		if key == "" || a == "" {
			ro.extra = append(ro.extra, a)
			continue
		}
		ro.names[key] = append(ro.names[key], a)
	}
	return ro
}

// councilSize is the size typed, the make-up total, or the number of names listed.
func (ro roster) councilSize() int {
	if ro.council > 0 {
		return ro.council
	}
	if len(ro.makeup) > 0 {
		n := 0
		for _, c := range ro.makeup {
			n += c
		}
		return n
	}
	return len(ro.names["council"])
}

func (ro roster) describe() string {
	var parts []string
	for _, k := range []string{"president", "vice_president", "secretary_general", "deputy_secretary_general"} {
		if ns := ro.names[k]; len(ns) > 0 {
			parts = append(parts, officeLabel[k]+" "+strings.Join(ns, "、"))
		}
	}
	if n := ro.councilSize(); n > 0 {
		parts = append(parts, fmt.Sprintf("理事会 %d 人", n))
	}
	return strings.Join(parts, "，")
}

func (ro roster) fields() map[string]string {
	f := map[string]string{}
	for k, ns := range ro.names {
		f[k] = strings.Join(ns, "、")
	}
	if n := ro.councilSize(); n > 0 {
		f["council_size"] = strconv.Itoa(n)
	}
	for part, n := range ro.makeup {
		f["makeup."+part] = strconv.Itoa(n)
	}
	return f
}

func (ro roster) missing(keys ...string) []string {
	var out []string
	for _, k := range keys {
		if len(ro.names[k]) == 0 {
			out = append(out, officeLabel[k])
		}
	}
	return out
}

func (b *Bot) fileCandidates(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	ro := b.parseRoster(r, r.args)
	if len(ro.names) == 0 {
		return "", badf("没有找到候选人，请按职务写姓名")
	}
	if len(ro.extra) > 0 {
		return "", badf("「%s」不知道是什么职务的候选人", strings.Join(ro.extra, " "))
	}
	f := filing{item: campaign.ItemCandidates, fields: ro.fields(), summary: "候选人：" + ro.describe(),
		details: []string{"已报街道初审，请等待街道计生协办公室回复。初审通过后进行公示。"}}
	if m := ro.missing("president", "vice_president", "secretary_general"); len(m) > 0 {
		f.flags = append(f.flags, "缺少"+strings.Join(m, "、")+"候选人")
	}
	return b.save(r, cur, f)
}

func (b *Bot) fileElection(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	day, rest, err := b.dateArg(r, r.args)
	if err != nil {
		return "", err
	}
	ro := b.parseRoster(r, rest)
	if len(ro.names) == 0 && ro.councilSize() == 0 {
		return "", badf("没有找到选举结果，请按职务写姓名和理事会人数")
	}
	if len(ro.extra) > 0 {
		return "", badf("「%s」不知道是什么职务", strings.Join(ro.extra, " "))
	}
	fields := ro.fields()
	fields["date"] = day.ISO()
	f := filing{item: campaign.ItemElection, fields: fields,
		summary: fmt.Sprintf("%s召开会员代表大会，选出 %s", day, ro.describe()),
		details: []string{"选举结果已报街道批复备案，请等待街道计生协办公室回复。"}}
	if len(r.args) == len(rest) {
		f.details = append(f.details, "（没写日期，按今天记录）")
	}
	if m := ro.missing("president", "vice_president", "secretary_general"); len(m) > 0 {
		f.flags = append(f.flags, "缺少"+strings.Join(m, "、"))
	}
	council := r.street.Rules.Council
	switch {
	case council.HasMakeup() && len(ro.makeup) > 0:
		f.flags = append(f.flags, council.CheckMakeup(ro.makeup)...)
	case ro.councilSize() == 0:
		f.flags = append(f.flags, fmt.Sprintf("没写理事会人数（应为 %s）", council.Describe()))
	default:
		f.flags = append(f.flags, council.CheckSize(ro.councilSize())...)
	}
	if st, ok := r.street.Step(campaign.ItemElection); ok && (day.Before(st.Start) || day.After(st.Due)) {
		f.flags = append(f.flags, fmt.Sprintf("选举日期应在%s至%s之间，报的是%s", st.Start, st.Due, day))
	}
	if p, ok := cur[campaign.ItemPublicity]; !ok {
		f.flags = append(f.flags, "还没有报代表名单公示，公示 3 天期满后才能选举")
	} else if end, err := campaign.ParseISODate(p.Fields["end"]); err == nil && !day.After(end) {
		f.flags = append(f.flags, fmt.Sprintf("代表名单公示到%s才结束，选举不能早于%s", end, end.AddDays(1)))
	}
	if status, _ := campaign.ReviewStatus(cur, campaign.ItemCandidates); status != campaign.ReviewApproved {
		f.flags = append(f.flags, "候选人名单还没有通过街道初审")
	}
	return b.save(r, cur, f)
}

// fileDone files an item that is simply done ("培训 已参加"), with an optional date;
// dated items (trainings) must be done by their due date.
func (b *Bot) fileDone(item campaign.Item, doneWord string, dated bool) func(r *request) (string, error) {
	return b.filer(func(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
		day, rest, err := b.dateArg(r, r.args)
		if err != nil {
			return "", err
		}
		for _, a := range rest {
			if strings.HasPrefix(a, "未") || strings.HasPrefix(a, "没") {
				return "", badf("只在完成后登记，请完成后再发")
			}
		}
		f := filing{item: item, fields: map[string]string{"date": day.ISO()},
			summary: fmt.Sprintf("%s%s（%s）", item.Label(), doneWord, day)}
		if st, ok := r.street.Step(item); ok && dated && day.After(st.Due) {
			f.flags = append(f.flags, fmt.Sprintf("应在%s前完成，登记的是%s", st.Due, day))
		}
		if day.After(r.today) {
			return "", badf("%s还没到，请完成后再登记", day)
		}
		return b.save(r, cur, f)
	})
}

func (b *Bot) fileSummary(r *request, cur map[campaign.Item]campaign.Filing) (string, error) {
	text := strings.TrimSpace(r.textAfter([]string{"换届总结", "工作总结", "总结"}))
	if text == "" {
		return "", badf("缺少总结正文")
	}
	n := len([]rune(text))
	preview := text
	if n > 40 {
		preview = string([]rune(text)[:40]) + "……"
	}
	return b.save(r, cur, filing{item: campaign.ItemSummary, fields: map[string]string{"text": text, "chars": strconv.Itoa(n)},
		summary: fmt.Sprintf("总结 %d 字：%s", n, preview)})
}

func (b *Bot) undo(r *request) (string, error) {
	c := r.who.Community
	undone, current, err := b.Filings.Undo(r.ctx, r.street.ID, c, r.who.UserID, r.now)
	if errors.Is(err, storage.ErrNothingToUndo) {
		return fmt.Sprintf(msgNothingToUndo, c), nil
	}
	if err != nil {
		return "", fmt.Errorf("undo %s/%s: %w", r.street.ID, c, err)
	}
	b.Log.InfoContext(r.ctx, "undone", "street", r.street.ID, "community", c, "item", undone.Item, "by", r.who.UserID)
	reply := fmt.Sprintf(msgUndone, c, undone.Item.Label(), undone.Summary)
	if current != nil {
		return reply + "\n" + fmt.Sprintf(msgUndoNowCurrent, current.Summary), nil
	}
	return reply + "\n" + msgUndoNowEmpty, nil
}
