package smtpd

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/replytoken"
)

// realGateway runs the listener in front of the real ingest.Gateway and casebook.
func realGateway(t *testing.T, protocol string) (*casebook.Book, string) {
	t.Helper()
	cfg, err := config.Parse([]byte(`
[smtp]
domains = ["support.example.test"]
protocol = "` + protocol + `"
[outbound]
from = "Support <support@support.example.test>"
reply_domain = "support.example.test"
[[route]]
address = "support@support.example.test"
product = "cloud"
[[route]]
address = "billing@support.example.test"
product = "billing"
`))
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
	scfg.Domains, scfg.Protocol = cfg.SMTP.Domains, protocol
	_, addr := startServer(t, scfg, gw, gw)
	return book, addr
}

// Every row of the decision, through a real SMTP client and the real gateway:
// each mail gets its 250 only with its outcome recorded (I1, I4).
func TestDecisionOverSMTP(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := realGateway(t, "smtp")
		ctx := context.Background()
		// The reply address of a notification sent to carl, used by someone else.
		carlsToken := address.ForReply("support", replytoken.New(book.Secret()).Sign(1, "carl@acme.test", time.Now().Add(time.Hour)), "support.example.test")
		rows := []struct {
			name    string
			args    []string
			outcome string
			reason  string
		}{
			{"R6 registered sender opens a case", []string{"--from", "ann@acme.test", "--to", "support@support.example.test", "--header", "Cc: carl@acme.test", "--header", "Subject: VPN down", "--header", "Message-Id: <d1@acme.test>"}, "case_opened", "R6"},
			{"I2 the same mail again", []string{"--from", "ann@acme.test", "--to", "support@support.example.test", "--header", "Cc: carl@acme.test", "--header", "Subject: VPN down", "--header", "Message-Id: <d1@acme.test>"}, "case_opened", "R6"},
			{"R9 watcher replies with the tag", []string{"--from", "carl@acme.test", "--to", "support@support.example.test", "--header", "Subject: Re: [Case #1] VPN down", "--body", "Same here.\n\n> VPN down"}, "comment_added", "R9"},
			{"R1 unknown sender", []string{"--from", "who@else.test", "--to", "support@support.example.test", "--header", "Subject: hi"}, "refused", "R1"},
			{"R3 product not entitled", []string{"--from", "ann@acme.test", "--to", "billing@support.example.test", "--header", "Subject: invoice"}, "refused", "R3"},
			{"I6 outsider with the tag", []string{"--from", "who@else.test", "--to", "support@support.example.test", "--header", "Subject: Re: [Case #1] VPN down"}, "quarantined", "I6"},
			{"I6 foreign reply token", []string{"--from", "who@else.test", "--to", carlsToken, "--header", "Subject: Re: x"}, "quarantined", "I6"},
			{"I5 out of office", []string{"--from", "ann@acme.test", "--to", "support@support.example.test", "--header", "Subject: Out of office", "--header", "Auto-Submitted: auto-replied"}, "ignored", "I5"},
			{"I5 bounce from the null sender", []string{"--from", "", "--to", "support@support.example.test", "--header", "From: MAILER-DAEMON@mx.else.test", "--header", "Subject: Undelivered Mail Returned to Sender"}, "ignored", ""},
		}
		for i, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				out, code := swaks(t, addr, r.args...)
				if code != 0 || !strings.Contains(out, "<-  250 ") {
					t.Fatalf("swaks exit %d:\n%s", code, out)
				}
				msgs, err := book.Messages(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				want := i + 1
				if i >= 1 {
					want = i // the duplicate added no record
				}
				if len(msgs) != want {
					t.Fatalf("%d message records, want %d", len(msgs), want)
				}
				last := msgs[len(msgs)-1]
				if string(last.Outcome) != r.outcome || !strings.Contains(last.Reason, r.reason) || last.Transport != "smtp" {
					t.Fatalf("outcome %s (%s) via %s, want %s containing %q", last.Outcome, last.Reason, last.Transport, r.outcome, r.reason)
				}
			})
		}
		c, err := book.Case(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Comments) != 1 || c.Comments[0].Body != "Same here." {
			t.Fatalf("case 1 comments = %+v", c.Comments)
		}
	})
}

// I1: when the store is gone the listener answers 451 4.3.0, so the sender keeps the mail and retries.
func TestStoreDownAnswers451(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := realGateway(t, "smtp")
		book.Close()
		out, code := swaks(t, addr, "--from", "ann@acme.test", "--to", "support@support.example.test", "--header", "Subject: x")
		if code == 0 || !strings.Contains(out, "451 4.3.0") {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
	})
}

// LMTP answers per recipient (RFC 2033): 250 for each accepted one, 550 at RCPT for one with no route, one case.
func TestLMTPPerRecipientWithGateway(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := realGateway(t, "lmtp")
		out, code := swaks(t, addr, "--protocol", "LMTP", "--from", "ann@acme.test",
			"--to", "support@support.example.test,nobody@support.example.test,support+acme@support.example.test",
			"--header", "Subject: via LMTP")
		if !strings.Contains(out, "550 5.1.1") || strings.Count(out, "<-  250 2.0.0") < 2 {
			t.Fatalf("swaks exit %d:\n%s", code, out)
		}
		cases, err := book.List(context.Background(), casebook.ListFilter{Org: "acme"})
		if err != nil || len(cases) != 1 {
			t.Fatalf("cases = %v %v", cases, err)
		}
		msgs, _ := book.Messages(context.Background(), "")
		if len(msgs) != 1 || msgs[0].Transport != "lmtp" || fmt.Sprint(msgs[0].Recipients) != "[support@support.example.test support+acme@support.example.test]" {
			t.Fatalf("messages = %+v", msgs)
		}
	})
}
