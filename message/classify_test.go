package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func parseFile(t testing.TB, path string) *Parsed {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw, Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// TestClassifyFixtures: I5, auto-replies, bounces, list mail and our own
// notifications are never normal (never open a case, never answered);
// ordinary customer mail stays normal even with a suspicious word.
func TestClassifyFixtures(t *testing.T) {
	cases := []struct {
		file string
		want Kind
	}{
		{"testdata/fixtures/exchange-ooo-en.eml", KindAutoReply},              // I5: Auto-Submitted: auto-replied
		{"testdata/fixtures/exchange-ooo-fr.eml", KindAutoReply},              // I5
		{"testdata/fixtures/outlook-ooo-suppress-only-fr.eml", KindAutoReply}, // I5: X-Auto-Response-Suppress + vacation subject
		{"testdata/fixtures/outlook-normal-with-suppress.eml", KindNormal},    // X-Auto-Response-Suppress alone is a hint only
		{"testdata/fixtures/gmail-vacation-en.eml", KindAutoReply},            // I5
		{"testdata/fixtures/gmail-vacation-fr.eml", KindAutoReply},            // I5
		{"testdata/fixtures/x-autoreply.eml", KindAutoReply},                  // I5: X-Autoreply
		{"testdata/fixtures/precedence-auto-reply.eml", KindAutoReply},        // I5: Precedence: auto_reply
		{"testdata/fixtures/subject-only-auto-fr.eml", KindAutoReply},         // I5: subject as last resort
		{"testdata/fixtures/casemail-notification.eml", KindAutoReply},        // I5: our own mail
		{"testdata/fixtures/list-mail.eml", KindList},                         // I5: List-Id
		{"testdata/fixtures/forwarded-bounce-normal.eml", KindNormal},         // a customer forwarding a bounce asks for help
		{"testdata/fixtures/plain-customer-mail.eml", KindNormal},             // "Absent" not at a vacation position
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/auto_reply.eml", KindAutoReply},
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/auto_generated_header.eml", KindAutoReply},
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/auto_generated_precedence.eml", KindList}, // Precedence: list
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/auto_generated_subject.eml", KindAutoReply},
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/bounced_email.eml", KindBounce},
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/bounced_email_multiple_status_codes.eml", KindBounce},
		{"../testdata/corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box", KindBounce},
		{"../testdata/corpora/zammad-sample/test/data/mail/mail001.box", KindNormal},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			p := parseFile(t, c.file)
			if p.Kind != c.want {
				t.Errorf("kind %q, want %q (subject %q)", p.Kind, c.want, p.Subject)
			}
		})
	}
}

// TestClassifyEnvelopeNullSender: I5, mail with the null reverse-path is
// never normal (RFC 3834 3.3 / RFC 5321 4.5.5), while the same mail with a
// real sender is.
func TestClassifyEnvelopeNullSender(t *testing.T) {
	p := parseFile(t, "testdata/fixtures/plain-customer-mail.eml")
	for _, c := range []struct {
		mailFrom string
		want     Kind
	}{{"jane@customer.example", KindNormal}, {"", KindAutoReply}, {"<>", KindAutoReply}} {
		ClassifyEnvelope(p, c.mailFrom)
		if p.Kind != c.want {
			t.Errorf("MAIL FROM %q: kind %q, want %q", c.mailFrom, p.Kind, c.want)
		}
	}
}

