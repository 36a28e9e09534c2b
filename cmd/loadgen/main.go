// Command loadgen sends signed, encrypted AI-bot callbacks, as WeCom does, to a URL on
// loopback and reports what came back: replies, empty answers, errors, throughput and
// latency percentiles. Every callback has its own msgid, so the bot's deduplication never
// short-cuts one.
//
// Two ways to load:
//
//	-c N          closed loop: N workers, each sends the next callback when the last answered
//	-rate R       open loop: R callbacks a second on schedule, however slowly they are
//	              answered; latency counts from the scheduled time (no coordinated omission)
//
// The last line of the output is machine-readable (key=value), for scripts/bench.sh.
//
//	loadgen -url http://127.0.0.1:8080/wecom/callback -token T -aes-key K -c 16 -d 10s
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"huanjie/bot"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseOptions(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, o)
}

// options are the command line.
type options struct {
	url         string
	token, key  string
	concurrency int
	rate        float64
	duration    time.Duration
	timeout     time.Duration
	texts       []string
	user, chat  string
	open        bool
	busy        string
	label       string
}

func parseOptions(args []string, env func(string) string) (options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	var o options
	var texts string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080/wecom/callback", "the callback URL (loopback only)")
	fs.StringVar(&o.token, "token", env("WECOM_TOKEN"), "the callback token (default $WECOM_TOKEN)")
	fs.StringVar(&o.key, "aes-key", env("WECOM_AES_KEY"), "the 43-character EncodingAESKey (default $WECOM_AES_KEY)")
	fs.IntVar(&o.concurrency, "c", 16, "closed loop: concurrent workers (ignored with -rate)")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: callbacks offered per second")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to send")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for one answer (WeCom waits 5 s)")
	fs.StringVar(&texts, "text", "进度", "what people type, after @-mentioning the bot; several separated by '|' are sent in turn")
	fs.StringVar(&o.user, "user", "quxin", "the sender's userid")
	fs.StringVar(&o.chat, "chat", "wrkSFfCgAAchengxi2021", "the group's chatid")
	fs.BoolVar(&o.open, "open", false, "decrypt and verify every reply as WeCom would (costs the load generator CPU)")
	fs.StringVar(&o.busy, "busy", "系统繁忙", "with -open: a reply containing this is counted as the bot refusing work it could not start in time")
	fs.StringVar(&o.label, "label", "", "a name for this run in the summary line")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.texts = strings.Split(texts, "|")
	u, err := url.Parse(o.url)
	if err != nil {
		return o, fmt.Errorf("-url: %w", err)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return o, fmt.Errorf("-url %s: only loopback targets are allowed", o.url)
	}
	switch {
	case o.token == "" || o.key == "":
		return o, errors.New("the callback token and EncodingAESKey are needed (-token/-aes-key or WECOM_TOKEN/WECOM_AES_KEY)")
	case o.duration <= 0:
		return o, errors.New("-d must be positive")
	case o.rate < 0:
		return o, errors.New("-rate must not be negative")
	case o.rate == 0 && o.concurrency < 1:
		return o, errors.New("-c must be at least 1")
	}
	return o, nil
}

// outcome is what became of one callback.
type outcome int

const (
	replied outcome = iota // 200 with a body (with -open: a reply that opens)
	empty                  // 200 without a body: no answer
	failed                 // transport error, timeout, non-200, or (with -open) a reply that does not open
	busy                   // with -open: a reply saying the bot is too busy
)

// result sums up a run.
type result struct {
	sent, replied, empty, failed int
	busy                         int             // with -open: replies saying the bot is too busy (counted in replied too)
	elapsed                      time.Duration   // from the first send to the last answer
	window                       time.Duration   // what rates are per: elapsed, or the offered window of an open loop
	latencies                    []time.Duration // of answered callbacks (replied or empty)
	firstErr                     string
}

// sender builds and sends callbacks.
type sender struct {
	o      options
	crypto *bot.Crypto
	client *http.Client
	runID  string
	seq    atomic.Int64
}

func newSender(o options, conns int) (*sender, error) {
	c, err := bot.NewCrypto(o.token, o.key, "")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &sender{o: o, crypto: c, client: &http.Client{Transport: tr, Timeout: o.timeout}, runID: hex.EncodeToString(b)}, nil
}

