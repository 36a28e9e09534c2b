package standin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/bot"
)

func jpegBytes(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, color.RGBA{uint8(x * seed), uint8(y * 7), uint8(seed * 29), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// imageBot is the bot side of the test: it downloads every image it is sent with a
// MediaFetcher, decrypts it with the callback's MediaKey and answers with its sha256.
type imageBot struct {
	crypto *bot.Crypto
	mu     sync.Mutex
	got    []bot.Message
}

func (b *imageBot) Handle(ctx context.Context, m bot.Message) bot.Reply {
	b.mu.Lock()
	b.got = append(b.got, m)
	b.mu.Unlock()
	if m.MsgType != "image" || m.Image == nil {
		return bot.Reply{Markdown: "不是图片：" + m.MsgType}
	}
	key, err := bot.MediaKeyFor(*m.Image, b.crypto.MediaKey())
	if err != nil {
		return bot.Reply{Markdown: "密钥：" + err.Error()}
	}
	data, err := (&bot.MediaFetcher{HTTP: &http.Client{Timeout: 3 * time.Second}}).Fetch(ctx, m.Image.URL, key)
	if err != nil {
		return bot.Reply{Markdown: "下载失败：" + err.Error()}
	}
	sum := sha256.Sum256(data)
	return bot.Reply{Markdown: fmt.Sprintf("收到图片 %d 字节 %s", len(data), hex.EncodeToString(sum[:]))}
}

func wantReply(data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("收到图片 %d 字节 %s", len(data), hex.EncodeToString(sum[:]))
}

// postImages posts a multipart request as the page does (with the page header unless
// noHeader) and decodes the answer.
func postImages(t *testing.T, url string, fields map[string]string, files [][]byte, noHeader bool) (int, imageResponse) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for i, f := range files {
		w, err := mw.CreateFormFile("file", fmt.Sprintf("IMG_%04d.jpg", i+1))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(f)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/send-image", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if !noHeader {
		req.Header.Set(pageHeader, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out imageResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, out
}

func TestSendImageReachesBotAsWeComWould(t *testing.T) {
	ib := &imageBot{crypto: mustCrypto(t, testToken)}
	h := newHarness(t, testToken, bot.NewCallback(ib.crypto, ib, nil, quiet))
	photo := jpegBytes(t, 3)
	code, res := postImages(t, h.url, map[string]string{"userid": "cuihong"}, [][]byte{photo}, false)
	if code != 200 || res.Error != "" || res.Reply != wantReply(photo) || len(res.Results) != 1 || res.MsgID == "" {
		t.Fatalf("got %d %+v", code, res)
	}
	ib.mu.Lock()
	m := ib.got[0]
	ib.mu.Unlock()
	if m.MsgType != "image" || m.ChatType != "single" || m.ChatID != "" || m.From.UserID != "cuihong" ||
		m.Image.AESKey != "" || !strings.HasPrefix(m.Image.URL, h.url+"/media/") {
		t.Fatalf("callback message %+v image %+v", m, m.Image)
	}

	// The media URL serves the encrypted bytes, as WeCom does.
	resp, err := http.Get(m.Image.URL)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" || resp.StatusCode != 200 {
		t.Fatalf("media: %d %q", resp.StatusCode, ct)
	}
	if bytes.Equal(enc, photo) || len(enc)%32 != 0 {
		t.Fatal("media is served unencrypted")
	}
	if plain, err := bot.DecryptMedia(ib.crypto.MediaKey(), enc); err != nil || !bytes.Equal(plain, photo) {
		t.Fatalf("media does not decrypt to the photo: %v", err)
	}
	resp, err = http.Get(h.url + "/media/0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown media: %d", resp.StatusCode)
	}
}

// Several photos in one request reach the bot one after another, each with its bytes.
func TestSendSeveralImages(t *testing.T) {
	ib := &imageBot{crypto: mustCrypto(t, testToken)}
	h := newHarness(t, testToken, bot.NewCallback(ib.crypto, ib, nil, quiet))
	photos := [][]byte{jpegBytes(t, 1), jpegBytes(t, 2), []byte("\x89PNG\r\n\x1a\n not really")}
	code, res := postImages(t, h.url, map[string]string{"userid": "wangli"}, photos, false)
	if code != 200 || len(res.Results) != 3 {
		t.Fatalf("got %d %+v", code, res)
	}
	for i, r := range res.Results {
		if r.Reply != wantReply(photos[i]) {
			t.Errorf("#%d reply %q", i+1, r.Reply)
		}
	}
	if res.Reply != res.Results[2].Reply {
		t.Errorf("top-level reply is not the last one: %q", res.Reply)
	}
}

func TestSendImageRejects(t *testing.T) {
	h := newHarness(t, testToken, nil)
	photo := jpegBytes(t, 1)
	for _, tc := range []struct {
		name     string
		fields   map[string]string
		files    [][]byte
		noHeader bool
		code     int
		want     string
	}{
		{"no page header", map[string]string{"userid": "cuihong"}, [][]byte{photo}, true, 403, pageHeader},
		{"no user", nil, [][]byte{photo}, false, 400, msgNoUser},
		{"unknown user", map[string]string{"userid": "nobody"}, [][]byte{photo}, false, 400, "没有这个人"},
		{"group", map[string]string{"userid": "cuihong", "chatid": "wrkchat1"}, [][]byte{photo}, false, 400, "只能在单聊"},
		{"no file", map[string]string{"userid": "cuihong"}, nil, false, 400, msgNoImage},
		{"empty file", map[string]string{"userid": "cuihong"}, [][]byte{{}}, false, 400, "空的"},
		{"too many", map[string]string{"userid": "cuihong"}, slicesRepeat(photo, 10), false, 400, "最多发 9 张"},
	} {
		code, res := postImages(t, h.url, tc.fields, tc.files, tc.noHeader)
		if code != tc.code || !strings.Contains(res.Error, tc.want) {
			t.Errorf("%s: got %d %+v", tc.name, code, res)
		}
	}
}

func slicesRepeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// MediaBaseURL overrides the host the bot is told to fetch from.
func TestMediaBaseURL(t *testing.T) {
	ib := &imageBot{crypto: mustCrypto(t, testToken)}
	h := newHarness(t, testToken, bot.NewCallback(ib.crypto, ib, nil, quiet))
	h.st.o.MediaBaseURL = h.url + "/"
	photo := jpegBytes(t, 5)
	_, res := postImages(t, h.url, map[string]string{"userid": "cuihong"}, [][]byte{photo}, false)
	if res.Reply != wantReply(photo) {
		t.Fatalf("got %+v", res)
	}
	ib.mu.Lock()
	defer ib.mu.Unlock()
	if u := ib.got[0].Image.URL; !strings.HasPrefix(u, h.url+"/media/") || strings.Contains(u, "//media") {
		t.Fatalf("url %s", u)
	}
}

func TestMediaStoreKeepsNewest(t *testing.T) {
	m := newMediaStore()
	first := m.put([]byte("a"))
	var last string
	for range keptMediaFiles {
		last = m.put([]byte("b"))
	}
	if _, ok := m.get(first); ok {
		t.Error("the oldest file was kept beyond the cap")
	}
	if b, ok := m.get(last); !ok || string(b) != "b" || len(m.order) != keptMediaFiles {
		t.Errorf("newest: %q %v, %d kept", b, ok, len(m.order))
	}
}

func TestPageHasImageButton(t *testing.T) {
	h := newHarness(t, testToken, nil)
	resp, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	for _, want := range []string{`id="pic"`, "📷", `aria-label="图片"`, `id="file" type="file" accept="image/*" multiple`,
		"api/send-image", "X-Standin-Page", "URL.createObjectURL", "picBtn.hidden = group", `class="thumb"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "blob:") {
		t.Errorf("CSP %q does not allow blob: images (the thumbnails)", csp)
	}
}
