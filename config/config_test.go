package config

import (
	"strings"
	"testing"

	"huanjie/campaign"
)

func TestDefaultIsValid(t *testing.T) {
	c, err := Default(func(k string) string {
		if k == "WECOM_WEBHOOK_CHENGXI" {
			return "key-from-env"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.Street("chengxi")
	if !ok || len(s.Communities) != 15 {
		t.Fatalf("城西 should have the 15 communities of 000 附件, got %+v", s)
	}
	if s.Groups[0].WebhookKey != "key-from-env" {
		t.Errorf("webhook key not read from the environment: %q", s.Groups[0].WebhookKey)
	}
	if c, ok := s.Community("大辛社区"); !ok || c.Name != "大辛" {
		t.Errorf("community lookup by 大辛社区 failed")
	}
	st, ok := s.Step(campaign.ItemSummary)
	if !ok || st.Due != (campaign.Date{Year: 2021, Month: 7, Day: 20}) {
		t.Errorf("summary due %v, want 7月20日 (000 §六(三))", st.Due)
	}
	if s.Year() != 2021 || c.DemoStart.IsZero() {
		t.Errorf("year %d demo %v", s.Year(), c.DemoStart)
	}
}

func TestValidationNamesLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "bot_name: x\nstreetz: []\n", []string{"line 2", "streetz"}},
		{"bad date", "bot_name: x\nstreets:\n  - id: a\n    steps:\n      - {item: members, due: 2021-13-40}\n", []string{"line 5"}},
		{"semantic errors", `bot_name: 换届助手
streets:
  - id: Chengxi
    name: 城西街道
    office: 办公室
    groups:
      - {chatid: c1, push: robot}
      - {chatid: c2, push: webhook}
      - {chatid: c3, push: bot}
    communities:
      - {name: 大辛, population: 100}
      - {name: 大辛}
    people:
      - {userid: a, role: secretary, community: 小辛}
      - {userid: b, role: boss}
    rules:
      member_share_min: 5
      representative_bands: [{max_population: 999, representatives: 30}, {max_population: 500, representatives: 40}, {representatives: 50}]
      publicity_days: 0
      council: {min: 11, max: 9}
    steps:
      - {item: photo, due: 2021-07-20}
      - {item: members, start: 2021-07-01, due: 2021-06-30}
`, []string{
			"x.yaml:3: streets[0].id:",
			"x.yaml:7: streets[0].groups[0].push: 只能是 webhook",
			"x.yaml:8: streets[0].groups[1].push: push: webhook 需要 webhook_key_env",
			"x.yaml:12: streets[0].communities[1].name: 社区重名",
			"x.yaml:14: streets[0].people[0].community: 社区 \"小辛\" 不在",
			"x.yaml:15: streets[0].people[1].role:",
			"x.yaml:17: streets[0].rules.member_share_min:",
			"x.yaml:18: streets[0].rules.representative_bands[1].max_population: max_population 应逐档增大",
			"x.yaml:19: streets[0].rules.publicity_days:",
			"x.yaml:20: streets[0].rules.council:",
			"x.yaml:22: streets[0].steps[0].item: 不认识的事项 \"photo\"",
			"x.yaml:23: streets[0].steps[1].due: 截止日期早于开始日期",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "x.yaml", func(string) string { return "" })
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestDefaultPlansEveryItem: the example campaign files every item of the table, the
// two of phase 2 (000 §二, §四(二)) included, each in a known phase.
func TestDefaultPlansEveryItem(t *testing.T) {
	c, err := Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.Street("chengxi")
	for _, d := range campaign.Items() {
		st, ok := s.Step(d.ID)
		if !ok {
			t.Errorf("the example plan lacks %s (%s)", d.ID, d.Label)
			continue
		}
		if st.Phase == 0 || st.Due.IsZero() {
			t.Errorf("%s: phase %d due %v", d.ID, st.Phase, st.Due)
		}
	}
	for _, it := range []campaign.Item{campaign.ItemMemberGroups, campaign.ItemContactHouseholds} {
		if st, _ := s.Step(it); st.Phase != 2 {
			t.Errorf("%s is in phase %d, want 2 (夯实会员队伍)", it, st.Phase)
		}
	}
}

// TestEscalationAndExemptionsValidated: the ladder and the exemptions known in advance
// are checked with the line of each mistake; nudge_for_days defaults to 10 when unset.
func TestEscalationAndExemptionsValidated(t *testing.T) {
	const base = `bot_name: 换届助手
streets:
  - id: a
    name: 城西街道
    office: 办公室
    communities: [{name: 大辛, population: 100}]
    rules: {member_share_min: 0.05, representative_bands: [{representatives: 30}], publicity_days: 3, council: {min: 9, max: 11}}
    steps: [{item: members, due: 2021-06-30}]
`
	_, err := Parse([]byte(base+`    exemptions:
      - {community: 小辛, item: members, reason: x}
      - {community: 大辛, item: election, reason: x}
      - {community: 大辛, item: members}
    reminders:
      nudge_for_days: -1
      escalation:
        head_after_workdays: 5
        head: []
        leaders_after_workdays: 3
`), "x.yaml", func(string) string { return "" })
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"x.yaml:10: streets[0].exemptions[0].community: 社区 \"小辛\" 不在本街道的 communities 里",
		"x.yaml:11: streets[0].exemptions[1].item: 事项 \"election\" 不在本街道的 steps 里",
		"x.yaml:12: streets[0].exemptions[2]: 要写免报原因",
		"x.yaml:14: streets[0].reminders.nudge_for_days: 不能为负数",
		"x.yaml:17: streets[0].reminders.escalation.head: 写了 head_after_workdays 就要写 head",
		"x.yaml:18: streets[0].reminders.escalation.leaders_after_workdays: 应大于 head_after_workdays（5）",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	c, err := Parse([]byte(base), "ok.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Streets[0].Reminders; r.NudgeForDays != 10 || !r.Openings() || r.Escalation.HeadAfterWorkdays != 0 {
		t.Errorf("defaults: %+v", r)
	}
	c, err = Parse([]byte(base+"    reminders: {nudge_for_days: 0, announce_openings: false}\n"), "off.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Streets[0].Reminders; r.NudgeForDays != 0 || r.Openings() {
		t.Errorf("nudges and openings turned off: %+v", r)
	}
	def, err := Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if e := def.Streets[0].Reminders.Escalation; e.HeadAfterWorkdays != 3 || e.LeadersAfterWorkdays != 5 || len(e.Head) != 2 {
		t.Errorf("the example's ladder: %+v", e)
	}
}
