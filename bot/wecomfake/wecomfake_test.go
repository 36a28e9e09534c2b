package wecomfake

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"huanjie/internal/testclock"
)

func newFake() (*Server, *testclock.Clock) {
	c := testclock.New(time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC))
	return New(WithClock(c.Now), WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))), c
}

// send posts body to the fake and returns the HTTP status and WeCom errcode.
func send(t *testing.T, h http.Handler, method, target, body string) (int, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	if rec.Code != http.StatusOK {
		return rec.Code, -1
	}
	var res struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.ErrMsg == "" {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	return rec.Code, res.ErrCode
}

func TestValidation(t *testing.T) {
	s, _ := newFake()
	s.AddKey("k")
	const url = SendPath + "?key=k"
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, method, target, body string
		status, code               int
	}{
		{"text", "POST", url, `{"msgtype":"text","text":{"content":"hi","mentioned_list":["u1","@all"]}}`, 200, CodeOK},
		{"text at limit", "POST", url, `{"msgtype":"text","text":{"content":"` + long(MaxTextBytes) + `"}}`, 200, CodeOK},
		{"text too long", "POST", url, `{"msgtype":"text","text":{"content":"` + long(MaxTextBytes+1) + `"}}`, 200, CodeInvalidParam},
		{"markdown at limit", "POST", url, `{"msgtype":"markdown","markdown":{"content":"` + long(MaxMarkdownBytes) + `"}}`, 200, CodeOK},
		{"markdown too long", "POST", url, `{"msgtype":"markdown","markdown":{"content":"` + long(MaxMarkdownBytes+1) + `"}}`, 200, CodeInvalidParam},
		{"markdown_v2", "POST", url, `{"msgtype":"markdown_v2","markdown_v2":{"content":"| a |"}}`, 200, CodeOK},
		{"empty text", "POST", url, `{"msgtype":"text","text":{"content":""}}`, 200, CodeEmptyContent},
		{"news", "POST", url, `{"msgtype":"news","news":{"articles":[{"title":"t","url":"u"}]}}`, 200, CodeOK},
		{"image without image", "POST", url, `{"msgtype":"image"}`, 200, CodeInvalidParam},
		{"unknown type", "POST", url, `{"msgtype":"video","video":{}}`, 200, CodeInvalidMsgType},
		{"not JSON", "POST", url, `msgtype=text`, 200, CodeInvalidParam},
		{"unknown key", "POST", SendPath + "?key=nope", `{"msgtype":"text","text":{"content":"hi"}}`, 200, CodeInvalidWebhook},
		{"no key", "POST", SendPath, `{"msgtype":"text","text":{"content":"hi"}}`, 200, CodeInvalidWebhook},
		{"GET", "GET", url, "", 405, -1},
		{"other path", "POST", "/cgi-bin/webhook/get_media?key=k", "", 404, -1},
		{"GET upload", "GET", UploadPath + "?key=k&type=file", "", 405, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code := send(t, s, tc.method, tc.target, tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("HTTP %d errcode %d, want %d %d", status, code, tc.status, tc.code)
			}
		})
	}
	got := s.Messages("k")
	if len(got) != 5 {
		t.Fatalf("%d accepted, want 5", len(got))
	}
	if m := got[0]; m.MsgType != "text" || m.Content != "hi" || len(m.MentionedList) != 2 || m.Key != "k" || m.Seq != 1 || m.Time.IsZero() {
		t.Fatalf("first record %+v", m)
	}
	if got[3].MsgType != "markdown_v2" || got[3].Content != "| a |" || !strings.Contains(got[4].Content, `"title":"t"`) {
		t.Fatalf("records %+v", got[3:])
	}
}

func TestRateLimit(t *testing.T) {
	s, c := newFake()
	s.AddKey("a")
	s.AddKey("b")
	msg := `{"msgtype":"text","text":{"content":"x"}}`
	for i := 0; i < PerMinute; i++ {
		if _, code := send(t, s, "POST", SendPath+"?key=a", msg); code != CodeOK {
			t.Fatalf("message %d: errcode %d", i+1, code)
		}
		c.Advance(2 * time.Second) // 20 messages over 40 s
	}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		key     string
		code    int
	}{
		{"21st within the minute", 0, "a", CodeFreqLimit},
		{"refusals do not count, still limited", 19 * time.Second, "a", CodeFreqLimit}, // first message is 59 s old
		{"other key unaffected", 0, "b", CodeOK},
		{"first message left the window", time.Second, "a", CodeOK},
		{"second one has not", 0, "a", CodeFreqLimit},
	} {
		c.Advance(tc.advance)
		if _, code := send(t, s, "POST", SendPath+"?key="+tc.key, msg); code != tc.code {
			t.Fatalf("%s: errcode %d, want %d", tc.name, code, tc.code)
		}
	}
	if n := len(s.Messages("a")); n != PerMinute+1 {
		t.Fatalf("%d recorded for a", n)
	}
}

