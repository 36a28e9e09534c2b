package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// botSends records what the bot pushed.
type botSends struct {
	mu   sync.Mutex
	sent []string // chat|markdown
}

func (b *botSends) SendMarkdown(_ context.Context, chat, markdown string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sent = append(b.sent, chat+"|"+markdown)
	return nil
}

// TestRouterRoute walks the path choice: the configuration's wish, the key, mentions
// and media, with and without the bot (long connection or URL callback).
func TestRouterRoute(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n....")
	for _, tc := range []struct {
		name  string
		to    Target
		push  Push
		botOn bool
		want  string
		errIs error
	}{
		{"key, auto", Target{ChatID: "c", WebhookKey: "k"}, Push{Text: "提醒"}, true, ViaWebhook, nil},
		{"no key, auto, long connection", Target{ChatID: "c"}, Push{Text: "提醒"}, true, ViaBot, nil},
		{"no key, auto, URL callback", Target{ChatID: "c"}, Push{Text: "提醒"}, false, "", ErrNoPushPath},
		{"key, bot asked", Target{ChatID: "c", WebhookKey: "k", Via: ViaBot}, Push{Text: "提醒"}, true, ViaBot, nil},
		{"key, bot asked, mentions", Target{ChatID: "c", WebhookKey: "k", Via: ViaBot}, Push{Text: "请报送", Mentions: []string{"cuihong"}}, true, ViaWebhook, nil},
		{"key, bot asked, markdown mention", Target{ChatID: "c", WebhookKey: "k", Via: ViaBot}, Push{Markdown: "请 <@cuihong> 报送"}, true, ViaWebhook, nil},
		{"key, bot asked, image", Target{ChatID: "c", WebhookKey: "k", Via: ViaBot}, Push{Image: png}, true, ViaWebhook, nil},
		{"key, bot asked, URL callback", Target{ChatID: "c", WebhookKey: "k", Via: ViaBot}, Push{Text: "提醒"}, false, ViaWebhook, nil},
		{"no key, mentions go without", Target{ChatID: "c"}, Push{Text: "请报送", Mentions: []string{"cuihong"}}, true, ViaBot, nil},
		{"no key, image, a sender without media", Target{ChatID: "c"}, Push{Image: png}, true, "", ErrBotMedia},
		{"webhook asked without key", Target{ChatID: "c", Via: ViaWebhook}, Push{Text: "提醒"}, true, "", ErrNoPushPath},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Router{Webhook: NewWebhook(nil)}
			if tc.botOn {
				r.Bot = &botSends{}
			}
			got, err := r.Route(tc.to, tc.push)
			if got != tc.want || !errors.Is(err, tc.errIs) || (tc.errIs == nil) != (err == nil) {
				t.Fatalf("Route = %q, %v; want %q, %v", got, err, tc.want, tc.errIs)
			}
		})
	}
	if _, err := (&Router{}).Route(Target{Via: "pigeon"}, Push{Text: "x"}); err == nil {
		t.Error("an unknown path accepted")
	}
}

// TestRouterPlanAndPushThroughTheBot: on the bot's path a push is chat markdown cut at
// the bot's 20480 bytes, mentions dropped; on the webhook's, one push per webhook message.
func TestRouterPlanAndPushThroughTheBot(t *testing.T) {
	sends := &botSends{}
	r := &Router{Webhook: NewWebhook(nil), Bot: sends}
	long := strings.Repeat("大辛社区：会员未报\n", 3000) // 3000 lines, ~78 KB
	to, parts, err := r.Plan(Target{ChatID: "c"}, Push{Text: long, Mentions: []string{"cuihong"}})
	if err != nil || to.Via != ViaBot || len(parts) < 4 {
		t.Fatalf("plan: %v %s %d parts", err, to.Via, len(parts))
	}
	var joined strings.Builder
	for _, p := range parts {
		if len(p.Markdown) > MaxStreamContent || p.Text != "" || len(p.Mentions) != 0 {
			t.Fatalf("part of %d bytes %+v", len(p.Markdown), p.Mentions)
		}
		joined.WriteString(p.Markdown)
	}
	if joined.String() != ChatMarkdown(long) {
		t.Error("the parts do not add up to the message")
	}
	if err := r.Push(context.Background(), Target{ChatID: "c"}, Push{Markdown: "**提醒**\n<font color=\"warning\">已逾期</font>"}); err != nil {
		t.Fatal(err)
	}
	if got := sends.sent[len(sends.sent)-1]; got != "c|**提醒**\n\n**已逾期**" {
		t.Fatalf("sent %q", got)
	}

	_, parts, err = r.Plan(Target{ChatID: "c", WebhookKey: "k"}, Push{Markdown: strings.Repeat("一行\n", 1500), Mentions: []string{"a", "@all"}})
	if err != nil || len(parts) != 4 || !strings.HasSuffix(parts[0].Markdown, "\n<@a>") || strings.Contains(parts[1].Markdown, "<@") ||
		parts[3].Text != msgLookAbove || parts[3].Mentions[0] != "@all" {
		t.Fatalf("webhook plan: %v %d parts %+v", err, len(parts), parts)
	}
}
