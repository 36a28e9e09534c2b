// Package metrics owns the bot's Prometheus registry and offers small, typed recording
// functions, so that the transports, handlers and reminders can report what happens
// without knowing Prometheus. Every method is safe on a nil *Metrics (it does nothing),
// so a package may hold an optional *Metrics.
//
// Label values are bounded: results, sources and states are enums of this package, and
// free-form labels (commands, Redis command names) are capped at maxLabelValues distinct
// values, after which "other" is used. No label ever carries message text or a key.
//
// Metric names (all prefixed huanjie_):
//
//	callbacks_total{result}                      URL callbacks by result (CallbackResult)
//	callback_duration_seconds{result}            their time from request to response
//	handler_duration_seconds{transport,command}  handler calls (Transport; command as labelled by the caller)
//	redis_commands_duration_seconds{command}     go-redis commands ("pipeline" for a pipeline)
//	redis_errors_total{command,kind}             failed Redis commands (kind: timeout, canceled, server, connection)
//	outbox_pending{street,group}                 messages waiting per group (read at scrape time)
//	outbox_oldest_age_seconds{street,group}      age of the group's first waiting message
//	outbox_read_errors_total                     scrapes that could not read the outbox
//	pushes_total{source,result}                  webhook pushes: sent, failed, rate_limited
//	longconn_state{state}                        1 for the long connection's current state
//
// plus the standard go_* and process_* collectors.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "huanjie"

// maxLabelValues caps the distinct values of a free-form label.
const maxLabelValues = 64

// OtherLabel is the label value used for anything outside a bounded set.
const OtherLabel = "other"

// Transport is how a message reached a handler.
type Transport string

// Transports.
const (
	TransportCallback Transport = "callback" // the URL callback
	TransportLongConn Transport = "longconn" // the long connection
)

// PushSource says who pushed into a group.
type PushSource string

// Push sources.
const (
	SourceReminders PushSource = "reminders" // the outbox delivery
	SourceHandlers  PushSource = "handlers"  // an answer pushed by a command (reviews, charts…)
)

// PushResult is the outcome of one webhook push.
type PushResult string

// Push results.
const (
	PushSent        PushResult = "sent"
	PushFailed      PushResult = "failed"
	PushRateLimited PushResult = "rate_limited" // refused by WeCom's rate limit
)

// LongConnState is the state of the long connection of this process.
type LongConnState string

// Long-connection states.
const (
	LongConnOff        LongConnState = "off"        // not configured
	LongConnStandby    LongConnState = "standby"    // another replica holds the lease
	LongConnConnecting LongConnState = "connecting" // holding the lease, not (yet, or no longer) subscribed
	LongConnSubscribed LongConnState = "subscribed" // WeCom acknowledged the subscription
)

var longConnStates = []LongConnState{LongConnOff, LongConnStandby, LongConnConnecting, LongConnSubscribed}

// Metrics holds the registry and every metric of the bot.
type Metrics struct {
	reg *prometheus.Registry

	callbacks       *prometheus.CounterVec
	callbackSeconds *prometheus.HistogramVec
	handlerSeconds  *prometheus.HistogramVec
	handlerCommands *bounded
	redisSeconds    *prometheus.HistogramVec
	redisErrors     *prometheus.CounterVec
	redisCommands   *bounded
	pushes          *prometheus.CounterVec
	longConn        *prometheus.GaugeVec
	outboxErrors    prometheus.Counter

	mu sync.Mutex // orders SetLongConn's updates of the one-hot gauge
}

// latencyBuckets span 1 ms to 8 s; the URL callback's deadline is 4 s.
var latencyBuckets = []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2, 4, 8}

// redisBuckets span 100 µs to 1 s.
var redisBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}

// New makes a registry with every metric, the Go runtime's and the process's.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "callbacks_total",
			Help: "URL callbacks by result: replied, empty (no answer), timeout (handler missed the deadline), duplicate (msgid seen), verified (URL check), rejected (4xx), error (5xx)."},
			[]string{"result"}),
		callbackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "callback_duration_seconds",
			Help: "Time from a URL callback's request to its response, by result.", Buckets: latencyBuckets},
			[]string{"result"}),
		handlerSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "handler_duration_seconds",
			Help: "Time a handler took to answer one message, by transport and command.", Buckets: latencyBuckets},
			[]string{"transport", "command"}),
		handlerCommands: newBounded(maxLabelValues),
		redisSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "redis_commands_duration_seconds",
			Help: "Time of Redis commands as go-redis sees them (a pipeline counts once, as \"pipeline\").", Buckets: redisBuckets},
			[]string{"command"}),
		redisErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "redis_errors_total",
			Help: "Failed Redis commands by command and kind (timeout, canceled, server, connection); a missing key is not an error."},
			[]string{"command", "kind"}),
		redisCommands: newBounded(maxLabelValues),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "pushes_total",
			Help: "Webhook pushes into groups by source and result (sent, failed, rate_limited)."},
			[]string{"source", "result"}),
		longConn: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "longconn_state",
			Help: "1 for the current state of this process's long connection (off, standby, connecting, subscribed)."},
			[]string{"state"}),
		outboxErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "outbox_read_errors_total",
			Help: "Scrapes that could not read the outbox backlog."}),
	}
	reg.MustRegister(m.callbacks, m.callbackSeconds, m.handlerSeconds, m.redisSeconds, m.redisErrors,
		m.pushes, m.longConn,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Known label values start at zero, so rates and alerts work before the first event.
	for _, r := range callbackResults {
		m.callbacks.WithLabelValues(string(r))
	}
	for _, s := range []PushSource{SourceReminders, SourceHandlers} {
		for _, r := range []PushResult{PushSent, PushFailed, PushRateLimited} {
			m.pushes.WithLabelValues(string(s), string(r))
		}
	}
	m.SetLongConn(LongConnOff)
	return m
}

// Handler serves the metrics in the Prometheus text format (for /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handled records that a handler answered one message in d. command must come from a
// bounded set (a fixed allow-list, never the text); past maxLabelValues distinct values
// it is recorded as "other".
func (m *Metrics) Handled(transport Transport, command string, d time.Duration) {
	if m == nil {
		return
	}
	m.handlerSeconds.WithLabelValues(string(transport), m.handlerCommands.label(command)).Observe(d.Seconds())
}

// Push records one webhook push.
func (m *Metrics) Push(source PushSource, result PushResult) {
	if m == nil {
		return
	}
	m.pushes.WithLabelValues(string(source), string(result)).Inc()
}

// SetLongConn records the long connection's current state.
func (m *Metrics) SetLongConn(state LongConnState) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range longConnStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.longConn.WithLabelValues(string(s)).Set(v)
	}
}

// bounded hands out at most max distinct label values, then OtherLabel.
type bounded struct {
	mu   sync.Mutex
	seen map[string]bool
	max  int
}

func newBounded(max int) *bounded { return &bounded{seen: map[string]bool{}, max: max} }

func (b *bounded) label(v string) string {
	if v == "" {
		return OtherLabel
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen[v] {
		return v
	}
	if len(b.seen) >= b.max {
		return OtherLabel
	}
	b.seen[v] = true
	return v
}
