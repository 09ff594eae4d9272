package smtpd

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/authtest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/replytoken"
)

// authGateway runs the listener in front of the real gateway with [auth]
// mode and a loopback DNS server where acme.test signs its mail with DKIM
// and asks DMARC p=reject, and whose SPF does not allow this machine: a
// client on loopback is a stranger unless the mail carries acme.test's
// signature (issue 13). No relay is configured: the loopback client is a
// sender on the Internet, not the MTA in front.
func authGateway(t *testing.T, mode string) (*casebook.Book, string) {
	t.Helper()
	z := authtest.NewZone()
	z.AddTXT("acme.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.acme.test", "v=DMARC1; p=reject")
	z.AddTXT("s1._domainkey.acme.test", authtest.RSAKeyRecord())
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
[smtp]
domains = ["support.example.test"]
[outbound]
from = "Support <support@support.example.test>"
reply_domain = "support.example.test"
[[route]]
address = "support@support.example.test"
product = "cloud"
[auth]
mode = %q
resolver = %q
relays = [] # the test client on loopback stands for the Internet
`, mode, authtest.StartDNS(t, z))))
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{MessageIDDomain: "support.example.test", NoticesPerHour: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() })
	ctx := context.Background()
	for _, a := range []string{"ann@acme.test", "carl@acme.test"} {
		if err := book.AddAccount(ctx, casebook.Account{Address: a, Verified: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := book.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
		t.Fatal(err)
	}
	gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	scfg := testConfig()
	scfg.Domains = cfg.SMTP.Domains
	_, addr := startServer(t, scfg, gw, gw)
	return book, addr
}

// send delivers raw over SMTP with a go-smtp client and wants 250.
func send(t *testing.T, addr, from, to, raw string) {
	t.Helper()
	c := dialClient(t, addr)
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA answer: %v", err)
	}
	c.Quit()
}

// The forgery scenarios of issue 13 through the real listener: the
// requester's genuine mail (signed by acme.test) opens a case; a mail with
// her forged From and the case's subject tag or Message-ID in References
// is quarantined under enforce (and no notice goes to her), recorded as a
// comment under record.
func TestAuthForgeryOverSMTP(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		for _, mode := range []string{"enforce", "record"} {
			t.Run(mode, func(t *testing.T) {
				book, addr := authGateway(t, mode)
				ctx := context.Background()
				genuine := "From: Ann <ann@acme.test>\r\nTo: support@support.example.test\r\nSubject: VPN down\r\nMessage-ID: <g1@acme.test>\r\n\r\nThe VPN is down.\r\n"
				send(t, addr, "ann@acme.test", "support@support.example.test",
					string(authtest.Sign(t, []byte(genuine), dkim.SignOptions{Domain: "acme.test", Selector: "s1"})))
				forgeries := []string{
					"From: Ann <ann@acme.test>\r\nTo: support@support.example.test\r\nSubject: Re: [Case #1] VPN down\r\nMessage-ID: <f1@attacker.test>\r\n\r\nNew bank details: ...\r\n",
					"From: Ann <ann@acme.test>\r\nTo: support@support.example.test\r\nSubject: Re: VPN down\r\nReferences: <g1@acme.test>\r\nMessage-ID: <f2@attacker.test>\r\n\r\nPlease close it.\r\n",
				}
				for _, f := range forgeries {
					send(t, addr, "ann@acme.test", "support@support.example.test", f)
				}
				msgs, err := book.Messages(ctx, "")
				if err != nil || len(msgs) != 3 {
					t.Fatalf("messages = %+v, %v", msgs, err)
				}
				if msgs[0].Outcome != casebook.OutcomeCaseOpened || msgs[0].Unauthenticated || !strings.Contains(string(msgs[0].Auth), `"from_aligned":true`) {
					t.Fatalf("genuine mail: %s (%s) auth %s", msgs[0].Outcome, msgs[0].Reason, msgs[0].Auth)
				}
				want := map[string]casebook.Outcome{"enforce": casebook.OutcomeQuarantined, "record": casebook.OutcomeCommentAdded}[mode]
				for _, m := range msgs[1:] {
					if m.Outcome != want || !m.Unauthenticated || !strings.Contains(m.Reason, "From domain acme.test not authenticated (spf=fail") {
						t.Errorf("forgery %s: %s (%s), want %s", m.MessageID, m.Outcome, m.Reason, want)
					}
				}
				c, err := book.Case(ctx, 1)
				if err != nil {
					t.Fatal(err)
				}
				if n := map[string]int{"enforce": 0, "record": 2}[mode]; len(c.Comments) != n {
					t.Errorf("case 1 has %d comments, want %d", len(c.Comments), n)
				}
				if mode == "enforce" {
					items, _ := book.Outbox(ctx, casebook.OutboxPending)
					for _, it := range items {
						if it.CaseID == nil || *it.CaseID != 1 || it.Template != "case_opened" {
							t.Errorf("a forgery caused mail: %s to %s", it.Template, it.To)
						}
					}
				}
			})
		}
	})
}
