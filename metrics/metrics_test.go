package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"huanjie/internal/testredis"
)

// TestCallbackResults sends requests through the middleware to callback stand-ins that
// behave like each case of bot.Callback, and checks the result each was counted under.
func TestCallbackResults(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, tc := range []struct {
		name    string
		method  string
		handler http.HandlerFunc
		want    CallbackResult
	}{
		{"a reply", "POST", func(w http.ResponseWriter, r *http.Request) {
			done := NoteHandler(r.Context())
			done()
			_, _ = w.Write([]byte(`{"encrypt":"…"}`))
		}, CallbackReplied},
		{"nothing to answer", "POST", func(w http.ResponseWriter, r *http.Request) {
			done := NoteHandler(r.Context())
			done()
			w.WriteHeader(http.StatusOK)
		}, CallbackEmpty},
		{"a duplicate msgid", "POST", func(w http.ResponseWriter, r *http.Request) {
			NoteDuplicate(r.Context())
			w.WriteHeader(http.StatusOK)
		}, CallbackDuplicate},
		{"handler still running at the deadline", "POST", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Millisecond)
			defer cancel()
			started := make(chan struct{})
			go func() {
				done := NoteHandler(ctx)
				close(started)
				<-release
				done()
			}()
			<-started
			<-ctx.Done()
			w.WriteHeader(http.StatusOK)
		}, CallbackTimeout},
		{"handler returned after its deadline", "POST", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Millisecond)
			defer cancel()
			done := NoteHandler(ctx)
			<-ctx.Done()
			done()
			w.WriteHeader(http.StatusOK)
		}, CallbackTimeout},
		{"URL verification", "GET", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("echo"))
		}, CallbackVerified},
		{"bad signature", "POST", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}, CallbackRejected},
		{"handler panicked", "POST", func(w http.ResponseWriter, r *http.Request) {
			done := NoteHandler(r.Context())
			done()
			http.Error(w, "internal error", http.StatusInternalServerError)
		}, CallbackError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			rec := httptest.NewRecorder()
			m.CallbackMiddleware(tc.handler).ServeHTTP(rec, httptest.NewRequest(tc.method, "/wecom/callback", nil))
			for _, r := range callbackResults {
				want := 0.0
				if r == tc.want {
					want = 1
				}
				if got := testutil.ToFloat64(m.callbacks.WithLabelValues(string(r))); got != want {
					t.Errorf("callbacks_total{result=%q} = %v, want %v", r, got, want)
				}
			}
		})
	}
}

func TestBoundedLabels(t *testing.T) {
	m := New()
	for i := range maxLabelValues + 10 {
		m.Handled(TransportCallback, fmt.Sprint("cmd", i), time.Millisecond)
	}
	m.Handled(TransportCallback, "cmd0", time.Millisecond) // known: keeps its label
	if n := testutil.CollectAndCount(m.handlerSeconds); n != maxLabelValues+1 {
		t.Fatalf("%d handler series, want %d plus other", n, maxLabelValues)
	}
	if got := samples(t, m.handlerSeconds.WithLabelValues("callback", "cmd0")); got != 2 {
		t.Errorf("cmd0 observed %v times, want 2", got)
	}
	if got := samples(t, m.handlerSeconds.WithLabelValues("callback", OtherLabel)); got != 10 {
		t.Errorf("other observed %v times, want 10", got)
	}
}

// samples is how many observations a histogram holds.
func samples(t *testing.T, o prometheus.Observer) uint64 {
	t.Helper()
	var d dto.Metric
	if err := o.(prometheus.Metric).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetHistogram().GetSampleCount()
}

