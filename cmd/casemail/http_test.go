package main

import (
	"context"
	"encoding/json"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/replytoken"
)

func httpFixture(t *testing.T, now func() time.Time) (*casebook.Book, *httptest.Server, casebook.Case) {
	t.Helper()
	b, err := casebook.Open(stores.Location(t, "h.db"), casebook.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	b.AddAccount(ctx, casebook.Account{Address: "ann@acme.test", Verified: true})
	b.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}})
	c, err := b.OpenCase(ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "t", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHTTPHandler(b, replytoken.New(b.Secret()), nil, newMetrics(b), slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return b, srv, c
}

// /healthz answers 503 when notifications are stuck in the outbox, 200 otherwise; /metrics shows the backlog.
func TestHealthz(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, srv, _ := httpFixture(t, func() time.Time { return time.Now().Add(-time.Hour) })
		get := func(path string) (int, string) {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		code, body := get("/healthz")
		var h health
		json.Unmarshal([]byte(body), &h)
		if code != http.StatusServiceUnavailable || h.Status != "stuck" || h.Outbox.Pending != 2 {
			t.Fatalf("healthz with hour-old pending mail: %d %s", code, body)
		}
		_, metrics := get("/metrics")
		if !strings.Contains(metrics, `casemail_outbox_messages{status="pending"} 2`) {
			t.Fatalf("metrics lack the outbox backlog:\n%s", metrics)
		}
		items, _ := b.Outbox(context.Background(), casebook.OutboxPending)
		for _, it := range items {
			b.MarkSent(context.Background(), it.ID, "", time.Now())
		}
		if code, body = get("/healthz"); code != http.StatusOK {
			t.Fatalf("healthz after sending: %d %s", code, body)
		}
	})
}

// RFC 8058: a POST with the signed token unsubscribes its watcher; GET only asks; a token for someone else does nothing.
func TestOneClickUnsubscribe(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, srv, c := httpFixture(t, nil)
		tok := replytoken.New(b.Secret()).Sign(c.ID, "carl@acme.test", time.Now().Add(time.Hour))
		link := srv.URL + "/unsubscribe?t=" + url.QueryEscape(tok) + "&a=" + url.QueryEscape("carl@acme.test")
		if resp, err := http.Get(link); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %v %v", resp, err)
		}
		if got, _ := b.Case(context.Background(), c.ID); len(got.Watchers) != 1 {
			t.Fatal("a GET unsubscribed")
		}
		forged := srv.URL + "/unsubscribe?t=" + url.QueryEscape(tok) + "&a=" + url.QueryEscape("ann@acme.test")
		if resp, _ := http.Post(forged, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click")); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("forged unsubscribe: %d", resp.StatusCode)
		}
		resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST: %v %v", resp, err)
		}
		if got, _ := b.Case(context.Background(), c.ID); len(got.Watchers) != 0 {
			t.Fatalf("still watching: %v", got.Watchers)
		}
	})
}