func TestSubscribeAndBacklog(t *testing.T) {
	s, _ := newFake()
	s.AddKey("k")
	post := func(content string) {
		t.Helper()
		if _, code := send(t, s, "POST", SendPath+"?key=k", `{"msgtype":"markdown","markdown":{"content":"`+content+`"}}`); code != CodeOK {
			t.Fatalf("errcode %d", code)
		}
	}
	post("before")
	var mu sync.Mutex
	var seen []string
	cancel := s.Subscribe(func(key string, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, key+" "+string(body))
	})
	post("during")
	send(t, s, "POST", SendPath+"?key=other", `{"msgtype":"text","text":{"content":"refused"}}`)
	cancel()
	cancel() // idempotent
	post("after")

	mu.Lock()
	defer mu.Unlock()
	want := `k {"msgtype":"markdown","markdown":{"content":"during"}}`
	if len(seen) != 1 || seen[0] != want {
		t.Fatalf("subscriber saw %q", seen)
	}
	backlog := s.Backlog("k")
	if len(backlog) != 3 || !strings.Contains(string(backlog[0]), "before") || !strings.Contains(string(backlog[2]), "after") {
		t.Fatalf("backlog %q", backlog)
	}
	backlog[0][0] = 'X'
	if s.Backlog("k")[0][0] == 'X' {
		t.Fatal("Backlog exposes internal storage")
	}
	msgs := s.Messages("k")
	msgs[0].Content = "changed"
	if s.Messages("k")[0].Content != "before" {
		t.Fatal("Messages exposes internal storage")
	}
}

// tinyPNG is a valid 2×2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func imageBody(data []byte, sum string) string {
	if sum == "" {
		s := md5.Sum(data)
		sum = hex.EncodeToString(s[:])
	}
	return fmt.Sprintf(`{"msgtype":"image","image":{"base64":%q,"md5":%q}}`, base64.StdEncoding.EncodeToString(data), sum)
}

func TestImageMessages(t *testing.T) {
	s, _ := newFake()
	s.AddKey("k")
	pic := tinyPNG(t)
	jpg := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 20)...)
	big := append(bytes.Clone(pic), make([]byte, MaxImageBytes)...)
	const url = SendPath + "?key=k"
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"png", imageBody(pic, ""), CodeOK},
		{"jpg, upper-case md5", imageBody(jpg, strings.ToUpper(hex.EncodeToString(func() []byte { s := md5.Sum(jpg); return s[:] }()))), CodeOK},
		{"md5 of other bytes", imageBody(pic, strings.Repeat("0", 32)), CodeInvalidParam},
		{"not base64", `{"msgtype":"image","image":{"base64":"%%%","md5":"00"}}`, CodeInvalidParam},
		{"no md5", `{"msgtype":"image","image":{"base64":"aGVsbG8="}}`, CodeInvalidParam},
		{"over 2 MB", imageBody(big, ""), CodeImageSize},
		{"not an image", imageBody([]byte("GIF89a......"), ""), CodeMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, code := send(t, s, "POST", url, tc.body); code != tc.code {
				t.Fatalf("errcode %d, want %d", code, tc.code)
			}
		})
	}
	got := s.Messages("k")
	if len(got) != 2 || !bytes.Equal(got[0].Image, pic) || !bytes.Equal(got[1].Image, jpg) || got[0].MsgType != "image" {
		t.Fatalf("recorded %d messages", len(got))
	}
	if !strings.Contains(got[0].Content, fmt.Sprintf(`"size":%d`, len(pic))) {
		t.Errorf("content %q", got[0].Content)
	}
	got[0].Image[0] = 'X'
	if s.Messages("k")[0].Image[0] == 'X' {
		t.Fatal("Messages exposes the stored image")
	}
}

