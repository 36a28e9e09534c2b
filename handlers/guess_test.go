package handlers

import (
	"maps"
	"testing"
)

// guess is a message a careful person could not file without guessing: it is answered
// (asked back, or helped) with want in the reply, and nothing is stored.
type guess struct {
	name      string
	setup     []step
	who, text string
	at        string
	want      []string
}

var (
	candidatesDaxin   = step{who: "cuihong", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", at: "2021-07-06"}
	candidatesTaiping = step{who: "yudunfu", text: "候选人 会长 于敦富 副会长 王芳 秘书长 李丽", at: "2021-07-06"}
)

func asksBack(t *testing.T, cases []guess) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.run(tc.setup)
			before := h.dump()
			h.run([]step{{who: tc.who, text: tc.text, at: tc.at, want: tc.want, not: []string{"已登记", "已通过", "已退回", "已批复"}}})
			if after := h.dump(); !maps.Equal(before, after) {
				t.Errorf("「%s」 stored something", tc.text)
			}
		})
	}
}

// TestCounts: Counts.
func TestCounts(t *testing.T) {
	asksBack(t, []guess{
		{name: "letters in members", who: "cuihong", at: "2021-06-28", text: "会员 12OO 人口 6200", want: []string{"12OO"}},
		{name: "a letter in the population", who: "cuihong", at: "2021-06-28", text: "会员 320 人口 6200O", want: []string{"6200O"}},
		{name: "a letter in the middle", who: "cuihong", at: "2021-06-28", text: "会员1O2人 人口6200", want: []string{"1O2"}},
		{name: "a letter in representatives", who: "cuihong", at: "2021-07-03", text: "代表 5O", want: []string{"5O"}},
		{name: "a letter in the council", who: "cuihong", at: "2021-07-10", text: "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 1l人", want: []string{"1l"}},
		{name: "absurd representatives", who: "cuihong", at: "2021-07-03", text: "代表 5000", want: []string{"5000"}},
		{name: "absurd council", who: "cuihong", at: "2021-07-10", text: "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 1100人", want: []string{"1100"}},
		{name: "absurd population", who: "cuihong", at: "2021-06-28", text: "会员 320 人口 620000000", want: []string{"620000000"}},
	})
}

// TestHouseholds: Households are not people.
func TestHouseholds(t *testing.T) {
	asksBack(t, []guess{
		{name: "member households", who: "cuihong", at: "2021-06-28", text: "会员 320户 人口 6200", want: []string{"户"}},
		{name: "population in households", who: "cuihong", at: "2021-06-28", text: "会员 320 人口 6200户", want: []string{"户"}},
		{name: "representatives in households", who: "cuihong", at: "2021-07-03", text: "代表 50户", want: []string{"户"}},
		{name: "member households labelled", who: "cuihong", at: "2021-06-28", text: "会员户 320 人口 6200", want: []string{"会员"}},
	})
}

// TestCommunities: Communities inside a longer word, two communities.
func TestCommunities(t *testing.T) {
	asksBack(t, []guess{
		{name: "two communities approved at once", setup: []step{candidatesDaxin, candidatesTaiping}, who: "luolimei", at: "2021-07-07", text: "初审通过 大辛 太平", want: []string{"大辛", "太平"}},
		{name: "two communities glued", setup: []step{candidatesDaxin, candidatesTaiping}, who: "luolimei", at: "2021-07-07", text: "初审通过 太平大辛", want: []string{"大辛", "太平"}},
		{name: "a name inside a longer word", setup: []step{candidatesDaxin}, who: "luolimei", at: "2021-07-07", text: "初审通过 大辛庄", want: []string{"大辛"}},
		{name: "a name after another word", setup: []step{candidatesDaxin}, who: "luolimei", at: "2021-07-07", text: "初审通过 老大辛", want: []string{"大辛"}},
		{name: "two communities exempted", who: "luolimei", at: "2021-07-07", text: "免报 大辛 太平 代表 会员大会代替", want: []string{"大辛", "太平"}},
	})
}

