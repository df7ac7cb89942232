package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// queueCollector reports the background queues at each scrape: the
// duplicate scan's (depth and the oldest person's wait) and the poverty
// rollup's dirty keys. Each is two or three index probes, whatever the
// queue's length. A queue that cannot be read is left out of the scrape.
type queueCollector struct {
	a             *App
	depth, waited *prometheus.Desc
}

func newQueueCollector(a *App) queueCollector {
	return queueCollector{a: a,
		depth: prometheus.NewDesc("ansinh_queue_depth", "Rows waiting in a background queue (approximate: the span of its ids).",
			[]string{"queue"}, nil),
		waited: prometheus.NewDesc("ansinh_queue_oldest_seconds", "How long the oldest row of a background queue has waited.",
			[]string{"queue"}, nil),
	}
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.waited }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, waited, err := c.a.households.ScanBacklog(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), "duplicate_scans")
		ch <- prometheus.MustNewConstMetric(c.waited, prometheus.GaugeValue, waited, "duplicate_scans")
	}
	if n, err := c.a.reports.RollupBacklog(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n), "poverty_rollup_dirty")
	}
}
