package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/internal/testredis"
)

// Test credentials for the callback: any valid token and 43-character EncodingAESKey.
const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	groupChat  = "wrkSFfCgAAchengxi2021"
)

// startBot runs the whole program, as main does, on a loopback port against real Redis
// under prefix, and returns its base URL.
func startBot(t *testing.T, prefix string, extraEnv ...string) string {
	t.Helper()
	return startBotLogging(t, prefix, testLogWriter(t), extraEnv...)
}

// startBotLogging is startBot with the bot's log written to logOut.
func startBotLogging(t *testing.T, prefix string, logOut io.Writer, extraEnv ...string) string {
	t.Helper()
	env := map[string]string{
		"LOCAL": "1", "WECOM_TOKEN": testToken, "WECOM_AES_KEY": testAESKey,
		"REDIS_URL": "redis://" + testredis.Addr() + "/0", "REDIS_PREFIX": prefix, "ADDR": "127.0.0.1:0",
		"PHOTOS_DIR": t.TempDir(), "DOWNLOADS_DIR": t.TempDir(), "AUDIT_ARCHIVE_DIR": t.TempDir(),
	}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		env[extraEnv[i]] = extraEnv[i+1]
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, logOut, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("bot did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("bot did not start in 10 s")
	}
	return ""
}

// page sends text as userid through the chat page's API: the page seals it like WeCom
// and posts it to /wecom/callback.
func page(t *testing.T, base, userid, text string) string {
	t.Helper()
	return pageIn(t, base, userid, groupChat, text)
}

// pageIn is page in the chat chatid ("": the 1:1 chat).
func pageIn(t *testing.T, base, userid, chatid, text string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"userid": userid, "chatid": chatid, "text": text})
	resp, err := http.Post(base+"/api/send", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Reply  string `json:"reply"`
		Status int    `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != 200 {
		t.Fatalf("send %q as %s: HTTP %d, %+v %v", text, userid, resp.StatusCode, out, err)
	}
	return out.Reply
}

// TestConversationThroughTheEndpoint runs every command of the bot through the chat
// page and the real, signed and encrypted callback endpoint, on the demo clock (2021-07-05).
func TestConversationThroughTheEndpoint(t *testing.T) {
	_, prefix := testredis.Client(t)
	testConversation(t, startBot(t, prefix))
}

func testConversation(t *testing.T, base string) {
	code := ""
	for i, s := range []struct {
		who, text string
		want      []string
	}{
		{"cuihong", "帮助", []string{"**换届助手 · 大辛社区**", "接下来要报", "「大辛社区会员320人，总人口6200人」"}},
		{"cuihong", "领导小组 组长崔宏", []string{"**大辛社区 · 成立领导小组** 已登记", "组长 崔宏", "已逾期"}},
		{"cuihong", "会员320人，人口6200", []string{"占 5.2%", "✅"}},
		{"cuihong", "培训 已参加 7月3日", []string{"换届知识培训已参加（7月3日）"}},
		{"cuihong", "代表 50", []string{"会员代表 50 名", "✅"}},
		{"cuihong", "公示 7月1日", []string{"7月1日至7月3日（3 天）", "7月4日起可以召开会员代表大会"}},
		{"cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", []string{"已报街道候选人初审"}},
		{"luolimei", "退回 大辛 副会长人选需调整", []string{"已退回", "已通知大辛社区"}},
		{"cuihong", "候选人 会长 崔宏 副会长 赵敏 秘书长 李丽", []string{"副会长 赵敏"}},
		{"luolimei", "初审通过 大辛", []string{"已通过初审"}},
		{"cuihong", "选举 7月5日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 12人", []string{"有问题", "理事会应为 9-11 人，报的是 12 人"}},
		{"cuihong", "撤销", []string{"已撤销 **大辛社区 · 选举结果**", "现在该项没有登记"}},
		{"cuihong", "选举 7月5日 会长 崔宏 副会长 赵敏 秘书长 李丽 理事会 11人", []string{"理事会 11 人", "已报街道批复备案"}},
		{"luolimei", "批复 大辛", []string{"已批复备案"}},
		{"cuihong", "职责 已落实", []string{"职责落实已落实"}},
		{"cuihong", "新任培训 已参加", []string{"新当选人员培训已参加（7月5日登记）"}},
		{"cuihong", "居规民约 已修订", []string{"修订居规民约已修订"}},
		{"cuihong", "自查 已完成", []string{"自查已完成"}},
		{"cuihong", "总结 大辛社区于7月5日召开会员代表大会，选举产生新一届理事会。", []string{"总结 ", "大辛社区于7月5日召开会员代表大会，选举产生"}},
		{"newcomer01", "进度", []string{"我还不认识您", "绑定 大辛 秘书长"}},
		{"newcomer01", "绑定 太平 卫计主任 王丽", []string{"已提交绑定申请", "太平社区 卫计主任 王丽"}},
		{"luolimei", "待绑定", []string{"太平社区 卫计主任 王丽"}},
		{"luolimei", "同意绑定 {code}", []string{"已确认：太平社区 卫计主任 王丽，企业微信账号 newcomer01"}},
		{"newcomer01", "会员 40 人口 1500", []string{"有问题", "至少需要 75 名会员"}},
		{"quxin", "进度", []string{"**城西街道换届进度**（7月5日）", "**大辛** 第11步 换届总结｜已报 12/15｜⏰ 逾期 2 项｜初审已通过｜已批复备案", "**太平** 第2步"}},
		{"quxin", "哪些社区还没报", []string{"15 个社区还有", "**李家窑**：未报 9 项（⏰ 逾期 4 项）"}},
		{"quxin", "哪些社区还没报 会员", []string{"还没报「会员数和总人口」的社区", "共 13 个", "已报但有问题：太平"}},
		{"quxin", "哪些社区还没报 会员小组", []string{"还没报「会员小组划分」的社区", "共 15 个"}},
		{"quxin", "大辛", []string{"大辛社区 换届情况", "✅ **候选人名单**", "初审已通过", "已批复备案"}},
		{"quxin", "会员 1 人口 2", []string{"「会员」只有社区秘书长可以使用"}},
		{"quxin", "进读", []string{"没看懂「进读」", "您是不是想用「进度」"}},
	} {
		got := page(t, base, s.who, strings.ReplaceAll(s.text, "{code}", code))
		for _, w := range s.want {
			if !strings.Contains(got, w) {
				t.Errorf("step %d %s「%s」: reply lacks %q:\n%s", i, s.who, s.text, w, got)
			}
		}
		if m := requestCode.FindStringSubmatch(got); m != nil {
			code = m[1] // the 绑定 request's code, for 同意绑定
		}
	}

	// What the group saw of the office's three reviews, each @-mentioning 大辛's secretary.
	// They go through the outbox, delivered within a few seconds.
	var texts []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		texts = reviewPushes(t, base)
		if len(texts) >= 3 {
			break
		}
	}
	want := []string{
		"【街道退回】大辛社区的候选人名单被退回，原因：副会长人选需调整。请修改后重新报送。 @cuihong",
		"【街道初审】大辛社区的候选人名单已通过初审，请进行公示并筹备会员代表大会。 @cuihong",
		"【街道批复】大辛社区的选举结果已批复备案。请新班子落实职责分工，参加新当选人员培训。 @cuihong",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Errorf("group pushes:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
}

// reviewPushes lists what the group received of the office's reviews, with mentions.
func reviewPushes(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/api/pushes?since=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pushes []struct {
		Text     string   `json:"text"`
		Mentions []string `json:"mentions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pushes); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, p := range pushes {
		if strings.HasPrefix(p.Text, "【街道") { // the office's reviews; reminders run on their own clock
			texts = append(texts, fmt.Sprintf("%s @%s", p.Text, strings.Join(p.Mentions, ",")))
		}
	}
	return texts
}

