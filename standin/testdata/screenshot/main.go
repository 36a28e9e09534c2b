// Command screenshot takes a picture of the stand-in's chat page for the README. It is
// not part of any build or test (it lives under testdata); run it by hand:
//
//	go run ./standin/testdata/screenshot -out /tmp/standin.png
//
// It needs headless Chromium (Debian: apt-get install chromium fonts-noto-cjk). It starts
// the stand-in, the real bot URL callback with a canned demo handler (not the campaign's
// handlers) and the webhook stand-in, has a short conversation through /api/send and a
// push through the webhook (one more while the page is open), seeds the page's local transcript with those real answers,
// and screenshots the page as a phone would show it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
	"huanjie/standin"
)

func main() {
	out := flag.String("out", "standin.png", "PNG to write")
	browser := flag.String("chromium", "chromium", "Chromium binary")
	width := flag.Int("width", 420, "CSS pixels")
	height := flag.Int("height", 860, "CSS pixels")
	flag.Parse()

	quiet := slog.New(slog.DiscardHandler)
	crypto, err := bot.NewCrypto("demoToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "")
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	hook := wecomfake.New(wecomfake.WithLogger(quiet))
	hook.AddKey("key-daxin")
	st := standin.New(standin.Options{
		CallbackURL: base + bot.CallbackPath,
		Crypto:      crypto,
		BotName:     "换届助手",
		Personas: []standin.Persona{
			{UserID: "cuihong", Label: "崔宏 · 大辛社区秘书长"},
			{UserID: "wangli", Label: "王丽 · 街道计生办"},
		},
		Chats:  []standin.Chat{{ChatID: "wrk-daxin", Name: "大辛社区换届工作群", WebhookKey: "key-daxin"}},
		Pushes: hook,
		Log:    quiet,
	})
	defer st.Close()

	mux := http.NewServeMux()
	mux.Handle(bot.CallbackPath, bot.NewCallback(crypto, bot.HandlerFunc(demo), nil, quiet))
	mux.Handle(wecomfake.SendPath, hook)
	var seed []byte
	mux.HandleFunc("/shot", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><script>
localStorage.setItem('huanjie-standin-v1', %q);
localStorage.setItem('huanjie-standin-v1-me', 'cuihong');
localStorage.setItem('huanjie-standin-v1-chat', 'wrk-daxin');
location.replace('/');
</script>`, seed)
	})
	mux.Handle("/", st)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()

	var entries []map[string]any
	say := func(user, text string) {
		t := time.Now().UnixMilli()
		entries = append(entries, map[string]any{"kind": "user", "userid": user, "text": text, "t": t})
		body, _ := json.Marshal(map[string]string{"userid": user, "chatid": "wrk-daxin", "text": text})
		resp, err := http.Post(base+"/api/send", "application/json", bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		var res struct{ Reply, Error string }
		_ = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if res.Error != "" {
			log.Fatal(res.Error)
		}
		entries = append(entries, map[string]any{"kind": "bot", "md": res.Reply, "to": user, "q": text, "t": t + 1})
		time.Sleep(20 * time.Millisecond)
	}
	say("cuihong", "进度")
	push := `{"msgtype":"markdown","markdown":{"content":"**换届提醒**\n候选人名单请于 <font color=\"warning\">明天 17:00 前</font> 上报。\n<@cuihong> 请安排。"}}`
	resp, err := http.Post(base+wecomfake.SendPath+"?key=key-daxin", "application/json", strings.NewReader(push))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	time.Sleep(20 * time.Millisecond)
	say("wangli", "已上报 大辛")
	seed, _ = json.Marshal(map[string]any{"wrk-daxin": entries})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "standin-shot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, *browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+dir, "--force-device-scale-factor=2",
		fmt.Sprintf("--window-size=%d,%d", *width, *height), "--timeout=6000",
		"--screenshot="+*out, base+"/shot")
	cmd.Stderr = os.Stderr
	// A push while the page is open must appear live (server-sent events).
	go func() {
		time.Sleep(2500 * time.Millisecond)
		live := `{"msgtype":"text","text":{"content":"今晚 8 点前请各社区确认选民名单。","mentioned_list":["@all"]}}`
		if resp, err := http.Post(base+wecomfake.SendPath+"?key=key-daxin", "application/json", strings.NewReader(live)); err == nil {
			resp.Body.Close()
		}
	}()
	if err := cmd.Run(); err != nil {
		log.Fatalf("chromium: %v", err)
	}
	_ = srv.Close()
	fmt.Println("wrote", *out)
}

// demo is a canned stand-in for the campaign's handlers, only for the picture.
func demo(_ context.Context, m bot.Message) bot.Reply {
	text := bot.Normalize(m.PlainText())
	switch {
	case strings.HasPrefix(text, "进度"):
		return bot.Reply{Markdown: "## 换届进度\n**已完成** <font color=\"info\">5</font> / 8 个社区\n" +
			"> 大辛社区：候选人名单 <font color=\"warning\">未上报</font>\n> 小辛社区：<font color=\"info\">已选举</font>\n" +
			"<font color=\"comment\">截至今天 9:00</font>"}
	case strings.HasPrefix(text, "已上报"):
		return bot.Reply{Markdown: "收到，<@" + m.From.UserID + "> 已登记 **大辛社区** 候选人名单上报。"}
	}
	return bot.Reply{Markdown: "我没听懂，发“帮助”看看我能做什么。"}
}
