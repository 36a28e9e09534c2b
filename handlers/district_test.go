package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

// districtYAML is a district of two streets with its own leaders and group chat.
const districtYAML = `bot_name: 换届助手
streets:
  - id: chengxi
    name: 城西街道
    office: 城西街道计生协办公室
    groups: [{chatid: g-chengxi, name: 城西群}]
    people:
      - {userid: cx_dx, role: secretary, community: 大辛, title: 秘书长}
      - {userid: cx_tp, role: secretary, community: 太平, title: 秘书长}
    communities: [{name: 大辛, population: 6200}, {name: 太平, population: 1500}]
    rules: &rules
      member_share_min: 0.05
      representative_bands: [{max_population: 999, representatives: 30}, {representatives: 50}]
      publicity_days: 3
      council: {min: 9, max: 11}
    steps: &steps
      - {item: leading_group, phase: 1, name: 领导小组, start: 2021-06-11, due: 2021-06-20}
      - {item: members, phase: 2, name: 会员, start: 2021-06-21, due: 2021-06-30}
  - id: dongguan
    name: 东关街道
    office: 东关街道计生协办公室
    groups: [{chatid: g-dongguan, name: 东关群}]
    people:
      - {userid: dg_dm, role: secretary, community: 东门, title: 秘书长}
    communities: [{name: 东门, population: 3000}, {name: 南关, population: 2500}, {name: 北苑, population: 900}]
    rules: *rules
    steps: *steps
districts:
  - id: boshan
    name: 博山区
    groups: [{chatid: g-boshan, name: 博山区换届群}]
    people:
      - {userid: qu_zhang, name: 张明, role: leader, title: 区长}
    streets: [chengxi, dongguan]
`

func TestDistrict(t *testing.T) {
	cfg, err := config.Parse([]byte(districtYAML), "district.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c, prefix := testredis.Client(t)
	st := storage.NewRedis(c, prefix)
	links := &recLinks{}
	now := time.Date(2021, 7, 2, 9, 0, 0, 0, campaign.Shanghai)
	b := New(Deps{Config: cfg, Filings: st, Bindings: st, Confirmations: st, Links: links, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: func() time.Time { return now }})
	n := 0
	say := func(user, chat, text string) string {
		n++
		m := bot.Message{MsgID: fmt.Sprint(n), From: bot.From{UserID: user}, MsgType: "text", Text: &bot.Text{Content: text}, ChatType: "single"}
		if chat != "" {
			m.ChatType, m.ChatID, m.Text.Content = "group", chat, "@换届助手 "+text
		}
		return b.Handle(context.Background(), m).Markdown
	}
	say("cx_dx", "g-chengxi", "领导小组 组长 崔宏")
	say("cx_dx", "g-chengxi", "会员 320 人口 6200")
	say("dg_dm", "g-dongguan", "领导小组 组长 王刚")
	for _, tc := range []struct {
		user, chat, text string
		want, not        []string
	}{
		{"qu_zhang", "g-boshan", "进度", []string{"**博山区换届进度**（7月2日）", "共 2 个街道、5 个社区：全部报齐 1 个，有问题 0 个，有逾期 4 个",
			"1. **城西街道** 2 个社区｜报齐 1｜有问题 0｜逾期 1", "2. **东关街道** 3 个社区｜报齐 0｜有问题 0｜逾期 3"}, nil},
		{"qu_zhang", "g-boshan", "哪些社区还没报", []string{"2 个街道、4 个社区", "**东关街道**（3 个）：⏰东门、⏰南关、⏰北苑", "**城西街道**（1 个）：⏰太平"},
			[]string{"大辛"}},
		{"qu_zhang", "g-boshan", "哪些社区还没报 会员", []string{"还没报「会员数和总人口」的社区", "**东关街道**（3 个）"}, nil},
		{"qu_zhang", "g-boshan", "城西", []string{"**城西街道换届进度**", "**大辛** 第2步 会员｜已报 2/2", "**太平** 尚未开始"}, nil},
		{"qu_zhang", "", "进度", []string{"**博山区换届进度**"}, nil}, // 1:1: the district follows the person
		{"qu_zhang", "g-boshan", "会员 1 人口 2", []string{"在博山区的群里可以问"}, []string{"已登记"}},
		{"cx_dx", "g-boshan", "进度", []string{"我还不认识您"}, []string{"街道"}},
	} {
		got := say(tc.user, tc.chat, tc.text)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s「%s」 lacks %q:\n%s", tc.user, tc.text, w, got)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(got, w) {
				t.Errorf("%s「%s」 must not say %q:\n%s", tc.user, tc.text, w, got)
			}
		}
	}
	// 图表: one bar per street, as a link (this chat has no push key).
	if got := say("qu_zhang", "g-boshan", "图表"); !strings.Contains(got, "2 个街道各一条") || !strings.Contains(got, "博山区换届进度图_") {
		t.Errorf("district 图表: %s", got)
	}
	// 导出: a summary sheet and a sheet per street.
	reply := say("qu_zhang", "g-boshan", "导出")
	var data []byte
	for name, d := range links.files {
		if strings.HasPrefix(name, "博山区") && strings.HasSuffix(name, ".xlsx") {
			data = d
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%v: %s", err, reply)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Contains(got, "城西街道") || !slices.Contains(got, "东关街道") || len(got) < 3 {
		t.Errorf("district workbook sheets %q", got)
	}
}