// send seals the next callback and posts it; it returns the outcome and, for failures,
// why.
func (s *sender) send(ctx context.Context) (outcome, string) {
	n := s.seq.Add(1)
	text := s.o.texts[int(n-1)%len(s.o.texts)]
	m := bot.Message{MsgID: fmt.Sprintf("load-%s-%d", s.runID, n), AIBotID: "loadgen", ChatID: s.o.chat, ChatType: "group",
		From: bot.From{UserID: s.o.user}, MsgType: "text", Text: &bot.Text{Content: "@换届助手 " + text}}
	q, body, err := s.crypto.SealCallback(m)
	if err != nil {
		return failed, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.url+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return failed, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return failed, err.Error()
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return failed, err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return failed, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return empty, ""
	}
	if s.o.open {
		r, err := s.crypto.OpenReply(q, raw)
		if err != nil {
			return failed, "reply does not open: " + err.Error()
		}
		if s.o.busy != "" && strings.Contains(r.Content, s.o.busy) {
			return busy, ""
		}
	}
	return replied, ""
}

// tally collects outcomes from many goroutines.
type tally struct {
	mu  sync.Mutex
	res result
}

func (t *tally) add(o outcome, why string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.sent++
	switch o {
	case replied:
		t.res.replied++
	case busy:
		t.res.replied++
		t.res.busy++
	case empty:
		t.res.empty++
	default:
		t.res.failed++
		if t.res.firstErr == "" {
			t.res.firstErr = why
		}
		return
	}
	t.res.latencies = append(t.res.latencies, d)
}

// run loads the target for o.duration and waits for the callbacks in flight.
func run(ctx context.Context, o options) (result, error) {
	conns := o.concurrency
	if o.rate > 0 {
		conns = max(64, int(o.rate)) // idle connections kept; the open loop may need more
	}
	s, err := newSender(o, conns)
	if err != nil {
		return result{}, err
	}
	defer s.client.CloseIdleConnections()
	var t tally
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(o.duration)
	if o.rate > 0 {
		interval := time.Duration(float64(time.Second) / o.rate)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) {
				break
			}
			if d := time.Until(at); d > 0 {
				select {
				case <-ctx.Done():
					return result{}, ctx.Err()
				case <-time.After(d):
				}
			}
			wg.Go(func() {
				out, why := s.send(ctx)
				t.add(out, why, time.Since(at))
			})
		}
	} else {
		for range o.concurrency {
			wg.Go(func() {
				for time.Now().Before(end) && ctx.Err() == nil {
					sent := time.Now()
					out, why := s.send(ctx)
					t.add(out, why, time.Since(sent))
				}
			})
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	t.res.elapsed = time.Since(start)
	t.res.window = t.res.elapsed
	if o.rate > 0 {
		t.res.window = o.duration // stragglers answered after it do not dilute the rate
	}
	slices.Sort(t.res.latencies)
	return t.res, nil
}

// percentile of sorted latencies (nearest rank); 0 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// print writes a summary for people and, last, one key=value line for scripts.
func (r result) print(w io.Writer, o options) {
	mode := fmt.Sprintf("closed loop, %d workers", o.concurrency)
	if o.rate > 0 {
		mode = fmt.Sprintf("open loop, %.0f/s offered", o.rate)
	}
	rps, repliedRPS := float64(r.sent)/r.window.Seconds(), float64(r.replied)/r.window.Seconds()
	emptyShare := 0.0
	if r.sent > 0 {
		emptyShare = float64(r.empty) / float64(r.sent)
	}
	p50, p99 := percentile(r.latencies, .50), percentile(r.latencies, .99)
	fmt.Fprintf(w, "%s → %s (%s, %v)\n", o.label, o.url, mode, o.duration)
	fmt.Fprintf(w, "  sent %d in %.1fs: %.0f/s; replied %d (%.0f/s), empty %d (%.1f%%), failed %d\n",
		r.sent, r.elapsed.Seconds(), rps, r.replied, repliedRPS, r.empty, 100*emptyShare, r.failed)
	if o.open {
		fmt.Fprintf(w, "  of the replies, %d said the bot was too busy\n", r.busy)
	}
	fmt.Fprintf(w, "  latency p50 %s ms, p99 %s ms\n", ms(p50), ms(p99))
	if r.firstErr != "" {
		fmt.Fprintf(w, "  first failure: %s\n", r.firstErr)
	}
	fmt.Fprintf(w, "RESULT label=%s sent=%d replied=%d empty=%d failed=%d seconds=%.3f rps=%.1f replied_rps=%.1f empty_share=%.4f p50_ms=%s p99_ms=%s busy=%d\n",
		or(o.label, "-"), r.sent, r.replied, r.empty, r.failed, r.elapsed.Seconds(), rps, repliedRPS, emptyShare, ms(p50), ms(p99), r.busy)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
