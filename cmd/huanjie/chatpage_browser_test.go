package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"huanjie/internal/browsertest"
	"huanjie/internal/testredis"
	"huanjie/storage"
)

// TestChatPageInBrowser opens the local chat page of the running bot (demo clock
// 2021-07-05 09:00) in headless Chromium at a phone's 390 px, in two tabs, and checks what
// a person sees: touch-sized clock buttons, messages stamped with the campaign's time, one
// conversation in both tabs as it happens, and a notice while WeCom's rate limit holds the
// group's pushes back, gone when they are out.
func TestChatPageInBrowser(t *testing.T) {
	bin := browsertest.Chromium()
	if bin == "" {
		t.Skip("Chromium is not installed (scripts/test.sh installs it)")
	}
	client, prefix := testredis.Client(t)
	base := startBot(t, prefix)
	waitPush(t, base, "【换届提醒】") // the morning's reminders are out: nothing else until 09:30
	b := browsertest.Start(t, bin)
	b.Size(390, 844, true)
	b.Open(base + "/")
	b.Until("the clock bar shows", `!document.getElementById('clock').hidden && document.getElementById('clock-label').textContent`, 5*time.Second)

	var heights []float64
	b.Eval(`[...document.querySelectorAll('#clock button, footer button:not([hidden])')].map(e => e.getBoundingClientRect().height)`, &heights)
	if len(heights) != 4 { // in a group the photo and voice buttons are hidden
		t.Fatalf("clock and footer buttons: %v, want the 3 clock buttons and 发送", heights)
	}
	for _, h := range heights {
		if h < 44 {
			t.Errorf("a button is %.0f px tall, less than a 44 px touch target: %v", h, heights)
			break
		}
	}

	// 崔宏 asks 进度 in the group: the message and the answer carry the campaign's time.
	b.Eval(`(() => { const me = document.getElementById('me'); me.value = 'cuihong'; me.dispatchEvent(new Event('change')); return true; })()`, nil)
	send(b, "进度")
	b.Until("the bot answers 进度", `[...document.querySelectorAll('.msg .av.bot')].some(a => a.parentElement.innerText.includes('城西街道换届进度'))`, 10*time.Second)
	campaignDay := regexp.MustCompile(`^7月5日 周一 09:0\d$`)
	var stamps []struct{ Text, Stamp string }
	b.Eval(`[...document.querySelectorAll('.msg')].filter(m => !m.querySelector('.typing')).map(m => ({text: m.querySelector('.bubble').innerText.slice(0, 30), stamp: (m.querySelector('.stamp') || {}).textContent || ''}))`, &stamps)
	if len(stamps) < 3 { // the morning's reminders, the question, the answer
		t.Fatalf("messages shown: %+v", stamps)
	}
	for _, s := range stamps {
		if !campaignDay.MatchString(s.Stamp) {
			t.Errorf("message %q is stamped %q, want the campaign's 7月5日 周一 09:0x", s.Text, s.Stamp)
		}
	}
	var mine string
	b.Eval(`document.querySelector('.msg.mine .stamp').textContent`, &mine)
	if !campaignDay.MatchString(mine) {
		t.Errorf("the message sent is stamped %q", mine)
	}

	// A second tab shows the same conversation, and what the first tab sends next, live.
	b2 := b.Tab()
	b2.Size(390, 844, true)
	b2.Open(base + "/")
	b2.Until("the second tab shows 进度 and its answer", `document.body.innerText.includes('崔宏：进度') && document.body.innerText.includes('城西街道换届进度')`, 5*time.Second)
	send(b, "哪些社区还没报")
	b2.Until("the second tab shows the new question and its answer without a reload",
		`document.body.innerText.includes('崔宏：哪些社区还没报') && document.body.innerText.includes('15 个社区还有')`, 10*time.Second)
	for i, tab := range []*browsertest.Browser{b, b2} {
		var n []int
		tab.Eval(`['崔宏：进度', '崔宏：哪些社区还没报'].map(q => [...document.querySelectorAll('.bubble.plain')].filter(e => e.innerText === q).length)`, &n)
		if len(n) != 2 || n[0] != 1 || n[1] != 1 {
			t.Errorf("tab %d shows the two questions %v times, want once each", i+1, n)
		}
	}

	// 25 pushes for the group at once: WeCom takes 20 a minute through its webhook.
	before := countPushes(t, base)
	queuePushes(t, storage.NewRedis(client, prefix).Outbox(), campaignNow(t, base), 25)
	wantHeld := before + 25 - 20
	notice := regexp.MustCompile(`^还有 (\d+) 条推送在排队（企业微信限速），预计 09:0[12] 前发完$`)
	for i, tab := range []*browsertest.Browser{b, b2} {
		tab.Until("the queue notice", `document.querySelector('.note.queue')`, 10*time.Second)
		var text string
		tab.Eval(`document.querySelector('.note.queue').innerText`, &text)
		m := notice.FindStringSubmatch(text)
		if m == nil || m[1] != strconv.Itoa(wantHeld) {
			t.Errorf("tab %d: notice %q, want %d pushes waiting", i+1, text, wantHeld)
		}
	}
	var pushStamps []string
	b.Eval(`[...document.querySelectorAll('.msg')].filter(m => m.querySelector('.bubble.pushed')).map(m => (m.querySelector('.stamp') || {}).textContent || '')`, &pushStamps)
	if len(pushStamps) < 20 {
		t.Errorf("%d pushes shown, want at least the 20 that went out", len(pushStamps))
	}
	for _, s := range pushStamps {
		if !campaignDay.MatchString(s) {
			t.Errorf("a push is stamped %q, want the campaign's 7月5日 周一 09:0x", s)
			break
		}
	}
	b.Screenshot("chat-page-queue", false)
	var contrast struct {
		Checked int
		Bad     []map[string]any
	}
	b.Eval(`probe.contrast()`, &contrast)
	if contrast.Checked < 15 {
		t.Errorf("only %d texts checked for contrast", contrast.Checked)
	}
	for _, bad := range contrast.Bad {
		t.Errorf("text below WCAG AA contrast: %v", bad)
	}

	// An hour later they are all out, each once, and the notice is gone.
	b.Run("tap +1小时", chromedp.Click(chromedp.CSS(`#clock button[data-advance="1h"]`)))
	for i, tab := range []*browsertest.Browser{b, b2} {
		tab.Until(fmt.Sprintf("tab %d: the notice goes", i+1), `!document.querySelector('.note.queue')`, 10*time.Second)
		var n int
		tab.Eval(`[...document.querySelectorAll('.bubble.pushed')].filter(e => /^测试推送 \d+$/.test(e.innerText.trim())).length`, &n)
		if n != 25 {
			t.Errorf("tab %d shows %d of the 25 pushes", i+1, n)
		}
	}

	// The 1:1 chat in the second tab: WeCom's welcome, then a photo and its answer, all
	// stamped; the first tab shows the same conversation, the welcome once.
	toSingle := `(() => { const c = document.getElementById('chat'); c.value = ''; c.dispatchEvent(new Event('change')); return true; })()`
	b2.Eval(toSingle, nil)
	b2.Until("the welcome", `document.querySelector('.msg .av.bot')`, 10*time.Second)
	jpeg, _ := json.Marshal(photo(t, 1, false))
	b2.Eval(`(() => {
  const data = Uint8Array.from(atob(`+string(jpeg)+`), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([data], 'IMG_0001.jpg', {type: 'image/jpeg'}));
  const input = document.getElementById('file');
  input.files = dt.files;
  input.dispatchEvent(new Event('change'));
  return true;
})()`, nil)
	b2.Until("the photo's answer", `document.body.innerText.includes('已收到第 1 张')`, 10*time.Second)
	b.Eval(toSingle, nil)
	b.Until("the first tab shows the photo's answer", `document.body.innerText.includes('已收到第 1 张')`, 5*time.Second)
	for i, tab := range []*browsertest.Browser{b, b2} {
		var single struct {
			Bot, Images int
			Stamps      []string
		}
		tab.Eval(`({bot: document.querySelectorAll('.msg .av.bot').length, images: document.querySelectorAll('.bubble.image').length,
  stamps: [...document.querySelectorAll('.msg')].map(m => (m.querySelector('.stamp') || {}).textContent || '')})`, &single)
		if single.Bot != 2 || single.Images != 1 || len(single.Stamps) != 3 {
			t.Errorf("tab %d's 1:1 chat: %d answers, %d photos, stamps %q; want the welcome, the photo and its answer", i+1, single.Bot, single.Images, single.Stamps)
		}
		for _, s := range single.Stamps {
			if !strings.HasPrefix(s, "7月5日 周一 10:0") {
				t.Errorf("tab %d's 1:1 chat: stamp %q, want the campaign's 7月5日 10:0x (an hour on)", i+1, s)
			}
		}
	}
}

