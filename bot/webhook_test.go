package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"
	"github.com/xuri/excelize/v2"

	"huanjie/bot/wecomfake"
	"huanjie/campaign"
	"huanjie/config"
	"huanjie/exports"
	"huanjie/internal/testclock"
)

// webhookFixture serves a wecomfake under /wecom-api and points silenceper at it.
func webhookFixture(t *testing.T) (*Webhook, *wecomfake.Server, *testclock.Clock) {
	t.Helper()
	clock := testclock.New(time.Date(2026, 7, 1, 9, 0, 0, 0, time.Local))
	fake := wecomfake.New(wecomfake.WithClock(clock.Now), wecomfake.WithLogger(testLogger(t)))
	mux := http.NewServeMux()
	mux.Handle("/wecom-api/", http.StripPrefix("/wecom-api", fake))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if err := SetWeComAPIBase(srv.URL + "/wecom-api/"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetWeComAPIBase("") })
	return NewWebhook(testLogger(t)), fake, clock
}

func TestWebhookPushes(t *testing.T) {
	wh, fake, _ := webhookFixture(t)
	if util.DefaultHTTPClient.Timeout != 10*time.Second {
		t.Fatalf("util.DefaultHTTPClient has no 10 s timeout: %#v", util.DefaultHTTPClient)
	}
	lines := func(n int, line string) string { return strings.Repeat(line+"\n", n) }
	longMD := lines(300, "- 社区**进度**：<font color=\"warning\">待报</font>") // 17100 bytes
	longText := lines(120, "请各社区于本周五前上报选民登记数据。")                         // ≈ 6.5 KB
	for _, tc := range []struct {
		name     string
		push     Push
		types    []string
		mentions [][]string // mentioned_list per message
		tokens   string     // expected at the end of the first markdown part
		joined   string     // all parts concatenated, "" = skip
	}{
		{name: "text with mentions", push: Push{Text: "明天开会", Mentions: []string{"zhangsan", "@all"}},
			types: []string{"text"}, mentions: [][]string{{"zhangsan", "@all"}}, joined: "明天开会"},
		{name: "markdown", push: Push{Markdown: "**提醒**"}, types: []string{"markdown"}, mentions: [][]string{nil}, joined: "**提醒**"},
		{name: "markdown with mentions", push: Push{Markdown: "**提醒**", Mentions: []string{"zhangsan", "lisi"}},
			types: []string{"markdown"}, mentions: [][]string{nil}, tokens: "\n<@zhangsan><@lisi>"},
		{name: "markdown mentioning all", push: Push{Markdown: "**全体**", Mentions: []string{"@all"}},
			types: []string{"markdown", "text"}, mentions: [][]string{nil, {"@all"}}},
		{name: "markdown wins over text", push: Push{Text: "ignored", Markdown: "md"}, types: []string{"markdown"}, mentions: [][]string{nil}, joined: "md"},
		{name: "long markdown is split", push: Push{Markdown: longMD}, types: []string{"markdown", "markdown", "markdown", "markdown", "markdown"}, // 71 lines of 57 bytes a part
			mentions: [][]string{nil, nil, nil, nil, nil}, joined: longMD},
		{name: "long text is split, mentions once", push: Push{Text: longText, Mentions: []string{"wangwu"}},
			types: []string{"text", "text", "text", "text"}, mentions: [][]string{{"wangwu"}, nil, nil, nil}, joined: longText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "key-" + strings.ReplaceAll(tc.name, " ", "-")
			fake.AddKey(key)
			n, err := wh.PushParts(context.Background(), key, tc.push)
			if err != nil {
				t.Fatal(err)
			}
			got := fake.Messages(key)
			if n != len(tc.types) || len(got) != len(tc.types) {
				t.Fatalf("sent %d, recorded %d, want %d", n, len(got), len(tc.types))
			}
			var joined strings.Builder
			for i, m := range got {
				if m.MsgType != tc.types[i] || !reflect.DeepEqual(m.MentionedList, tc.mentions[i]) {
					t.Errorf("message %d: %s %v, want %s %v", i, m.MsgType, m.MentionedList, tc.types[i], tc.mentions[i])
				}
				limit := MaxTextBytes
				if m.MsgType == "markdown" {
					limit = MaxMarkdownBytes
				}
				if len(m.Content) > limit || !utf8.ValidString(m.Content) {
					t.Errorf("message %d: %d bytes", i, len(m.Content))
				}
				if i > 0 && i < len(got)-1 && !strings.HasSuffix(m.Content, "\n") {
					t.Errorf("message %d not cut at a line end", i)
				}
				joined.WriteString(m.Content)
			}
			if tc.joined != "" && joined.String() != tc.joined {
				t.Error("the parts do not add up to the original")
			}
			if tc.tokens != "" && !strings.HasSuffix(got[0].Content, tc.tokens) {
				t.Errorf("markdown %q lacks %q", got[0].Content, tc.tokens)
			}
		})
	}
}

