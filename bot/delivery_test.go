package bot

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestCallbackClaimIsShortAndRenewed: the claim on a message is short, so that a replica
// that dies gives its messages up soon, and it is renewed while the handler runs, so that
// a slow handler keeps its message long past one lease and answers it once.
func TestCallbackClaimIsShortAndRenewed(t *testing.T) {
	ledger := &memLedger{}
	e := newLateEnv(t, ledger, 900*time.Millisecond)
	e.cb.ClaimLease = 150 * time.Millisecond
	m := textMsg("slow-claim", "@换届助手 会员 320 人口 6200")
	first := e.send(t, m)
	time.Sleep(500 * time.Millisecond) // three leases and more; the handler still works
	if rec, mine, _ := ledger.Begin(context.Background(), m.MsgID, "other-replica", time.Second, DedupTTL); mine || rec.Done {
		t.Fatalf("another replica took the message of a running handler: %+v mine=%v", rec, mine)
	}
	var got StreamReply
	for i := 0; i < 60 && !got.Finish; i++ {
		time.Sleep(50 * time.Millisecond)
		got = e.send(t, refreshOf(first.ID))
	}
	if !got.Finish || got.Content != lateAnswer || e.h.calls.Load() != 1 {
		t.Fatalf("refresh %+v, handler calls %d", got, e.h.calls.Load())
	}

	// By default a claim holds for well under a minute, not for the whole stream window.
	quick := &memLedger{}
	cb := newCallback(t, e.c, &recorder{}, quick, testLogger(t))
	q, body, _ := e.c.SealCallback(textMsg("quick", "@换届助手 进度"))
	post(cb, q, body)
	if d := quick.MaxLease(); d <= 0 || d > time.Minute {
		t.Fatalf("a message is claimed for %v: a replica that dies keeps it that long", d)
	}
}

// TestCallbackAnswerRecordedBeforeReply: when the answer reaches WeCom it is already in
// the ledger, so WeCom's retry, landing on another replica at once, gets the same answer
// and not a stream that never ends. A stalled ledger does not hold the answer past
// WeCom's 5 seconds.
func TestCallbackAnswerRecordedBeforeReply(t *testing.T) {
	for _, tc := range []struct {
		name       string
		delay      time.Duration
		retrySame  bool
		answeredIn time.Duration
	}{
		{"slow ledger", 200 * time.Millisecond, true, time.Second},
		{"stalled ledger", 3 * time.Second, false, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCrypto(t)
			ledger := &memLedger{finishDelay: tc.delay}
			cb := newCallback(t, c, &recorder{}, ledger, testLogger(t))
			other := newCallback(t, c, &recorder{}, ledger, testLogger(t))
			m := textMsg("rec-1", "@换届助手 进度")
			q, body, _ := c.SealCallback(m)
			start := time.Now()
			first, err := c.OpenReply(q, post(cb, q, body).Body.Bytes())
			if el := time.Since(start); err != nil || !first.Finish || first.Content != "收到：@换届助手 进度" || el > tc.answeredIn {
				t.Fatalf("answer %+v %v after %v", first, err, el)
			}
			if !tc.retrySame {
				return
			}
			q2, body2, _ := c.SealCallback(m)
			retry, err := c.OpenReply(q2, post(other, q2, body2).Body.Bytes())
			if err != nil || !retry.Finish || retry.Content != first.Content {
				t.Fatalf("WeCom's retry on another replica got %+v %v, want the answer %q", retry, err, first.Content)
			}
		})
	}
}

// responseURL is a response_url that answers with errcode (0: taken) once release is
// closed, and records what was posted.
type responseURL struct {
	mu      sync.Mutex
	posted  []string
	errcode string
	release chan struct{}
	url     string
}

func newResponseURL(t *testing.T, errcode string, release chan struct{}) *responseURL {
	r := &responseURL{errcode: errcode, release: release}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posted = append(r.posted, string(raw))
		r.mu.Unlock()
		if r.release != nil {
			<-r.release
		}
		_, _ = io.WriteString(w, `{"errcode":`+r.errcode+`,"errmsg":"x"}`)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/cgi-bin/aibot/response?response_code=RC1"
	return r
}

func (r *responseURL) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.posted)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCallbackFailedResponseURLLeavesAnswer: WeCom refuses the POST of a late answer to
// response_url; the answer is still there for the stream's refreshes, on this replica and
// on another, instead of 「结果已另行发送」 for an answer nobody got.
func TestCallbackFailedResponseURLLeavesAnswer(t *testing.T) {
	ledger := &memLedger{}
	e := newLateEnv(t, ledger, 200*time.Millisecond)
	other := newCallback(t, e.c, e.h, ledger, testLogger(t))
	ru := newResponseURL(t, "60140", nil)
	m := textMsg("late-fail", "@换届助手 会员 320 人口 6200")
	m.ResponseURL = ru.url
	first := e.send(t, m)
	if first.Finish {
		t.Fatalf("first answer %+v", first)
	}
	waitFor(t, "the POST to response_url", func() bool { return ru.count() == 1 })
	waitFor(t, "the failed POST to be settled", func() bool { return e.cb.late.via(m.MsgID) == "" })
	q, body, _ := e.c.SealCallback(refreshOf(first.ID))
	elsewhere, err := e.c.OpenReply(q, post(other, q, body).Body.Bytes())
	if err != nil || !elsewhere.Finish || elsewhere.Content != lateAnswer {
		t.Fatalf("refresh on another replica: %+v %v", elsewhere, err)
	}
	if here := e.send(t, refreshOf(first.ID)); !here.Finish || here.Content != lateAnswer {
		t.Fatalf("refresh on this replica: %+v", here)
	}
}

// TestCallbackLateAnswerOncePerProcess: a refresh comes while the late answer is being
// POSTed to response_url, with or without a ledger to settle the race: the refresh waits
// for the POST's outcome instead of sending the answer a second time, then finishes the
// stream with the note.
func TestCallbackLateAnswerOncePerProcess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger MsgLedger
	}{{"ledger", &memLedger{}}, {"ledger down", &memLedger{fail: true}}, {"no ledger", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLateEnv(t, tc.ledger, 200*time.Millisecond)
			release := make(chan struct{})
			ru := newResponseURL(t, "0", release)
			m := textMsg("late-race", "@换届助手 导出")
			m.ResponseURL = ru.url
			first := e.send(t, m)
			waitFor(t, "the POST to response_url", func() bool { return ru.count() == 1 })
			during := e.send(t, refreshOf(first.ID))
			close(release)
			if during.Finish || during.Content == lateAnswer {
				t.Fatalf("a refresh during the POST sent %+v: the answer twice", during)
			}
			waitFor(t, "the POST to be settled", func() bool { return e.cb.late.via(m.MsgID) == viaURL })
			if after := e.send(t, refreshOf(first.ID)); !after.Finish || after.Content != msgSentSeparately {
				t.Fatalf("a refresh after the POST: %+v", after)
			}
			if n := ru.count(); n != 1 {
				t.Fatalf("posted %d times", n)
			}
		})
	}
}
