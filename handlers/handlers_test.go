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

	"github.com/redis/go-redis/v9"

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

func (p *pushes) Push(_ context.Context, to bot.Target, m bot.Push) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if to.WebhookKey != "test-webhook-key" {
		return fmt.Errorf("unexpected webhook key %q", to.WebhookKey)
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
	store  *storage.Redis
	outbox storage.Outbox
	now    time.Time
	pushes *pushes
	n      int
	rdb    redis.UniversalClient // the test's Redis, under prefix
	prefix string
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
	h := &harness{t: t, store: st, outbox: st.Outbox(), rdb: c, prefix: prefix, now: time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai), pushes: &pushes{}}
	h.bot = New(Deps{Config: cfg, Filings: st, Bindings: st, Confirmations: st, Outbox: h.outbox, Pusher: h.pushes,
		Clock: func() time.Time { return h.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return h
}

// notices drains the street's outbox: the group notices the handlers queued, in order.
func (h *harness) notices() []storage.OutMsg {
	h.t.Helper()
	ctx := context.Background()
	var out []storage.OutMsg
	for {
		msgs, err := h.outbox.Claim(ctx, "chengxi", time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 1, time.Minute)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			if err := h.outbox.Ack(ctx, "chengxi", m.ID, h.now); err != nil {
				h.t.Fatal(err)
			}
			out = append(out, m)
		}
	}
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
		{who: "cuihong", text: "会员 320 人口 6200", want: []string{"✅", "已登记", "5.2%", "已覆盖上次的登记：会员 300 人"}, not: []string{"有问题"}},
		{who: "cuihong", text: "会员小组 已划分", want: []string{"✅ **大辛社区 · 会员小组划分** 已登记", "会员小组划分已划分"}},
		{who: "cuihong", text: "联系户 已建立", want: []string{"✅ **大辛社区 · 会员联系户制度** 已登记"}},
		{who: "quxin", text: "大辛", want: []string{"大辛社区 换届情况", "✅ **会员数和总人口**：会员 320 人", "⏳ **换届知识培训**：未报"}},
		{who: "cuihong", text: "培训 已参加 7月6日", at: "2021-07-06", want: []string{"换届知识培训已参加（7月6日）"}, not: []string{"问题"}},
		{who: "cuihong", text: "代表 40", want: []string{"有问题", "总人口 6200 人对应会员代表 50 名（2001 人以上），报的是 40 名"}},
		{who: "cuihong", text: "代表50名", want: []string{"会员代表 50 名", "✅"}, not: []string{"有问题"}},
		{who: "cuihong", text: "公示 7月6日", want: []string{"代表名单公示 7月6日至7月8日（3 天）", "7月9日起可以召开会员代表大会"}},
		{who: "cuihong", text: "候选人 会长崔宏 副会长 王芳 秘书长 李丽", want: []string{"候选人：会长 崔宏，副会长 王芳，秘书长 李丽", "已报街道候选人初审"}},
		{who: "quxin", text: "进度", want: []string{"**城西街道换届进度**（7月6日）", "**大辛** 第5步 候选人名单报街道初审｜已报 8/15｜待初审", "**李家窑** 尚未开始"}},
		{who: "luolimei", text: "退回 大辛 副会长人选需调整", want: []string{"已退回", "已通知大辛社区"}},
		{who: "cuihong", text: "大辛", want: []string{"↩️ **候选人名单**", "初审被退回，原因：副会长人选需调整"}},
		{who: "quxin", text: "哪些社区还没报 候选人", want: []string{"大辛（被退回）"}},
		{who: "luolimei", text: "初审通过 大辛社区", want: []string{"已于7月6日退回", "重新报送后才能审核通过"}},
		{who: "cuihong", text: "候选人 会长 崔宏 副会长 赵敏 秘书长 李丽 理事 张三 李四", want: []string{"副会长 赵敏", "理事会 2 人", "已按退回意见重新报送"}},
		{who: "luolimei", text: "初审通过 大辛社区", want: []string{"已通过初审：**大辛社区 · 候选人名单**"}},
		{who: "luolimei", text: "初审通过 大辛", want: []string{"无需重复操作"}},
		{who: "cuihong", text: "选举 7月8日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 8人", at: "2021-07-08",
			want: []string{"有问题", "理事会应为 9-11 人，报的是 8 人", "代表名单公示到7月8日才结束，选举不能早于7月9日"}},
		{who: "luolimei", text: "批复 大辛", want: []string{"还有问题，暂时不能批复备案", "理事会应为 9-11 人"}},
		{who: "cuihong", text: "选举 7月10日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 11人", want: []string{"7月10日还没到", "没有保存任何内容"}},
		{who: "cuihong", text: "选举 7月10日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 11人", at: "2021-07-10",
			want: []string{"7月10日召开会员代表大会，选出 会长 崔宏，副会长 赵敏，秘书长 李丽，理事会 11 人", "已报街道批复备案"}, not: []string{"有问题"}},
		{who: "luolimei", text: "批复 大辛", want: []string{"已批复备案：**大辛社区 · 选举结果**"}},
		{who: "cuihong", text: "职责 已落实", at: "2021-07-18", want: []string{"职责落实已落实（7月18日登记）"}},
		{who: "cuihong", text: "新任培训 已参加 7月26日", at: "2021-07-26", want: []string{"有问题", "应在7月25日前完成，登记的是7月26日"}},
		{who: "cuihong", text: "撤销", want: []string{"已撤销 **大辛社区 · 新当选人员培训**", "现在该项没有登记"}},
		{who: "cuihong", text: "居规民约 已修订", want: []string{"修订居规民约已修订"}},
		{who: "cuihong", text: "自查 已完成", want: []string{"自查已完成"}},
		{who: "cuihong", text: "总结 7月10日召开会员代表大会，选举产生新一届理事会11人。", want: []string{"总结 ", "字：7月10日召开会员代表大会，选举产生"}},
		{who: "quxin", text: "哪些社区还没报 公示", want: []string{"**还没报「代表名单公示」的社区**", "李家窑、太平", "共 14 个", "已逾期"}, not: []string{"大辛、"}},
		{who: "quxin", text: "哪些社区还没报？", want: []string{"15 个社区还有", "**大辛**：⏰照片、⏰新任培训", "**北山**：未报 15 项（⏰ 逾期 12 项）"}},
	})
	got := h.notices()
	var texts []string
	for _, n := range got {
		texts = append(texts, n.Text)
	}
	want := []string{"【街道退回】大辛社区的候选人名单被退回，原因：副会长人选需调整", "【重新报送】大辛社区已按退回意见重新报送候选人名单",
		"【街道初审】大辛社区的候选人名单已通过初审", "【街道批复】大辛社区的选举结果已批复备案"}
	if len(got) != len(want) {
		t.Fatalf("want %d notices (退回, 重新报送, 初审, 批复), got %d:\n%s", len(want), len(got), strings.Join(texts, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i].Text, w) {
			t.Errorf("notice %d: %q lacks %q", i, got[i].Text, w)
		}
	}
	if got[0].Mentions[0] != "cuihong" {
		t.Errorf("the return must @ 大辛's secretary: %+v", got[0])
	}
	if strings.Join(got[1].Mentions, ",") != "qinqiang,luolimei" {
		t.Errorf("a re-filing must @ the office: %+v", got[1].Mentions)
	}
}

