package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

const chat = "wrkSFfCgAAchengxi2021"

// pushes records what the handlers push into groups.
type pushes struct {
	mu  sync.Mutex
	got []bot.Push
}

func (p *pushes) Push(_ context.Context, key string, m bot.Push) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if key != "test-webhook-key" {
		return fmt.Errorf("unexpected webhook key %q", key)
	}
	p.got = append(p.got, m)
	return nil
}

func (p *pushes) take() []bot.Push {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.got
	p.got = nil
	return out
}

type harness struct {
	t      *testing.T
	bot    *Bot
	now    time.Time
	pushes *pushes
	n      int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg, err := config.Default(func(k string) string {
		if k == "WECOM_WEBHOOK_CHENGXI" {
			return "test-webhook-key"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	c, prefix := testredis.Client(t)
	st := storage.NewRedis(c, prefix)
	h := &harness{t: t, now: time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai), pushes: &pushes{}}
	h.bot = New(Deps{Config: cfg, Filings: st, Bindings: st, Pusher: h.pushes,
		Clock: func() time.Time { return h.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return h
}

// say sends text as userid into the street's group, the way WeCom delivers an @-mention.
func (h *harness) say(userid, text string) string {
	h.n++
	m := bot.Message{MsgID: fmt.Sprintf("m%d", h.n), ChatID: chat, ChatType: "group", From: bot.From{UserID: userid},
		MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + text}}
	return h.bot.Handle(context.Background(), m).Markdown
}

// step is one line of a conversation and what the reply must (not) say.
type step struct {
	who, text string
	want      []string
	not       []string
	at        string // optional: move the clock to this date (2021-07-10) first
}

func (h *harness) run(steps []step) {
	h.t.Helper()
	for i, s := range steps {
		if s.at != "" {
			d, err := campaign.ParseISODate(s.at)
			if err != nil {
				h.t.Fatal(err)
			}
			h.now = d.Time().Add(9 * time.Hour)
		}
		got := h.say(s.who, s.text)
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				h.t.Errorf("step %d %s「%s」: reply lacks %q:\n%s", i, s.who, s.text, w, got)
			}
		}
		for _, w := range s.not {
			if strings.Contains(got, w) {
				h.t.Errorf("step %d %s「%s」: reply must not contain %q:\n%s", i, s.who, s.text, w, got)
			}
		}
	}
}

// TestCampaignConversation walks 大辛 through every phase of the 000 plan, with the
// office's reviews and the leaders' questions in between.
func TestCampaignConversation(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "cuihong", text: "领导小组 组长 崔宏", at: "2021-06-15", want: []string{"**大辛社区 · 成立领导小组** 已登记", "组长 崔宏"}},
		{who: "cuihong", text: "会员300人，人口6200", at: "2021-06-28", want: []string{"已登记，但有问题", "4.8%", "至少需要 310 名会员", "发「撤销」"}},
		{who: "cuihong", text: "会员 320 人口 6200", want: []string{"已登记", "5.2%", "✅", "已覆盖上次的登记：会员 300 人"}, not: []string{"有问题"}},
		{who: "quxin", text: "大辛", want: []string{"大辛社区 换届情况", "✅ **会员数和总人口**：会员 320 人", "⏳ 换届知识培训：未报"}},
		{who: "cuihong", text: "培训 已参加 7月6日", at: "2021-07-06", want: []string{"换届知识培训已参加（7月6日）"}, not: []string{"问题"}},
		{who: "cuihong", text: "代表 40", want: []string{"有问题", "总人口 6200 人对应会员代表 50 名（2001 人以上），报的是 40 名"}},
		{who: "cuihong", text: "代表50名", want: []string{"会员代表 50 名", "✅"}, not: []string{"有问题"}},
		{who: "cuihong", text: "公示 7月6日", want: []string{"代表名单公示 7月6日至7月8日（3 天）", "7月9日起可以召开会员代表大会"}},
		{who: "cuihong", text: "候选人 会长崔宏 副会长 王芳 秘书长 李丽", want: []string{"候选人：会长 崔宏，副会长 王芳，秘书长 李丽", "已报街道初审"}},
		{who: "quxin", text: "进度", want: []string{"**城西街道换届进度**（7月6日）", "**大辛** 第5步 候选人名单报街道初审｜已报 6/13｜待初审", "**李家窑** 尚未开始"}},
		{who: "luolimei", text: "退回 大辛 副会长人选需调整", want: []string{"已退回", "已在群里通知大辛社区"}},
		{who: "cuihong", text: "大辛", want: []string{"初审被退回，原因：副会长人选需调整"}},
		{who: "cuihong", text: "候选人 会长 崔宏 副会长 赵敏 秘书长 李丽 理事 张三 李四", want: []string{"副会长 赵敏", "理事会 2 人"}},
		{who: "luolimei", text: "初审通过 大辛社区", want: []string{"已通过初审：**大辛社区 · 候选人名单**"}},
		{who: "luolimei", text: "初审通过 大辛", want: []string{"无需重复操作"}},
		{who: "cuihong", text: "选举 7月8日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 8人", at: "2021-07-08",
			want: []string{"有问题", "理事会应为 9-11 人，报的是 8 人", "代表名单公示到7月8日才结束，选举不能早于7月9日"}},
		{who: "cuihong", text: "选举 7月10日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 11人", at: "2021-07-10",
			want: []string{"7月10日召开会员代表大会，选出 会长 崔宏，副会长 赵敏，秘书长 李丽，理事会 11 人", "已报街道批复备案"}, not: []string{"有问题"}},
		{who: "luolimei", text: "批复 大辛", want: []string{"已批复备案：**大辛社区 · 选举结果**"}},
		{who: "cuihong", text: "职责 已落实", at: "2021-07-18", want: []string{"职责落实已落实（7月18日）"}},
		{who: "cuihong", text: "新任培训 已参加 7月26日", at: "2021-07-26", want: []string{"有问题", "应在7月25日前完成，登记的是7月26日"}},
		{who: "cuihong", text: "撤销", want: []string{"已撤销 **大辛社区 · 新当选人员培训**", "现在该项没有登记"}},
		{who: "cuihong", text: "居规民约 已修订", want: []string{"修订居规民约已修订"}},
		{who: "cuihong", text: "自查 已完成", want: []string{"自查已完成"}},
		{who: "cuihong", text: "总结 7月10日召开会员代表大会，选举产生新一届理事会11人。", want: []string{"总结 ", "字：7月10日召开会员代表大会，选举产生"}},
		{who: "quxin", text: "哪些社区还没报 公示", want: []string{"**还没报「代表名单公示」的社区**", "李家窑、太平", "共 14 个", "已逾期"}, not: []string{"大辛、"}},
		{who: "quxin", text: "哪些社区还没报？", want: []string{"**新当选人员培训**", "大辛、李家窑"}},
	})
	if got := h.pushes.take(); len(got) != 3 {
		t.Fatalf("want 3 pushes (退回, 初审, 批复), got %d: %+v", len(got), got)
	} else if got[0].Mentions[0] != "cuihong" || !strings.Contains(got[0].Text, "【街道退回】大辛社区的候选人名单被退回，原因：副会长人选需调整") {
		t.Errorf("the return must @ 大辛's secretary: %+v", got[0])
	}
}

