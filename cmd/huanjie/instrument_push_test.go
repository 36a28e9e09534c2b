package main

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"huanjie/bot"
	"huanjie/metrics"
)

// downSender is the bot's sender on a standby replica: no long connection.
type downSender struct{}

func (downSender) SendMarkdown(context.Context, string, string) error { return bot.ErrNotConnected }

// TestPushMetricsLeaveOutPushesThatWait: a push held back because this replica has no
// long connection (a standby) is not a failed push: an alert on failed pushes must not
// fire on every standby replica.
func TestPushMetricsLeaveOutPushesThatWait(t *testing.T) {
	m := metrics.New()
	p := countedPusher{next: &bot.Router{Bot: downSender{}}, m: m, source: metrics.SourceReminders}
	for range 3 {
		if err := p.Push(context.Background(), bot.Target{ChatID: "chat-a"}, bot.Push{Markdown: "提醒"}); !errors.Is(err, bot.ErrNotConnected) {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text, _ := io.ReadAll(rec.Body)
	if v, _ := value(string(text), `huanjie_pushes_total{result="failed",source="reminders"}`); v != 0 {
		t.Errorf("%v failed pushes counted for pushes that wait for the long connection", v)
	}
}
