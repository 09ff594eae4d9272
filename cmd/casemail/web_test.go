package main

import (
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/replytoken"
)

// casemail serve mounts the customer view beside /healthz and /metrics when
// http.public_url is set, and not otherwise (no address to put in mail).
func TestServeMountsCustomerView(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, err := casebook.Open(stores.Location(t, "w.db"), casebook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		for _, tc := range []struct {
			publicURL string
			signin    int
		}{
			{"https://desk.example.test/", http.StatusOK},
			{"", http.StatusNotFound},
		} {
			cfg := config.Default()
			cfg.Outbound.Transport = "maildir:" + filepath.Join(t.TempDir(), "sent")
			cfg.Outbound.From = "Support <support@example.test>"
			cfg.Outbound.ReplyDomain = "example.test"
			cfg.HTTP.PublicURL = tc.publicURL
			worker, err := outbound.NewFromConfig(cfg, b, replytoken.New(b.Secret()), log)
			if err != nil {
				t.Fatal(err)
			}
			h, err := withCustomerView(cfg, b, worker, log, newHTTPHandler(b, replytoken.New(b.Secret()), nil, newMetrics(b), log))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			for path, want := range map[string]int{"/signin": tc.signin, "/healthz": http.StatusOK, "/metrics": http.StatusOK} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("public_url %q: %s answered %d, want %d", tc.publicURL, path, resp.StatusCode, want)
				}
				if path == "/signin" && want == http.StatusOK && !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
					t.Errorf("/signin without its headers")
				}
			}
			srv.Close()
		}
	})
}
