package main

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/authtest"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/senderauth"
)

const cliMTA = "mx.support.test"

// authCLI is a CLI whose config trusts cliMTA and resolves through a
// loopback DNS server where acme.test allows 192.0.2.10 and asks DMARC
// p=reject.
func authCLI(t *testing.T) *cli {
	t.Helper()
	z := authtest.NewZone()
	z.AddTXT("acme.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.acme.test", "v=DMARC1; p=reject")
	c := newCLI(t)
	f, err := os.OpenFile(c.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "[[route]]\naddress = \"support@localhost\"\nproduct = \"cloud\"\n[auth]\nmode = \"enforce\"\nresolver = %q\ntrusted_authserv_ids = [%q]\n", authtest.StartDNS(t, z), cliMTA)
	f.Close()
	c.setup()
	return c
}

func arField(spf, dmarc string) string {
	return fmt.Sprintf("Authentication-Results: %s; spf=%s smtp.mailfrom=acme.test; dmarc=%s header.from=acme.test\r\n", cliMTA, spf, dmarc)
}

// Issue 13 through "casemail deliver" behind the MTA: its verdict is
// trusted, a forged one is not; "message show" and "case show" mark what
// was not authenticated; parse and route test print the verdict.
func TestAuthThroughTheCLI(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := authCLI(t)
		mail := func(id, to, subject string) string {
			return fmt.Sprintf("From: Ann <ann@acme.test>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@acme.test>\r\n\r\nThe printer is on fire.\r\n", to, subject, id)
		}
		// The MTA's pass: a case.
		if _, errs, code := c.run(arField("pass", "pass")+mail("a1", "support@localhost", "Printer"), "deliver", "--recipient", "support@localhost"); code != 0 {
			t.Fatalf("deliver: exit %d: %s", code, errs)
		}
		// A forged pass, written by the sender under another authserv-id.
		forged := strings.Replace(arField("pass", "pass"), cliMTA, "mx.attacker.test", 1) + mail("a2", "support@localhost", "[Case #1] Pay this IBAN")
		if _, errs, code := c.run(forged, "deliver", "--recipient", "support@localhost"); code != 0 {
			t.Fatalf("deliver: exit %d: %s", code, errs)
		}
		msgs := decode[[]map[string]any](t, c.ok("message", "list", "--json"))
		if len(msgs) != 2 || msgs[0]["outcome"] != "case_opened" || msgs[1]["outcome"] != "quarantined" {
			t.Fatalf("messages = %v", msgs)
		}
		if show := c.ok("message", "show", "2"); !strings.Contains(show, "Auth:       spf=none dkim=none dmarc=none, none — UNAUTHENTICATED") {
			t.Errorf("message show does not mark the forgery:\n%s", show)
		}
		if show := c.ok("message", "show", "1"); !strings.Contains(show, "dmarc=pass, trusted_header — authenticated") {
			t.Errorf("message show:\n%s", show)
		}

		// A reply token from a mail the MTA failed: threads, marked (case show).
		tok := address.ForReply("support", replytoken.New(c.book(nil).Secret()).Sign(1, "ann@acme.test", time.Now().Add(time.Hour)), "support.test")
		if _, errs, code := c.run(arField("fail", "fail")+mail("a3", tok, "Re: Printer"), "deliver", "--recipient", tok); code != 0 {
			t.Fatalf("deliver: exit %d: %s", code, errs)
		}
		if show := c.ok("case", "show", "1"); !strings.Contains(show, "ann@acme.test (UNAUTHENTICATED sender") {
			t.Errorf("case show does not mark the unauthenticated comment:\n%s", show)
		}
		cs := decode[map[string]any](t, c.ok("case", "show", "1", "--json"))
		if cm := cs["comments"].([]any); len(cm) != 1 || cm[0].(map[string]any)["unauthenticated"] != true {
			t.Errorf("case show --json comments = %v", cs["comments"])
		}

		// parse and route test print the verdict; --client-ip verifies as the first hop.
		eml := filepath.Join(c.dir, "m.eml")
		os.WriteFile(eml, []byte(mail("a4", "support@localhost", "Printer")), 0o644)
		p := decode[map[string]any](t, c.ok("parse", eml, "--json"))
		a, _ := p["auth"].(map[string]any)
		hasKeys(t, "parse auth", a, "spf", "dkim", "dmarc", "from_aligned", "source")
		p = decode[map[string]any](t, c.ok("parse", eml, "--json", "--client-ip", "192.0.2.10", "--mail-from", "ann@acme.test"))
		if a, _ := p["auth"].(map[string]any); a["source"] != "verified" || a["spf"] != "pass" || a["dmarc"] != "pass" || a["from_aligned"] != true {
			t.Errorf("parse --client-ip: auth = %v", a)
		}
		for _, tc := range []struct {
			ip, action, source string
			aligned            bool
		}{
			{"", "quarantine", "none", false}, // no MTA field on a mail behind it
			{"192.0.2.10", "open", "verified", true},
			{"203.0.113.66", "quarantine", "verified", false},
		} {
			args := []string{"route", "test", "--json", eml}
			if tc.ip != "" {
				args = append(args, "--client-ip", tc.ip, "--mail-from", "ann@acme.test")
			}
			d := decode[map[string]any](t, c.ok(args...))
			a, _ := d["auth"].(map[string]any)
			if d["action"] != tc.action || a["source"] != tc.source || a["from_aligned"] != tc.aligned || a["spf"] == "" || a["dkim"] == nil {
				t.Errorf("route test --client-ip %q: action %v, auth %v; want %s, %s, aligned %v", tc.ip, d["action"], a, tc.action, tc.source, tc.aligned)
			}
		}
		c.fail("--client-ip \"nowhere\" is not an IP address", "route", "test", eml, "--client-ip", "nowhere")
	})
}

// /metrics counts verdicts, every series registered at zero.
func TestAuthMetrics(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, err := casebook.Open(stores.Location(t, "m.db"), casebook.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		m := newMetrics(b, ingest.TransportSMTP)
		v := &senderauth.Verdict{Source: senderauth.SourceVerified, FromAligned: false}
		r := m.instrument(receiverFunc(func(context.Context, ingest.Envelope, io.Reader) (ingest.Outcome, error) {
			return ingest.Outcome{Result: casebook.OutcomeQuarantined, Auth: v}, nil
		}))
		if _, err := r.Receive(context.Background(), ingest.Envelope{Transport: ingest.TransportSMTP}, strings.NewReader("")); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(newHTTPHandler(b, replytoken.New(b.Secret()), nil, m, slog.New(slog.DiscardHandler)))
		t.Cleanup(srv.Close)
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, w := range []string{
			`casemail_auth_verdicts_total{from_aligned="false",source="verified"} 1`,
			`casemail_auth_verdicts_total{from_aligned="true",source="verified"} 0`,
			`casemail_auth_verdicts_total{from_aligned="true",source="trusted_header"} 0`,
			`casemail_auth_verdicts_total{from_aligned="false",source="none"} 0`,
		} {
			if !strings.Contains(string(body), w+"\n") {
				t.Errorf("/metrics lacks %s", w)
			}
		}
	})
}
