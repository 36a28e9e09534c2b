package handlers

import (
	"context"
	"strings"
	"testing"

	"huanjie/bot"
	"huanjie/campaign"
)

// The examples of issue 9, each as the secretary or the office types it.
func TestReadsWhatPeopleType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		check func(t *testing.T, h *harness)
	}{
		{name: "relative and Chinese dates, and which day they were read as", steps: []step{
			{who: "cuihong", text: "公示从明天开始", at: "2021-07-05", want: []string{"代表名单公示 7月6日至7月8日", "「明天」按7月6日 星期二登记"}},
			{who: "cuihong", text: "公示明天开始", want: []string{"7月6日至7月8日"}},
			{who: "cuihong", text: "公示 明天起", want: []string{"7月6日至7月8日"}},
			{who: "cuihong", text: "公示 6号", want: []string{"7月6日至7月8日"}},
			{who: "cuihong", text: "公示 下周一", want: []string{"7月12日至7月14日"}},
			{who: "cuihong", text: "公示 七月六日", want: []string{"7月6日至7月8日"}},
			{who: "cuihong", text: "培训 已参加 七月七日", at: "2021-07-08", want: []string{"换届知识培训已参加（7月7日）"}},
		}},
		{name: "Chinese numerals", steps: []step{
			{who: "zhangxingqiang", text: "会员三十六人，人口九百", at: "2021-06-28", want: []string{"会员 36 人，总人口 900 人"}},
			{who: "zhangxingqiang", text: "代表三十", at: "2021-07-02", want: []string{"会员代表 30 名"}},
			{who: "cuihong", text: "公示 7月2日", at: "2021-07-08"},
			{who: "cuihong", text: "选举 7月8日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 十一人", want: []string{"理事会 11 人"}, not: []string{"理事会应为"}},
		}},
		{name: "impossible values are asked back", steps: []step{
			{who: "cuihong", text: "会员 -5 人口 6200", at: "2021-06-28", want: []string{"负数", "没有保存任何内容"}},
			{who: "cuihong", text: "公示 0000-07-02", want: []string{"年份", "没有保存任何内容"}},
			{who: "cuihong", text: "公示 9999-12-31", want: []string{"年份", "没有保存任何内容"}},
			{who: "yangyueheng", text: "会员 310 人口 6200", want: []string{"配置的 4800 人相差较大", "还没有保存", "确认"}},
			{who: "cuihong", text: "培训", want: []string{"是已经完成了吗", "没有保存任何内容"}},
			{who: "cuihong", text: "会员 308 人口 6200", want: []string{"占 4.97%（要求不低于 5%）", "会员占总人口 4.97%，低于要求的 5%"}},
		}},
		{name: "a much shorter summary and letters are not a summary", steps: []step{
			{who: "cuihong", text: "总结 " + strings.Repeat("大辛社区按照街道部署认真开展换届工作，", 60), at: "2021-07-15", want: []string{"已登记", "全文 1140 字已保存"}},
			{who: "cuihong", text: "总结 " + strings.Repeat("A", 300), want: []string{"看不出是一段文字", "没有保存任何内容"}},
			{who: "cuihong", text: "总结 选举已完成，理事会十一人，请审阅。", want: []string{"比上次的 1140 字短很多", "还没有保存"}},
			{who: "quxin", text: "大辛", want: []string{"总结 1140 字"}},
		}},
		{name: "sentences", steps: []step{
			{who: "cuihong", text: "大辛社区会员320人，总人口6200", at: "2021-06-28", want: []string{"会员 320 人，总人口 6200 人"}},
			{who: "zhangxingqiang", text: "请登记：会员40人，人口800。", want: []string{"会员 40 人，总人口 800 人"}},
			{who: "yudunfu", text: "我们社区的会员代表推选了四十名", at: "2021-07-04", want: []string{"会员代表 40 名"}},
		}},
		{name: "another community's figures are refused", steps: []step{
			{who: "yudunfu", text: "会员 320 人口 6200 大辛", at: "2021-06-28", want: []string{"您是太平社区的", "「大辛」社区", "没有保存任何内容"}},
			{who: "quxin", text: "太平", want: []string{"**会员数和总人口**：未报"}},
		}},
		{name: "typos and reasons in the office's commands", steps: []step{
			{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", at: "2021-07-06"},
			{who: "luolimei", text: "初审通过 大新", want: []string{"您是不是要找「大辛」？", "没有保存任何内容"}},
			{who: "luolimei", text: "退回 大辛 候选人年龄超过规定", want: []string{"已退回：**大辛社区 · 候选人名单**"}},
			{who: "quxin", text: "大辛", want: []string{"初审被退回，原因：候选人年龄超过规定"}},
		}},
		{name: "names keep their dot", steps: []step{
			{who: "houjing", text: "候选人 会长 侯晶 副会长 阿卜杜热合曼·艾买提江 秘书长 许丹", at: "2021-07-06",
				want: []string{"副会长 阿卜杜热合曼·艾买提江"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.run(tc.steps)
		})
	}
}

// TestVoiceMessages: a voice message (WeCom's transcription, 1:1 chats) is read like text.
func TestVoiceMessages(t *testing.T) {
	h := newHarness(t)
	h.now = campaign.Date{Year: 2021, Month: 6, Day: 28}.Time().Add(9 * 3600e9)
	m := bot.Message{MsgID: "v1", ChatType: "single", From: bot.From{UserID: "cuihong"}, MsgType: "voice",
		Voice: &bot.Text{Content: "嗯那个我们大辛社区的会员是三百二十个人然后总人口是六千二百"}}
	got := h.bot.Handle(context.Background(), m).Markdown
	if !strings.Contains(got, "会员 320 人，总人口 6200 人") {
		t.Fatalf("voice: %s", got)
	}
	rec, err := h.store.Record(context.Background(), "chengxi", "大辛")
	if f, ok := rec.Filing(campaign.ItemMembers); err != nil || !ok || f.Value.Members != 320 {
		t.Fatalf("voice filing not stored: %+v %v", rec, err)
	}
}

// TestSentenceExamplesFile: every sentence the help offers as an example files its item,
// sent on the item's due day, so the help never shows a sentence the bot cannot read.
func TestSentenceExamplesFile(t *testing.T) {
	for _, d := range campaign.Items() {
		if d.Kind == campaign.KindPhotos {
			continue
		}
		t.Run(string(d.ID), func(t *testing.T) {
			h := newHarness(t)
			st, _ := h.bot.Config.Streets[0].Step(d.ID)
			h.now = st.Due.Time().Add(9 * 3600e9)
			reply := h.say("cuihong", d.Says)
			rec, err := h.store.Record(context.Background(), "chengxi", "大辛")
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rec.Filing(d.ID); !ok {
				t.Fatalf("「%s」 did not file %s: %s", d.Says, d.ID, reply)
			}
		})
	}
}