// TestBounceExpectations checks recipients, permanence, status and the
// returned Message-ID of the DSNs in the corpora (I5; the Message-ID lets
// the caller find which notification bounced).
func TestBounceExpectations(t *testing.T) {
	cases := []struct {
		file       string
		recipients []string
		permanent  bool
		status     string
		origID     string
	}{
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/bounced_email.eml", []string{"linux-admin@b-s-c.co.jp"}, true, "5.1.1", ""},
		{"../testdata/corpora/discourse-sample/spec/fixtures/emails/bounced_email_multiple_status_codes.eml", []string{"linux-admin@b-s-c.co.jp", "foo@b-s-c.co.jp"}, true, "5.1.1", ""},
		{"../testdata/corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box", []string{"not_existing@znuny.com"}, true, "5.1.1",
			"notification.20150830145600.1.4.5f4fd063-f69b-4e64-a92d-5e7128bd6682@127.0.0.1:3000"},
		{"../testdata/corpora/enmime/dsn/testdata/simple_dsn.raw", nil, true, "", ""},
		{"../testdata/corpora/enmime/dsn/testdata/multi_recipient_dsn.raw", nil, true, "", ""},
		{"../testdata/corpora/enmime/dsn/testdata/delayed_dsn.raw", nil, false, "", ""},
		{"../testdata/corpora/enmime/dsn/testdata/simple_dsn_with_html.raw", nil, true, "", ""},
		{"../testdata/corpora/enmime/dsn/testdata/dsn_with_multipart_alternative.raw", nil, true, "", ""},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			p := parseFile(t, c.file)
			if p.Kind != KindBounce || p.Bounce == nil {
				t.Fatalf("kind %q, want bounce", p.Kind)
			}
			if len(p.Bounce.Recipients) == 0 {
				t.Errorf("no recipients")
			}
			if c.recipients != nil && !slices.Equal(p.Bounce.Recipients, c.recipients) {
				t.Errorf("recipients %v, want %v", p.Bounce.Recipients, c.recipients)
			}
			if p.Bounce.Permanent != c.permanent {
				t.Errorf("permanent %v, want %v", p.Bounce.Permanent, c.permanent)
			}
			if c.status != "" && p.Bounce.Status != c.status {
				t.Errorf("status %q, want %q", p.Bounce.Status, c.status)
			}
			if c.origID != "" && p.Bounce.OriginalMessageID != c.origID {
				t.Errorf("original message id %q, want %q", p.Bounce.OriginalMessageID, c.origID)
			}
			if _, err := json.Marshal(p); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestZammadHeaders checks the header fields and attachments zammad's
// parser expects (what "casemail parse" shows, R6: title and description).
func TestZammadHeaders(t *testing.T) {
	p := parseFile(t, "../testdata/corpora/zammad-sample/test/data/mail/mail001.box")
	if p.From != "John.Smith@example.com" || p.Subject != "CI Daten für PublicView" || !slices.Equal(p.To, []string{"martin@example.com"}) {
		t.Errorf("from %q subject %q to %v", p.From, p.Subject, p.To)
	}
	for _, w := range []string{"Hallo Martin,", "Schriftart/-größe: Verdana 11 Pt", "Mit freundlichem Gruß"} {
		if !strings.Contains(p.Text, w) {
			t.Errorf("text lacks %q", w)
		}
	}
	p = parseFile(t, "../testdata/corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box")
	if p.From != "MAILER-DAEMON@mx1.zammad.com" || p.FromName != "Mail Delivery System" || !strings.HasPrefix(p.Text, "This is the mail system at host mx1.zammad.com.") {
		t.Errorf("from %q name %q text %.40q", p.From, p.FromName, p.Text)
	}
	var types []string
	for _, a := range p.Attachments {
		types = append(types, a.ContentType)
	}
	if !slices.Contains(types, "message/delivery-status") || !slices.Contains(types, "message/rfc822") {
		t.Errorf("attachment types %v", types)
	}
	p = parseFile(t, "../testdata/corpora/zammad-sample/test/data/mail/mail078-content_transfer_encoding_x_uuencode.box")
	if p.From != "lpeters@example.com" || p.FromName != "Lon L. Peters" || p.InReplyTo != "1168BAF252B7D41194810001028D743108913C@SERVER" ||
		p.Subject != "PGP Comments on RTO West Release of Dec. 14" {
		t.Errorf("from %q name %q irt %q subject %q", p.From, p.FromName, p.InReplyTo, p.Subject)
	}
}

// TestNonBounceCorporaStayNonBounce: human and list mail of the corpora
// that hold no bounce (talon, email_reply_parser, notmuch, mime4j) is never
// read as a bounce, not even with the null envelope sender, which lets the
// bounce wording scan run on every mail. A false bounce would hide a
// customer's mail from ingest (I5 must not swallow real requests, R9).
func TestNonBounceCorporaStayNonBounce(t *testing.T) {
	corpora := []string{"talon", "email_reply_parser", "notmuch", "mime4j"}
	n := 0
	for _, path := range corpusFiles(t) {
		rel := filepath.ToSlash(path)
		if !slices.ContainsFunc(corpora, func(c string) bool { return strings.HasPrefix(rel, "../testdata/corpora/"+c+"/") }) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw, Options{})
		if err != nil {
			continue // not mail (body-only fixtures): nothing to classify
		}
		n++
		for _, mailFrom := range []*string{nil, new(string)} {
			if mailFrom == nil {
				Classify(p)
			} else {
				ClassifyEnvelope(p, *mailFrom)
			}
			if p.Kind == KindBounce {
				t.Errorf("%s (null sender %v): classified bounce %+v, subject %q", path, mailFrom != nil, p.Bounce, p.Subject)
			}
		}
	}
	if n < 300 {
		t.Fatalf("only %d mails in %v: testdata missing?", n, corpora)
	}
}

// TestBounceRules: one short mail per non-standard bounce rule, and the
// human mail each rule must leave alone. I5: a bounce is never answered;
// R9: a customer's mail is never swallowed as a bounce.
func TestBounceRules(t *testing.T) {
	const daemon = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: bounce+t0k3n@reply.casemail.test\r\n"
	cases := []struct {
		name      string
		raw       string
		kind      Kind
		rcpts     []string
		permanent bool
	}{
		{"reply-prefixed bounce to our return path", // subject kept the original's "RE:"
			"From: gateway@corp.example\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: RE: Case 42 updated : non remis (delivery failed)\r\n\r\n" +
				"Your message could not be delivered to\r\nduke@corp.example\r\n",
			KindBounce, []string{"duke@corp.example"}, true},
		{"customer replying about a bounce", // R9: same subject, written to support
			"From: jane@customer.example\r\nTo: support@casemail.test\r\nSubject: RE: Undeliverable: invoice\r\n\r\n" +
				"Hello, your message could not be delivered to bob@customer.example, can you check?\r\n",
			KindNormal, nil, false},
		{"DSN wrapped in a filter's notice",
			"From: postmaster@corp.example\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Delivery Status Notification (Failure)\r\n" +
				"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n" +
				"From: postmaster@corp.example\r\nMessage-ID: <dsn1@corp.example>\r\nSubject: Delivery Status Notification (Failure)\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=i\r\n\r\n" +
				"--i\r\nContent-Type: text/plain\r\n\r\nDelivery to the following recipients failed.\r\n\r\n--i\r\n" +
				"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns;mx.corp.example\r\n\r\nFinal-Recipient: rfc822;horu@corp.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
				"--i\r\nContent-Type: message/rfc822\r\n\r\nFrom: notify@casemail.test\r\nMessage-ID: <n42.1@casemail.test>\r\n\r\nCase 42 updated\r\n--i--\r\n--o--\r\n",
			KindBounce, []string{"horu@corp.example"}, true},
		{"Sendmail alias: the address we used",
			daemon + "Subject: Returned mail: see transcript for details\r\n\r\nThe original message was received at Sun, 4 Nov 2012 10:32:05 +0400\r\n\r\n" +
				"   ----- The following addresses had permanent fatal errors -----\r\nzz@internal.example.net\r\n    (expanded from: zz@example.net)\r\n\r\n" +
				"   ----- Transcript of session follows -----\r\n550 5.1.1 <zz@internal.example.net>... User unknown\r\n",
			KindBounce, []string{"zz@example.net"}, true},
		{"Exchange echo of the original is no failure",
			"From: System Administrator <postmaster@corp.example>\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Undeliverable: Case 42\r\n\r\n" +
				"Your message\r\n\r\nTo:      watchers@corp.example\r\nSubject: Case 42\r\nSent:    Fri, 4 Oct 2002 17:10:56 -0400\r\n\r\n" +
				"did not reach the following recipient(s):\r\n\r\nbob@corp.example on Fri, 4 Oct 2002 17:12:28 -0400\r\n    The recipient name is not recognized\r\n",
			KindBounce, []string{"bob@corp.example"}, true},
		{"AOL screen name completed with the daemon's domain",
			"From: MAILER-DAEMON@aol.example\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Mail Delivery Problem\r\n\r\n" +
				"Your mail to the following recipients could not be delivered because they are not accepting mail from notify@casemail.test:\r\n\tscreenname\r\n",
			KindBounce, []string{"screenname@aol.example"}, true},
		{"qmail list in any language",
			daemon + "Subject: =?utf-8?b?6YKu5Lu25Lyg6L6T5aSx6LSl77yB?=\r\n\r\nmx.example.net.\r\n\r\n<a@example.net>:\r\n\r\n<b@example.net>:\r\n",
			KindBounce, []string{"a@example.net", "b@example.net"}, true},
		{"human mail quoting a qmail line", // R9: no daemon, no bounce subject
			"From: jane@customer.example\r\nTo: support@casemail.test\r\nSubject: mail problem\r\n\r\nOur server says:\r\n<a@example.net>:\r\nwhat does it mean?\r\n",
			KindNormal, nil, false},
		{"MDaemon: a warning subject naming a permanent failure",
			"From: MDaemon@mx.example.net\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Warning: kulp@example.net - User unknown!\r\n\r\nkulp@example.net - no such user here.\r\n",
			KindBounce, []string{"kulp@example.net"}, true},
		{"a promise to retry makes a delay warning",
			"From: Symantec_Gateway@corp.example\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Delivery failure notification\r\n\r\n" +
				"Your message could not be delivered to the following recipients:\r\n\r\nbob@corp.example\r\n\r\nDelivery attempts will continue to be made for 5 day(s).\r\n",
			KindBounce, []string{"bob@corp.example"}, false},
		{"Exim delay warning",
			daemon + "Subject: Warning: message 14jRTi-0007jE-00 delayed 24 hours\r\n\r\nThis message was created automatically by mail delivery software.\r\n\r\n" +
				"A message that you sent has not yet been delivered to all its recipients\r\nafter more than 24 hours on the queue.\r\n\r\n" +
				"The address to which the message has not yet been delivered is:\r\n\r\n  jacobus@example.net\r\n",
			KindBounce, []string{"jacobus@example.net"}, false},
		{"untyped qmail part read as text (RFC 2045 5.2)",
			daemon + "Subject: failure notice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" +
				"Your message could not be delivered.\r\n\r\n<mcfall@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n--b--\r\n",
			KindBounce, []string{"mcfall@example.net"}, true},
		{"multipart body without Content-Type read as text",
			"From: System Administrator <postmaster@corp.example>\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: Undeliverable: Case 42\r\n\r\n" +
				"------_=_NextPart_000\r\nContent-Type: text/plain;\r\n\r\nYour message\r\n\r\n  To:      K12\r\n\r\ndid not reach the following recipient(s):\r\n\r\n" +
				"MDMOORE@corp.example on Fri, 18 Oct 2002 09:13:24 -0600\r\n\r\n------_=_NextPart_000\r\nContent-Type: message/rfc822\r\n\r\nFrom: notify@casemail.test\r\nTo: watcher@other.example\r\n",
			KindBounce, []string{"MDMOORE@corp.example"}, true},
		{"LLNL: the address named in a sentence, not the directory's suggestions",
			"From: postmaster@lab.example\r\nTo: bounce+t0k3n@reply.casemail.test\r\nSubject: FAILED MAIL to \"trotts1\"\r\n\r\n" +
				"The address to\r\nwhich your message was addressed, trotts1@lab.example, did not exactly match an address.\r\n\r\n" +
				"The following locator information may be of help:\r\n\r\n  Judy L. Trotter  trotter4@lab.example\r\n",
			KindBounce, []string{"trotts1@lab.example"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != c.kind {
				t.Fatalf("kind %q, want %q (bounce %+v)", p.Kind, c.kind, p.Bounce)
			}
			if c.kind != KindBounce {
				return
			}
			if !slices.Equal(p.Bounce.Recipients, c.rcpts) || p.Bounce.Permanent != c.permanent {
				t.Errorf("recipients %q permanent %v, want %q %v", p.Bounce.Recipients, p.Bounce.Permanent, c.rcpts, c.permanent)
			}
			// I5: the returned notification is found, not the wrapper's id.
			if strings.Contains(c.raw, "<n42.1@casemail.test>") && p.Bounce.OriginalMessageID != "n42.1@casemail.test" {
				t.Errorf("original message id %q", p.Bounce.OriginalMessageID)
			}
		})
	}
}
