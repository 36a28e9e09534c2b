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
			"x.yaml:8: streets[0].communities[1].name: 社区重名",
			"x.yaml:10: streets[0].people[0].community: 社区 \"小辛\" 不在",
			"x.yaml:11: streets[0].people[1].role:",
			"x.yaml:13: streets[0].rules.member_share_min:",
			"x.yaml:14: streets[0].rules.representative_bands[1].max_population: max_population 应逐档增大",
			"x.yaml:15: streets[0].rules.publicity_days:",
			"x.yaml:16: streets[0].rules.council:",
			"x.yaml:18: streets[0].steps[0].item: 不认识的事项 \"photo\"",
			"x.yaml:19: streets[0].steps[1].due: 截止日期早于开始日期",
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

func TestMissing(t *testing.T) {
	c, err := Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c.Street("chengxi")
	filings := map[string]map[campaign.Item]campaign.Filing{
		"大辛":  {campaign.ItemPhotos: {Item: campaign.ItemPhotos, Fields: map[string]string{"count": "6"}}},
		"李家窑": {campaign.ItemPhotos: {Item: campaign.ItemPhotos, Fields: map[string]string{"count": "3"}}},
	}
	got := s.Missing(campaign.ItemPhotos, filings)
	if len(got) != 14 || got[0] != "李家窑" || got[1] != "太平" {
		t.Fatalf("missing photos: %q (大辛 has enough, 李家窑 too few)", got)
	}
}
