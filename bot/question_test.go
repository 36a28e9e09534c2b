package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// asker is a Handler whose text messages starting with 进度 are questions; its answers
// count the calls, so that a test sees which call's answer the sender got.
type asker struct {
	calls atomic.Int32
	delay time.Duration
}

func (a *asker) Handle(ctx context.Context, m Message) Reply {
	n := a.calls.Add(1)
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
		}
	}
	return Reply{Markdown: fmt.Sprintf("第 %d 次回答：%s", n, m.PlainText())}
}

func (a *asker) Question(m Message) bool { return strings.HasPrefix(m.PlainText(), "进度") }

// filer is an asker whose filings (会员…) may be handled again (Repeater), as the
// handlers' are: their writes are made once per msgid.
type filer struct{ asker }

func (f *filer) Repeatable(m Message) bool { return strings.HasPrefix(m.PlainText(), "会员") }

// TestCallbackQuestionAnsweredFirst: a question (进度) is answered before it is claimed
// and recorded after, one ledger call; WeCom's retry of it gets the first answer again
// although the handler ran twice. A filing is claimed first unless the handler says it
// may be handled again (Repeater); then it is answered first, as a question is.
func TestCallbackQuestionAnsweredFirst(t *testing.T) {
	c := testCrypto(t)
	for _, tc := range []struct {
		name       string
		text       string
		ledger     *memLedger
		wantBegins int
		wantSecond string
		wantCalls  int32
		repeats    bool // the handler is a Repeater
	}{
		{"question: answered first, retry gets the first answer", "进度", &memLedger{}, 0, "第 1 次回答：进度", 2, false},
		{"filing: claimed first, retry answered from the ledger", "会员 320 人口 6200", &memLedger{}, 2, "第 1 次回答：会员 320 人口 6200", 1, false},
		{"question with the ledger down: answered each time", "进度", &memLedger{fail: true}, 0, "第 2 次回答：进度", 2, false},
		{"repeatable filing: answered first, retry gets the first answer", "会员 320 人口 6200", &memLedger{}, 0, "第 1 次回答：会员 320 人口 6200", 2, true},
		{"repeatable question: answered first", "进度", &memLedger{}, 0, "第 1 次回答：进度", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &filer{}
			h := &f.asker
			var handler Handler = h
			if tc.repeats {
				handler = f
			}
			cb := newCallback(t, c, handler, tc.ledger, testLogger(t))
			var got []string
			for range 2 {
				q, body, _ := c.SealCallback(textMsg("m-1", tc.text))
				rec := post(cb, q, body)
				r, err := c.OpenReply(q, rec.Body.Bytes())
				if err != nil || rec.Code != 200 || !r.Finish {
					t.Fatalf("status %d, reply %+v, %v", rec.Code, r, err)
				}
				got = append(got, r.Content)
				waitSettled(t, cb)
			}
			if got[0] != "第 1 次回答："+tc.text || got[1] != tc.wantSecond {
				t.Errorf("answers %q, want the first %q then %q", got, "第 1 次回答："+tc.text, tc.wantSecond)
			}
			if tc.ledger.begins != tc.wantBegins {
				t.Errorf("Begin called %d times, want %d", tc.ledger.begins, tc.wantBegins)
			}
			if n := h.calls.Load(); n != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", n, tc.wantCalls)
			}
		})
	}
}

// TestCallbackSlowQuestion: a question that misses the reply deadline is claimed then,
// gets an unfinished stream, and WeCom's refresh finishes it with the answer.
func TestCallbackSlowQuestion(t *testing.T) {
	c := testCrypto(t)
	h := &asker{delay: 300 * time.Millisecond}
	ledger := &memLedger{}
	cb := newCallback(t, c, h, ledger, testLogger(t))
	cb.Timeout = 100 * time.Millisecond
	send := func(m Message) StreamReply {
		t.Helper()
		q, body, _ := c.SealCallback(m)
		rec := post(cb, q, body)
		r, err := c.OpenReply(q, rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := send(textMsg("slow-1", "进度"))
	if first.Finish || first.Content != msgWorking {
		t.Fatalf("first answer %+v, want the unfinished stream", first)
	}
	if ledger.begins != 1 {
		t.Fatalf("Begin called %d times at the deadline, want 1", ledger.begins)
	}
	var got StreamReply
	for range 50 {
		if got = send(refreshOf(first.ID)); got.Finish {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Content != "第 1 次回答：进度" {
		t.Fatalf("after refreshes: %+v", got)
	}
}

// selfRecorder answers a filing with a reply it recorded itself (Reply.Recorded), as the
// handlers do when the answer is stored with the filing.
type selfRecorder struct{ calls atomic.Int32 }

func (h *selfRecorder) Handle(_ context.Context, m Message) Reply {
	h.calls.Add(1)
	return Reply{Markdown: "已登记：" + m.PlainText(), Recorded: true}
}

func (h *selfRecorder) Repeatable(Message) bool { return true }

// TestCallbackRecordedAnswerNeedsNoLedger: a repeatable message whose answer the handler
// recorded itself is answered without a ledger call, retry included.
func TestCallbackRecordedAnswerNeedsNoLedger(t *testing.T) {
	c := testCrypto(t)
	h := &selfRecorder{}
	ledger := &memLedger{}
	cb := newCallback(t, c, h, ledger, testLogger(t))
	for range 2 {
		q, body, _ := c.SealCallback(textMsg("rec-1", "会员 320 人口 6200"))
		rec := post(cb, q, body)
		r, err := c.OpenReply(q, rec.Body.Bytes())
		if err != nil || !r.Finish || r.Content != "已登记：会员 320 人口 6200" {
			t.Fatalf("reply %+v, %v", r, err)
		}
		waitSettled(t, cb)
	}
	if _, ok, _ := ledger.Lookup(context.Background(), "rec-1"); ok || ledger.begins != 0 {
		t.Errorf("the ledger was used: record %v, %d Begin calls", ok, ledger.begins)
	}
	if n := h.calls.Load(); n != 2 {
		t.Errorf("handler called %d times, want 2", n)
	}
}
