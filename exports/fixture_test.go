package exports

import (
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/config"
)

// fixtureNow is 9:00 on 5 July 2021 in Shanghai, during the 城西 2021 campaign: the
// 成立领导小组 (6月20日) and phase 2 (6月30日) steps are overdue, the rest are not.
var fixtureNow = time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)

// at is a Shanghai time on a July/June 2021 day.
func at(month time.Month, day, hour int) time.Time {
	return time.Date(2021, month, day, hour, 0, 0, 0, campaign.Shanghai)
}

func day(month time.Month, d int) campaign.Date {
	return campaign.Date{Year: 2021, Month: month, Day: d}
}

// records builds community records one filing at a time.
type records map[string]*campaign.Record

func (rs records) file(community string, item campaign.Item, when time.Time, v campaign.Value) campaign.Filing {
	rec := rs[community]
	if rec == nil {
		rec = &campaign.Record{Filings: map[campaign.Item]*campaign.Filing{}}
		rs[community] = rec
	}
	f := campaign.Filing{Community: community, Item: item, Value: v, By: "sec-" + community, At: when}
	rec.Filings[item] = &f
	return f
}

func (rs records) review(f campaign.Filing, when time.Time, status, reason string) {
	rec := rs[f.Community]
	rec.Reviews = append(rec.Reviews, campaign.Review{Item: f.Item, Of: f.Stamp(), Status: status, Reason: reason, By: "luolimei", At: when})
}

func roster(p, v, s string, council int) campaign.Roster {
	return campaign.Roster{President: []string{p}, VicePresidents: []string{v}, SecretaryGeneral: []string{s}, CouncilSize: council}
}

// fixture is two streets judged on fixtureNow: 城西 from the embedded example config (15
// communities, 15 steps) with filings in every state, and a small 东关 street built here.
func fixture(t *testing.T) (*config.Config, []*campaign.StreetState) {
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
			{Item: campaign.ItemLeadingGroup, Phase: 1, Name: "成立领导小组", Start: day(6, 15), Due: day(6, 25)},
			{Item: campaign.ItemMembers, Phase: 2, Name: "夯实会员队伍", Start: day(6, 21), Due: day(7, 10)},
			{Item: campaign.ItemCandidates, Phase: 5, Name: "候选人名单", Start: day(7, 1), Due: day(7, 12)},
		},
	}
	dongguan.Index()
	cfg.Streets = append(cfg.Streets, dongguan)
	cx, dg := &cfg.Streets[0], &cfg.Streets[1]

	c := records{}
	c.file("大辛", campaign.ItemLeadingGroup, at(6, 18, 10), campaign.Value{Leader: "崔宏"})
	c.file("大辛", campaign.ItemMembers, at(6, 28, 15), campaign.Value{Members: 320, Population: 6200})
	c.file("大辛", campaign.ItemTraining, at(7, 2, 9), campaign.Value{Date: day(7, 2)})
	c.file("大辛", campaign.ItemRepresentatives, at(7, 3, 9), campaign.Value{Count: 40}) // the band says 50
	c.review(c.file("大辛", campaign.ItemCandidates, at(7, 3, 16), campaign.Value{Roster: roster("崔宏", "王芳", "李丽", 0)}), at(7, 4, 17), campaign.ReviewApproved, "")
	c["大辛"].Photos = 2
	c.file("李家窑", campaign.ItemLeadingGroup, at(6, 19, 11), campaign.Value{Leader: "杨曰珩"})
	c.review(c.file("李家窑", campaign.ItemCandidates, at(7, 4, 10), campaign.Value{Roster: roster("杨曰珩", "王敏", "赵丽", 0)}), at(7, 4, 18), campaign.ReviewReturned, "副会长人选需调整")
	c.file("太平", campaign.ItemLeadingGroup, at(6, 20, 8), campaign.Value{Leader: "于敦富"})
	c.file("太平", campaign.ItemMembers, at(6, 30, 16), campaign.Value{Members: 70, Population: 1500}) // 4.67%
	old := c.file("太平", campaign.ItemCandidates, at(7, 2, 9), campaign.Value{Roster: roster("于敦富", "孙伟", "周兰", 0)})
	c.review(old, at(7, 3, 9), campaign.ReviewApproved, "") // approves a version since replaced
	c.file("太平", campaign.ItemCandidates, at(7, 4, 11), campaign.Value{Roster: roster("于敦富", "孙伟", "吴芳", 0)})
	c.file("凤凰园", campaign.ItemMembers, at(6, 25, 9), campaign.Value{Members: 50, Population: 900})
	// 柳杭 has done everything, each right.
	c.file("柳杭", campaign.ItemLeadingGroup, at(6, 15, 9), campaign.Value{Leader: "朱训岩"})
	c.file("柳杭", campaign.ItemMembers, at(6, 22, 9), campaign.Value{Members: 170, Population: 3200})
	c.file("柳杭", campaign.ItemMemberGroups, at(6, 22, 10), campaign.Value{})
	c.file("柳杭", campaign.ItemContactHouseholds, at(6, 22, 11), campaign.Value{})
	c.file("柳杭", campaign.ItemTraining, at(6, 28, 9), campaign.Value{Date: day(6, 28)})
	c.file("柳杭", campaign.ItemRepresentatives, at(7, 1, 9), campaign.Value{Count: 50})
	c.file("柳杭", campaign.ItemPublicity, at(7, 1, 10), campaign.Value{Start: day(7, 1)})
	c.review(c.file("柳杭", campaign.ItemCandidates, at(7, 1, 11), campaign.Value{Roster: roster("朱训岩", "陈静", "李娜", 0)}), at(7, 1, 15), campaign.ReviewApproved, "")
	c.file("柳杭", campaign.ItemElection, at(7, 4, 16), campaign.Value{Date: day(7, 4), Roster: roster("朱训岩", "陈静", "李娜", 11)})
	for _, it := range []campaign.Item{campaign.ItemDuties, campaign.ItemOfficerTraining, campaign.ItemRegulations, campaign.ItemSelfCheck} {
		c.file("柳杭", it, at(7, 5, 8), campaign.Value{Date: day(7, 5)})
	}
	c.file("柳杭", campaign.ItemSummary, at(7, 5, 8), campaign.Value{Chars: 1272, Preview: "7月4日召开会员代表大会"})
	c["柳杭"].Photos = 7

	d := records{}
	d.file("东门", campaign.ItemLeadingGroup, at(6, 22, 10), campaign.Value{Leader: "甲"})
	d.file("东门", campaign.ItemMembers, at(7, 1, 10), campaign.Value{Members: 160, Population: 3000})
	d.file("东门", campaign.ItemCandidates, at(7, 4, 10), campaign.Value{Roster: roster("甲", "乙", "丙", 0)})
	d.file("北苑", campaign.ItemLeadingGroup, at(6, 24, 10), campaign.Value{Leader: "丁"})
	d.file("北苑", campaign.ItemMembers, at(7, 2, 10), campaign.Value{Members: 40, Population: 900}) // 4.4%

	today := campaign.DateOf(fixtureNow)
	return cfg, []*campaign.StreetState{cx.JudgeStreet(c, today), dg.JudgeStreet(d, today)}
}
