package handlers

import (
	"context"
	"regexp"
	"testing"
)

// TestExemptionConversation: the office excuses 凤凰园 from electing representatives; the
// card, 哪些社区还没报 and the list show it; bad commands store nothing; 取消免报 makes the
// item owed again.
func TestExemptionConversation(t *testing.T) {
	h := withScheduler(newHarness(t)) // 7月5日 09:00
	h.run([]step{
		{who: "luolimei", text: "免报", want: []string{"现在没有免报的事项。"}},
		{who: "luolimei", text: "免报 凤凰园 代表", want: []string{"「免报」的格式不对：请写明免报原因", "没有保存任何内容"}},
		{who: "luolimei", text: "免报 凤凰 代表 会员大会代替", want: []string{"您是不是要找「凤凰园」？", "没有保存任何内容"}},
		{who: "luolimei", text: "免报 城东 代表 会员大会代替", want: []string{"城西街道没有「城东」社区", "没有保存任何内容"}},
		{who: "luolimei", text: "免报 凤凰园 体检 会员大会代替", want: []string{"不认识事项「体检」", "没有保存任何内容"}},
		{who: "luolimei", text: "免报 凤凰园", want: []string{"请写上事项，可以写：领导小组、会员、"}},
		{who: "quxin", text: "免报 凤凰园 代表 会员大会代替", want: []string{"「免报」只有街道计生协办公室可以使用"}},
		{who: "quxin", text: "哪些社区还没报 代表", want: []string{"凤凰园", "共 15 个"}},
		{who: "luolimei", text: "免报 凤凰园 代表 会员大会代替",
			want: []string{"➖ 已登记免报：**凤凰园社区 · 会员代表人数**，免报（会员大会代替）", "不再算未报或逾期", "取消免报 凤凰园 代表"}},
		{who: "luolimei", text: "免报 凤凰园 代表 会员大会代替", want: []string{"已经是免报（会员大会代替），无需重复登记"}},
		{who: "quxin", text: "凤凰园", want: []string{"➖ **会员代表人数**：免报（会员大会代替）"}},
		{who: "quxin", text: "哪些社区还没报 代表", want: []string{"共 14 个"}, not: []string{"凤凰园"}},
		{who: "cuihong", text: "代表 50"},
		{who: "luolimei", text: "免报 大辛 代表 会员大会代替", want: []string{"大辛社区已经报了「会员代表人数」（会员代表 50 名），不需要免报，没有保存"}},
		{who: "luolimei", text: "免报", want: []string{"**城西街道免报的事项**（1 项）\n- 凤凰园：会员代表人数 免报（会员大会代替）"}},
		{who: "luolimei", text: "取消免报 凤凰园 代表", want: []string{"已取消免报：**凤凰园社区 · 会员代表人数**，这一项重新要报。现在：⏳ 未报，7月6日截止，还有 1 天"}},
		{who: "luolimei", text: "取消免报 凤凰园 代表", want: []string{"凤凰园社区的「会员代表人数」没有免报，不用取消。"}},
		{who: "quxin", text: "凤凰园", want: []string{"⏳ **会员代表人数**"}, not: []string{"免报"}},
	})
}

