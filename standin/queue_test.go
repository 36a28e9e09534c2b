package standin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"huanjie/bot"
	"huanjie/internal/testclock"
)

var shanghai = time.FixedZone("CST", 8*3600)

// queueFunc is a PushQueue answering with f.
type queueFunc func(ctx context.Context) (map[string]Held, error)

func (f queueFunc) Held(ctx context.Context) (map[string]Held, error) { return f(ctx) }

// TestCampaignClockStamps: what the page is told about a message sent, its answer and a
// push carries the campaign clock's time (local mode's 2021 demo clock), not the real time.
func TestCampaignClockStamps(t *testing.T) {
	start := time.Date(2021, 7, 5, 9, 0, 0, 0, shanghai)
	clock := testclock.New(start)
	// The bot takes two campaign minutes to answer.
	slow := bot.HandlerFunc(func(ctx context.Context, m bot.Message) bot.Reply {
		clock.Advance(2 * time.Minute)
		return echo(ctx, m)
	})
	h := newHarness(t, testToken, bot.NewCallback(mustCrypto(t, testToken), slow, nil, quiet),
		func(o *Options) { o.Clock = clock.Now })

	_, res := h.send(t, "/api/send", sendRequest{UserID: "cuihong", ChatID: "wrkchat1", Text: "进度"})
	if res.Error != "" || !res.SentAt.Equal(start) || !res.ReplyAt.Equal(start.Add(2*time.Minute)) {
		t.Errorf("sent at %v, answered at %v (%+v); want 09:00 and 09:02 on 2021-07-05", res.SentAt, res.ReplyAt, res)
	}

	clock.Set(time.Date(2021, 7, 6, 9, 0, 0, 0, shanghai))
	before := time.Now()
	h.push(t, "k2", `{"msgtype":"text","text":{"content":"【提醒】今天截止"}}`)
	var got pushView
	for _, p := range getPushes(t, h.url+"/api/pushes") {
		if p.Text == "【提醒】今天截止" {
			got = p
		}
	}
	if !got.At.Equal(clock.Now()) || got.Received.Before(before) || time.Since(got.Received) > time.Minute {
		t.Errorf("push stamped %v, received %v; want the campaign's 7月6日 09:00 and the real time", got.At, got.Received)
	}
}

// TestQueueEndpoint: GET /api/queue tells the page the campaign time and which of its
// groups have pushes waiting for the rate limit, in the page's order of groups.
func TestQueueEndpoint(t *testing.T) {
	now := time.Date(2021, 7, 5, 9, 0, 30, 0, shanghai)
	next, until := now.Add(30*time.Second), now.Add(90*time.Second)
	for _, tc := range []struct {
		name  string
		queue PushQueue
		code  int
		held  []heldView
		err   string
	}{
		{"no queue configured", nil, http.StatusOK, []heldView{}, ""},
		{"nothing held back", queueFunc(func(context.Context) (map[string]Held, error) { return nil, nil }), http.StatusOK, []heldView{}, ""},
		{"two groups waiting, one not shown on the page", queueFunc(func(context.Context) (map[string]Held, error) {
			return map[string]Held{
				"wrkchat2": {Count: 25, Next: next, Until: until},
				"wrkchat1": {Count: 3, Next: next, Until: next},
				"other":    {Count: 7, Next: next, Until: next},
			}, nil
		}), http.StatusOK, []heldView{{"wrkchat1", 3, next, next}, {"wrkchat2", 25, next, until}}, ""},
		{"Redis down", queueFunc(func(context.Context) (map[string]Held, error) {
			return nil, errors.New("dial tcp 127.0.0.1:6379: connection refused")
		}), http.StatusBadGateway, []heldView{}, "读不到群推送的排队情况：dial tcp 127.0.0.1:6379: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testToken, nil, func(o *Options) {
				o.Queue, o.Clock = tc.queue, func() time.Time { return now }
			})
			resp, err := http.Get(h.url + "/api/queue")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var v queueView
			if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
			same := func(a, b heldView) bool {
				return a.ChatID == b.ChatID && a.Count == b.Count && a.Next.Equal(b.Next) && a.Until.Equal(b.Until)
			}
			if resp.StatusCode != tc.code || !v.Now.Equal(now) || !slices.EqualFunc(v.Held, tc.held, same) || v.Error != tc.err {
				t.Errorf("got %d %+v; want %d, now %v, held %+v, error %q", resp.StatusCode, v, tc.code, now, tc.held, tc.err)
			}
		})
	}
}