func TestRefusalsStoreNothing(t *testing.T) {
	h := newHarness(t)
	h.run([]step{
		{who: "stranger", text: "会员 320 人口 6200", want: []string{"我还不认识您", "绑定 大辛 秘书长", "街道计生协办公室（罗丽梅）"}},
		{who: "stranger", text: "进度", want: []string{"我还不认识您"}},
		{who: "quxin", text: "会员 320 人口 6200", want: []string{"「会员」只有社区秘书长可以使用", "您是领导小组组长"}},
		{who: "cuihong", text: "初审通过 大辛", want: []string{"只有街道计生协办公室可以使用"}},
		{who: "cuihong", text: "免报 凤凰园 代表 会员大会代替", want: []string{"「免报」只有街道计生协办公室可以使用"}, not: []string{"已登记"}},
		{who: "cuihong", text: "会源 320", want: []string{"没看懂「会源 320」，没有保存任何内容", "您是不是想用「会员」", "例如：会员 320 人口 6200"}},
		{who: "cuihong", text: "会员 人口6200", want: []string{"「会员」的格式不对：缺少会员人数，没有保存任何内容"}},
		{who: "cuihong", text: "公示 2月30日", want: []string{"2月没有30日"}},
		{who: "cuihong", text: "总结", want: []string{"缺少换届总结正文"}},
		{who: "cuihong", text: "总结 " + strings.Repeat("好", 5001), want: []string{"换届总结有 5001 字，超过了 5000 字的上限"}},
		{who: "cuihong", text: "培训", want: []string{"是已经完成了吗"}},
		{who: "cuihong", text: "会员 320", want: []string{"缺少总人口"}},
		{who: "cuihong", text: "公示", want: []string{"请写上公示开始的日期"}},
		{who: "cuihong", text: "选举 会长 崔宏", want: []string{"请写上会员代表大会召开的日期"}},
		{who: "luolimei", text: "退回 大辛", want: []string{"请写明退回原因"}},
		{who: "luolimei", text: "批复 小辛", want: []string{"城西街道没有「小辛」社区"}},
		{who: "luolimei", text: "批复 大辛", want: []string{"大辛社区还没有报选举结果，无法审核"}},
		{who: "cuihong", text: "撤销", want: []string{"大辛社区没有可以撤销的登记"}},
		{who: "quxin", text: "大辛", want: []string{"⏰ **成立领导小组**：未报"}, not: []string{"✅", "⚠️"}},
	})
	if got := h.notices(); len(got) != 0 {
		t.Fatalf("refused commands must push nothing, got %+v", got)
	}
}

