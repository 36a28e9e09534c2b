package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/internal/testredis"
)

// TestMetricsEndpoint talks to the bot as WeCom and the office would, then reads
// /metrics as Prometheus does: every callback is counted by its result, the handler
// latency is labelled by command word, pushes by source and result, the outbox per group,
// and nothing anyone typed or any userid appears.
func TestMetricsEndpoint(t *testing.T) {
	_, prefix := testredis.Client(t)
	base := startBot(t, prefix)
	c, _ := bot.NewCrypto(testToken, testAESKey, "")
	wrong, _ := bot.NewCrypto("not-the-token", testAESKey, "")

	q, body, _ := c.SealCallback(textMessage("metrics-1", "quxin", "进度"))
	status, first := post(t, base, q, body)
	if status != 200 || first.Empty {
		t.Fatalf("进度: HTTP %d, %+v", status, first)
	}
	time.Sleep(100 * time.Millisecond) // the answer is recorded in the ledger in the background
	// WeCom's retry (its first answer may have been lost): the same answer, same stream.
	if status, r := post(t, base, q, body); status != 200 || r.ID != first.ID || r.Content != first.Content {
		t.Fatalf("the retry: HTTP %d, %+v", status, r)
	}
	// A filing's retry, answered with the answer kept with the filing, counts the same.
	qa, ba, _ := c.SealCallback(textMessage("metrics-3", "cuihong", "会员 320 人口 6200"))
	_, filed := post(t, base, qa, ba)
	if status, r := post(t, base, qa, ba); status != 200 || r.ID != filed.ID || r.Content != filed.Content || !strings.Contains(r.Content, "已登记") {
		t.Fatalf("the filing's retry: HTTP %d, %+v, first %+v", status, r, filed)
	}
	qf, bf, _ := wrong.SealCallback(textMessage("metrics-2", "quxin", "进度"))
	if status, _ := post(t, base, qf, bf); status != 401 {
		t.Fatalf("forged: HTTP %d", status)
	}
	page(t, base, "cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽")
	page(t, base, "luolimei", "退回 大辛 副会长人选需调整") // its notice is queued in the outbox
	page(t, base, "quxin", "催一下")               // queued in the outbox too; both delivered within a second

	want := map[string]float64{
		`huanjie_callbacks_total{result="replied"}`:                                  5, // 进度, the filing and the three page messages
		`huanjie_callbacks_total{result="duplicate"}`:                                2,
		`huanjie_callbacks_total{result="rejected"}`:                                 1,
		`huanjie_callbacks_total{result="timeout"}`:                                  0,
		`huanjie_handler_duration_seconds_count{command="进度",transport="callback"}`:  2, // a question's retry is answered again, with the first answer
		`huanjie_handler_duration_seconds_count{command="退回",transport="callback"}`:  1,
		`huanjie_handler_duration_seconds_count{command="候选人",transport="callback"}`: 1,
		`huanjie_longconn_state{state="off"}`:                                        1,
	}
	var text string
	deadline := time.Now().Add(5 * time.Second)
	for {
		text = scrape(t, base)
		if v, _ := value(text, `huanjie_pushes_total{result="sent",source="reminders"}`); v >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the nudge was not delivered in 5 s:\n%s", grep(text, "huanjie_pushes_total", "huanjie_outbox"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for series, w := range want {
		if got, ok := value(text, series); !ok || got != w {
			t.Errorf("%s = %v (present: %v), want %v", series, got, ok, w)
		}
	}
	for _, series := range []string{
		`huanjie_outbox_pending{group="` + groupChat + `",street="chengxi"}`,
		`huanjie_outbox_oldest_age_seconds{group="` + groupChat + `",street="chengxi"}`,
	} {
		if _, ok := value(text, series); !ok {
			t.Errorf("%s is missing", series)
		}
	}
	if v, _ := value(text, `huanjie_redis_commands_duration_seconds_count{command="evalsha"}`); v == 0 {
		t.Error("no Redis script was timed")
	}
	for _, secret := range []string{"副会长人选需调整", "崔宏", "cuihong", "luolimei", "quxin", "metrics-1", testToken} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: HTTP %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}

// value finds one series (name and labels exactly as exposed) in the text format.
func value(text, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func grep(text string, prefixes ...string) string {
	var out []string
	for l := range strings.Lines(text) {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, strings.TrimRight(l, "\n"))
			}
		}
	}
	return strings.Join(out, "\n")
}

// syncBuffer is a bytes.Buffer the bot's goroutines may write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHoldNoSecrets runs the bot with an operator's secrets, has people file, review,
// mistype and be refused, and checks the log shows none of the secrets and none of what
// was typed.
func TestLogsHoldNoSecrets(t *testing.T) {
	_, prefix := testredis.Client(t)
	var logs syncBuffer
	const dashToken = "dash-7f3a9c1e5b"
	base := startBotLogging(t, prefix, &logs, "DASHBOARD_TOKEN", dashToken, "PUBLIC_URL", "http://127.0.0.1:1",
		"WECOM_WEBHOOK_CHENGXI", "webhook-key-5d2e")
	for _, s := range []struct{ who, text string }{
		{"cuihong", "会员 320 人口 6200"},
		{"cuihong", "候选人 会长 崔宏 副会长 王芳 秘书长 李丽"},
		{"luolimei", "退回 大辛 副会长人选需调整"},
		{"cuihong", "总结 本社区私密的工作总结正文"},
		{"cuihong", "撤销"},
		{"quxin", "进读 一二三"},
		{"newcomer01", "绑定 太平 卫计主任 王丽"},
	} {
		page(t, base, s.who, s.text)
	}
	wrong, _ := bot.NewCrypto("not-the-token", testAESKey, "")
	q, body, _ := wrong.SealCallback(textMessage("forged-1", "cuihong", "会员 999 人口 1000"))
	post(t, base, q, body)

	log := logs.String()
	for _, secret := range []string{testToken, testAESKey, dashToken, "webhook-key-5d2e",
		"副会长人选需调整", "私密的工作总结正文", "进读 一二三", "会员 320", "会员 999", "王芳"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows %q:\n%s", secret, grep(log, "time="))
		}
	}
	if !strings.Contains(log, "dashboard") {
		t.Errorf("the dashboard's address is not logged at all:\n%s", log)
	}
}
