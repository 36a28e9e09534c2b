package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GroupBacklog is what waits in the outbox for one group.
type GroupBacklog struct {
	Street, Group string    // the street's id and the group's chatid (labels, from the config)
	Pending       int       // messages waiting, claimed or not
	Oldest        time.Time // Created of the first message in queue order; zero when none
}

// BacklogReader reads the backlog of every configured group.
type BacklogReader func(ctx context.Context) ([]GroupBacklog, error)

// WatchOutbox reports outbox_pending and outbox_oldest_age_seconds per group, read with
// read at every scrape (bounded by timeout); ages are taken against now. A failed read
// is counted in outbox_read_errors_total, logged, and leaves the two gauges out of that
// scrape. Call it once.
func (m *Metrics) WatchOutbox(read BacklogReader, now func() time.Time, timeout time.Duration, log *slog.Logger) {
	if m == nil {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	m.reg.MustRegister(&outboxCollector{
		read: read, now: now, timeout: timeout, log: log, errors: m.outboxErrors,
		pending: prometheus.NewDesc(namespace+"_outbox_pending", "Messages waiting in the outbox per group, claimed or not.",
			[]string{"street", "group"}, nil),
		age: prometheus.NewDesc(namespace+"_outbox_oldest_age_seconds", "Age of the group's first waiting message (0 when none waits).",
			[]string{"street", "group"}, nil),
	})
}

type outboxCollector struct {
	read         BacklogReader
	now          func() time.Time
	timeout      time.Duration
	log          *slog.Logger
	errors       prometheus.Counter
	pending, age *prometheus.Desc
}

// Describe and Collect include the read-error counter, so a scrape that fails to read the
// backlog counts that failure in the same scrape (collectors run concurrently: a counter
// registered apart could be read before this one increments it).
func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.pending
	ch <- c.age
	ch <- c.errors.Desc()
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	backlogs, err := c.read(ctx)
	if err != nil {
		c.errors.Inc()
		c.log.Warn("metrics: cannot read the outbox backlog", "err", err)
		ch <- c.errors
		return
	}
	ch <- c.errors
	now := c.now()
	for _, b := range backlogs {
		age := 0.0
		if b.Pending > 0 && !b.Oldest.IsZero() {
			age = max(0, now.Sub(b.Oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(b.Pending), b.Street, b.Group)
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, b.Street, b.Group)
	}
}
