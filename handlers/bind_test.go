package handlers

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"huanjie/bot"
)

var requestCode = regexp.MustCompile(`编号 \*\*(\d{4})\*\*`)

// code is the request code in a 绑定 reply.
func code(t *testing.T, reply string) string {
	t.Helper()
	m := requestCode.FindStringSubmatch(reply)
	if m == nil {
		t.Fatalf("no request code in %q", reply)
	}
	return m[1]
}

func TestBindingFlow(t *testing.T) {
	h := newHarness(t)
	reply := h.say("wx_opaque_01", "绑定 大辛社区 秘书长 李丽")
	for _, w := range []string{"已提交绑定申请（编号 **", "大辛社区 秘书长 李丽，企业微信账号 wx_opaque_01", "同意绑定"} {
		if !strings.Contains(reply, w) {
			t.Errorf("request reply lacks %q:\n%s", w, reply)
		}
	}
	c := code(t, reply)
	h.run([]step{
		{who: "wx_opaque_01", text: "会员 320 人口 6200", want: []string{"我还不认识您"}},
		{who: "cuihong", text: "同意绑定 0000", want: []string{"只有街道计生协办公室可以使用"}},
		{who: "luolimei", text: "待绑定", want: []string{"等待确认的绑定申请", "编号 " + c + "：大辛社区 秘书长 李丽，企业微信账号 wx_opaque_01"}},
		{who: "luolimei", text: "同意绑定 " + c, want: []string{"已确认：大辛社区 秘书长 李丽，企业微信账号 wx_opaque_01"}},
		{who: "wx_opaque_01", text: "会员 320 人口 6200", want: []string{"**大辛社区 · 会员数和总人口** 已登记"}},
		{who: "wx_opaque_01", text: "绑定 太平 秘书长", want: []string{"您已登记为大辛社区 秘书长"}},
		{who: "luolimei", text: "同意绑定 9999", want: []string{"没有编号为 9999 的绑定申请"}},
		{who: "luolimei", text: "退回 大辛 候选人 人选需调整", want: []string{"还没有报候选人名单"}},
	})
	// The bound secretary is @-mentioned with the configured one when the office reviews.
	h.notices()
	h.say("wx_opaque_01", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽")
	h.say("luolimei", "初审通过 大辛")
	got := h.notices()
	if len(got) != 1 || strings.Join(got[0].Mentions, ",") != "cuihong,wx_opaque_01" {
		t.Fatalf("review push must @ both secretaries of 大辛: %+v", got)
	}
}

// TestStrangerCannotSlipIn replays the way in that was found: a stranger asks to be the
// office while the office approves someone else; 「同意绑定」 without a code approves
// nothing, and every request shows who really asked.
func TestStrangerCannotSlipIn(t *testing.T) {
	h := newHarness(t)
	colleague := code(t, h.say("wx_colleague", "绑定 太平 秘书长 王丽"))
	stranger := code(t, h.say("wx_stranger", "绑定 街道办 主任"))
	h.run([]step{
		{who: "luolimei", text: "同意绑定", want: []string{"请写上要确认的申请编号", "这次没有确认任何申请",
			"编号 " + colleague + "：太平社区 秘书长 王丽，企业微信账号 wx_colleague",
			"编号 " + stranger + "：街道计生协办公室 主任，企业微信账号 wx_stranger"}, not: []string{"已确认"}},
		{who: "luolimei", text: "同意绑定 " + colleague, want: []string{"已确认：太平社区 秘书长 王丽"}},
		{who: "luolimei", text: "同意绑定", want: []string{"这次没有确认任何申请", "编号 " + stranger}, not: []string{"已确认"}},
		{who: "wx_stranger", text: "暂停提醒", want: []string{"我还不认识您"}},
		{who: "wx_stranger", text: "进度", want: []string{"我还不认识您"}},
	})
}

// TestBindingNameClaims: a request claiming a configured person's name, or a bound
// colleague's, warns the office in the reply, the 1:1 notice and 待绑定.
func TestBindingNameClaims(t *testing.T) {
	h := newHarness(t)
	// 崔宏 is 大辛's 书记 in the config (userid cuihong).
	m := bot.Message{MsgID: "dm1", ChatType: "single", From: bot.From{UserID: "wx_stranger"}, MsgType: "text",
		Text: &bot.Text{Content: "绑定 大辛 书记 崔宏"}}
	reply := h.bot.Handle(context.Background(), m).Markdown
	for _, w := range []string{"大辛社区 书记 崔宏，企业微信账号 wx_stranger", "⚠️ 注意：「崔宏」是大辛社区 书记 崔宏（企业微信账号 cuihong）", "不是同一个人"} {
		if !strings.Contains(reply, w) {
			t.Errorf("reply lacks %q:\n%s", w, reply)
		}
	}
	c := code(t, reply)
	notices := h.notices()
	if len(notices) != 1 || !strings.Contains(notices[0].Text, "编号 "+c) || !strings.Contains(notices[0].Text, "企业微信账号 wx_stranger") ||
		!strings.Contains(notices[0].Text, "企业微信账号 cuihong") || strings.Join(notices[0].Mentions, ",") != "qinqiang,luolimei" {
		t.Errorf("notice to the office: %+v", notices)
	}
	h.run([]step{
		{who: "luolimei", text: "待绑定", want: []string{"企业微信账号 wx_stranger", "⚠️ 注意：「崔宏」是大辛社区 书记 崔宏（企业微信账号 cuihong）"}},
		// A name nobody holds: no warning.
		{who: "wx_new", text: "绑定 太平 卫计主任 王丽", want: []string{"企业微信账号 wx_new"}, not: []string{"⚠️"}},
	})
	h.say("luolimei", "同意绑定 "+code(t, h.say("wx_new2", "绑定 太平 秘书长 赵敏")))
	// 赵敏 is bound now (wx_new2); someone else claiming her name is flagged too.
	h.run([]step{
		{who: "wx_other", text: "绑定 太平 秘书长 赵敏", want: []string{"⚠️ 注意：「赵敏」是太平社区 秘书长 赵敏（企业微信账号 wx_new2）"}},
	})
}

// TestSecondRequestSaysItReplaces: the second 绑定 of one account names the request it
// replaces, and the old code no longer works.
func TestSecondRequestSaysItReplaces(t *testing.T) {
	h := newHarness(t)
	first := code(t, h.say("wx_u1", "绑定 大辛 秘书长 李丽"))
	reply := h.say("wx_u1", "绑定 太平 秘书长 李丽")
	second := code(t, reply)
	if !strings.Contains(reply, "您之前的绑定申请（编号 "+first+"）已被这次申请替换") {
		t.Errorf("the second request does not say it replaces the first:\n%s", reply)
	}
	h.run([]step{
		{who: "luolimei", text: "同意绑定 " + first, want: []string{"没有编号为 " + first + " 的绑定申请"}},
		{who: "luolimei", text: "同意绑定 " + second, want: []string{"已确认：太平社区 秘书长 李丽"}},
	})
}

// TestEmptyUserID: a message whose sender WeCom did not name gets a plain answer, not
// 「系统暂时出了点问题」, and nothing is stored.
func TestEmptyUserID(t *testing.T) {
	h := newHarness(t)
	for _, text := range []string{"进度", "绑定 大辛 秘书长", "会员 320 人口 6200"} {
		if got := h.say("", text); !strings.Contains(got, "企业微信没有告诉我这条消息是谁发的") || strings.Contains(got, "系统暂时出了点问题") {
			t.Errorf("「%s」 from no one: %s", text, got)
		}
	}
	if p := h.say("luolimei", "待绑定"); !strings.Contains(p, "目前没有等待确认的绑定申请") {
		t.Errorf("a request from no one was stored: %s", p)
	}
}