var requestCode = regexp.MustCompile(`编号 \*\*(\d{4})\*\*`)

// post sends a sealed callback with the given query and body to the endpoint.
func post(t *testing.T, base string, q url.Values, body []byte) (int, bot.StreamReply) {
	t.Helper()
	resp, err := http.Post(base+"/wecom/callback?"+q.Encode(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, bot.StreamReply{}
	}
	c, _ := bot.NewCrypto(testToken, testAESKey, "")
	r, err := c.OpenReply(q, raw)
	if err != nil {
		t.Fatalf("reply does not open: %v (%q)", err, raw)
	}
	return resp.StatusCode, r
}

func refreshMessage(stream string) bot.Message {
	m := bot.Message{MsgID: "refresh-" + stream + "-" + strconv.FormatInt(time.Now().UnixNano(), 10), AIBotID: "aibot",
		ChatID: groupChat, ChatType: "group", MsgType: "stream"}
	m.Stream = &struct {
		ID string `json:"id"`
	}{stream}
	return m
}

func textMessage(msgid, userid, text string) bot.Message {
	return bot.Message{MsgID: msgid, AIBotID: "aibot", ChatID: groupChat, ChatType: "group",
		From: bot.From{UserID: userid}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + text}}
}

// TestEndpointRefusesForgeries sends forged, replayed-signature and malformed callbacks:
// each is refused with 4xx and nothing is stored.
func TestEndpointRefusesForgeries(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix)
	good, _ := bot.NewCrypto(testToken, testAESKey, "")
	wrongToken, _ := bot.NewCrypto("not-the-token", testAESKey, "")
	wrongKey, _ := bot.NewCrypto(testToken, "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "")

	forged := textMessage("f1", "cuihong", "会员 999 人口 1000")
	q1, b1, _ := wrongToken.SealCallback(forged)
	q2, b2, _ := wrongKey.SealCallback(forged)
	qOK, bOK, _ := good.SealCallback(textMessage("f2", "cuihong", "进度"))
	_, bOther, _ := good.SealCallback(forged)
	// A real, correctly signed filing captured two hours ago and played again.
	qOld, bOld, _ := good.SealCallbackAt(textMessage("f3", "cuihong", "会员 999 人口 1000"), time.Now().Add(-2*time.Hour))
	qSignedGarbage := url.Values{}
	garbage := []byte(`{"encrypt":"bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"}`)
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "12345"
	qSignedGarbage.Set("timestamp", ts)
	qSignedGarbage.Set("nonce", nonce)
	qSignedGarbage.Set("msg_signature", good.Sign(ts, nonce, "bm90IGEgcmVhbCBjaXBoZXJ0ZXh0"))

	for _, tc := range []struct {
		name string
		q    url.Values
		body []byte
		want int
	}{
		{"signed with the wrong token", q1, b1, 401},
		{"encrypted with the wrong key", q2, b2, 400},
		{"a valid signature replayed on another body", qOK, bOther, 401},
		{"not JSON", qOK, []byte("hello"), 400},
		{"signed garbage", qSignedGarbage, garbage, 400},
		{"no signature", url.Values{}, bOK, 400},
		{"a 2-hour-old callback", qOld, bOld, 403},
	} {
		if got, _ := post(t, base, tc.q, tc.body); got != tc.want {
			t.Errorf("%s: HTTP %d, want %d", tc.name, got, tc.want)
		}
	}
	if card := page(t, base, "quxin", "大辛"); strings.Contains(card, "999") || strings.Contains(card, "✅") {
		t.Fatalf("a refused callback stored something:\n%s", card)
	}

	// URL verification (GET with echostr) answers the plaintext.
	q, _ := good.SealEcho("echo-123")
	resp, err := http.Get(base + "/wecom/callback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	echo, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(echo) != "echo-123" {
		t.Fatalf("URL verification: HTTP %d %q", resp.StatusCode, echo)
	}
}