func TestRefusalsStoreNothing(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "stranger", text: "会员 320 人口 6200", want: []string{"我还不认识您", "绑定 大辛 秘书长", "街道计生协办公室（罗丽梅）"}},
		{who: "stranger", text: "进度", want: []string{"我还不认识您"}},
		{who: "quxin", text: "会员 320 人口 6200", want: []string{"「会员」只有社区秘书长可以使用", "您是领导小组成员"}},
		{who: "cuihong", text: "初审通过 大辛", want: []string{"只有街道计生协办公室可以使用"}},
		{who: "cuihong", text: "会源 320", want: []string{"没看懂「会源 320」，没有保存任何内容", "您是不是想用「会员」", "例如：会员 320 人口 6200"}},
		{who: "cuihong", text: "会员 人口6200", want: []string{"「会员」的格式不对：缺少会员人数，没有保存任何内容"}},
		{who: "cuihong", text: "公示 2月30日", want: []string{"「2月30日」不是有效的日期"}},
		{who: "cuihong", text: "总结", want: []string{"缺少总结正文"}},
		{who: "luolimei", text: "退回 大辛", want: []string{"请写明退回原因"}},
		{who: "luolimei", text: "批复 小辛", want: []string{"城西街道没有「小辛」社区"}},
		{who: "luolimei", text: "批复 大辛", want: []string{"大辛社区还没有报选举结果，无法审核"}},
		{who: "cuihong", text: "撤销", want: []string{"大辛社区没有可以撤销的登记"}},
		{who: "quxin", text: "大辛", want: []string{"⏰ **成立领导小组**：未报"}, not: []string{"✅", "⚠️"}},
	})
	if got := h.pushes.take(); len(got) != 0 {
		t.Fatalf("refused commands must push nothing, got %+v", got)
	}
}

