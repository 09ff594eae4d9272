package smtpd

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"net/smtp"

	"github.com/casemail/casemail/casebook"
	"slices"
	"strings"
	"testing"
)

// Issue 10, I6, against the real listener and gateway: a From whose
// display name shows the requester's address while the addr-spec is the
// attacker's threads nothing, adds no watcher and queues no mail for the
// attacker, however the display name hides it.
func TestImpersonationThroughFromOverSMTP(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := realGateway(t, "smtp")
		ctx := context.Background()
		out, code := swaks(t, addr, "--from", "ann@acme.test", "--to", "support@support.example.test",
			"--header", "Subject: VPN down", "--header", "Message-Id: <open@acme.test>")
		if code != 0 {
			t.Fatalf("opening mail: swaks exit %d:\n%s", code, out)
		}
		forged := []string{
			`ann@acme.test <mallory@evil.test>`,
			`=?utf-8?q?x:_ann=40acme.test?= <mallory@evil.test>`,
			`"ann@acme.test" <mallory@evil.test>`,
			`ann@acme.test (Ann) <mallory@evil.test>`,
			`Ann <ann@acme.test>, Mallory <mallory@evil.test>`,
			`team: ann@acme.test;`,
		}
		for i, from := range forged {
			t.Run(from, func(t *testing.T) {
				out, code := swaks(t, addr, "--from", "mallory@evil.test", "--to", "support@support.example.test",
					"--header", "From: "+from, "--header", "Cc: mallory@evil.test",
					"--header", "Subject: Re: [Case #1] VPN down", "--header", fmt.Sprintf("Message-Id: <forged%d@evil.test>", i),
					"--body", "Please send the logs to mallory@evil.test.")
				if code != 0 || !strings.Contains(out, "<-  250 ") {
					t.Fatalf("swaks exit %d:\n%s", code, out)
				}
				msgs, err := book.Messages(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				last := msgs[len(msgs)-1]
				if last.Outcome != casebook.OutcomeQuarantined {
					t.Fatalf("outcome %s (%s), want quarantined", last.Outcome, last.Reason)
				}
			})
		}
		c, err := book.Case(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Comments) != 0 || slices.Contains(c.Watchers, "mallory@evil.test") {
			t.Fatalf("the forgery reached the case: comments %+v, watchers %v", c.Comments, c.Watchers)
		}
	})
}

// Issue 10: the parse blow-ups (10,000 nested multiparts in 707 KB took
// 143 s of CPU) sent through the real listener get their 250 and are
// recorded with what the parser's bounds cut; the raw mail is kept.
func TestNestedMultipartsOverSMTP(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := realGateway(t, "smtp")
		var b strings.Builder
		b.WriteString("From: ann@acme.test\r\nTo: support@support.example.test\r\nSubject: nested\r\nMessage-Id: <nested@acme.test>\r\nMIME-Version: 1.0\r\n")
		b.WriteString("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
		for i := range 10000 {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
		}
		b.WriteString("--b10000\r\nContent-Type: text/plain\r\n\r\nServer down.\r\n")
		for i := 10000; i >= 0; i-- {
			fmt.Fprintf(&b, "--b%d--\r\n", i)
		}
		if err := smtp.SendMail(addr, nil, "ann@acme.test", []string{"support@support.example.test"}, []byte(b.String())); err != nil {
			t.Fatalf("send: %v", err)
		}
		msgs, err := book.Messages(context.Background(), "")
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages %v, %v", msgs, err)
		}
		if !strings.Contains(strings.Join(msgs[0].Problems, "\n"), "nested over") {
			t.Fatalf("outcome %s, problems %q: the cut is not recorded", msgs[0].Outcome, msgs[0].Problems)
		}
		var kept strings.Builder
		if err := book.WriteRaw(context.Background(), msgs[0].RawSHA256, &kept); err != nil {
			t.Fatal(err)
		}
		if kept.Len() < b.Len() {
			t.Fatalf("kept %d bytes of %d", kept.Len(), b.Len())
		}
	})
}
