package handlers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"huanjie/bot"
)

// dump is every key of the test's store with its serialized value: two dumps are equal
// when nothing was written in between.
func (h *harness) dump() map[string]string {
	h.t.Helper()
	ctx := context.Background()
	keys, err := h.rdb.Keys(ctx, h.prefix+"*").Result()
	if err != nil {
		h.t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, err := h.rdb.Dump(ctx, k).Result()
		if err != nil {
			h.t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// TestQuestionsChangeNothing: what Question calls a question — so that the URL callback
// answers it before claiming it, and a retry handles it again — must change nothing in
// the store when handled, whoever asks; everything that files, reviews, binds, confirms
// or pushes is not a question.
func TestQuestionsChangeNothing(t *testing.T) {
	h := newHarness(t)
	// A state with something to change: a filing, a binding request, a held
	// confirmation (a population far from the configured one).
	h.run([]step{
		{who: "cuihong", text: "会员 320 人口 6200", want: []string{"已登记"}},
		{who: "newbie01", text: "绑定 大辛 秘书长 李丽"},
		{who: "cuihong", text: "会员 320 人口 12000", want: []string{"确认"}},
	})
	for _, tc := range []struct {
		who, text string
		question  bool
	}{
		{"quxin", "进度", true},
		{"quxin", "进度怎么样？", true},
		{"cuihong", "哪些社区还没报", true},
		{"luolimei", "哪些社区还没报 公示", true},
		{"cuihong", "大辛", true},
		{"cuihong", "帮助", true},
		{"newbie02", "帮助", true},
		{"cuihong", "照片", true},
		{"luolimei", "提醒计划", true},
		{"luolimei", "待绑定", true},
		{"cuihong", "今天天气不错", true},
		{"cuihong", "", true},
		{"cuihong", "会员 330 人口 6200", false},
		{"cuihong", "您好，大辛社区会员330人，总人口6200", false},
		{"cuihong", "确认", false},
		{"cuihong", "撤销", false},
		{"cuihong", "公示 7月2日", false},
		{"luolimei", "初审通过 大辛", false},
		{"luolimei", "同意绑定 1234", false},
		{"luolimei", "暂停提醒", false},
		{"luolimei", "免报", false},
		{"luolimei", "请假", false},
		{"quxin", "导出", false},
		{"quxin", "图表", false},
		{"quxin", "催一下", false},
		{"newbie03", "绑定 大辛 秘书长", false},
		{"cuihong", "删除照片 1", false},
	} {
		t.Run(fmt.Sprintf("%s「%s」", tc.who, tc.text), func(t *testing.T) {
			h.t = t
			h.n++
			m := bot.Message{MsgID: fmt.Sprintf("q%d", h.n), ChatID: chat, ChatType: "group", From: bot.From{UserID: tc.who},
				MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + tc.text}}
			if got := h.bot.Question(m); got != tc.question {
				t.Fatalf("Question = %v, want %v", got, tc.question)
			}
			if !tc.question {
				return
			}
			before := h.dump()
			reply := h.bot.Handle(context.Background(), m).Markdown
			if after := h.dump(); !maps.Equal(before, after) {
				var changed []string
				for k, v := range after {
					if before[k] != v {
						changed = append(changed, k)
					}
				}
				for k := range before {
					if _, ok := after[k]; !ok {
						changed = append(changed, k+" (deleted)")
					}
				}
				slices.Sort(changed)
				t.Errorf("a question changed the store: %v\nreply: %s", changed, reply)
			}
		})
	}
	// A photo is never a question.
	img := bot.Message{MsgID: "img-1", ChatType: "single", From: bot.From{UserID: "cuihong"}, MsgType: "image", Image: &bot.Image{URL: "http://127.0.0.1/x.jpg"}}
	if h.bot.Question(img) {
		t.Error("a photo is called a question")
	}
}
