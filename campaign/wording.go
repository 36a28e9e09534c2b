package campaign

import (
	"fmt"
	"strings"
)

// The Chinese words the domain owns: problems, offices, states and how a filing reads.
// Every view shows these, so a state reads the same in the chat, the workbook, the chart
// and the dashboard.

// Problems of a filing.
const (
	probMissingCandidates      = "缺少%s候选人"
	probMissingOfficers        = "缺少%s"
	probNoCouncil              = "没写理事会人数（应为 %s）"
	probNoPopulation           = "还不知道本社区总人口，无法核对代表人数，请先报「会员 <会员数> 人口 <总人口>」"
	probPublicityEarly         = "公示开始日期（%s）早于本阶段开始日期 %s"
	probPublicityLate          = "公示开始日期（%s）晚于截止日期 %s"
	probPublicityAfterElection = "公示（%s起）到%s才期满，但选举已在%s举行：选举应在公示期满之后"
	probFuture                 = "日期%s还没到"
	probElectionWindow         = "选举日期应在%s至%s之间，报的是%s"
	probNoPublicity            = "还没有报代表名单公示，公示 %d 天期满后才能选举"
	probElectionBeforeEnd      = "代表名单公示到%s才结束，选举不能早于%s"
	probCandidatesNotApproved  = "候选人名单还没有通过街道初审"
	probDoneLate               = "应在%s前完成，登记的是%s"
	probTooManyPhotos          = "照片 %d 张，超过上限 %d 张"
)

// Offices of the association, as people write them.
const (
	OfficePresident        = "会长"
	OfficeVicePresident    = "副会长"
	OfficeSecretaryGeneral = "秘书长"
	OfficeDeputySecretary  = "副秘书长"
	OfficeCouncil          = "理事"
)

// Word says a status in a few characters; reviewed items use their review's words.
func (is *ItemState) Word() string {
	if r := is.Def.Review; r != nil {
		switch is.Status {
		case StatusPending:
			return r.Pending
		case StatusApproved:
			return r.Approved
		case StatusReturned:
			return r.Returned
		}
	}
	switch is.Status {
	case StatusNotOpen:
		return "未开始"
	case StatusOpen:
		return "未报"
	case StatusDueToday:
		return "今天截止"
	case StatusOverdue:
		return "逾期未报"
	case StatusProblem:
		return "有问题"
	case StatusReturned:
		return "被退回"
	case StatusExempt:
		return wordExempt
	}
	return "已报"
}

const wordExempt = "免报"

// Word says where a step's window stands in a few characters: 未开始, 进行中, 今天截止,
// 已截止.
func (s StepState) Word() string {
	return [...]string{StepNotOpen: "未开始", StepOpen: "进行中", StepDueToday: "今天截止", StepClosed: "已截止"}[s]
}

// ExemptText says an excused item with its reason: 「免报（会员大会代替）」.
func (e *Exemption) Text() string {
	if e.Reason == "" {
		return wordExempt
	}
	return wordExempt + "（" + e.Reason + "）"
}

// ReviewWord says the office's decision on the current version (reviewed items only):
// 待初审 / 初审已通过 / 初审被退回; "" when nothing is filed or the item is not reviewed.
func (is *ItemState) ReviewWord() string {
	r := is.Def.Review
	if r == nil {
		return ""
	}
	switch is.Review {
	case ReviewPending:
		return r.Pending
	case ReviewApproved:
		return r.Approved
	case ReviewReturned:
		return r.Returned
	}
	return ""
}

// Icon is the status's emoji, the same in every view.
func (s Status) Icon() string {
	switch s {
	case StatusNotOpen:
		return "▫️"
	case StatusOpen, StatusDueToday:
		return "⏳"
	case StatusOverdue:
		return "⏰"
	case StatusProblem:
		return "⚠️"
	case StatusPending:
		return "🕓"
	case StatusReturned:
		return "↩️"
	case StatusExempt:
		return "➖"
	}
	return "✅"
}

// Due says when the item is due relative to the day judged: 「7月8日截止，还有 3 天」,
// 「今天（7月8日）截止」, 「7月8日截止，已逾期 2 天」.
func (is *ItemState) Due() string {
	switch n := is.DaysLeft; {
	case n < 0:
		return fmt.Sprintf("%s截止，已逾期 %d 天", is.Step.Due, -n)
	case n == 0:
		return fmt.Sprintf("今天（%s）截止", is.Step.Due)
	default:
		return fmt.Sprintf("%s截止，还有 %d 天", is.Step.Due, n)
	}
}