func TestHelpAndUnknownGroup(t *testing.T) {
	h := newHarness(t)
	sec := h.say("cuihong", "帮助")
	for _, w := range []string{"**换届助手 · 大辛社区**", "**接下来要报：**", "⏰ 成立领导小组（6月20日截止，已逾期 15 天）",
		"直接用一句话说就行", "「我们社区的换届领导小组成立了，组长是崔宏」", "能报的事项：领导小组、会员、会员小组", "**撤销**", "例：进度"} {
		if !strings.Contains(sec, w) {
			t.Errorf("secretary help lacks %q:\n%s", w, sec)
		}
	}
	if strings.Contains(sec, "初审通过") || strings.Count(sec, "\n") > 25 {
		t.Errorf("secretaries' help must be short and without the office's commands:\n%s", sec)
	}
	if off := h.say("luolimei", "帮助"); !strings.Contains(off, "例：退回 大辛 副会长人选需调整") || strings.Contains(off, "例：会员 320") {
		t.Errorf("office help:\n%s", off)
	}
	if nc := h.say("newcomer", "帮助"); !strings.Contains(nc, "绑定 大辛 秘书长 李丽") || strings.Contains(nc, "进度") || strings.Contains(nc, "照片") {
		t.Errorf("a newcomer's help shows how to bind, nothing they cannot use:\n%s", nc)
	}
	if got := h.say("quxin", "会员 320 人口 6200"); !strings.Contains(got, "您是领导小组组长") {
		t.Errorf("refusals say the person's configured title: %s", got)
	}
	welcome := h.bot.Handle(context.Background(), bot.Message{MsgID: "w", ChatType: "single", From: bot.From{UserID: "cuihong"},
		MsgType: "event", Event: &struct {
			EventType string `json:"eventtype"`
		}{EventType: bot.EventEnterChat}}).Markdown
	if !strings.Contains(welcome, "崔宏您好（大辛社区书记）") || !strings.Contains(welcome, "接下来要报") || !strings.Contains(welcome, "照片") {
		t.Errorf("1:1 welcome: %s", welcome)
	}
	m := bot.Message{MsgID: "x", ChatID: "some-other-group", ChatType: "group", From: bot.From{UserID: "cuihong"}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 进度"}}
	if got := h.bot.Handle(context.Background(), m).Markdown; !strings.Contains(got, "some-other-group") {
		t.Errorf("unknown group must say its chatid for the operator: %s", got)
	}
	if got := h.say("cuihong", ""); !strings.Contains(got, "发「帮助」") {
		t.Errorf("a bare @ must greet: %s", got)
	}
}
