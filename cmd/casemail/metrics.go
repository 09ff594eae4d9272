package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/imappoll"
)

// metrics are what /metrics exposes (Prometheus text format).
type metrics struct {
	reg      *prometheus.Registry
	received *prometheus.CounterVec
	failures *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	pollers  []*imappoll.Poller
	book     *casebook.Book
}

func newMetrics(book *casebook.Book) *metrics {
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
	}
	m.reg.MustRegister(m.received, m.failures, m.latency, m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) watchPollers(p []*imappoll.Poller) { m.pollers = p }

var (
	outboxDesc    = prometheus.NewDesc("casemail_outbox_messages", "Notifications in the outbox, by status.", []string{"status"}, nil)
	imapErrors    = prometheus.NewDesc("casemail_imap_errors_total", "Failed IMAP connections, checks and deliveries, by mailbox.", []string{"mailbox"}, nil)
	imapProcessed = prometheus.NewDesc("casemail_imap_processed_total", "Messages taken from an IMAP mailbox, by mailbox.", []string{"mailbox"}, nil)
	imapConnected = prometheus.NewDesc("casemail_imap_connected", "1 when the mailbox's poller is connected.", []string{"mailbox"}, nil)
)

// Describe and Collect read the outbox and the pollers at scrape time.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- imapErrors
	ch <- imapProcessed
	ch <- imapConnected
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := m.book.Stats(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Pending), "pending")
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Sent), "sent")
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(s.Failed), "failed")
	}
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
			m.received.WithLabelValues(t, out.Result).Inc()
		}
		return out, nil
	})
}

type receiverFunc func(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error)

func (f receiverFunc) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	return f(ctx, env, raw)
}

// Health thresholds: a mailbox silent for this long, or a notification
// pending for this long, makes /healthz answer 503.
const (
	mailboxStale = 10 * time.Minute
	outboxStale  = 30 * time.Minute
)

type mailboxHealth struct {
	Name        string     `json:"name"`
	Connected   bool       `json:"connected"`
	LastSuccess *time.Time `json:"last_success"`
	LastError   string     `json:"last_error,omitempty"`
	StuckUID    uint32     `json:"stuck_uid,omitempty"`
	OK          bool       `json:"ok"`
}

type health struct {
	Status    string          `json:"status"` // "ok" or "stuck"
	Problems  []string        `json:"problems"`
	Mailboxes []mailboxHealth `json:"mailboxes"`
	Outbox    struct {
		Pending          int     `json:"pending"`
		Failed           int     `json:"failed"`
		OldestPendingAge float64 `json:"oldest_pending_seconds"`
	} `json:"outbox"`
}

func newHTTPHandler(book *casebook.Book, pollers []*imappoll.Poller, m *metrics, log *slog.Logger) http.Handler {
	started := time.Now()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := health{Status: "ok", Problems: []string{}, Mailboxes: []mailboxHealth{}}
		now := time.Now()
		for _, p := range pollers {
			st := p.Status()
			mh := mailboxHealth{Name: st.Name, Connected: st.Connected, LastError: st.LastError, StuckUID: st.StuckUID, OK: true}
			if !st.LastSuccess.IsZero() {
				t := st.LastSuccess
				mh.LastSuccess = &t
			}
			since := st.LastSuccess
			if since.IsZero() {
				since = started
			}
			if now.Sub(since) > mailboxStale || st.StuckUID != 0 {
				mh.OK = false
				h.Problems = append(h.Problems, "mailbox "+st.Name+" has not been read since "+since.Format(time.RFC3339)+": "+st.LastError)
			}
			h.Mailboxes = append(h.Mailboxes, mh)
		}
		s, err := book.Stats(r.Context())
		if err != nil {
			h.Problems = append(h.Problems, "store: "+err.Error())
		} else {
			h.Outbox.Pending, h.Outbox.Failed = s.Pending, s.Failed
			if s.Pending > 0 {
				h.Outbox.OldestPendingAge = now.Sub(s.OldestPending).Seconds()
				if now.Sub(s.OldestPending) > outboxStale {
					h.Problems = append(h.Problems, "notifications have been pending since "+s.OldestPending.Format(time.RFC3339))
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if len(h.Problems) > 0 {
			h.Status = "stuck"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		if err := json.NewEncoder(w).Encode(h); err != nil {
			log.Debug("healthz write", "err", err)
		}
	})
	return mux
}