// TestAwayConversation: the office marks 崔宏 away; while 大辛 has nobody else the reply
// warns; once 李丽 is bound the reply says she is nudged instead; dates are read or asked
// back, never guessed; 销假 ends the leave.
func TestAwayConversation(t *testing.T) {
	h := withScheduler(newHarness(t)) // 7月5日 09:00
	h.run([]step{
		{who: "luolimei", text: "请假", want: []string{"现在没有人请假。"}},
		{who: "luolimei", text: "请假 崔宏", want: []string{"请写请假到哪一天", "没有保存任何内容"}},
		{who: "luolimei", text: "请假 到7月20日", want: []string{"请先写请假人的姓名"}},
		{who: "luolimei", text: "请假 张三 到7月20日", want: []string{"城西街道没有叫「张三」的秘书长"}},
		{who: "luolimei", text: "请假 崔宏 到7月1日", want: []string{"7月1日已经过去了"}},
		{who: "luolimei", text: "请假 崔宏 7月10日到7月8日", want: []string{"结束早于开始"}},
		{who: "luolimei", text: "请假 崔宏 到12月31日", want: []string{"12月31日不在本次换届的时间里"}},
		{who: "luolimei", text: "请假 崔宏 5月20日到8月30日", want: []string{"超过了 90 天"}},
		{who: "luolimei", text: "请假 崔宏 到7月", want: []string{"「7月」", "没有保存任何内容"}},
		{who: "cuihong", text: "请假 崔宏 到7月20日", want: []string{"「请假」只有街道计生协办公室可以使用"}},
		{who: "quxin", text: "请假", want: []string{"「请假」只有街道计生协办公室可以使用"}},
		{who: "luolimei", text: "请假", want: []string{"现在没有人请假。"}},
		{who: "luolimei", text: "请假 崔宏到7月20日",
			want: []string{"已登记：**崔宏**（大辛书记）7月5日至7月20日请假，这期间催报不@崔宏。", "⚠️ 这期间大辛社区没有其他可以@的人"}},
	})
	code := regexp.MustCompile(`编号 \*\*(\d+)\*\*`).FindStringSubmatch(h.say("lili01", "绑定 大辛 秘书长 李丽"))
	if code == nil {
		t.Fatal("李丽's binding request got no code")
	}
	h.run([]step{{who: "luolimei", text: "同意绑定 " + code[1], want: []string{"已确认：大辛社区 秘书长 李丽"}}})
	h.run([]step{
		{who: "luolimei", text: "崔宏请假，7月6日到7月9日", want: []string{"（大辛书记）7月6日至7月9日请假"}, not: []string{"改为@"}},
		{who: "luolimei", text: "请假 崔宏 到7月20日", want: []string{"大辛社区的催报改为@李丽。"}},
		{who: "luolimei", text: "请假", want: []string{"**城西街道请假的人**（1 位）\n- 崔宏（大辛书记）7月5日至7月20日"}},
		{who: "luolimei", text: "销假 崔宏", want: []string{"已销假：**崔宏**，从现在起催报恢复@崔宏。"}},
		{who: "luolimei", text: "销假 崔宏", want: []string{"崔宏没有登记请假，不用销假。"}},
		{who: "luolimei", text: "请假", want: []string{"现在没有人请假。"}},
	})
}

// TestReminderPlanSince: 提醒计划 reads the day to report from, and refuses a day it
// cannot read or that has not come.
func TestReminderPlanSince(t *testing.T) {
	h := withScheduler(newHarness(t)) // 7月5日 09:00; the scheduler never ran before
	if err := h.bot.Reminders.(interface{ Tick(context.Context) error }).Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.run([]step{
		{who: "quxin", text: "提醒计划", want: []string{"**7月2日以来**：已发 1 项（1 条消息），**没发出 2 项**。",
			"- ⚠️ 机器人停机错过了发送时间，已过时效，未补发：7月2日 09:00 「会员代表人数」7月6日截止提醒、7月2日 09:30 每日催报（@逾期社区）"}},
		{who: "quxin", text: "提醒计划 6月29日", want: []string{"**6月29日以来**：已发 1 项（1 条消息），**没发出 8 项**。\n" +
			"- ⚠️ 机器人停机错过了发送时间，已过时效，未补发：6月29日 2 项、6月30日 2 项、7月1日 2 项、7月2日 2 项"}},
		{who: "quxin", text: "提醒计划 明天", want: []string{"7月6日还没到"}},
		{who: "quxin", text: "提醒计划 最近", want: []string{"看不懂「最近」，请写一个日期，例如「提醒计划 7月5日」"}},
	})
}

// TestExemptionHoldsInFilingReply: an item the office excused stays excused in the reply
// to the community's next filing: the election of a community excused from the publicity
// and the candidates' review is not flagged for lacking them, as the card says.
func TestExemptionHoldsInFilingReply(t *testing.T) {
	h := newHarness(t) // 7月5日 09:00
	h.run([]step{
		{who: "luolimei", text: "免报 大辛 公示 会员大会代替", want: []string{"已登记免报"}},
		{who: "luolimei", text: "免报 大辛 候选人 会员大会直接选举", want: []string{"已登记免报"}},
		{who: "cuihong", text: "选举 7月10日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 11人", at: "2021-07-10",
			want: []string{"✅", "已报街道批复备案"}, not: []string{"有问题", "还没有报代表名单公示", "还没有通过街道初审"}},
		{who: "quxin", text: "大辛", want: []string{"➖ **代表名单公示**：免报（会员大会代替）", "**选举结果**"}, not: []string{"⚠️"}},
	})
}