// DueShort says in a few characters how the item stands against its due date, for
// lists with many items: 「逾期 2 天」, 「今天截止」, 「还有 3 天」, 「7月10日开始」.
func (is *ItemState) DueShort() string {
	today := is.Step.Due.AddDays(-int(is.DaysLeft))
	switch n := is.DaysLeft; {
	case !is.Step.Open(today):
		return fmt.Sprintf("%s开始", is.Step.Start)
	case n < 0:
		return fmt.Sprintf("逾期 %d 天", -n)
	case n == 0:
		return "今天截止"
	default:
		return fmt.Sprintf("还有 %d 天", n)
	}
}

// Describe says in one line what a filing holds, by the street's current rules.
func (s *Street) Describe(f Filing) string {
	def, ok := byID[f.Item]
	if !ok {
		return string(f.Item)
	}
	v := f.Value
	switch def.Kind {
	case KindLeadingGroup:
		if v.Leader != "" {
			return "领导小组已成立，组长 " + v.Leader
		}
		return "领导小组已成立"
	case KindMembers:
		share := 0.0
		if v.Population > 0 {
			share = float64(v.Members) / float64(v.Population)
		}
		return fmt.Sprintf("会员 %d 人，总人口 %d 人，占 %s（要求不低于 %s）", v.Members, v.Population,
			PercentAgainst(share, s.Rules.MemberShareMin), Percent(s.Rules.MemberShareMin))
	case KindRepresentatives:
		if v.Assembly {
			return "会员人数较少，召开会员大会（不推选代表）"
		}
		return fmt.Sprintf("会员代表 %d 名", v.Count)
	case KindPublicity:
		return fmt.Sprintf("代表名单公示 %s至%s（%d 天）", v.Start, s.PublicityEnd(f), s.Rules.PublicityDays)
	case KindCandidates:
		return "候选人：" + v.Roster.Describe()
	case KindElection:
		return fmt.Sprintf("%s召开会员代表大会，选出 %s", v.Date, v.Roster.Describe())
	case KindText:
		if v.Preview != "" && v.Chars > len([]rune(v.Preview)) {
			return fmt.Sprintf("总结 %d 字：%s……", v.Chars, v.Preview)
		}
		return fmt.Sprintf("总结 %d 字：%s", v.Chars, v.Preview)
	case KindDone:
		if v.Date.IsZero() {
			return fmt.Sprintf("%s%s（%s登记）", def.Label, def.DoneWord, DateOf(f.At))
		}
		return fmt.Sprintf("%s%s（%s）", def.Label, def.DoneWord, v.Date)
	}
	return def.Label
}

// Describe lists a roster: 「会长 崔宏，副会长 王芳、刘强，秘书长 李丽，理事会 11 人」.
func (r Roster) Describe() string {
	var parts []string
	for _, o := range []struct {
		label string
		names []string
	}{{OfficePresident, r.President}, {OfficeVicePresident, r.VicePresidents},
		{OfficeSecretaryGeneral, r.SecretaryGeneral}, {OfficeDeputySecretary, r.DeputySecretary}} {
		if len(o.names) > 0 {
			parts = append(parts, o.label+" "+strings.Join(o.names, "、"))
		}
	}
	if n := r.Size(); n > 0 {
		parts = append(parts, fmt.Sprintf("理事会 %d 人", n))
	}
	return strings.Join(parts, "，")
}

// Describe says the rule in a few words: 「JPG，6-10 张」, or 「JPG，至少 6 张」 without
// an upper bound.
func (r PhotoRule) Describe() string {
	n := fmt.Sprintf("%d-%d 张", r.Min, r.Max)
	if r.Max <= 0 {
		n = fmt.Sprintf("至少 %d 张", r.Min)
	}
	if r.Format == "" {
		return n
	}
	return strings.ToUpper(r.Format) + "，" + n
}

// PhotoText says a photo count against the rule: 「7 张」, 「3 张（还需 3 张）」,
// 「12 张（超过上限 10 张）」.
func (r PhotoRule) PhotoText(n int) string {
	switch {
	case n < r.Min:
		return fmt.Sprintf("%d 张（还需 %d 张）", n, r.Min-n)
	case r.Max > 0 && n > r.Max:
		return fmt.Sprintf("%d 张（超过上限 %d 张）", n, r.Max)
	}
	return fmt.Sprintf("%d 张", n)
}

// Summary says one item's state in one line for cards and tables: the filing's
// description when there is one, else how it stands against its due date.
func (s *Street) Summary(is *ItemState) string {
	switch {
	case is.Exemption != nil:
		return is.Exemption.Text()
	case is.Def.Kind == KindPhotos:
		return "照片 " + s.Rules.Photos.PhotoText(int(is.Photos))
	case is.Filing != nil:
		return s.Describe(*is.Filing)
	case is.Status == StatusNotOpen:
		return fmt.Sprintf("%s开始，%s截止", is.Step.Start, is.Step.Due)
	}
	return "未报，" + is.Due()
}