func TestDistrictConfigErrors(t *testing.T) {
	bad := strings.Replace(districtYAML, "streets: [chengxi, dongguan]", "streets: [chengxi, xicheng]", 1)
	bad = strings.Replace(bad, "role: leader, title: 区长", "role: secretary, title: 区长", 1)
	bad = strings.Replace(bad, "groups: [{chatid: g-boshan, name: 博山区换届群}]", "groups: [{chatid: g-chengxi, name: 博山区换届群, push: robot}]", 1)
	_, err := config.Parse([]byte(bad), "district.yaml", func(string) string { return "" })
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{`districts[0].streets[1]: 街道 "xicheng" 不在 streets 里`, "districts[0].people[0].role",
		"districts[0].groups[0].chatid: 同一个群不能出现两次（街道和区的群也不能相同）", "districts[0].groups[0].push: 只能是 webhook"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestAnswersFitAtScale: in a street of 10 000 communities 进度 and 哪些社区还没报 put their
// totals first, list the worst, say how many are left out, and stay within WeCom's 20 480
// bytes — never cut mid-list.
func TestAnswersFitAtScale(t *testing.T) {
	h := newHarness(t)
	st := &h.bot.Config.Streets[0]
	st.Communities = nil
	for i := range 10000 {
		st.Communities = append(st.Communities, config.Community{Name: fmt.Sprintf("社区%05d", i), Population: 2000})
	}
	st.Index()
	h.bot.Config.Index()
	h.now = time.Date(2021, 7, 12, 9, 0, 0, 0, campaign.Shanghai)
	for _, tc := range []struct{ text, totals, rest string }{
		{"进度", "共 10000 个社区：全部报齐 0 个，有问题 0 个，有逾期 10000 个。", "其余 9970 个社区没有列出"},
		{"哪些社区还没报", "10000 个社区还有", "其余 9970 个社区没有列出"},
		{"哪些社区还没报 公示", "共 10000 个", "其余 9800 个没有列出"},
	} {
		got := h.say("quxin", tc.text)
		lines := strings.Split(got, "\n")
		if len(got) > bot.MaxStreamContent || !strings.Contains(strings.Join(lines[:2], "\n"), tc.totals) || !strings.Contains(got, tc.rest) {
			t.Errorf("「%s」: %d bytes, first lines %q, want totals %q and %q", tc.text, len(got), lines[:min(3, len(lines))], tc.totals, tc.rest)
		}
	}
}

// keyedPushes records pushes by webhook key.
type keyedPushes struct {
	mu  sync.Mutex
	got map[string]int
}

func (p *keyedPushes) Push(_ context.Context, to bot.Target, _ bot.Push) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got[to.WebhookKey]++
	return nil
}

// TestFilesGoToTheAsker: 图表 asked in one of a street's groups is pushed into that group
// only; asked 1:1 it is a link, pushed nowhere.
func TestFilesGoToTheAsker(t *testing.T) {
	yaml := strings.Replace(districtYAML, "groups: [{chatid: g-dongguan, name: 东关群}]",
		"groups: [{chatid: g-dongguan, name: 东关群, webhook_key_env: K1}, {chatid: g-dongguan-2, name: 东关二群, webhook_key_env: K2}]", 1)
	cfg, err := config.Parse([]byte(yaml), "two-groups.yaml", func(k string) string { return "key-" + k })
	if err != nil {
		t.Fatal(err)
	}
	c, prefix := testredis.Client(t)
	st := storage.NewRedis(c, prefix)
	pushes := &keyedPushes{got: map[string]int{}}
	b := New(Deps{Config: cfg, Filings: st, Bindings: st, Confirmations: st, Pusher: pushes, Links: &recLinks{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: func() time.Time { return time.Date(2021, 7, 2, 9, 0, 0, 0, campaign.Shanghai) }})
	ask := func(chat, text string) string {
		m := bot.Message{MsgID: chat + text, From: bot.From{UserID: "dg_dm"}, MsgType: "text", ChatType: "single", Text: &bot.Text{Content: text}}
		if chat != "" {
			m.ChatType, m.ChatID = "group", chat
		}
		return b.Handle(context.Background(), m).Markdown
	}
	ask("g-dongguan-2", "图表")
	if pushes.got["key-K2"] != 1 || pushes.got["key-K1"] != 0 {
		t.Errorf("图表 in 东关二群 pushed %v, want only into it", pushes.got)
	}
	if got := ask("", "图表"); !strings.Contains(got, "下载") || pushes.got["key-K1"] != 0 || pushes.got["key-K2"] != 1 {
		t.Errorf("1:1 图表 pushed %v; reply %s", pushes.got, got)
	}
}