func TestPushesAndLongConn(t *testing.T) {
	m := New()
	m.Push(SourceReminders, PushSent)
	m.Push(SourceReminders, PushSent)
	m.Push(SourceReminders, PushRateLimited)
	m.Push(SourceHandlers, PushFailed)
	m.SetLongConn(LongConnStandby)
	m.SetLongConn(LongConnSubscribed)
	want := `
# HELP huanjie_pushes_total Webhook pushes into groups by source and result (sent, failed, rate_limited).
# TYPE huanjie_pushes_total counter
huanjie_pushes_total{result="failed",source="handlers"} 1
huanjie_pushes_total{result="failed",source="reminders"} 0
huanjie_pushes_total{result="rate_limited",source="handlers"} 0
huanjie_pushes_total{result="rate_limited",source="reminders"} 1
huanjie_pushes_total{result="sent",source="handlers"} 0
huanjie_pushes_total{result="sent",source="reminders"} 2
# HELP huanjie_longconn_state 1 for the current state of this process's long connection (off, standby, connecting, subscribed).
# TYPE huanjie_longconn_state gauge
huanjie_longconn_state{state="connecting"} 0
huanjie_longconn_state{state="off"} 0
huanjie_longconn_state{state="standby"} 0
huanjie_longconn_state{state="subscribed"} 1
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "huanjie_pushes_total", "huanjie_longconn_state"); err != nil {
		t.Fatal(err)
	}
	var nilMetrics *Metrics // optional metrics: every method is a no-op
	nilMetrics.Push(SourceHandlers, PushSent)
	nilMetrics.SetLongConn(LongConnSubscribed)
	nilMetrics.Handled(TransportLongConn, "进度", time.Second)
}

func TestOutboxGauges(t *testing.T) {
	m := New()
	now := time.Date(2021, 7, 5, 9, 0, 0, 0, time.UTC)
	fail := false
	m.WatchOutbox(func(ctx context.Context) ([]GroupBacklog, error) {
		if fail {
			return nil, errors.New("redis: connection refused")
		}
		return []GroupBacklog{
			{Street: "chengxi", Group: "wrkA", Pending: 3, Oldest: now.Add(-90 * time.Second)},
			{Street: "chengxi", Group: "wrkB"},
		}, nil
	}, func() time.Time { return now }, time.Minute, slog.New(slog.NewTextHandler(t.Output(), nil))) // generous: a loaded CI machine must not time the fake out
	want := `
# HELP huanjie_outbox_oldest_age_seconds Age of the group's first waiting message (0 when none waits).
# TYPE huanjie_outbox_oldest_age_seconds gauge
huanjie_outbox_oldest_age_seconds{group="wrkA",street="chengxi"} 90
huanjie_outbox_oldest_age_seconds{group="wrkB",street="chengxi"} 0
# HELP huanjie_outbox_pending Messages waiting in the outbox per group, claimed or not.
# TYPE huanjie_outbox_pending gauge
huanjie_outbox_pending{group="wrkA",street="chengxi"} 3
huanjie_outbox_pending{group="wrkB",street="chengxi"} 0
# HELP huanjie_outbox_read_errors_total Scrapes that could not read the outbox backlog.
# TYPE huanjie_outbox_read_errors_total counter
huanjie_outbox_read_errors_total 0
`
	names := []string{"huanjie_outbox_pending", "huanjie_outbox_oldest_age_seconds", "huanjie_outbox_read_errors_total"}
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(`
# HELP huanjie_outbox_read_errors_total Scrapes that could not read the outbox backlog.
# TYPE huanjie_outbox_read_errors_total counter
huanjie_outbox_read_errors_total 1
`), names...); err != nil {
		t.Fatal(err)
	}
}

// TestRedisHook runs commands that succeed, miss, fail on the server and time out on a
// real Redis, and a script (whose first EVALSHA meets NOSCRIPT), and checks what counted.
func TestRedisHook(t *testing.T) {
	c, prefix := testredis.Client(t)
	m := New()
	c.AddHook(m.RedisHook())
	ctx := t.Context()
	c.Set(ctx, prefix+"s", "v", 0)
	if err := c.Get(ctx, prefix+"missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("get missing: %v", err)
	}
	if err := c.LPush(ctx, prefix+"s", "x").Err(); err == nil {
		t.Fatal("LPUSH on a string succeeded")
	}
	script := redis.NewScript(fmt.Sprintf("return redis.call('GET', KEYS[1]) -- %d", time.Now().UnixNano()))
	if v, err := script.Run(ctx, c, []string{prefix + "s"}).Text(); err != nil || v != "v" {
		t.Fatalf("script: %q, %v", v, err)
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-short.Done()
	_ = c.Get(short, prefix+"s").Err()
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Get(ctx, prefix+"s")
		p.LPush(ctx, prefix+"s", "y")
		return nil
	})
	want := `
# HELP huanjie_redis_errors_total Failed Redis commands by command and kind (timeout, canceled, server, connection); a missing key is not an error.
# TYPE huanjie_redis_errors_total counter
huanjie_redis_errors_total{command="get",kind="timeout"} 1
huanjie_redis_errors_total{command="lpush",kind="server"} 2
`
	if err := testutil.GatherAndCompare(m.reg, strings.NewReader(want), "huanjie_redis_errors_total"); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"set", "get", "lpush", "evalsha", "eval", "pipeline"} {
		if got := samples(t, m.redisSeconds.WithLabelValues(cmd)); got == 0 {
			t.Errorf("no %s timed", cmd)
		}
	}
}
