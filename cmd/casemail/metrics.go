package main

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/senderauth"
)

// metrics are what /metrics exposes (Prometheus text format).
type metrics struct {
	reg      *prometheus.Registry
	received *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	verdicts *prometheus.CounterVec
	pollers  []*imappoll.Poller
	book     *casebook.Book
}

// newMetrics registers every labelled series of the doors serve listens on
// at zero, so that a dashboard or an alert (rate, absent) sees them before
// the first mail.
func newMetrics(book *casebook.Book, doors ...ingest.Transport) *metrics {
	m := &metrics{
		reg:  prometheus.NewRegistry(),
		book: book,
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casemail_messages_received_total", Help: "Inbound messages recorded, by transport and outcome.",
		}, []string{"transport", "outcome"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casemail_ingest_temporary_failures_total", Help: "Inbound messages answered with a temporary failure (to be retried).",
		}, []string{"transport"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "casemail_ingest_duration_seconds", Help: "Time from the first byte to the committed outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"transport"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "casemail_auth_verdicts_total", Help: "Sender authentication verdicts of inbound messages (issue 13), by source and whether the From domain was authenticated.",
		}, []string{"source", "from_aligned"}),
	}
	for _, s := range []senderauth.Source{senderauth.SourceVerified, senderauth.SourceTrustedHeader, senderauth.SourceNone} {
		for _, a := range []string{"true", "false"} {
			m.verdicts.WithLabelValues(string(s), a)
		}
	}
	m.reg.MustRegister(m.received, m.failures, m.latency, m.verdicts, m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, d := range doors {
		t := string(d)
		for _, o := range casebook.Outcomes {
			m.received.WithLabelValues(t, string(o))
		}
		m.failures.WithLabelValues(t)
		m.latency.WithLabelValues(t)
	}
	return m
}

// doors are the transports serve receives mail through with cfg.
func doors(cfg *config.Config) []ingest.Transport {
	var out []ingest.Transport
	if cfg.SMTP.Listen != "" {
		t := ingest.TransportSMTP
		if cfg.SMTP.Protocol == "lmtp" {
			t = ingest.TransportLMTP
		}
		out = append(out, t)
	}
	if len(cfg.IMAP) > 0 {
		out = append(out, ingest.TransportIMAP)
	}
	return out
}

func (m *metrics) watchPollers(p []*imappoll.Poller) { m.pollers = p }

var (
	outboxDesc    = prometheus.NewDesc("casemail_outbox_messages", "Notifications in the outbox, by status.", []string{"status"}, nil)
	imapErrors    = prometheus.NewDesc("casemail_imap_errors_total", "Failed IMAP connections, checks and deliveries, by mailbox.", []string{"mailbox"}, nil)
	imapProcessed = prometheus.NewDesc("casemail_imap_processed_total", "Messages taken from an IMAP mailbox, by mailbox.", []string{"mailbox"}, nil)
	imapConnected = prometheus.NewDesc("casemail_imap_connected", "1 when the mailbox's poller is connected.", []string{"mailbox"}, nil)
	// Group commit (issue 14): mails per commit is the ratio of the two.
	storeCommits = prometheus.NewDesc("casemail_store_batch_commits_total", "Transactions of the casebook's group-commit writer (one per batch of inbound mail).", nil, nil)
	storeMails   = prometheus.NewDesc("casemail_store_batch_mails_total", "Inbound mails recorded (or refused) in those transactions.", nil, nil)
)

// Describe and Collect read the outbox and the pollers at scrape time.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- imapErrors
	ch <- imapProcessed
	ch <- imapConnected
	ch <- storeCommits
	ch <- storeMails
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := m.book.Stats(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Pending), "pending")
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Sent), "sent")
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Failed), "failed")
	}
	bs := m.book.BatchStats()
	ch <- prometheus.MustNewConstMetric(storeCommits, prometheus.CounterValue, float64(bs.Batches))
	ch <- prometheus.MustNewConstMetric(storeMails, prometheus.CounterValue, float64(bs.Mails))
	for _, p := range m.pollers {
		st := p.Status()
		ch <- prometheus.MustNewConstMetric(imapErrors, prometheus.CounterValue, float64(st.Errors), st.Name)
		ch <- prometheus.MustNewConstMetric(imapProcessed, prometheus.CounterValue, float64(st.Processed), st.Name)
		connected := 0.0
		if st.Connected {
			connected = 1
		}
		ch <- prometheus.MustNewConstMetric(imapConnected, prometheus.GaugeValue, connected, st.Name)
	}
}

// instrument wraps a receiver to count outcomes and time them.
func (m *metrics) instrument(r ingest.Receiver) ingest.Receiver {
	return receiverFunc(func(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
		start := time.Now()
		out, err := r.Receive(ctx, env, raw)
		t := string(env.Transport)
		if err != nil {
			m.failures.WithLabelValues(t).Inc()
			return out, err
		}
		m.latency.WithLabelValues(t).Observe(time.Since(start).Seconds())
		if !out.Duplicate {
			m.received.WithLabelValues(t, string(out.Result)).Inc()
			if out.Auth != nil {
				m.verdicts.WithLabelValues(string(out.Auth.Source), strconv.FormatBool(out.Auth.FromAligned)).Inc()
			}
		}
		return out, nil
	})
}

type receiverFunc func(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error)

func (f receiverFunc) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	return f(ctx, env, raw)
}