// send types text into the page and taps 发送.
func send(b *browsertest.Browser, text string) {
	b.T.Helper()
	js, _ := json.Marshal(text)
	b.Eval(`(() => { document.getElementById('input').value = `+string(js)+`; document.getElementById('send').click(); return true; })()`, nil)
}

// campaignNow is the bot's campaign clock (local mode's demo clock).
func campaignNow(t *testing.T, base string) time.Time {
	t.Helper()
	resp, err := http.Get(base + "/api/clock")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ Now time.Time }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c.Now
}

// countPushes counts what the bot pushed into the group so far.
func countPushes(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/api/pushes?since=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pushes []struct{ ChatID string }
	if err := json.NewDecoder(resp.Body).Decode(&pushes); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pushes {
		if p.ChatID == groupChat {
			n++
		}
	}
	return n
}

// queuePushes queues n pushes for the group, due at the campaign time at, as 催一下 would.
func queuePushes(t *testing.T, outbox *storage.RedisOutbox, at time.Time, n int) {
	t.Helper()
	msgs := make([]storage.OutMsg, n)
	for i := range msgs {
		msgs[i] = storage.OutMsg{ChatID: groupChat, Text: fmt.Sprintf("测试推送 %d", i+1), Created: at}
	}
	if err := outbox.Enqueue(context.Background(), "chengxi", msgs); err != nil {
		t.Fatal(err)
	}
}
