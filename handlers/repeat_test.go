package handlers

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"huanjie/bot"
)

// TestFilingHandledAgainChangesNothing: a filing is Repeatable — the URL callback answers
// it first and records the answer after, so WeCom's retry of it is handled again — only
// if handling the same message again changes nothing, whatever happened in between:
// another filing, an 撤销, a held filing awaiting 「确认」, the office's review. Every
// step's message is handled once, then the message named again is handled a second time
// and must leave the store (filings, history, audit, held confirmations, the outbox) as
// it was, and answer as the first handling did — recorded with the filing (Recorded,
// no ledger needed) when it was saved.
func TestFilingHandledAgainChangesNothing(t *testing.T) {
	type msg struct{ id, who, text string }
	for _, tc := range []struct {
		name   string
		steps  []msg
		again  string   // the id of the message handled again
		card   []string // 大辛's card afterwards
		notice int      // notices queued for the office, in all
		saved  bool     // the message's filing was saved (not held): its answer is Recorded
	}{
		{"after a later filing of the same item",
			[]msg{{"a", "cuihong", "会员 320 人口 6200"}, {"b", "cuihong", "会员 330 人口 6200"}},
			"a", []string{"会员 330 人"}, 0, true},
		{"after its 撤销",
			[]msg{{"a", "cuihong", "会员 320 人口 6200"}, {"u", "cuihong", "撤销"}},
			"a", nil, 0, true},
		{"held, then another held filing replaced it",
			[]msg{{"a", "cuihong", "会员 320 人口 12000"}, {"b", "cuihong", "会员 330 人口 13000"}},
			"a", nil, 0, false},
		{"held, then confirmed",
			[]msg{{"a", "cuihong", "会员 320 人口 12000"}, {"c", "cuihong", "确认"}},
			"a", []string{"会员 320 人"}, 0, false},
		{"a refiling the office had approved",
			[]msg{{"a", "cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽"}, {"p", "luolimei", "初审通过 大辛"},
				{"b", "cuihong", "候选人 会长 崔宏 副会长 赵敏 秘书长 李丽"}, {"q", "luolimei", "初审通过 大辛"}},
			"b", []string{"副会长 赵敏"}, 3, true}, // the two approvals, the refiling of an approved version
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			handle := func(m msg) bot.Reply {
				bm := bot.Message{MsgID: tc.name + "/" + m.id, ChatID: chat, ChatType: "group", From: bot.From{UserID: m.who},
					MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + m.text}}
				return h.bot.Handle(context.Background(), bm)
			}
			var again msg
			var first bot.Reply
			for _, m := range tc.steps {
				if r := handle(m); m.id == tc.again {
					again, first = m, r
				}
			}
			bm := bot.Message{MsgID: "x", ChatID: chat, ChatType: "group", From: bot.From{UserID: again.who}, MsgType: "text",
				Text: &bot.Text{Content: "@换届助手 " + again.text}}
			if !h.bot.Repeatable(bm) {
				t.Fatalf("「%s」 is not Repeatable", again.text)
			}
			before := h.dump()
			rep := handle(again)
			reply := rep.Markdown
			if reply != first.Markdown || rep.Recorded != tc.saved || first.Recorded != tc.saved || rep.Repeat != tc.saved || first.Repeat {
				t.Errorf("handled again: recorded %v (first %v), repeat %v (first %v), want %v; answer\n%s\nwant the first\n%s",
					rep.Recorded, first.Recorded, rep.Repeat, first.Repeat, tc.saved, reply, first.Markdown)
			}
			if after := h.dump(); !maps.Equal(before, after) {
				var changed []string
				for k, v := range after {
					if before[k] != v {
						changed = append(changed, strings.TrimPrefix(k, h.prefix))
					}
				}
				for k := range before {
					if _, ok := after[k]; !ok {
						changed = append(changed, strings.TrimPrefix(k, h.prefix)+" (deleted)")
					}
				}
				slices.Sort(changed)
				t.Errorf("handling 「%s」 again changed the store: %v\nreply: %s", again.text, changed, reply)
			}
			card := h.say("cuihong", "大辛")
			for _, w := range tc.card {
				if !strings.Contains(card, w) {
					t.Errorf("the card lacks %q:\n%s", w, card)
				}
			}
			if n := len(h.notices()); n != tc.notice {
				t.Errorf("%d notices queued for the office, want %d", n, tc.notice)
			}
		})
	}
}

// TestRepeatable: filings and questions are Repeatable; what confirms, undoes, reviews,
// binds or pushes is not.
func TestRepeatable(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		who, text string
		want      bool
	}{
		{"cuihong", "会员 320 人口 6200", true},
		{"cuihong", "您好，大辛社区会员330人，总人口6200", true},
		{"cuihong", "公示 7月2日", true},
		{"cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", true},
		{"quxin", "进度", true},
		{"cuihong", "今天天气不错", true},
		{"cuihong", "确认", false},
		{"cuihong", "撤销", false},
		{"luolimei", "初审通过 大辛", false},
		{"luolimei", "免报", false},
		{"luolimei", "请假", false},
		{"quxin", "催一下", false},
		{"newbie03", "绑定 大辛 秘书长", false},
		{"cuihong", "删除照片 1", false},
	} {
		m := bot.Message{MsgID: "r", ChatID: chat, ChatType: "group", From: bot.From{UserID: tc.who}, MsgType: "text",
			Text: &bot.Text{Content: "@换届助手 " + tc.text}}
		if got := h.bot.Repeatable(m); got != tc.want {
			t.Errorf("%s「%s」: Repeatable = %v, want %v", tc.who, tc.text, got, tc.want)
		}
	}
}
