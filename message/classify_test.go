package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) *Parsed {
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
		{"fixtures/exchange-ooo-en.eml", KindAutoReply},              // I5: Auto-Submitted: auto-replied
		{"fixtures/exchange-ooo-fr.eml", KindAutoReply},              // I5
		{"fixtures/outlook-ooo-suppress-only-fr.eml", KindAutoReply}, // I5: X-Auto-Response-Suppress + vacation subject
		{"fixtures/outlook-normal-with-suppress.eml", KindNormal},    // X-Auto-Response-Suppress alone is a hint only
		{"fixtures/gmail-vacation-en.eml", KindAutoReply},            // I5
		{"fixtures/gmail-vacation-fr.eml", KindAutoReply},            // I5
		{"fixtures/x-autoreply.eml", KindAutoReply},                  // I5: X-Autoreply
		{"fixtures/precedence-auto-reply.eml", KindAutoReply},        // I5: Precedence: auto_reply
		{"fixtures/subject-only-auto-fr.eml", KindAutoReply},         // I5: subject as last resort
		{"fixtures/casemail-notification.eml", KindAutoReply},        // I5: our own mail
		{"fixtures/list-mail.eml", KindList},                         // I5: List-Id
		{"fixtures/forwarded-bounce-normal.eml", KindNormal},         // a customer forwarding a bounce asks for help
		{"fixtures/plain-customer-mail.eml", KindNormal},             // "Absent" not at a vacation position
		{"corpora/discourse-sample/spec/fixtures/emails/auto_reply.eml", KindAutoReply},
		{"corpora/discourse-sample/spec/fixtures/emails/auto_generated_header.eml", KindAutoReply},
		{"corpora/discourse-sample/spec/fixtures/emails/auto_generated_precedence.eml", KindList}, // Precedence: list
		{"corpora/discourse-sample/spec/fixtures/emails/auto_generated_subject.eml", KindAutoReply},
		{"corpora/discourse-sample/spec/fixtures/emails/bounced_email.eml", KindBounce},
		{"corpora/discourse-sample/spec/fixtures/emails/bounced_email_multiple_status_codes.eml", KindBounce},
		{"corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box", KindBounce},
		{"corpora/zammad-sample/test/data/mail/mail001.box", KindNormal},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			p := parseFile(t, filepath.Join("testdata", c.file))
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
		{"corpora/discourse-sample/spec/fixtures/emails/bounced_email.eml", []string{"linux-admin@b-s-c.co.jp"}, true, "5.1.1", ""},
		{"corpora/discourse-sample/spec/fixtures/emails/bounced_email_multiple_status_codes.eml", []string{"linux-admin@b-s-c.co.jp", "foo@b-s-c.co.jp"}, true, "5.1.1", ""},
		{"corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box", []string{"not_existing@znuny.com"}, true, "5.1.1",
			"notification.20150830145600.1.4.5f4fd063-f69b-4e64-a92d-5e7128bd6682@127.0.0.1:3000"},
		{"corpora/enmime/dsn/testdata/simple_dsn.raw", nil, true, "", ""},
		{"corpora/enmime/dsn/testdata/multi_recipient_dsn.raw", nil, true, "", ""},
		{"corpora/enmime/dsn/testdata/delayed_dsn.raw", nil, false, "", ""},
		{"corpora/enmime/dsn/testdata/simple_dsn_with_html.raw", nil, true, "", ""},
		{"corpora/enmime/dsn/testdata/dsn_with_multipart_alternative.raw", nil, true, "", ""},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			p := parseFile(t, filepath.Join("testdata", c.file))
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
	p := parseFile(t, "testdata/corpora/zammad-sample/test/data/mail/mail001.box")
	if p.From != "John.Smith@example.com" || p.Subject != "CI Daten für PublicView" || !slices.Equal(p.To, []string{"martin@example.com"}) {
		t.Errorf("from %q subject %q to %v", p.From, p.Subject, p.To)
	}
	for _, w := range []string{"Hallo Martin,", "Schriftart/-größe: Verdana 11 Pt", "Mit freundlichem Gruß"} {
		if !strings.Contains(p.Text, w) {
			t.Errorf("text lacks %q", w)
		}
	}
	p = parseFile(t, "testdata/corpora/zammad-sample/test/data/mail/mail033-undelivered-mail-returned-to-sender-notification.box")
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
	p = parseFile(t, "testdata/corpora/zammad-sample/test/data/mail/mail078-content_transfer_encoding_x_uuencode.box")
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
		if !slices.ContainsFunc(corpora, func(c string) bool { return strings.HasPrefix(rel, "testdata/corpora/"+c+"/") }) {
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
