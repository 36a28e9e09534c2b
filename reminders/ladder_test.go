package reminders_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/config"
	"huanjie/reminders"
	"huanjie/storage"
)

var nudgeLine = regexp.MustCompile(`(?m)^(?:· |⚠️ )([^：\n]+)：(.*)$`)

// TestOneNudgePerGroupPerMorning walks the whole 城西 2021 campaign (太平 files every
// item two days late, 北山 never) with one and with three replicas, and counts: every
// working morning each group gets at most one 【催报】, in which every late secretary is
// @-mentioned exactly once, only the late are named, and nothing is late on its due day.
func TestOneNudgePerGroupPerMorning(t *testing.T) {
	for _, replicas := range []int{1, 3} {
		w := newWorld(t, replicas)
		w.walk()
		st, _ := w.cfg.Street("chengxi")
		people := st.PeopleOf(nil)
		perDay := map[string]int{}
		most := 0 // the most items one community owed in one message
		nudges := 0
		for _, m := range w.fake.Messages(webhookKey) {
			if !strings.HasPrefix(m.Content, "【催报】") {
				continue
			}
			nudges++
			day := m.Time.In(campaign.Shanghai).Format("01-02")
			if perDay[day]++; perDay[day] > 1 {
				t.Errorf("%d replicas: %s: a second nudge in the group:\n%s", replicas, day, m.Content)
			}
			seen := map[string]bool{}
			for _, id := range m.MentionedList {
				if seen[id] {
					t.Errorf("%d replicas: %s: %s @-mentioned twice", replicas, day, id)
				}
				seen[id] = true
			}
			leaders := strings.Contains(m.Content, "【逾期汇总】")
			var named []string
			for _, l := range nudgeLine.FindAllStringSubmatch(strings.Split(m.Content, "【逾期汇总】")[0], -1) {
				c, owed := l[1], l[2]
				named = append(named, c)
				if c != "太平" && c != "北山" {
					t.Errorf("%d replicas: %s: %s filed on time, yet is nudged: %q", replicas, day, c, l[0])
				}
				if strings.Contains(owed, "今天截止") || strings.Contains(owed, "还有") || strings.Contains(owed, "逾期 0 天") {
					t.Errorf("%d replicas: %s: not late yet, yet nudged: %q", replicas, day, l[0])
				}
				most = max(most, strings.Count(owed, "、")+1)
				for _, id := range people.Secretaries(c) {
					if !seen[id] {
						t.Errorf("%d replicas: %s: %s is late, %s not @-mentioned", replicas, day, c, id)
					}
				}
			}
			for id := range seen {
				w, _ := people.Who(id)
				if !slices.Contains(named, w.Community) && !(leaders && w.Role == campaign.RoleLeader) {
					t.Errorf("%d replicas: %s: %s (%s) @-mentioned but not late", replicas, day, id, w.Name)
				}
			}
		}
		// The old shape sent one nudge per late item: 北山 alone owed 5 on 7月9日.
		if nudges < 30 || most < 4 {
			t.Errorf("%d replicas: %d nudges, at most %d items in one line: the walk did not test the merge", replicas, nudges, most)
		}
	}
}

// bind makes userid a bound member of a community, as 绑定 and 同意绑定 would.
func (w *world) bind(userid, name, community, title string) {
	w.t.Helper()
	ctx := context.Background()
	code, _, err := w.store.RequestBinding(ctx, campaign.Binding{UserID: userid, Street: "chengxi", Role: campaign.RoleSecretary,
		Community: community, Title: title, Name: name, At: w.now}, time.Hour)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.store.ApproveBinding(ctx, "chengxi", code, "luolimei", w.now); err != nil {
		w.t.Fatal(err)
	}
}

// nudgeOn returns the 【催报】 the group got on day (MM-DD), with its mentions.
func (w *world) nudgeOn(day string) (string, []string) {
	for _, m := range w.fake.Messages(webhookKey) {
		if m.Time.In(campaign.Shanghai).Format("01-02") == day && strings.HasPrefix(m.Content, "【催报】") {
			return m.Content, m.MentionedList
		}
	}
	return "", nil
}

