package bot

import (
	"strings"
	"testing"
)

// TestChatMarkdown feeds the shapes the handlers write for the group webhook (colours,
// mentions, one line per fact) and checks what a chat reply would carry instead.
func TestChatMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"warning colour in a quote", "已登记：**大辛社区 · 会员**\n> <font color=\"warning\">会员占比 4.8%，低于 5%</font>",
			"已登记：**大辛社区 · 会员**\n\n> **会员占比 4.8%，低于 5%**"},
		{"colour inside a line", "大辛：3/9 项，<font color=\"warning\">逾期 2 项</font>，<font color='info'>已完成</font>",
			"大辛：3/9 项，**逾期 2 项**，**已完成**"},
		{"bold inside a colour", `<font color="warning">**注意**：未改正</font>`, "**注意：未改正**"},
		{"colour with spaces and no text", `<FONT color="comment"> </FONT>说明`, "说明"},
		{"stray tags", `<font color="warning">没有结束`, "没有结束"},
		{"mentions", "请 <@cuihong> 和 <@wangli> 查看", "请 @cuihong 和 @wangli 查看"},
		{"lines become paragraphs", "第一行\n第二行\n第三行", "第一行\n\n第二行\n\n第三行"},
		{"blank lines stay", "第一段\n\n第二段", "第一段\n\n第二段"},
		{"list items stay together", "待报：\n- 大辛\n- 小辛\n请尽快。", "待报：\n- 大辛\n- 小辛\n\n请尽快。"},
		{"numbered list", "1. 会员\n2. 公示", "1. 会员\n2. 公示"},
		{"table rows stay together", "进度\n| 社区 | 完成 |\n|---|---|\n| 大辛 | 3 |", "进度\n\n| 社区 | 完成 |\n|---|---|\n| 大辛 | 3 |"},
		{"quote lines keep their breaks", "> 第一条\n> 第二条\n正文", "> 第一条\n>\n> 第二条\n\n正文"},
		{"code block untouched", "例如：\n```\n会员 320\n人口 6200\n```\n完", "例如：\n```\n会员 320\n人口 6200\n```\n\n完"},
		{"CRLF", "a\r\nb", "a\n\nb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ChatMarkdown(tc.in)
			if got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
			if strings.Contains(strings.ToLower(got), "<font") || strings.Contains(got, "<@") {
				t.Fatalf("webhook-only markup left in %q", got)
			}
		})
	}
}