func TestWebhookErrors(t *testing.T) {
	wh, fake, clock := webhookFixture(t)
	fake.AddKey("live")
	ctx := context.Background()

	t.Run("unknown key is permanent 93000", func(t *testing.T) {
		err := wh.Push(ctx, "dead-key-123456", Push{Text: "hi"})
		var we *WebhookError
		if !errors.As(err, &we) || we.Code != ErrCodeInvalidWebhook || !we.Permanent() || we.RateLimited() {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("removed robot is permanent", func(t *testing.T) {
		fake.AddKey("gone")
		if err := wh.Push(ctx, "gone", Push{Text: "1"}); err != nil {
			t.Fatal(err)
		}
		fake.RemoveKey("gone")
		var we *WebhookError
		if err := wh.Push(ctx, "gone", Push{Text: "2"}); !errors.As(err, &we) || !we.Permanent() {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("21st message in a minute is a temporary rate limit", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			if err := wh.Push(ctx, "live", Push{Text: "第" + string(rune('A'+i)) + "条"}); err != nil {
				t.Fatalf("message %d: %v", i+1, err)
			}
			clock.Advance(time.Second)
		}
		err := wh.Push(ctx, "live", Push{Text: "第21条"})
		var we *WebhookError
		if !errors.As(err, &we) || we.Code != ErrCodeFreqLimit || we.Permanent() || !we.RateLimited() {
			t.Fatalf("21st: %v", err)
		}
		clock.Advance(41 * time.Second) // the first message is now more than a minute old
		if err := wh.Push(ctx, "live", Push{Text: "第22条"}); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		if n := len(fake.Messages("live")); n != 21 {
			t.Fatalf("%d recorded", n)
		}
	})
	t.Run("split push stops at the failing part", func(t *testing.T) {
		fake.AddKey("split")
		for i := 0; i < 19; i++ {
			if err := wh.Push(ctx, "split", Push{Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := wh.PushParts(ctx, "split", Push{Markdown: strings.Repeat("一行内容\n", 2000)})
		var we *WebhookError
		if n != 1 || !errors.As(err, &we) || !we.RateLimited() || !strings.Contains(err.Error(), "part 2 of") {
			t.Fatalf("sent %d, err %v", n, err)
		}
	})
	t.Run("empty push", func(t *testing.T) {
		if err := wh.Push(ctx, "live", Push{Text: "  ", Mentions: []string{"a"}}); !errors.Is(err, ErrEmptyPush) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := wh.Push(cctx, "live-secret-key", Push{Text: "x"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if strings.Contains(err.Error(), "live-secret-key") {
			t.Fatalf("the key leaks into the error: %v", err)
		}
	})
}

func TestSetWeComAPIBase(t *testing.T) {
	for _, tc := range []struct {
		uri, base, want string
	}{
		{"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "http://127.0.0.1:8080/wecom-api", "http://127.0.0.1:8080/wecom-api/cgi-bin/webhook/send?key=K"},
		{"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=x", "http://localhost:9", "http://localhost:9/cgi-bin/gettoken?corpid=x"},
		{"https://qyapi.weixin.qq.com", "http://h", "http://h"},
		{"https://qyapi.weixin.qq.com.evil.example/x", "http://h", "https://qyapi.weixin.qq.com.evil.example/x"},
		{"https://api.weixin.qq.com/cgi-bin/token", "http://h", "https://api.weixin.qq.com/cgi-bin/token"},
	} {
		if got := rewriteAPIBase(tc.uri, tc.base); got != tc.want {
			t.Errorf("rewrite(%q, %q) = %q, want %q", tc.uri, tc.base, got, tc.want)
		}
	}
	for _, bad := range []string{"ftp://x", "127.0.0.1:8080", "http://h/?a=b", "://"} {
		if err := SetWeComAPIBase(bad); err == nil {
			t.Errorf("SetWeComAPIBase(%q) accepted", bad)
		}
	}
}

func TestSplitContent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"fits", "abc", 5, []string{"abc"}},
		{"empty", "", 5, []string{""}},
		{"at newline", "ab\ncd\nef", 6, []string{"ab\ncd\n", "ef"}},
		{"long line at rune boundary", "一二三四", 7, []string{"一二", "三四"}},
		{"newline preferred over rune cut", "一\n二三四", 8, []string{"一\n", "二三", "四"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitContent(tc.in, tc.limit)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// realExports builds the chart and workbook of the embedded 城西 example, as the bot
// would push them.
func realExports(t *testing.T) (chart, workbook []byte) {
	t.Helper()
	cfg, err := config.Default(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2021, 7, 5, 9, 0, 0, 0, campaign.Shanghai)
	st := &cfg.Streets[0]
	records := map[string]*campaign.Record{"大辛": {Filings: map[campaign.Item]*campaign.Filing{campaign.ItemMembers: {
		Street: st.ID, Community: "大辛", Item: campaign.ItemMembers, Value: campaign.Value{Members: 320, Population: 6200}, At: now.Add(-72 * time.Hour)}}}}
	state := st.JudgeStreet(records, campaign.DateOf(now))
	chart, err = exports.ProgressChart(state, now)
	if err != nil {
		t.Fatal(err)
	}
	workbook, err = exports.Workbook(cfg, []*campaign.StreetState{state}, now)
	if err != nil {
		t.Fatal(err)
	}
	return chart, workbook
}

func TestWebhookImageAndFile(t *testing.T) {
	wh, fake, _ := webhookFixture(t)
	ctx := context.Background()
	chart, workbook := realExports(t)
	fake.AddKey("media")

	n, err := wh.PushParts(ctx, "media", Push{Markdown: "**城西街道换届进度**", Image: chart, File: workbook, FileName: "城西街道换届进度.xlsx"})
	if err != nil || n != 3 {
		t.Fatalf("sent %d, err %v", n, err)
	}
	got := fake.Messages("media")
	if len(got) != 3 || got[0].MsgType != "markdown" || got[1].MsgType != "image" || got[2].MsgType != "file" {
		t.Fatalf("received %+v", got)
	}
	if !bytes.Equal(got[1].Image, chart) {
		t.Fatal("the chart arrived changed")
	}
	if _, err := png.Decode(bytes.NewReader(got[1].Image)); err != nil {
		t.Fatal(err)
	}
	f := got[2].File
	if f == nil || f.Name != "城西街道换届进度.xlsx" || !bytes.Equal(f.Data, workbook) || f.Key != "media" {
		t.Fatalf("file %+v", f)
	}
	x, err := excelize.OpenReader(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if sheets := x.GetSheetList(); len(sheets) != 3 || sheets[0] != exports.SummarySheet || sheets[1] != "城西街道" {
		t.Fatalf("sheets %q", sheets)
	}
	if ups := fake.Uploads("media"); len(ups) != 1 || ups[0].ID != f.ID {
		t.Fatalf("uploads %+v", ups)
	}

	// Image alone, file alone: no text needed.
	if n, err := wh.PushParts(ctx, "media", Push{Image: chart}); err != nil || n != 1 {
		t.Fatalf("image alone: %d %v", n, err)
	}
	if n, err := wh.PushParts(ctx, "media", Push{File: []byte("a,b\n1,2\n"), FileName: `..\报表/进度"表".csv`}); err != nil || n != 1 {
		t.Fatalf("file alone: %d %v", n, err)
	}
	got = fake.Messages("media")
	if last := got[len(got)-1]; last.File == nil || last.File.Name != "进度_表_.csv" || string(last.File.Data) != "a,b\n1,2\n" {
		t.Fatalf("file alone arrived as %+v", last.File)
	}
}

func TestWebhookMediaRefused(t *testing.T) {
	wh, fake, _ := webhookFixture(t)
	ctx := context.Background()
	fake.AddKey("k")
	chart, _ := realExports(t)
	big := append(bytes.Clone(chart), make([]byte, MaxImageBytes)...)
	for _, tc := range []struct {
		name string
		push Push
		kind string // of *MediaSizeError, or "" for the sentinel
		err  error
	}{
		{"image over 2 MB", Push{Text: "看图", Image: big}, "image", nil},
		{"empty image", Push{Text: "看图", Image: []byte{}}, "image", nil},
		{"image not PNG/JPG", Push{Image: []byte("GIF89a not really")}, "", ErrImageFormat},
		{"file of 5 bytes", Push{File: []byte("12345"), FileName: "a.txt"}, "file", nil},
		{"file over 20 MB", Push{Text: "附件", File: make([]byte, MaxFileBytes+1), FileName: "a.bin"}, "file", nil},
		{"file without a name", Push{File: []byte("123456")}, "", ErrNoFileName},
		{"file named only by a path", Push{File: []byte("123456"), FileName: "dir/"}, "", ErrNoFileName},
		{"nothing", Push{Mentions: []string{"a"}}, "", ErrEmptyPush},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := wh.PushParts(ctx, "k", tc.push)
			var se *MediaSizeError
			switch {
			case n != 0:
				t.Fatalf("sent %d", n)
			case tc.kind != "" && (!errors.As(err, &se) || se.Kind != tc.kind):
				t.Fatalf("got %v, want a *MediaSizeError for the %s", err, tc.kind)
			case tc.kind == "" && !errors.Is(err, tc.err):
				t.Fatalf("got %v, want %v", err, tc.err)
			}
		})
	}
	if len(fake.Messages("k")) != 0 || len(fake.Uploads("k")) != 0 {
		t.Fatal("a refused push sent something")
	}

	// WeCom refusing the upload: the key is dead.
	err := wh.Push(ctx, "dead-key", Push{File: []byte("123456"), FileName: "a.txt"})
	var we *WebhookError
	if !errors.As(err, &we) || we.Code != ErrCodeInvalidWebhook || !we.Permanent() || !strings.Contains(err.Error(), "upload a.txt") {
		t.Fatalf("upload to a dead key: %v", err)
	}
}

// uploadStub answers upload_media with answer and records the request; send succeeds.
type uploadStub struct {
	mu       sync.Mutex
	answer   string
	status   int
	query    string
	path     string
	header   string
	fileName string
	data     []byte
	sends    []string
}

func (u *uploadStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/send") {
		b, _ := io.ReadAll(r.Body)
		u.sends = append(u.sends, string(b))
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
		return
	}
	u.path, u.query = r.URL.Path, r.URL.RawQuery
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	if p, err := mr.NextPart(); err == nil {
		u.header = p.Header.Get("Content-Disposition")
		u.fileName = p.FileName()
		u.data, _ = io.ReadAll(p)
	}
	if u.status != 0 {
		w.WriteHeader(u.status)
	}
	_, _ = io.WriteString(w, u.answer)
}

func TestWebhookUploadAnswers(t *testing.T) {
	stub := &uploadStub{}
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	if err := SetWeComAPIBase(srv.URL + "/base"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetWeComAPIBase("") })
	wh := NewWebhook(testLogger(t))
	ctx := context.Background()
	file := Push{File: []byte("进度表的内容"), FileName: "城西 进度.xlsx"}

	stub.answer = `{"errcode":0,"errmsg":"ok","type":"file","media_id":"3a8asd892asd8asd","created_at":"1380000000"}`
	if err := wh.Push(ctx, "the-key", file); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`form-data; name="media"; filename="城西 进度.xlsx"; filelength=%d`, len(file.File))
	if stub.path != "/base/cgi-bin/webhook/upload_media" || stub.query != "key=the-key&type=file" ||
		stub.header != want || stub.fileName != "城西 进度.xlsx" || !bytes.Equal(stub.data, file.File) {
		t.Fatalf("upload request: %s?%s %q %q", stub.path, stub.query, stub.header, stub.data)
	}
	if len(stub.sends) != 1 || !strings.Contains(stub.sends[0], `"msgtype":"file"`) || !strings.Contains(stub.sends[0], `"media_id":"3a8asd892asd8asd"`) {
		t.Fatalf("sends %q", stub.sends)
	}

	for _, tc := range []struct {
		name, answer string
		status, code int // code: the *WebhookError expected, 0 for another error
		permanent    bool
	}{
		{"busy", `{"errcode":-1,"errmsg":"system busy"}`, 0, -1, false},
		{"file size", `{"errcode":40006,"errmsg":"invalid file size"}`, 0, ErrCodeFileSize, true},
		{"no media_id", `{"errcode":0,"errmsg":"ok"}`, 0, 0, false},
		{"not JSON", `<html>`, 0, 0, false},
		{"HTTP 502", `bad gateway`, http.StatusBadGateway, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub.mu.Lock()
			stub.answer, stub.status, stub.sends = tc.answer, tc.status, nil
			stub.mu.Unlock()
			err := wh.Push(ctx, "the-key", file)
			var we *WebhookError
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.code != 0 && (!errors.As(err, &we) || we.Code != tc.code || we.Permanent() != tc.permanent):
				t.Fatalf("got %v, want errcode %d", err, tc.code)
			case tc.code == 0 && errors.As(err, &we):
				t.Fatalf("got errcode %v", err)
			}
			if len(stub.sends) != 0 {
				t.Fatal("a file message was sent after a failed upload")
			}
		})
	}

	// The text goes out first; a failed upload stops the push at its part.
	stub.mu.Lock()
	stub.answer, stub.status, stub.sends = `{"errcode":45009,"errmsg":"api freq out of limit"}`, 0, nil
	stub.mu.Unlock()
	n, err := wh.PushParts(ctx, "the-key", Push{Text: "附件如下", File: file.File, FileName: file.FileName})
	var we *WebhookError
	if n != 1 || !errors.As(err, &we) || !we.RateLimited() || !strings.Contains(err.Error(), "part 2 of 2") || len(stub.sends) != 1 {
		t.Fatalf("text then failed upload: sent %d, %v, sends %q", n, err, stub.sends)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = wh.Push(cctx, "secret-upload-key", file)
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "secret-upload-key") {
		t.Fatalf("cancelled upload: %v", err)
	}
}

func TestAPIURL(t *testing.T) {
	if err := SetWeComAPIBase("http://127.0.0.1:9/x/"); err != nil {
		t.Fatal(err)
	}
	if got := apiURL(WeComAPIBase + "/cgi-bin/webhook/upload_media?key=K&type=file"); got != "http://127.0.0.1:9/x/cgi-bin/webhook/upload_media?key=K&type=file" {
		t.Errorf("redirected: %s", got)
	}
	if err := SetWeComAPIBase(""); err != nil {
		t.Fatal(err)
	}
	if got := apiURL(WeComAPIBase + "/cgi-bin/webhook/upload_media?key=K"); got != WeComAPIBase+"/cgi-bin/webhook/upload_media?key=K" {
		t.Errorf("real host: %s", got)
	}
}