// walkDays runs the mornings from 6月10日 to the last day with the campaign's filings.
func (w *world) walkDays(last campaign.Date) {
	for day := (campaign.Date{Year: 2021, Month: 6, Day: 10}); !day.After(last); day = day.AddDays(1) {
		w.at(day.Time().Add(9 * time.Hour))
		w.at(day.Time().Add(9*time.Hour + 30*time.Minute))
		w.now = day.Time().Add(12 * time.Hour)
		w.campaignFilings(day)
	}
}

// configWith is the default config with old replaced by new in its YAML.
func configWith(t *testing.T, old, new string) *config.Config {
	t.Helper()
	def, err := os.ReadFile("../config/default.yaml") // the embedded example
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), old) {
		t.Fatalf("the default config has no %q", old)
	}
	src := strings.Replace(string(def), old, new, 1)
	cfg, err := config.Parse([]byte(src), "test.yaml", func(k string) string {
		if k == "WECOM_WEBHOOK_CHENGXI" {
			return webhookKey
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestEscalationLadder: 北山 has a bound 秘书长 (赵敏) besides its 主任 (姜念兵, its head
// by head: [书记, 主任]) and never files its leading group (due Sunday 6月20日). Working
// days late 1 and 2 only 赵敏 is @-mentioned; from the 3rd the 主任 too, and the line says
// why; on the 5th the leaders get the name, once. With head: [qinqiang] the office's
// 秦强 is the one asked.
func TestEscalationLadder(t *testing.T) {
	for _, tc := range []struct {
		name, head, title string
		headID            string
	}{
		{"the community's 主任", "", "主任", "jiangnianbing"},
		{"a named person", "qinqiang", "办公室主任", "qinqiang"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 1)
			if tc.head != "" {
				w = newWorldWith(t, configWith(t, "head: [书记, 主任]", "head: ["+tc.head+"]"), 1)
			}
			w.bind("zhaomin", "赵敏", "北山", "秘书长")
			w.walkDays(campaign.Date{Year: 2021, Month: 6, Day: 29})
			secretaries := []string{"jiangnianbing", "zhaomin"} // configured, then bound
			if tc.head == "" {
				secretaries = []string{"zhaomin"} // the 主任 is the head, kept for the ladder
			}
			for _, c := range []struct {
				day      string
				mentions []string
				note     string
				leaders  bool
			}{
				{"06-21", append([]string{"yudunfu"}, secretaries...), "", false},
				{"06-22", append([]string{"yudunfu"}, secretaries...), "", false},
				{"06-23", append(slices.Clone(secretaries), tc.headID), "。已逾期 3 个工作日，请" + tc.title + "督促", false},
				{"06-24", append(slices.Clone(secretaries), tc.headID), "。已逾期 4 个工作日，请" + tc.title + "督促", false},
				{"06-25", append(slices.Clone(secretaries), tc.headID, "quxin", "yangyong"), "。已逾期 5 个工作日，请" + tc.title + "督促", true},
				{"06-28", append(slices.Clone(secretaries), tc.headID), "。已逾期 6 个工作日，请" + tc.title + "督促", false},
			} {
				text, mentions := w.nudgeOn(c.day)
				if !slices.Equal(mentions, c.mentions) {
					t.Errorf("%s: @%v, want @%v\n%s", c.day, mentions, c.mentions, text)
				}
				line := nudgeLine.FindAllString(strings.Split(text, "【逾期汇总】")[0], -1)
				if len(line) == 0 || !strings.HasPrefix(line[len(line)-1], "· 北山：成立领导小组（逾期") ||
					strings.Contains(line[len(line)-1], "。") != (c.note != "") || !strings.HasSuffix(line[len(line)-1], c.note) {
					t.Errorf("%s: 北山's line %q, want the note %q", c.day, line, c.note)
				}
				if got := strings.Contains(text, "【逾期汇总】以下社区逾期已满 5 个工作日，请领导督促：\n· 北山：成立领导小组"); got != c.leaders {
					t.Errorf("%s: leaders told %v, want %v:\n%s", c.day, got, c.leaders, text)
				}
			}
		})
	}
}

// TestAwayAndExemptions: 北山 is excused from its leading group before the reminders; 大辛's
// bound 秘书长 李丽 and 太平's only secretary 于敦富 are away 6月21日–22日. 北山 is counted
// nowhere; 大辛's 书记 崔宏 is @-mentioned instead of 李丽; 太平 has nobody, so it is named
// with a warning and the office is @-mentioned; the days away do not count towards the
// ladder, so the leaders hear of 太平 two working days after 大辛. (太平's 书记 is its only
// secretary: the head rung adds nobody there.)
func TestAwayAndExemptions(t *testing.T) {
	w := newWorld(t, 1)
	ctx := context.Background()
	w.bind("lili01", "李丽", "大辛", "秘书长")
	ex := campaign.Exemption{Item: campaign.ItemLeadingGroup, Reason: "街道统一成立", By: "luolimei", At: w.now}
	if err := w.store.Exempt(ctx, "chengxi", "北山", ex, "免报 北山 领导小组 街道统一成立"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []campaign.Away{
		{UserID: "lili01", Name: "李丽", From: campaign.Date{Year: 2021, Month: 6, Day: 21}, Until: campaign.Date{Year: 2021, Month: 6, Day: 22}},
		{UserID: "yudunfu", Name: "于敦富", From: campaign.Date{Year: 2021, Month: 6, Day: 21}, Until: campaign.Date{Year: 2021, Month: 6, Day: 22}},
	} {
		if err := w.store.SetAway(ctx, "chengxi", a, "请假"); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := w.cfg.Street("chengxi")
	// Everyone but 大辛, 太平 and 北山 files the leading group on time.
	w.now = at(6, 15, 12, 0)
	for _, c := range st.CommunityNames() {
		if c != "大辛" && c != "太平" && c != "北山" {
			w.file(c, campaign.ItemLeadingGroup, campaign.Value{})
		}
	}
	for day := (campaign.Date{Year: 2021, Month: 6, Day: 16}); !day.After(campaign.Date{Year: 2021, Month: 6, Day: 29}); day = day.AddDays(1) {
		w.at(day.Time().Add(9 * time.Hour))
		w.at(day.Time().Add(9*time.Hour + 30*time.Minute))
	}
	if !strings.Contains(w.lines[0], "「成立领导小组」3 天后（6月20日 星期日）截止。还有 2 个社区未报") {
		t.Errorf("the excused 北山 is counted as not filed: %s", w.lines[0])
	}
	for _, c := range []struct {
		day      string
		lines    []string
		mentions []string
		leaders  string
	}{
		{"06-21", []string{"· 大辛：成立领导小组（逾期 1 天）。李丽请假至6月22日",
			"⚠️ 太平：成立领导小组（逾期 1 天）。于敦富请假至6月22日；秘书长都在请假，无人可提醒"},
			[]string{"cuihong", "qinqiang", "luolimei"}, ""},
		{"06-23", []string{"· 大辛：成立领导小组（逾期 3 天）。已逾期 3 个工作日，请书记督促", "· 太平：成立领导小组（逾期 3 天）"},
			[]string{"lili01", "cuihong", "yudunfu"}, ""},
		{"06-25", []string{"· 大辛：成立领导小组（逾期 5 天）。已逾期 5 个工作日，请书记督促", "· 太平：成立领导小组（逾期 5 天）"},
			[]string{"lili01", "cuihong", "yudunfu", "quxin", "yangyong"}, "· 大辛：成立领导小组"},
		{"06-29", []string{"· 大辛：成立领导小组（逾期 9 天）。已逾期 7 个工作日，请书记督促", "· 太平：成立领导小组（逾期 9 天）"},
			[]string{"lili01", "cuihong", "yudunfu", "quxin", "yangyong"}, "· 太平：成立领导小组"},
	} {
		text, mentions := w.nudgeOn(c.day)
		if got := nudgeLine.FindAllString(strings.Split(text, "【逾期汇总】")[0], -1); !slices.Equal(got, c.lines) {
			t.Errorf("%s: lines %q, want %q", c.day, got, c.lines)
		}
		if !slices.Equal(mentions, c.mentions) {
			t.Errorf("%s: @%v, want @%v", c.day, mentions, c.mentions)
		}
		if warned := strings.Contains(text, "⚠️ 太平没有可以@的人，请街道计生协办公室（罗丽梅）联系落实。"); warned != (c.day == "06-21") {
			t.Errorf("%s: office warned %v:\n%s", c.day, warned, text)
		}
		_, leaders, _ := strings.Cut(text, "请领导督促：\n")
		if leaders != c.leaders {
			t.Errorf("%s: leaders told %q, want %q", c.day, leaders, c.leaders)
		}
	}
}

// TestNobodyToMention: a community with no secretary at all (北山 without 姜念兵) is named
// with a warning, and the office is told in the same message.
func TestNobodyToMention(t *testing.T) {
	cfg := configWith(t, "      - {userid: jiangnianbing, name: 姜念兵, role: secretary, community: 北山, title: 主任}\n", "")
	w := newWorldWith(t, cfg, 1)
	w.walkDays(campaign.Date{Year: 2021, Month: 6, Day: 21})
	text, mentions := w.nudgeOn("06-21")
	for _, want := range []string{"· 太平：成立领导小组（逾期 1 天）", "⚠️ 北山：成立领导小组（逾期 1 天）。没有登记秘书长，无人可提醒",
		"⚠️ 北山没有可以@的人，请街道计生协办公室（罗丽梅）联系落实。"} {
		if !strings.Contains(text, want) {
			t.Errorf("nudge lacks %q:\n%s", want, text)
		}
	}
	if !slices.Equal(mentions, []string{"yudunfu", "qinqiang", "luolimei"}) {
		t.Errorf("@%v, want 太平's secretary and the office", mentions)
	}
}

// TestPlanSince: the bot is down from 6月11日 to 6月22日 10:00. 提醒计划 since 6月15日
// lists what was missed in that time (not only the last five), what went out after the
// restart, and by default only what happened since the last working day.
func TestPlanSince(t *testing.T) {
	w := newWorld(t, 1)
	w.at(at(6, 11, 9, 0))
	w.at(at(6, 22, 10, 0))
	ctx := context.Background()
	ids := func(os []storage.Occurrence) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	p, err := w.scheds[0].Plan(ctx, "chengxi", reminders.PlanQuery{Upcoming: 2, Since: campaign.Date{Year: 2021, Month: 6, Day: 15}})
	if err != nil {
		t.Fatal(err)
	}
	wantMissed := []string{"nudge:2021-06-21", "open:2021-06-21", "phase:2021-06-18", "phase:2021-06-17"}
	if got := ids(p.Missed); !slices.Equal(got, wantMissed) {
		t.Errorf("missed since 6月15日: %v, want %v", got, wantMissed)
	}
	if got := ids(p.Sent); !slices.Equal(got, []string{"nudge:2021-06-22"}) || p.Sent[0].Count != 1 {
		t.Errorf("sent since 6月15日: %+v", p.Sent)
	}
	for _, o := range p.Missed {
		if o.Reason != "机器人停机错过了发送时间，已过时效，未补发" {
			t.Errorf("%s: reason %q", o.ID, o.Reason)
		}
	}
	if len(p.Upcoming) != 2 || p.Upcoming[0].Title != "每日催报（@逾期社区）" {
		t.Errorf("upcoming: %+v", p.Upcoming)
	}
	p, err = w.scheds[0].Plan(ctx, "chengxi", reminders.PlanQuery{Upcoming: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Since != (campaign.Date{Year: 2021, Month: 6, Day: 21}) || !slices.Equal(ids(p.Missed), wantMissed[:2]) {
		t.Errorf("by default since %s: missed %v", p.Since, ids(p.Missed))
	}
}
