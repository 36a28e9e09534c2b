package exports

import (
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/config"
)

// fixtureNow is 9:00 on 5 July 2021 in Shanghai, during the 城西 2021 campaign: the
// 成立领导小组 (6月20日) and 会员数 (6月30日) steps are overdue, the rest are not.
var fixtureNow = time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)

// at is a Shanghai time on a July/June 2021 day.
func at(month time.Month, day, hour int) time.Time {
	return time.Date(2021, month, day, hour, 0, 0, 0, campaign.Shanghai)
}

// fixture is two streets: 城西 from the embedded example config (15 communities,
// 12 steps) with filings in several states, and a small 东关 street built here.
func fixture(t *testing.T) (*config.Config, []StreetData) {
	t.Helper()
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	dongguan := config.Street{
		ID: "dongguan", Name: "东关街道", Office: "东关街道计生协",
		Communities: []config.Community{{Name: "东门", Population: 3000}, {Name: "南关", Population: 2500}, {Name: "北苑", Population: 900}},
		Rules:       cfg.Streets[0].Rules,
		Steps: []campaign.Step{
			{Item: campaign.ItemLeadingGroup, Phase: 1, Name: "成立领导小组", Start: campaign.Date{Year: 2021, Month: 6, Day: 15}, Due: campaign.Date{Year: 2021, Month: 6, Day: 25}},
			{Item: campaign.ItemMembers, Phase: 2, Name: "夯实会员队伍", Start: campaign.Date{Year: 2021, Month: 6, Day: 21}, Due: campaign.Date{Year: 2021, Month: 7, Day: 10}},
			{Item: campaign.ItemCandidates, Phase: 5, Name: "候选人名单", Start: campaign.Date{Year: 2021, Month: 7, Day: 1}, Due: campaign.Date{Year: 2021, Month: 7, Day: 12}},
		},
	}
	cfg.Streets = append(cfg.Streets, dongguan)
	cx, dg := &cfg.Streets[0], &cfg.Streets[1]

	file := func(street *config.Street, community string, item campaign.Item, when time.Time, summary string, flags ...string) campaign.Filing {
		return campaign.Filing{Street: street.ID, Community: community, Item: item, Summary: summary, Flags: flags,
			By: "sec-" + community, At: when, Raw: summary}
	}
	review := func(f campaign.Filing, item campaign.Item, when time.Time, status, reason string) campaign.Filing {
		return campaign.Filing{Street: f.Street, Community: f.Community, Item: item, By: "luolimei", At: when,
			Fields: map[string]string{"of": f.At.UTC().Format(time.RFC3339Nano), "status": status, "reason": reason}}
	}
	set := func(fs ...campaign.Filing) map[campaign.Item]campaign.Filing {
		m := map[campaign.Item]campaign.Filing{}
		for _, f := range fs {
			m[f.Item] = f
		}
		return m
	}

	daxinCand := file(cx, "大辛", campaign.ItemCandidates, at(7, 3, 16), "候选人 11 人：会长 崔宏…")
	ljyCand := file(cx, "李家窑", campaign.ItemCandidates, at(7, 4, 10), "候选人 9 人：会长 杨曰珩…")
	tpCand := file(cx, "太平", campaign.ItemCandidates, at(7, 4, 11), "候选人 10 人：会长 于敦富…")
	oldTpCand := tpCand
	oldTpCand.At = at(7, 2, 9) // a review of an earlier version does not count
	cxFilings := map[string]map[campaign.Item]campaign.Filing{
		"大辛": set(
			file(cx, "大辛", campaign.ItemLeadingGroup, at(6, 18, 10), "领导小组 7 人，组长 崔宏"),
			file(cx, "大辛", campaign.ItemMembers, at(6, 28, 15), "会员 320 人，总人口 6200 人（5.2%）"),
			file(cx, "大辛", campaign.ItemTraining, at(7, 2, 9), "7月2日 培训 45 人"),
			file(cx, "大辛", campaign.ItemRepresentatives, at(7, 3, 9), "会员代表 40 名", "总人口 6200 人对应会员代表 50 名（2001 人以上），报的是 40 名"),
			daxinCand,
			review(daxinCand, campaign.ReviewCandidates, at(7, 4, 17), "approved", ""),
		),
		"李家窑": set(
			file(cx, "李家窑", campaign.ItemLeadingGroup, at(6, 19, 11), "领导小组 5 人，组长 杨曰珩"),
			ljyCand,
			review(ljyCand, campaign.ReviewCandidates, at(7, 4, 18), "returned", "副会长人选需调整"),
		),
		"太平": set(
			file(cx, "太平", campaign.ItemLeadingGroup, at(6, 20, 8), "领导小组 6 人，组长 于敦富"),
			file(cx, "太平", campaign.ItemMembers, at(6, 30, 16), "会员 70 人，总人口 1500 人（4.7%）", "会员占总人口 4.7%，低于要求的 5%（至少需要 75 名会员）"),
			tpCand,
			review(oldTpCand, campaign.ReviewCandidates, at(7, 3, 9), "approved", ""),
		),
		"凤凰园": set(file(cx, "凤凰园", campaign.ItemMembers, at(6, 25, 9), "会员 50 人，总人口 900 人（5.6%）")),
	}
	// 柳杭 has filed everything.
	var all []campaign.Filing
	for i, st := range cx.Steps {
		all = append(all, file(cx, "柳杭", st.Item, at(7, 1, 8+i%9), st.Item.Label()+"已完成"))
	}
	cxFilings["柳杭"] = set(all...)

	dgFilings := map[string]map[campaign.Item]campaign.Filing{
		"东门": set(
			file(dg, "东门", campaign.ItemLeadingGroup, at(6, 22, 10), "领导小组 5 人"),
			file(dg, "东门", campaign.ItemMembers, at(7, 1, 10), "会员 160 人，总人口 3000 人（5.3%）"),
			file(dg, "东门", campaign.ItemCandidates, at(7, 4, 10), "候选人 9 人"),
		),
		"北苑": set(file(dg, "北苑", campaign.ItemLeadingGroup, at(6, 24, 10), "领导小组 3 人", "领导小组至少 5 人")),
	}
	data := []StreetData{
		{Street: cx, Filings: cxFilings, Photos: map[string]int{"大辛": 2, "柳杭": 7}},
		{Street: dg, Filings: dgFilings, Photos: map[string]int{"东门": 6}},
	}
	return cfg, data
}
