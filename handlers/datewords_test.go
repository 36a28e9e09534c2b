package handlers

import "testing"

// TestDoubledDates: a day written twice over (今天7月8日, 7月8日周五) that disagrees with
// itself is asked back; which one was meant is the sender's to say.
func TestDoubledDates(t *testing.T) {
	asksBack(t, []guess{
		{name: "today is not the day written", who: "cuihong", at: "2021-07-05", text: "公示 今天7月8日开始", want: []string{"「今天」是7月5日", "7月8日"}},
		{name: "tomorrow is not the day written", who: "cuihong", at: "2021-07-05", text: "公示 7月8日（明天）开始", want: []string{"「明天」是7月6日", "7月8日"}},
		{name: "the weekday is not the day's", who: "cuihong", at: "2021-07-05", text: "公示 7月8日周五", want: []string{"7月8日是星期四", "周五"}},
		{name: "the weekday is not the day's in brackets", who: "cuihong", at: "2021-07-05", text: "公示 7月8日（星期五）开始", want: []string{"7月8日是星期四", "星期五"}},
		{name: "a leave until a weekday that is not the day's", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到7月20日周三", want: []string{"7月20日是星期二", "周三"}},
	})
}

// TestApproxDates: 「7月8日左右」 is no day.
func TestApproxDates(t *testing.T) {
	asksBack(t, []guess{
		{name: "about a day", who: "cuihong", at: "2021-07-05", text: "公示 7月8日左右", want: []string{"「7月8日左右」不是确切的日期"}},
		{name: "around a day", who: "cuihong", at: "2021-07-05", text: "公示 7月8日前后", want: []string{"「7月8日前后」不是确切的日期"}},
		{name: "roughly a day", who: "cuihong", at: "2021-07-05", text: "公示 大约7月8日开始", want: []string{"「大约7月8日」不是确切的日期"}},
		{name: "a leave until about a day", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到7月20日左右", want: []string{"「7月20日左右」不是确切的日期"}},
		{name: "trained about a day", who: "cuihong", at: "2021-07-08", text: "培训 已参加 6号左右", want: []string{"「6号左右」不是确切的日期"}},
	})
}

// TestMonthEnd: 月底, 月初 are parts of a month, not days.
func TestMonthEnd(t *testing.T) {
	asksBack(t, []guess{
		{name: "a leave until the month's end", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到月底", want: []string{"「月底」没有写具体哪一天"}},
		{name: "a leave until this month's end", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到本月底", want: []string{"「本月底」没有写具体哪一天"}},
		{name: "publicity at the month's start", who: "cuihong", at: "2021-07-05", text: "公示 下月初开始", want: []string{"「下月初」没有写具体哪一天"}},
		{name: "a leave until July's end", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到7月底", want: []string{"「7月底」没有写具体哪一天"}},
	})
}

// TestPublicityEnd: a written end of the publicity that is not the configured length's
// is asked back, not silently replaced.
func TestPublicityEnd(t *testing.T) {
	asksBack(t, []guess{
		{name: "start and a longer end", who: "cuihong", at: "2021-07-05", text: "公示 从7月8日开始 7月12日结束", want: []string{"7月8日至7月12日", "公示 3 天", "7月10日"}},
		{name: "a longer range", who: "cuihong", at: "2021-07-05", text: "公示 7月8日-7月12日", want: []string{"7月8日至7月12日", "公示 3 天"}},
		{name: "a shorter range", who: "cuihong", at: "2021-07-05", text: "公示 7月8日到9日", want: []string{"7月8日至7月9日", "公示 3 天"}},
		{name: "a range backwards", who: "cuihong", at: "2021-07-05", text: "公示 7月10日到7月8日", want: []string{"早于开始"}},
	})
}

// TestMissingOfCommunity: 「哪些社区还没报 大辛」 answers with what 大辛 still owes.
func TestMissingOfCommunity(t *testing.T) {
	h := newHarness(t) // 7月5日
	h.run([]step{
		{who: "cuihong", text: "领导小组 组长 崔宏", at: "2021-06-15"},
		{who: "luolimei", text: "哪些社区还没报 大辛", at: "2021-07-05", want: []string{"**大辛社区还没报的**", "⏰会员"}, not: []string{"不认识事项", "领导小组"}},
		{who: "luolimei", text: "哪些社区还没报 大新", want: []string{"您是不是要找「大辛」？"}},
		{who: "luolimei", text: "哪些社区还没报 体检", want: []string{"不认识事项「体检」（也不是社区名）"}},
	})
}
