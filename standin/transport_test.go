package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/bot/wecomfake"
)

// TestVoiceInTheSingleChat: the page sends a voice message in the 1:1 chat as WeCom does
// with its transcription, and the bot's handler reads it as text; in a group it is refused.
func TestVoiceInTheSingleChat(t *testing.T) {
	h := newHarness(t, testToken, nil)
	_, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", Text: "会员 320 人口 6200", Voice: true})
	if want := "**收到** local-aibot|cuihong|single||会员 320 人口 6200"; res.Reply != want {
		t.Fatalf("reply %q, want %q (%+v)", res.Reply, want, res)
	}
	code, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", ChatID: "wrkchat1", Text: "进度", Voice: true})
	if code != 400 || res.Error != msgVoiceInGroup {
		t.Fatalf("voice in a group: %d %+v", code, res)
	}
}

// TestResponseURL: the callback carries a response_url to the stand-in, which takes one
// markdown answer and shows it in the chat; a second POST is refused, as WeCom allows one.
func TestResponseURL(t *testing.T) {
	c := mustCrypto(t, testToken)
	posted := make(chan [2]int, 2)
	cb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Encrypt string }
		_ = json.NewDecoder(r.Body).Decode(&env)
		plain, _, _ := c.Decrypt(env.Encrypt)
		var m bot.Message
		_ = json.Unmarshal(plain, &m)
		go func() { // later, as a slow handler would
			for range 2 {
				body := `{"msgtype":"markdown","markdown":{"content":"**已登记**：会员 320 人"}}`
				resp, err := http.Post(m.ResponseURL, "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				var res struct{ ErrCode int }
				_ = json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
				posted <- [2]int{resp.StatusCode, res.ErrCode}
			}
		}()
		w.WriteHeader(http.StatusOK) // no passive reply
	})
	h := newHarness(t, testToken, cb)
	h.send(t, "/api/send", sendRequest{UserID: "cuihong", Text: "会员 320 人口 6200"})
	if first, second := <-posted, <-posted; first != [2]int{200, 0} || second != [2]int{200, CodeResponseURLUsed} {
		t.Fatalf("posts answered %v then %v", first, second)
	}
	var got []pushView
	for deadline := time.Now().Add(5 * time.Second); len(got) < 2 && time.Now().Before(deadline); {
		got = getPushes(t, h.url+"/api/pushes")
		time.Sleep(10 * time.Millisecond)
	}
	if len(got) != 2 || got[1].Via != viaResponse || got[1].ChatID != "single:cuihong" || got[1].Markdown != "**已登记**：会员 320 人" {
		t.Fatalf("pushes %+v", got)
	}
}

// longHarness serves the stand-in in long-connection mode: the gateway stand-in, a real
// bot.LongConn subscribed to it with the echo handler, and the page.
type longHarness struct {
	url string
	gw  *wecomfake.Gateway
	lc  *bot.LongConn
}

func newLongHarness(t *testing.T) *longHarness {
	t.Helper()
	gw := wecomfake.NewGateway(wecomfake.WithLogger(quiet))
	gw.AddBot("local-bot", "local-secret")
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.Handle("/wecom-ws", gw)
	h := &longHarness{url: srv.URL, gw: gw}
	h.lc = bot.NewLongConn(bot.LongConnOptions{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/wecom-ws",
		BotID: "local-bot", Secret: "local-secret", Handler: fetchingEcho, Log: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.lc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); !gw.Connected("local-bot"); {
		if time.Now().After(deadline) {
			t.Fatal("the bot did not subscribe")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := New(Options{Gateway: gw, BotID: "local-bot", BotName: "换届助手", Log: quiet, MediaBaseURL: srv.URL,
		Personas: []Persona{{"cuihong", "崔宏 · 大辛社区秘书长"}},
		Chats:    []Chat{{"wrkchat1", "大辛社区换届工作群", ""}}})
	t.Cleanup(func() { st.Close() })
	mux.Handle("/", st)
	return h
}

// fetchingEcho is echo, except that it downloads and decrypts an image with its key.
var fetchingEcho = bot.HandlerFunc(func(ctx context.Context, m bot.Message) bot.Reply {
	if m.Image == nil {
		return echo(ctx, m)
	}
	key, err := bot.MediaKeyFor(*m.Image, nil)
	if err != nil {
		return bot.Reply{Markdown: "key: " + err.Error()}
	}
	data, err := (&bot.MediaFetcher{}).Fetch(ctx, m.Image.URL, key)
	if err != nil {
		return bot.Reply{Markdown: "fetch: " + err.Error()}
	}
	if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
		return bot.Reply{Markdown: "decode: " + err.Error()}
	}
	return bot.Reply{Markdown: "收到一张 JPEG"}
})

func TestLongConnectionMode(t *testing.T) {
	h := newLongHarness(t)
	hs := &harness{url: h.url}
	_, res := hs.send(t, "/api/send", sendRequest{UserID: "cuihong", ChatID: "wrkchat1", Text: "进度"})
	if want := "**收到** local-aibot|cuihong|group|wrkchat1|@换届助手 进度"; res.Reply != want || res.Error != "" {
		t.Fatalf("reply %+v, want %q", res, want)
	}
	_, res = hs.send(t, "/api/enter", sendRequest{UserID: "cuihong"})
	if res.Reply != "欢迎 @cuihong" {
		t.Fatalf("welcome %+v", res)
	}
	// The bot pushes with aibot_send_msg; the page shows it in the group, as the bot.
	if err := h.lc.SendMarkdown(context.Background(), "wrkchat1", "**提醒**：明天截止"); err != nil {
		t.Fatal(err)
	}
	var got []pushView
	for deadline := time.Now().Add(5 * time.Second); len(got) == 0 && time.Now().Before(deadline); {
		got = getPushes(t, h.url+"/api/pushes")
		time.Sleep(10 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Via != viaBot || got[0].ChatID != "wrkchat1" || got[0].Markdown != "**提醒**：明天截止" {
		t.Fatalf("pushes %+v", got)
	}
	// A photo in the 1:1 chat carries its own aeskey over the long connection.
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var jpg bytes.Buffer
	_ = jpeg.Encode(&jpg, img, nil)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("userid", "cuihong")
	fw, _ := mw.CreateFormFile("file", "a.jpg")
	_, _ = fw.Write(jpg.Bytes())
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/send-image", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set(pageHeader, "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"reply":"收到一张 JPEG"`) {
		t.Fatalf("image: HTTP %d %s", resp.StatusCode, raw)
	}
}
