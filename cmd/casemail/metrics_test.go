package main

import (
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/replytoken"
)

// docs/operations.md: every labelled series of the configured doors is on /metrics at zero
// before the first mail: an alert on rate() or absent() works from the start.
func TestMetricsStartAtZero(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, err := casebook.Open(stores.Location(t, "m.db"), casebook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		// The poller is never started: its series must be there all the same.
		cfg := &config.Config{SMTP: config.SMTP{Listen: "127.0.0.1:0", Protocol: "lmtp"}, IMAP: []config.IMAP{{Name: "helpdesk",
			Address: "127.0.0.1:1", TLS: "none", Username: "u", PasswordEnv: "CASEMAIL_TEST_UNSET",
			Folder: "INBOX", PollInterval: config.Duration{Duration: time.Minute}, BatchSize: 1}}}
		p, err := imappoll.New(cfg.IMAP[0], receiverFunc(nil), b, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := newMetrics(b, doors(cfg)...)
		m.watchPollers([]*imappoll.Poller{p})
		srv := httptest.NewServer(newHTTPHandler(b, replytoken.New(b.Secret()), nil, m, slog.New(slog.NewTextHandler(io.Discard, nil))))
		t.Cleanup(srv.Close)
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var want []string
		for _, transport := range []string{"lmtp", "imap"} {
			for _, o := range casebook.Outcomes {
				want = append(want, `casemail_messages_received_total{outcome="`+string(o)+`",transport="`+transport+`"} 0`)
			}
			want = append(want, `casemail_ingest_temporary_failures_total{transport="`+transport+`"} 0`,
				`casemail_ingest_duration_seconds_count{transport="`+transport+`"} 0`)
		}
		want = append(want, `casemail_imap_errors_total{mailbox="helpdesk"} 0`, `casemail_imap_connected{mailbox="helpdesk"} 0`,
			"casemail_store_batch_commits_total 0", "casemail_store_batch_mails_total 0") // issue 14: mails per commit
		for _, w := range want {
			if !strings.Contains(string(body), w+"\n") {
				t.Errorf("/metrics lacks %s", w)
			}
		}
		if strings.Contains(string(body), `transport="smtp"`) || strings.Contains(string(body), `transport="pipe"`) {
			t.Errorf("/metrics shows a door serve does not listen on")
		}
	})
}
