package handlers

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/reminders"
)

// withScheduler wires the real reminder scheduler, so 催一下 queues real nudges.
func withScheduler(h *harness) *harness {
	sched := &reminders.Scheduler{Config: h.bot.Config, Filings: h.store, Bindings: h.store, Outbox: h.outbox,
		Clock: h.bot.Clock, Log: h.bot.Log, HowToFile: h.bot.HowToFile, Memo: h.bot.Memo}
	h.bot.Reminders = sched
	return h
}

// The symptoms issue 7 lists, each as a user meets it in the chat.
func TestJudgedLive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a corrected population settles the representatives", []step{
			{who: "yudunfu", text: "会员 101 人口 2001", at: "2021-06-28", want: []string{"请核对", "配置的 1500 人相差较大", "还没有保存"}},
			{who: "yudunfu", text: "确认", want: []string{"**太平社区 · 会员数和总人口** 已登记", "总人口 2001 人"}},
			{who: "yudunfu", text: "代表 40", at: "2021-07-02", want: []string{"有问题", "总人口 2001 人对应会员代表 50 名"}},
			{who: "yudunfu", text: "会员 75 人口 1500", want: []string{"已登记", "另外：「会员代表人数」的问题已经解决"}},
			{who: "quxin", text: "太平", want: []string{"✅ **会员代表人数**：会员代表 40 名"}, not: []string{"2001", "50 名"}},
			{who: "quxin", text: "进度", want: []string{"**太平** 第4步 推选会员代表｜已报 2/15｜⏰ 逾期 3 项"}, not: []string{"**太平** 第4步 推选会员代表｜已报 2/15｜⚠️"}},
		}},
		{"an election filed before 初审 loses the problem once approved", []step{
			{who: "cuihong", text: "公示 7月2日", at: "2021-07-02"},
			{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽"},
			{who: "cuihong", text: "选举 7月6日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", at: "2021-07-06", want: []string{"候选人名单还没有通过街道初审"}},
			{who: "luolimei", text: "初审通过 大辛", want: []string{"已通过初审"}},
			{who: "quxin", text: "大辛", want: []string{"✅ **候选人名单**", "初审已通过", "🕓 **选举结果**", "待批复"}, not: []string{"还没有通过街道初审"}},
			{who: "luolimei", text: "批复 大辛", want: []string{"已批复备案"}},
			{who: "quxin", text: "大辛", want: []string{"已批复备案"}, not: []string{"还没有通过街道初审", "⚠️"}},
		}},
		{"a returned list is owed, listed and nudged", []step{
			{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", at: "2021-07-06"},
			{who: "luolimei", text: "退回 大辛 候选人年龄超过规定", want: []string{"已退回", "候选人名单"}},
			{who: "quxin", text: "大辛", want: []string{"↩️ **候选人名单**", "初审被退回，原因：候选人年龄超过规定"}, not: []string{"✅ **候选人名单**"}},
			{who: "quxin", text: "哪些社区还没报 候选人", want: []string{"大辛（被退回）", "共 15 个"}},
			{who: "luolimei", text: "催一下 候选人", want: []string{"已在群里催报「候选人名单」", "@了 15 个"}},
		}},
		{"批复 refuses what was returned or has problems", []step{
			{who: "cuihong", text: "公示 7月2日", at: "2021-07-02"},
			{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽"},
			{who: "luolimei", text: "初审通过 大辛"},
			{who: "cuihong", text: "选举 7月8日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", at: "2021-07-08", not: []string{"有问题"}},
			{who: "luolimei", text: "退回 大辛 选举 理事名单需附简历", want: []string{"已退回：**大辛社区 · 选举结果**"}},
			{who: "luolimei", text: "批复 大辛", want: []string{"已于7月8日退回", "社区重新报送后才能审核通过"}, not: []string{"已批复备案："}},
			{who: "cuihong", text: "选举 7月8日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 8人", want: []string{"理事会应为 9-11 人"}},
			{who: "luolimei", text: "批复 大辛", want: []string{"暂时不能批复备案", "理事会应为 9-11 人，报的是 8 人"}},
			{who: "quxin", text: "大辛", want: []string{"待批复"}, not: []string{"已批复备案"}},
		}},
		{"撤销 of an approved list warns and tells the office", []step{
			{who: "xuhaifeng", text: "候选人 会长 徐海峰 副会长 王芳 秘书长 李丽", at: "2021-07-06"},
			{who: "luolimei", text: "初审通过 凤凰园", want: []string{"已通过初审"}},
			{who: "xuhaifeng", text: "撤销", want: []string{"初审已通过", "确认撤销"}, not: []string{"已撤销"}},
			{who: "quxin", text: "凤凰园", want: []string{"初审已通过"}},
			{who: "xuhaifeng", text: "确认撤销", want: []string{"已撤销 **凤凰园社区 · 候选人名单**", "已通知街道办"}},
			{who: "quxin", text: "凤凰园", want: []string{"**候选人名单**：未报"}, not: []string{"初审已通过"}},
		}},
		{"things that happened are never in the future; a publicity is checked against its window", []step{
			{who: "cuihong", text: "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", at: "2021-07-08", want: []string{"7月10日还没到", "没有保存任何内容"}},
			{who: "cuihong", text: "培训 已参加 7月9日", want: []string{"7月9日还没到"}},
			{who: "cuihong", text: "选举 7月6日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人"},
			{who: "cuihong", text: "公示 8月1日", want: []string{"有问题", "晚于截止日期 7月9日", "选举已在7月6日举行"}},
			{who: "quxin", text: "大辛", want: []string{"⚠️ **代表名单公示**", "代表名单公示到8月3日才结束，选举不能早于8月4日"}},
		}},
		{"item words name the item they say", []step{
			{who: "quxin", text: "哪些社区还没报 会员代表", at: "2021-07-07", want: []string{"**还没报「会员代表人数」的社区**"}},
			{who: "quxin", text: "哪些社区还没报 代表公示", want: []string{"**还没报「代表名单公示」的社区**"}},
			{who: "quxin", text: "催一下 会员代表", want: []string{"已在群里催报「会员代表人数」"}, not: []string{"会员数和总人口"}},
			{who: "quxin", text: "哪些社区还没报 会员小组", want: []string{"**还没报「会员小组划分」的社区**"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := withScheduler(newHarness(t))
			h.run(tc.steps)
		})
	}
}

// TestUndoTellsOfficeOnce: the office hears of an undone approval once, through the
// outbox, @-mentioned.
func TestUndoTellsOfficeOnce(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "xuhaifeng", text: "候选人 会长 徐海峰 副会长 王芳 秘书长 李丽", at: "2021-07-06"},
		{who: "luolimei", text: "初审通过 凤凰园"},
		{who: "xuhaifeng", text: "撤销"},
		{who: "xuhaifeng", text: "确认撤销"},
		{who: "xuhaifeng", text: "确认", want: []string{"没有需要您确认的内容"}},
	})
	got := h.notices()
	var undo []string
	for _, n := range got {
		if strings.HasPrefix(n.Text, "【撤销】") {
			undo = append(undo, n.Text+" @"+strings.Join(n.Mentions, ","))
		}
	}
	if len(undo) != 1 || !strings.Contains(undo[0], "凤凰园社区撤回了初审已通过的候选人名单") || !strings.HasSuffix(undo[0], "@qinqiang,luolimei") {
		t.Fatalf("undo notices: %q", undo)
	}
}

