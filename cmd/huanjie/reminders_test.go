package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"huanjie/internal/testredis"
)

type pushView struct {
	Text     string   `json:"text"`
	Mentions []string `json:"mentions"`
}

// waitPush polls the chat page's push feed until a push containing want arrives.
func waitPush(t *testing.T, base, want string) pushView {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for {
		resp, err := http.Get(base + "/api/pushes?since=0")
		if err != nil {
			t.Fatal(err)
		}
		var pushes []pushView
		err = json.NewDecoder(resp.Body).Decode(&pushes)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pushes {
			if strings.Contains(p.Text, want) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no push containing %q; got %+v", want, pushes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestRemindersThroughTheBot: the running bot (demo clock 2021-07-05 09:00) pushes the
// morning's reminders by itself; leaders and the office use 提醒计划, 催一下,
// 暂停提醒 and 恢复提醒; the page's fast-forward fires the 09:30 nudge.
func TestRemindersThroughTheBot(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix)

	waitPush(t, base, "· 「换届知识培训」3 天后（7月8日 星期四）截止。还有 15 个社区未报。报送方法：@换届助手 培训 已参加 <日期>")

	for i, s := range []struct {
		who, text string
		want      []string
	}{
		{"quxin", "提醒计划", []string{"**城西街道提醒计划**（7月5日 09:0", "**接下来**", "7月5日 09:30 每日催报（@逾期社区）",
			"**7月2日以来**：已发 1 项（1 条消息），**没发出 2 项**。", "⚠️ 机器人停机错过了发送时间，已过时效，未补发：7月2日 09:00 「会员代表人数」7月6日截止提醒、"}},
		{"cuihong", "暂停提醒", []string{"「暂停提醒」只有街道计生协办公室可以使用"}},
		{"cuihong", "催一下", []string{"「催一下」只有领导小组成员或街道计生协办公室可以使用"}},
		{"quxin", "催一下 公示", []string{"好的，已在群里催报「代表名单公示」，@了 15 个未报社区的同事（共 1 条消息"}},
		{"quxin", "催一下 总结", []string{"好的，已在群里催报「换届总结」"}},
		{"quxin", "催一下 体检", []string{"不认识事项「体检」"}},
		{"luolimei", "暂停提醒", []string{"已暂停城西街道的群提醒", "「催一下」和机器人的答复照常发送"}},
		{"quxin", "提醒计划", []string{"**提醒已暂停**，街道办发「恢复提醒」可恢复"}},
		{"luolimei", "恢复提醒", []string{"已恢复城西街道的群提醒"}},
	} {
		got := page(t, base, s.who, s.text)
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("step %d %s「%s」: reply lacks %q:\n%s", i, s.who, s.text, w, got)
			}
		}
	}
	p := waitPush(t, base, "【催报】以下社区还有事项没报，请尽快报送：\n· 大辛：代表名单公示（还有 4 天）\n") // 催一下, at once
	if len(p.Mentions) != 15 || p.Mentions[0] != "cuihong" {
		t.Errorf("催一下 must @ all 15 late secretaries: %v", p.Mentions)
	}

	// Fast-forward to the next reminder: the 09:30 nudge for the overdue member counts.
	resp, err := http.Post(base+"/api/clock", "application/json", bytes.NewReader([]byte(`{"next":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	var clock map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&clock)
	resp.Body.Close()
	if !strings.HasPrefix(clock["label"], "2021年7月5日 09:30") {
		t.Errorf("the clock should stand at 09:30: %v", clock)
	}
	p = waitPush(t, base, "【催报】以下社区有逾期未报的事项，请尽快报送：\n· 大辛：会员数和总人口、会员小组划分、会员联系户制度（逾期 5 天）\n")
	if len(p.Mentions) != 15 {
		t.Errorf("nudge mentions: %v", p.Mentions)
	}
}