// upload posts data as the multipart part field (named name) and returns the answer.
func upload(t *testing.T, h http.Handler, target, field, name string, data []byte) (code int, mediaID string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	pw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = pw.Write(data)
	_ = mw.Close()
	req := httptest.NewRequest("POST", target, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var res struct {
		ErrCode   int    `json:"errcode"`
		ErrMsg    string `json:"errmsg"`
		Type      string `json:"type"`
		MediaID   string `json:"media_id"`
		CreatedAt string `json:"created_at"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &res) != nil || res.ErrMsg == "" {
		t.Fatalf("HTTP %d %q", rec.Code, rec.Body)
	}
	if res.ErrCode == CodeOK && (res.Type != "file" || res.MediaID == "" || res.CreatedAt == "") {
		t.Fatalf("answer %+v", res)
	}
	return res.ErrCode, res.MediaID
}

func TestUpload(t *testing.T) {
	s, c := newFake()
	s.AddKey("k")
	const target = UploadPath + "?key=k&type=file"
	for _, tc := range []struct {
		name, target, field, file string
		size, code                int
	}{
		{"6 bytes", target, "media", "名单.xlsx", 6, CodeOK},
		{"20 MB", target, "media", "big.bin", MaxFileBytes, CodeOK},
		{"5 bytes", target, "media", "a.txt", 5, CodeFileSize},
		{"over 20 MB", target, "media", "huge.bin", MaxFileBytes + 1, CodeFileSize},
		{"other field", target, "file", "a.txt", 100, CodeMediaMissing},
		{"no filename", target, "media", "", 100, CodeInvalidParam},
		{"unknown key", UploadPath + "?key=x&type=file", "media", "a.txt", 100, CodeInvalidWebhook},
		{"type image", UploadPath + "?key=k&type=image", "media", "a.png", 100, CodeInvalidType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := upload(t, s, tc.target, tc.field, tc.file, bytes.Repeat([]byte("x"), tc.size)); code != tc.code {
				t.Fatalf("errcode %d, want %d", code, tc.code)
			}
		})
	}
	if _, code := send(t, s, "POST", target, `{"media":"not multipart"}`); code != CodeMediaMissing {
		t.Errorf("JSON upload: errcode %d", code)
	}
	ups := s.Uploads("k")
	if len(ups) != 2 || ups[0].Name != "名单.xlsx" || ups[0].Size != 6 || len(ups[1].Data) != MaxFileBytes || ups[0].Uploaded != c.Now() {
		t.Fatalf("uploads %d", len(ups))
	}
	if len(s.Messages("k")) != 0 {
		t.Fatal("an upload is not a message")
	}
}

func TestFileMessages(t *testing.T) {
	s, c := newFake()
	s.AddKey("a")
	s.AddKey("b")
	data := []byte("PK\x03\x04 a workbook")
	_, id := upload(t, s, UploadPath+"?key=a&type=file", "media", "换届进度.xlsx", data)
	_, id2 := upload(t, s, UploadPath+"?key=a&type=file", "media", "other.txt", []byte("123456"))
	if id == id2 {
		t.Fatal("media_ids repeat")
	}
	file := func(id string) string { return fmt.Sprintf(`{"msgtype":"file","file":{"media_id":%q}}`, id) }
	for _, tc := range []struct {
		name    string
		advance time.Duration
		key     string
		body    string
		code    int
	}{
		{"same key", 0, "a", file(id), CodeOK},
		{"other key", 0, "b", file(id), CodeInvalidMediaID},
		{"unknown id", 0, "a", file("nope"), CodeInvalidMediaID},
		{"no media_id", 0, "a", `{"msgtype":"file","file":{}}`, CodeInvalidMediaID},
		{"no file", 0, "a", `{"msgtype":"file"}`, CodeInvalidMediaID},
		{"just under 3 days", MediaLifetime - time.Second, "a", file(id), CodeOK},
		{"after 3 days", time.Second, "a", file(id), CodeInvalidMediaID},
	} {
		c.Advance(tc.advance)
		if _, code := send(t, s, "POST", SendPath+"?key="+tc.key, tc.body); code != tc.code {
			t.Fatalf("%s: errcode %d, want %d", tc.name, code, tc.code)
		}
	}
	got := s.Messages("a")
	if len(got) != 2 || got[0].File == nil || got[0].File.Name != "换届进度.xlsx" || !bytes.Equal(got[0].File.Data, data) ||
		got[0].File.ID != id || !strings.Contains(got[0].Content, id) {
		t.Fatalf("recorded %+v", got)
	}
	got[0].File.Data[0] = 'X'
	if s.Messages("a")[0].File.Data[0] == 'X' || s.Uploads("a")[0].Data[0] == 'X' {
		t.Fatal("Messages exposes the stored file")
	}
	// A new upload drops expired ones from the store; Uploads still lists them.
	upload(t, s, UploadPath+"?key=a&type=file", "media", "new.txt", []byte("abcdef"))
	if n := len(s.Uploads("a")); n != 3 {
		t.Fatalf("%d uploads listed", n)
	}
}