func TestBindingFlow(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "wx_opaque_01", text: "绑定 大辛社区 秘书长 李丽", want: []string{"已提交绑定申请（编号 **", "大辛社区 秘书长 李丽", "同意绑定"}},
		{who: "wx_opaque_01", text: "会员 320 人口 6200", want: []string{"我还不认识您"}},
		{who: "cuihong", text: "同意绑定 0000", want: []string{"只有街道计生协办公室可以使用"}},
		{who: "luolimei", text: "待绑定", want: []string{"等待确认的绑定申请", "大辛社区 秘书长 李丽"}},
		{who: "luolimei", text: "同意绑定", want: []string{"已确认：大辛社区 秘书长 李丽"}},
		{who: "wx_opaque_01", text: "会员 320 人口 6200", want: []string{"**大辛社区 · 会员数和总人口** 已登记"}},
		{who: "wx_opaque_01", text: "绑定 太平 秘书长", want: []string{"您已登记为大辛社区 秘书长"}},
		{who: "luolimei", text: "同意绑定 9999", want: []string{"没有编号为 9999 的绑定申请"}},
		{who: "luolimei", text: "退回 大辛 候选人 人选需调整", want: []string{"还没有报候选人名单"}},
	})
	// The bound secretary is @-mentioned with the configured one when the office reviews.
	h.say("wx_opaque_01", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽")
	h.say("luolimei", "初审通过 大辛")
	got := h.pushes.take()
	if len(got) != 1 || strings.Join(got[0].Mentions, ",") != "cuihong,wx_opaque_01" {
		t.Fatalf("review push must @ both secretaries of 大辛: %+v", got)
	}
}

func TestHelpAndUnknownGroup(t *testing.T) {
	h := newHarness(t)
	sec := h.say("cuihong", "帮助")
	for _, w := range []string{"**社区报送**", "例：会员 320 人口 6200", "例：撤销", "**查询和登记**", "例：进度"} {
		if !strings.Contains(sec, w) {
			t.Errorf("secretary help lacks %q:\n%s", w, sec)
		}
	}
	if strings.Contains(sec, "初审通过") {
		t.Errorf("secretaries' help must not list the office's commands")
	}
	if off := h.say("luolimei", "帮助"); !strings.Contains(off, "例：退回 大辛 副会长人选需调整") || strings.Contains(off, "例：会员 320") {
		t.Errorf("office help:\n%s", off)
	}
	m := bot.Message{MsgID: "x", ChatID: "some-other-group", ChatType: "group", From: bot.From{UserID: "cuihong"}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 进度"}}
	if got := h.bot.Handle(context.Background(), m).Markdown; !strings.Contains(got, "some-other-group") {
		t.Errorf("unknown group must say its chatid for the operator: %s", got)
	}
	if got := h.say("cuihong", ""); !strings.Contains(got, "发「帮助」") {
		t.Errorf("a bare @ must greet: %s", got)
	}
}
