package handlers

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

// twoStreets is one deployment serving two streets with their own groups, communities
// and rules: 东关 uses a village-style 5-3-3 council and a shorter publicity.
const twoStreets = `bot_name: 换届助手
streets:
  - id: chengxi
    name: 城西街道
    office: 城西街道计生协办公室
    groups: [{chatid: g-chengxi, name: 城西群}]
    people:
      - {userid: cx_office, role: office}
      - {userid: cx_dx, role: secretary, community: 大辛, title: 秘书长}
    communities: [{name: 大辛, population: 6200}]
    rules:
      member_share_min: 0.05
      representative_bands: [{max_population: 999, representatives: 30}, {representatives: 50}]
      publicity_days: 3
      council: {min: 9, max: 11}
    steps:
      - {item: members, phase: 2, name: 会员, start: 2021-06-21, due: 2021-06-30}
      - {item: election, phase: 6, name: 选举, start: 2021-07-01, due: 2021-07-15}
  - id: dongguan
    name: 东关街道
    office: 东关街道计生协办公室
    groups: [{chatid: g-dongguan, name: 东关群}]
    people:
      - {userid: dg_sec, role: secretary, community: 东村, title: 秘书长}
    communities: [{name: 东村, population: 800}, {name: 大辛, population: 900}]
    rules:
      member_share_min: 0.06
      representative_bands: [{representatives: 30}]
      publicity_days: 5
      council:
        makeup:
          - {name: 五老, count: 5}
          - {name: 社会贤达, count: 3, aliases: [贤达, 致富能人]}
          - {name: 村干部, count: 3}
    steps:
      - {item: members, phase: 2, name: 会员, start: 2021-06-21, due: 2021-06-30}
      - {item: publicity, phase: 4, name: 公示, start: 2021-07-01, due: 2021-07-09}
      - {item: election, phase: 6, name: 选举, start: 2021-07-01, due: 2021-07-20}
`

func TestSeveralStreets(t *testing.T) {
	cfg, err := config.Parse([]byte(twoStreets), "two.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c, prefix := testredis.Client(t)
	st := storage.NewRedis(c, prefix)
	b := New(Deps{Config: cfg, Filings: st, Bindings: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: func() time.Time { return time.Date(2021, 7, 8, 9, 0, 0, 0, campaign.Shanghai) }})
	n := 0
	say := func(user, chat, text string) string {
		n++
		m := bot.Message{MsgID: string(rune('a' + n)), From: bot.From{UserID: user}, MsgType: "text", Text: &bot.Text{Content: text}, ChatType: "single"}
		if chat != "" {
			m.ChatType, m.ChatID, m.Text.Content = "group", chat, "@换届助手 "+text
		}
		return b.Handle(context.Background(), m).Markdown
	}
	for i, s := range []struct{ user, chat, text, want string }{
		{"dg_sec", "g-dongguan", "会员 45 人口 800", "低于要求的 6%（至少需要 48 名会员）"},
		{"dg_sec", "g-dongguan", "公示 7月1日", "7月1日至7月5日（5 天）"},
		{"dg_sec", "g-dongguan", "选举 7月6日 会长 赵一 副会长 钱二 秘书长 孙三 理事 五老5 贤达2 村干部3", "社会贤达应为 3 人，报的是 2 人"},
		{"dg_sec", "", "东村", "东村社区 换届情况"},       // 1:1: the street follows the person
		{"dg_sec", "g-chengxi", "进度", "我还不认识您"}, // 东关's secretary is unknown in 城西's group
		{"cx_dx", "g-chengxi", "会员 300 人口 6200", "低于要求的 5%"},
		{"cx_office", "g-chengxi", "进度", "1. **大辛** 第2步 会员｜已报 1/2"},
		{"dg_sec", "g-dongguan", "候选人 会长 赵一 副会长 钱二 秘书长 孙三", "东关街道的换届安排里没有「候选人名单」这一项"},
		{"stranger", "", "绑定 东村 卫计主任", "已提交绑定申请"}, // 1:1: 东村 is only in 东关
		{"stranger2", "", "绑定 大辛 卫计主任", "有几个街道都有「大辛」社区"},
	} {
		got := say(s.user, s.chat, s.text)
		if !strings.Contains(got, s.want) {
			t.Errorf("step %d %s「%s」: lacks %q:\n%s", i, s.user, s.text, s.want, got)
		}
	}
	// The two streets' 大辛 are different communities: 城西's filing is not 东关's.
	cx, err := st.Record(context.Background(), "chengxi", "大辛")
	if err != nil || cx.Filings[campaign.ItemMembers].Value.Members != 300 {
		t.Errorf("城西/大辛: %+v %v", cx, err)
	}
	if dg, _ := st.Record(context.Background(), "dongguan", "大辛"); len(dg.Filings) != 0 {
		t.Errorf("东关/大辛 must be empty: %+v", dg)
	}
}
