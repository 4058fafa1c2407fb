package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	bookingsDesc = prometheus.NewDesc(namespace+"_bookings",
		"Bookings in the database by state, counted at scrape time.", []string{"state"}, nil)
	outboxDesc = prometheus.NewDesc(namespace+"_outbox",
		"Outbox notifications in the database by state, counted at scrape time; pending and sending are the backlog.", []string{"state"}, nil)
	outboxBacklogDesc = prometheus.NewDesc(namespace+"_outbox_backlog",
		"Outbox notifications not yet sent or given up (pending + sending).", nil, nil)
	scrapeErrorDesc = prometheus.NewDesc(namespace+"_db_scrape_error",
		"1 if counting in the database failed during this scrape, else 0.", nil, nil)
)

// dbCollector counts at scrape time with two GROUP BY queries, so the
// figures are exact and no background goroutine polls the database.
type dbCollector struct {
	db      Counter
	timeout time.Duration
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bookingsDesc
	ch <- outboxDesc
	ch <- outboxBacklogDesc
	ch <- scrapeErrorDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	failed := 0.0
	if byState, err := c.db.CountByState(ctx); err != nil {
		failed = 1
		ch <- prometheus.NewInvalidMetric(bookingsDesc, err)
	} else {
		for st, n := range byState {
			ch <- prometheus.MustNewConstMetric(bookingsDesc, prometheus.GaugeValue, float64(n), string(st))
		}
	}
	if outbox, err := c.db.CountOutbox(ctx); err != nil {
		failed = 1
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
	} else {
		for _, st := range []string{"pending", "sending", "sent", "failed"} {
			if _, ok := outbox[st]; !ok {
				outbox[st] = 0
			}
		}
		for st, n := range outbox {
			ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), st)
		}
		ch <- prometheus.MustNewConstMetric(outboxBacklogDesc, prometheus.GaugeValue, float64(outbox["pending"]+outbox["sending"]))
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorDesc, prometheus.GaugeValue, failed)
}
