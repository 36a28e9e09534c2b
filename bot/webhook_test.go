package bot

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/util"

	"huanjie/bot/wecomfake"
)

// fakeClock is a settable clock for wecomfake.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// webhookFixture serves a wecomfake under /wecom-api and points silenceper at it.
func webhookFixture(t *testing.T) (*Webhook, *wecomfake.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 7, 1, 9, 0, 0, 0, time.Local)}
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
