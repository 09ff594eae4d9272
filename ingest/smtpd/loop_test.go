package smtpd

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

// I5, issue 10: a requester and a watcher whose mail systems answer every
// mail without saying so (no Auto-Submitted, no Precedence) once made
// thousands of comments. Two such responders answer every notification the
// real gateway sends them, through a real SMTP client to its Reply-To, until
// the gateway stops notifying them: the loop must stop within 10 comments,
// and the team hear of it once.
func TestLoopOfSilentAutoRespondersStops(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		cfg, err := config.Parse([]byte(`
[smtp]
domains = ["support.example.test"]
[outbound]
from = "Support <support@support.example.test>"
reply_domain = "support.example.test"
[[route]]
address = "support@support.example.test"
product = "cloud"
`))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		book, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{MessageIDDomain: "support.example.test",
			NoticesPerHour: cfg.Policy.NoticesPerHour, LoopWindow: cfg.Policy.LoopWindow.Duration, MaxMailComments: cfg.Policy.MaxMailComments,
			MaxCaseNotifications: cfg.Policy.MaxCaseNotifications, MaxNewRecipientsPerHour: cfg.Policy.MaxNewRecipientsPerHour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { book.Close() })
		for _, a := range []casebook.Account{{Address: "ann@acme.test", Verified: true}, {Address: "agent@support.example.test", Verified: true, Agent: true}} {
			if err := book.AddAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := book.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
			t.Fatal(err)
		}
		signer := replytoken.New(book.Secret())
		gw, err := ingest.New(book, cfg, signer, testenv.Logger(t))
		if err != nil {
			t.Fatal(err)
		}
		scfg := testConfig()
		scfg.Domains = cfg.SMTP.Domains
		_, addr := startServer(t, scfg, gw, gw)
		set, err := templates.New("", "en")
		if err != nil {
			t.Fatal(err)
		}
		composer, err := outbound.NewComposer(cfg, set, signer)
		if err != nil {
			t.Fatal(err)
		}

		send := func(from, to, raw string) {
			t.Helper()
			c := dialClient(t, addr)
			if err := c.SendMail(from, []string{to}, strings.NewReader(raw)); err != nil {
				t.Fatalf("send as %s: %v", from, err)
			}
			c.Quit()
		}
		// The watcher's system is the other responder.
		send("ann@acme.test", "support@support.example.test", "From: ann@acme.test\r\nTo: support@support.example.test\r\nCc: robot@partner.test\r\n"+
			"Subject: VPN down\r\nMessage-ID: <open@acme.test>\r\n\r\nThe VPN is down since this morning.\r\n")

		responders := map[string]bool{"ann@acme.test": true, "robot@partner.test": true}
		var answered, loopNotices int
		for round := 0; round < 100; round++ {
			items, err := book.Outbox(ctx, casebook.OutboxPending)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) == 0 {
				break
			}
			for _, it := range items {
				thread, _ := book.CaseThread(ctx, *it.CaseID)
				m, err := composer.Compose(it, thread, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if err := book.MarkSent(ctx, it.ID, m.Subject, time.Now()); err != nil {
					t.Fatal(err)
				}
				if it.Template == templates.LoopSuspected {
					loopNotices++
					continue
				}
				if !responders[it.To] {
					continue
				}
				// Answer as a mail system that answers everything does:
				// to the Reply-To, a line of its own and the mail quoted.
				n, err := message.Parse(m.Bytes, message.Options{})
				if err != nil || len(n.ReplyTo) != 1 {
					t.Fatalf("notification %d: reply-to %v, %v", it.ID, n.ReplyTo, err)
				}
				answered++
				quoted := "> " + strings.ReplaceAll(strings.TrimSpace(n.Text), "\n", "\n> ")
				send(it.To, n.ReplyTo[0], fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <auto%d@responder.test>\r\nIn-Reply-To: <%s>\r\n\r\n"+
					"Thank you for your message. We answer every mail within 24 hours (ticket %d).\r\n\r\n%s\r\n",
					it.To, n.ReplyTo[0], n.Subject, answered, n.MessageID, answered, strings.ReplaceAll(quoted, "\n", "\r\n")))
			}
		}
		c, err := book.Case(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		msgs, _ := book.Messages(ctx, casebook.OutcomeQuarantined)
		t.Logf("%d answers, %d comments, %d quarantined as a loop", answered, len(c.Comments), len(msgs))
		if len(c.Comments) > 10 {
			t.Fatalf("%d comments: the loop did not stop within 10 mails", len(c.Comments))
		}
		if answered > 30 {
			t.Fatalf("the responders were notified %d times", answered)
		}
		if loopNotices != 1 || len(msgs) == 0 || !strings.Contains(msgs[0].Reason, "suspected mail loop") {
			t.Fatalf("%d loop notices to the team, quarantined %+v", loopNotices, msgs)
		}
	})
}