// TestNudgeWhenAllFiled: when every community has filed everything due, 催一下 says nobody
// is late and pushes nothing; asked for an item everyone filed, it says so.
func TestNudgeWhenAllFiled(t *testing.T) {
	h := withScheduler(newHarness(t))
	h.now = time.Date(2021, 7, 12, 9, 0, 0, 0, campaign.Shanghai)
	st := &h.bot.Config.Streets[0]
	roster := campaign.Roster{President: []string{"甲"}, VicePresidents: []string{"乙"}, SecretaryGeneral: []string{"丙"}, CouncilSize: 11}
	ctx := context.Background()
	for _, c := range st.Communities {
		for _, step := range st.Steps {
			if step.Due.After(campaign.DateOf(h.now)) {
				continue
			}
			f := campaign.Filing{Street: st.ID, Community: c.Name, Item: step.Item, By: "test", At: h.now.Add(-time.Hour),
				Value: campaign.Value{Leader: "甲", Members: 500, Population: 6000, Count: 50, Start: campaign.Date{Year: 2021, Month: 7, Day: 2}, Roster: roster}}
			if err := h.store.Save(ctx, f); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.run([]step{
		{who: "quxin", text: "哪些社区还没报", want: []string{"15 个社区还有 45 项没报，都还没到截止日期。"}, not: []string{"⏰"}},
		{who: "luolimei", text: "催一下", want: []string{"目前没有需要催报的社区。"}, not: []string{"已在群里催报", "@了"}},
		{who: "luolimei", text: "催一下 代表", want: []string{"所有社区都已报「会员代表人数」"}, not: []string{"已在群里催报"}},
	})
	if got := h.notices(); len(got) != 0 {
		t.Errorf("nobody is late, yet 催一下 pushed %d messages: %q", len(got), got[0].Text)
	}
}

// TestWelcomeSaysTheStreetsPhotoRule: the 1:1 welcome says the street's photo rule, not
// the example's 6-10.
func TestWelcomeSaysTheStreetsPhotoRule(t *testing.T) {
	h := newHarness(t)
	h.bot.Config.Streets[0].Rules.Photos = campaign.PhotoRule{Min: 8, Max: 12, Format: "jpg"}
	welcome := h.bot.Handle(context.Background(), bot.Message{MsgID: "w", ChatType: "single", From: bot.From{UserID: "cuihong"},
		MsgType: "event", Event: &struct {
			EventType string `json:"eventtype"`
		}{EventType: bot.EventEnterChat}}).Markdown
	if !strings.Contains(welcome, "换届照片（JPG，8-12 张）请直接发在这个单聊里") {
		t.Errorf("welcome:\n%s", welcome)
	}
}

// TestNudgeCountsOnlyWhoIsMentioned: with 太平's only secretary on leave, 催一下 says it
// @-mentioned 14 communities' people, not 15, and names 太平 as having nobody to @.
func TestNudgeCountsOnlyWhoIsMentioned(t *testing.T) {
	h := withScheduler(newHarness(t))
	h.run([]step{
		{who: "luolimei", text: "请假 于敦富 到7月20日", want: []string{"于敦富"}},
		{who: "quxin", text: "催一下 公示", want: []string{"@了 14 个未报社区的同事", "⚠️ 太平没有可以@的人"},
			not: []string{"@了 15 个"}},
	})
}

// TestPlanDayAskedOnce: 提醒计划 with a day that is not a day names the words once.
func TestPlanDayAskedOnce(t *testing.T) {
	h := withScheduler(newHarness(t))
	for _, day := range []string{"7月底", "7月8日左右"} {
		h.run([]step{{who: "luolimei", text: "提醒计划 " + day, want: []string{"「" + day + "」"}}})
		got := h.say("luolimei", "提醒计划 "+day)
		if n := strings.Count(got, "「"+day+"」"); n != 1 {
			t.Errorf("提醒计划 %s names 「%s」 %d times:\n%s", day, day, n, got)
		}
	}
}

// TestWelcomeWithoutPhotoStep: a street that plans no photos does not ask for them.
func TestWelcomeWithoutPhotoStep(t *testing.T) {
	h := newHarness(t)
	st := &h.bot.Config.Streets[0]
	st.Steps = slices.DeleteFunc(st.Steps, func(s campaign.Step) bool { return s.Item == campaign.ItemPhotos })
	st.Index()
	welcome := h.bot.Handle(context.Background(), bot.Message{MsgID: "w", ChatType: "single", From: bot.From{UserID: "cuihong"},
		MsgType: "event", Event: &struct {
			EventType string `json:"eventtype"`
		}{EventType: bot.EventEnterChat}}).Markdown
	if strings.Contains(welcome, "换届照片") || !strings.Contains(welcome, "崔宏") {
		t.Errorf("welcome of a street without photos:\n%s", welcome)
	}
}

// TestExamplesFollowThePlan: in a plan moved to March 2026, the examples the bot gives
// carry days of that plan, and the example copied as it is files.
func TestExamplesFollowThePlan(t *testing.T) {
	h := newHarness(t)
	st := &h.bot.Config.Streets[0]
	from := time.Date(2021, 7, 5, 0, 0, 0, 0, campaign.Shanghai)
	shift := int(time.Date(2026, 3, 9, 0, 0, 0, 0, campaign.Shanghai).Sub(from).Hours() / 24)
	for i := range st.Steps {
		if !st.Steps[i].Start.IsZero() {
			st.Steps[i].Start = st.Steps[i].Start.AddDays(shift)
		}
		st.Steps[i].Due = st.Steps[i].Due.AddDays(shift)
	}
	st.Index()
	training, _ := st.Step(campaign.ItemTraining)
	h.now = training.Due.Time().Add(9 * time.Hour) // the training's last day, 09:00
	example := "培训 已参加 " + training.Start.String()
	h.run([]step{
		{who: "cuihong", text: "培训怎么报？", want: []string{example}, not: []string{"7月6日"}},
		{who: "cuihong", text: "帮助", not: []string{"7月"}},
		{who: "luolimei", text: "帮助", want: []string{"例：提醒计划 " + campaign.DateOf(h.now).String()}, not: []string{"7月"}},
		{who: "cuihong", text: example, want: []string{"已登记"}},
	})
}

// TestLeaveRefusalsShowDaysAhead: 请假's refusals give examples from the asker's today
// (7月5日), not fixed sample days.
func TestLeaveRefusalsShowDaysAhead(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "luolimei", text: "请假 崔宏", want: []string{"例如「请假 崔宏 到7月12日」或「请假 崔宏 7月7日到7月12日」"}, not: []string{"7月20日"}},
		{who: "luolimei", text: "请假 到7月9日", want: []string{"请先写请假人的姓名，例如「请假 崔宏 到7月12日」"}},
	})
}