// TestNames: Not names.
func TestNames(t *testing.T) {
	asksBack(t, []guess{
		{name: "undecided", who: "cuihong", at: "2021-07-06", text: "候选人 会长 崔宏 副会长 王芳 秘书长 待定", want: []string{"待定"}},
		{name: "none yet", who: "cuihong", at: "2021-07-06", text: "候选人 会长 崔宏 副会长 暂无 秘书长 李丽", want: []string{"暂无"}},
		{name: "a title for a name", who: "cuihong", at: "2021-07-06", text: "候选人 会长 书记 副会长 王芳 秘书长 李丽", want: []string{"书记"}},
		{name: "a count for names", who: "cuihong", at: "2021-07-06", text: "候选人 会长 崔宏 副会长 两人 秘书长 李丽", want: []string{"两人"}},
		{name: "a council of numbers", who: "cuihong", at: "2021-07-06", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽 理事 五个", want: []string{"五个"}},
		{name: "and others", who: "cuihong", at: "2021-07-06", text: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽 理事 王强等", want: []string{"王强等"}},
		{name: "leader undecided", who: "cuihong", at: "2021-06-15", text: "领导小组 组长 待定", want: []string{"待定"}},
		{name: "leader a title", who: "cuihong", at: "2021-06-15", text: "领导小组 组长 书记", want: []string{"书记"}},
	})
}

// TestQuestions: Questions and refusals around a command word.
func TestQuestions(t *testing.T) {
	asksBack(t, []guess{
		{name: "question about members", who: "cuihong", at: "2021-06-28", text: "会员数怎么报？", want: []string{"会员 320 人口 6200"}},
		{name: "not elected yet", who: "cuihong", at: "2021-07-08", text: "还没选举", want: []string{"选举"}},
		{name: "does not know the count", who: "cuihong", at: "2021-07-03", text: "不知道代表人数", want: []string{"代表"}},
		{name: "asks whether elected", who: "cuihong", at: "2021-07-08", text: "选举了吗", want: []string{"选举"}},
		{name: "asks whether self-check is done", who: "cuihong", at: "2021-07-26", text: "自查完成了吗", want: []string{"自查"}},
		{name: "self-check good or not", who: "cuihong", at: "2021-07-26", text: "自查 好不好", want: []string{"自查"}},
		{name: "a question with a summary word", who: "cuihong", at: "2021-07-15", text: "总结是不是7月20日前要交给街道办公室？", want: []string{"总结"}},
	})
}

// TestDoneWords: Done words instead of the value.
func TestDoneWords(t *testing.T) {
	asksBack(t, []guess{
		{name: "leader done", who: "cuihong", at: "2021-06-15", text: "领导小组 组长 已完成", want: []string{"组长的姓名"}},
		{name: "leader sorted", who: "cuihong", at: "2021-06-15", text: "领导小组 组长 搞定", want: []string{"组长的姓名"}},
		{name: "summary said done", who: "cuihong", at: "2021-07-20", text: "总结 已经写好了，明天交给街道办公室", want: []string{"总结的正文"}},
		{name: "vice president sorted", who: "cuihong", at: "2021-07-10", text: "选举 7月10日 会长 崔宏 副会长 搞定 秘书长 李丽 理事会 11人", want: []string{"搞定"}},
		{name: "self-check fine", who: "cuihong", at: "2021-07-26", text: "自查 好的", want: []string{"自查 已完成"}},
	})
}

// TestReasons: Reasons.
func TestReasons(t *testing.T) {
	asksBack(t, []guess{
		{name: "return with no reason", setup: []step{candidatesDaxin}, who: "luolimei", at: "2021-07-07", text: "退回 大辛 无", want: []string{"原因"}},
		{name: "exempt with no reason", who: "luolimei", at: "2021-07-07", text: "免报 凤凰园 代表 无", want: []string{"原因"}},
	})
}

// TestDatesOutsideCampaign: A date not written out that falls outside the campaign.
func TestDatesOutsideCampaign(t *testing.T) {
	asksBack(t, []guess{
		{name: "a bare day before the campaign", who: "cuihong", at: "2021-07-05", text: "培训 已参加 8号", want: []string{"6月8日"}},
		{name: "last month's day before the campaign", who: "cuihong", at: "2021-07-05", text: "培训 已参加 上个月8号", want: []string{"6月8日"}},
	})
}

// TestLeaves: Leaves read like every other date.
func TestLeaves(t *testing.T) {
	asksBack(t, []guess{
		{name: "leave until two days", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到7月20日 7月21日", want: []string{"几个日期"}},
		{name: "leave into next year", who: "luolimei", at: "2021-07-05", text: "请假 崔宏 到2022-07-20", want: []string{"不在本次换届的时间里"}},
	})
}
