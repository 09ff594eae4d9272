package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/replytoken"
)

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
	// Several gateways on one store: who polls the mailbox (its lease's
	// holder), whether it is this gateway, and whether this one stands by.
	Holder  string `json:"holder,omitempty"`
	Mine    bool   `json:"mine"`
	Standby bool   `json:"standby,omitempty"`
}

// leaseHealth is one live lease of the store (leases.go in casebook).
type leaseHealth struct {
	Name    string    `json:"name"`
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
	Mine    bool      `json:"mine"`
}

type health struct {
	Status    string          `json:"status"` // "ok" or "stuck"
	Problems  []string        `json:"problems"`
	Gateway   string          `json:"gateway"` // this gateway's holder id
	Leases    []leaseHealth   `json:"leases"`  // every live lease of the store
	Mailboxes []mailboxHealth `json:"mailboxes"`
	Outbox    struct {
		Pending          int     `json:"pending"`
		Failed           int     `json:"failed"`
		OldestPendingAge float64 `json:"oldest_pending_seconds"`
	} `json:"outbox"`
}

// newHTTPHandler serves /healthz, /metrics and the one-click unsubscribe
// of watcher mail (RFC 8058), which http.public_url points at.
func newHTTPHandler(book *casebook.Book, signer *replytoken.Signer, pollers []*imappoll.Poller, m *metrics, log *slog.Logger) http.Handler {
	started := time.Now()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	// GET only shows a button: mail scanners follow links, and must not unsubscribe anyone.
	mux.HandleFunc("GET /unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><meta charset="utf-8"><title>Unsubscribe</title><form method="post"><input type="hidden" name="t" value="%s"><input type="hidden" name="a" value="%s"><p>Stop receiving mail about this case as %s?</p><button>Unsubscribe</button></form>`,
			html.EscapeString(r.URL.Query().Get("t")), html.EscapeString(r.URL.Query().Get("a")), html.EscapeString(r.URL.Query().Get("a")))
	})
	mux.HandleFunc("POST /unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		t, a := r.URL.Query().Get("t"), r.URL.Query().Get("a")
		if t == "" {
			r.ParseForm()
			t, a = r.PostForm.Get("t"), r.PostForm.Get("a")
		}
		caseID, err := signer.Verify(t, a, time.Now())
		if err != nil {
			http.Error(w, "this unsubscribe link is not valid: "+err.Error(), http.StatusForbidden)
			return
		}
		if err := book.Unsubscribe(r.Context(), caseID, a); errors.Is(err, casebook.ErrNotFound) {
			http.Error(w, fmt.Sprintf("case %d does not exist", caseID), http.StatusNotFound)
			return
		} else if err != nil {
			log.Warn("unsubscribe", "case", caseID, "address", a, "err", err)
			http.Error(w, "could not unsubscribe now: try again later", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%s no longer watches case %d.\n", a, caseID)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := health{Status: "ok", Problems: []string{}, Gateway: book.Holder(), Leases: []leaseHealth{}, Mailboxes: []mailboxHealth{}}
		now := time.Now()
		for _, p := range pollers {
			st := p.Status()
			mh := mailboxHealth{Name: st.Name, Connected: st.Connected, LastError: st.LastError, StuckUID: st.StuckUID, OK: true,
				Holder: st.Holder, Mine: st.Lease == "" || (!st.Standby && st.Holder == book.Holder()), Standby: st.Standby}
			if !st.LastSuccess.IsZero() {
				t := st.LastSuccess
				mh.LastSuccess = &t
			}
			since := st.LastSuccess
			if since.IsZero() {
				since = started
			}
			// A mailbox another gateway polls is that gateway's to report.
			if !st.Standby && (now.Sub(since) > mailboxStale || st.StuckUID != 0) {
				mh.OK = false
				h.Problems = append(h.Problems, "mailbox "+st.Name+" has not been read since "+since.Format(time.RFC3339)+": "+st.LastError)
			}
			h.Mailboxes = append(h.Mailboxes, mh)
		}
		// A full disk or a failing store: mail is being answered 451.
		if werr, at := book.LastWriteError(); werr != nil {
			h.Problems = append(h.Problems, "store: the last write failed at "+at.Format(time.RFC3339)+": "+werr.Error())
		}
		if ls, err := book.Leases(r.Context()); err != nil {
			h.Problems = append(h.Problems, "store: "+err.Error())
		} else {
			for _, l := range ls {
				h.Leases = append(h.Leases, leaseHealth{Name: l.Name, Holder: l.Holder, Expires: l.ExpiresAt, Mine: l.Holder == book.Holder()})
			}
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
