package handlers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/storage"
)

// dyingOutbox stands for a process killed right after the filing was saved and before the
// office's notice was queued: its Enqueue never returns.
type dyingOutbox struct{}

type killed struct{}

func (dyingOutbox) Enqueue(context.Context, string, []storage.OutMsg) error { panic(killed{}) }

// TestRefilingNoticeSurvivesACrashAfterTheSave: a refiling of an approved version is
// answered first (Repeatable, no claim). When the replica dies between the save and the
// office's notice, WeCom sends the message again and another replica handles it: its
// answer says 「已通知街道办」, so the notice must be queued then — else the office is
// never told and the approved version silently stays approved in its eyes.
func TestRefilingNoticeSurvivesACrashAfterTheSave(t *testing.T) {
	h := newHarness(t)
	h.say("cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽")
	h.say("luolimei", "初审通过 大辛")
	h.notices() // the approval's notice

	m := bot.Message{MsgID: "refile-1", ChatID: chat, ChatType: "group", From: bot.From{UserID: "cuihong"},
		MsgType: "text", Text: &bot.Text{Content: "@换届助手 候选人 会长 崔宏 副会长 赵敏 秘书长 李丽"}}
	if !h.bot.Repeatable(m) {
		t.Fatal("the refiling is not Repeatable: it would be claimed first")
	}
	real := h.bot.Outbox
	h.bot.Outbox = dyingOutbox{}
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Fatal("the first handling did not reach the office's notice")
			}
		}()
		h.bot.Handle(context.Background(), m)
	}()
	h.bot.Outbox = real

	reply := h.bot.Handle(context.Background(), m).Markdown // WeCom's retry, on another replica
	if !strings.Contains(reply, "已通知街道办") {
		t.Fatalf("the retry's answer does not say the office was told:\n%s", reply)
	}
	notices := h.notices()
	if len(notices) != 1 || !strings.Contains(notices[0].Text, "重新报送") {
		t.Errorf("after the retry answered 「已通知街道办」, %d notices were queued for the office, want the refiling's one: %+v", len(notices), notices)
	}
}

// TestRefilingNoticedOnce: the same refiling handled twice, the first time whole (its
// notice queued), tells the office once, and both handlings answer alike.
func TestRefilingNoticedOnce(t *testing.T) {
	h := newHarness(t)
	h.say("cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽")
	h.say("luolimei", "初审通过 大辛")
	h.notices()
	m := bot.Message{MsgID: "refile-2", ChatID: chat, ChatType: "group", From: bot.From{UserID: "cuihong"},
		MsgType: "text", Text: &bot.Text{Content: "@换届助手 候选人 会长 崔宏 副会长 赵敏 秘书长 李丽"}}
	first := h.bot.Handle(context.Background(), m).Markdown
	again := h.bot.Handle(context.Background(), m).Markdown
	if first != again || !strings.Contains(first, "已通知街道办") || strings.Contains(again, "\x1e") {
		t.Errorf("the two handlings answer differently:\n%s\n---\n%s", first, again)
	}
	if n := len(h.notices()); n != 1 {
		t.Errorf("%d notices for one refiling handled twice, want 1", n)
	}
}

// failingSaves fails every save while on.
type failingSaves struct {
	storage.Filings
	on bool
}

func (f *failingSaves) SaveAnswered(ctx context.Context, fl campaign.Filing, answer, notice string) error {
	if f.on {
		return errors.New("redis: connection reset")
	}
	return f.Filings.SaveAnswered(ctx, fl, answer, notice)
}

// TestConfirmSurvivesAFailedSave: a 「确认」 whose saving fails leaves the filing held, so
// the 「确认」 sent again saves it; before, the first 「确认」 had already taken it away and
// the second was told 「没有待确认」.
func TestConfirmSurvivesAFailedSave(t *testing.T) {
	h := newHarness(t)
	fs := &failingSaves{Filings: h.bot.Filings}
	h.bot.Filings = fs
	h.run([]step{{who: "yudunfu", text: "会员 101 人口 2001", want: []string{"还没有保存"}}})
	fs.on = true
	if got := h.say("yudunfu", "确认"); strings.Contains(got, "已登记") {
		t.Fatalf("saved although the store failed:\n%s", got)
	}
	fs.on = false
	h.run([]step{{who: "yudunfu", text: "确认", want: []string{"**太平社区 · 会员数和总人口** 已登记", "总人口 2001 人"}}})
	h.run([]step{{who: "yudunfu", text: "确认", want: []string{"没有"}}})
}