// TestRetriesAnsweredOnceAcrossProcesses runs three bots on one Redis, as three replicas
// would, and delivers the same message (same msgid, as WeCom retries) to each of them at
// once. The user sees one message: every answer names the same stream, the ones still
// working finish (on refresh, as WeCom asks) with the same answer, and the filing is
// stored once.
func TestRetriesAnsweredOnceAcrossProcesses(t *testing.T) {
	_, prefix := testredis.Client(t)
	testRetriesAnsweredOnce(t, []string{startBot(t, prefix), startBot(t, prefix), startBot(t, prefix)})
}

func testRetriesAnsweredOnce(t *testing.T, bases []string) {
	c, _ := bot.NewCrypto(testToken, testAESKey, "")
	q, body, _ := c.SealCallback(textMessage("retry-1", "cuihong", "会员 320 人口 6200"))

	var mu sync.Mutex
	var answers []bot.StreamReply
	var wg sync.WaitGroup
	for _, b := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, r := post(t, b, q, body)
			if status != 200 {
				t.Errorf("HTTP %d", status)
			}
			for i := 0; i < 100 && !r.Finish; i++ { // WeCom refreshes an unfinished stream
				time.Sleep(50 * time.Millisecond)
				rq, rbody, _ := c.SealCallback(refreshMessage(r.ID))
				_, r = post(t, b, rq, rbody)
			}
			mu.Lock()
			defer mu.Unlock()
			answers = append(answers, r)
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if !a.Finish || a.ID != answers[0].ID || !strings.Contains(a.Content, "已登记") || a.Content != answers[0].Content {
			t.Fatalf("want one stream with one answer among three replicas, got %+v", answers)
		}
	}
	if hist := page(t, bases[0], "quxin", "大辛"); strings.Count(hist, "会员 320 人，总人口 6200 人") != 1 {
		t.Errorf("the card:\n%s", hist)
	}
	// Any replica now shows the same state.
	for _, b := range bases {
		if card := page(t, b, "quxin", "大辛"); !strings.Contains(card, "会员 320 人，总人口 6200 人") {
			t.Errorf("replica %s shows a different card:\n%s", b, card)
		}
	}
}

// testLogWriter sends the bot's log to the test's log when HJ_TEST_LOG is set.
func testLogWriter(t *testing.T) io.Writer {
	if os.Getenv("HJ_TEST_LOG") == "" {
		return io.Discard
	}
	return tLog{t}
}

type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
