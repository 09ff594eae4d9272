package main

import (
	"bytes"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"
)

// served is "casemail serve" on real sockets, with swaks as the customer.
type served struct {
	*cli
	sent  string // the outgoing Maildir
	swaks func(args ...string) string
}

func serveForStory(t *testing.T) *served {
	swaksPath := testenv.NeedTool(t, "swaks", "swaks")
	c := newCLI(t)
	smtpAddr := testenv.FreeAddr(t)
	sent := filepath.Join(c.dir, "sent")
	cfg := fmt.Sprintf(`[store]
%s
[smtp]
listen = %q
domains = ["support.test"]
[outbound]
transport = "maildir:%s"
from = "Support <support@support.test>"
reply_domain = "support.test"
[http]
listen = ""
[[route]]
address = "support@support.test"
product = "cloud"
`, c.store, smtpAddr, sent)
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("account", "add", "ann@acme.test", "--verified", "--locale", "fr")
	c.ok("account", "add", "carl@acme.test", "--verified")
	c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")

	c.serve(t, smtpAddr)
	host, port, _ := net.SplitHostPort(smtpAddr)
	s := &served{cli: c, sent: sent}
	s.swaks = func(args ...string) string {
		t.Helper()
		full := append([]string{"--server", host, "--port", port, "--helo", "client.test"}, args...)
		out, err := exec.Command(swaksPath, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("swaks %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	return s
}

// to is every notification in the Maildir to addr about case id.
func (s *served) to(addr string, id int) []sentMail {
	var out []sentMail
	for _, m := range readMaildir(s.t, s.sent) {
		if m.to == addr && strings.Contains(m.subject, fmt.Sprintf("[Case #%d]", id)) {
			out = append(out, m)
		}
	}
	return out
}

// returnPath is the envelope sender of the Maildir file sent to addr (the
// Maildir transport records it as Return-Path).
func (s *served) returnPath(addr string) string {
	files, _ := filepath.Glob(filepath.Join(s.sent, "new", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		if bytes.Contains(b, []byte("To: <"+addr+">")) || bytes.Contains(b, []byte("<"+addr+">\r\n")) || bytes.Contains(b, []byte("<"+addr+">\n")) {
			if i := bytes.Index(b, []byte("Return-Path: <")); i >= 0 {
				rest := b[i+len("Return-Path: <"):]
				return string(rest[:bytes.IndexByte(rest, '>')])
			}
		}
	}
	s.t.Fatalf("no mail to %s in the Maildir", addr)
	return ""
}

func (s *served) dataFile(name, content string) string {
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Issue 12, defects to fix first, through the real SMTP listener: an
// undeclared UTF-8 body is stored, searched and mailed back as sent; a
// French Outlook reply (no-break space before the colon) is trimmed to the
// new text (R9); a part without Content-Type is the customer's text (RFC
// 2045 5.2); a mail with CR-only line ends is a mail.
func TestFidelityDefectsThroughSMTP(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		s := serveForStory(t)
		caseJSON := func(id int) map[string]any {
			return decode[map[string]any](t, s.ok("case", "show", fmt.Sprint(id), "--json"))
		}
		comments := func(id int) []any { c, _ := caseJSON(id)["comments"].([]any); return c }

		s.swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Cc: carl@acme.test",
			"--header", "Subject: Imprimante", "--body", "Elle ne marche plus.")
		testenv.WaitFor(t, 20*time.Second, "two notifications", func() bool { return len(readMaildir(t, s.sent)) == 2 })
		ack := s.to("ann@acme.test", 1)
		if len(ack) != 1 {
			t.Fatalf("acknowledgement: %+v", readMaildir(t, s.sent))
		}

		// No MIME-Version, no Content-Type, 8-bit UTF-8 bytes.
		s.swaks("--from", "ann@acme.test", "--to", ack[0].replyTo, "--header", "Subject: Re: [Case #1] Imprimante", "--body", "2e étage")
		testenv.WaitFor(t, 20*time.Second, "the comment", func() bool { return len(comments(1)) == 1 })
		if b := comments(1)[0].(map[string]any)["body"]; b != "2e étage" {
			t.Fatalf("stored %q, want %q", b, "2e étage")
		}
		if out := s.ok("case", "search", "étage", "--org", "acme"); !strings.Contains(out, "Imprimante") {
			t.Fatalf("case search étage: %q", out)
		}
		testenv.WaitFor(t, 20*time.Second, "carl told of the comment", func() bool { return len(s.to("carl@acme.test", 1)) == 2 })
		for _, m := range s.to("carl@acme.test", 1) {
			if strings.Contains(m.body, "Ã") {
				t.Fatalf("mailed back garbled: %q", m.body)
			}
		}
		if !strings.Contains(s.to("carl@acme.test", 1)[0].body+s.to("carl@acme.test", 1)[1].body, "2e étage") {
			t.Fatalf("comment not mailed back as sent: %+v", s.to("carl@acme.test", 1))
		}

		// French Outlook: "De :" with a no-break space, the history below.
		s.swaks("--from", "ann@acme.test", "--to", ack[0].replyTo, "--header", "Subject: RE: [Case #1] Imprimante",
			"--header", "MIME-Version: 1.0", "--header", "Content-Type: text/plain; charset=utf-8",
			"--body", "C'est réglé, merci.\n\nDe\u00a0: Support <support@support.test>\nEnvoyé\u00a0: lundi 2 mars 2026 10:00\nÀ\u00a0: ann@acme.test\nObjet\u00a0: [Case #1] Imprimante\n\nElle ne marche plus.\n")
		testenv.WaitFor(t, 20*time.Second, "the second comment", func() bool { return len(comments(1)) == 2 })
		if b := comments(1)[0].(map[string]any)["body"]; b != "C'est réglé, merci." { // newest first
			t.Fatalf("French Outlook reply stored as %q", b)
		}

		// A part without Content-Type: text/plain; charset=us-ascii.
		s.swaks("--from", "ann@acme.test", "--to", "support@support.test", "--data", s.dataFile("noct.eml",
			"From: ann@acme.test\r\nTo: support@support.test\r\nSubject: Scanner\r\nMessage-ID: <noct@acme.test>\r\nMIME-Version: 1.0\r\n"+
				"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\r\nThe scanner jams on every page.\r\n"+
				"--b\r\nContent-Type: application/pdf; name=\"log.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"))
		testenv.WaitFor(t, 20*time.Second, "case 2", func() bool { _, _, code := s.run("", "case", "show", "2"); return code == 0 })
		if d := caseJSON(2)["description"]; !strings.Contains(fmt.Sprint(d), "The scanner jams on every page.") {
			t.Fatalf("description %q lost the customer's text", d)
		}

		// Classic Mac line ends.
		s.swaks("--from", "ann@acme.test", "--to", "support@support.test", "--data", s.dataFile("cr.eml",
			"From: ann@acme.test\rTo: support@support.test\rSubject: Old Mac\rMessage-ID: <cr@acme.test>\r\rMy Mac mail.\rSecond line.\r"))
		testenv.WaitFor(t, 20*time.Second, "case 3", func() bool { _, _, code := s.run("", "case", "show", "3"); return code == 0 })
		if c := caseJSON(3); c["title"] != "Old Mac" || !strings.Contains(fmt.Sprint(c["description"]), "My Mac mail.") {
			t.Fatalf("CR-only mail read as title %q, description %q", c["title"], c["description"])
		}
	})
}

// Issue 12 through the real SMTP listener: a feedback-loop complaint about
// a watcher's notification suppresses the address (account show says so),
// the next case copying it does not mail it, and account unsuppress lifts
// it. The complaint itself is never a case nor answered (I5).
func TestComplaintThroughSMTP(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		s := serveForStory(t)
		s.swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Cc: carl@acme.test",
			"--header", "Subject: VM down", "--body", "It is down.")
		testenv.WaitFor(t, 20*time.Second, "two notifications", func() bool { return len(readMaildir(t, s.sent)) == 2 })
		rp := s.returnPath("carl@acme.test")
		if !strings.HasPrefix(rp, "bounce+") {
			t.Fatalf("return path %q", rp)
		}
		arf := "From: fbl@isp.test\r\nTo: support@support.test\r\nSubject: complaint\r\nMessage-ID: <fbl1@isp.test>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=feedback-report; boundary=\"r\"\r\n\r\n" +
			"--r\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n" +
			"--r\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <" + rp + ">\r\nOriginal-Rcpt-To: <carl@acme.test>\r\n" +
			"--r\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <" + rp + ">\r\nFrom: Support <support@support.test>\r\nTo: carl@acme.test\r\nSubject: [Case #1] VM down\r\n\r\n--r--\r\n"
		s.swaks("--from", "", "--to", "support@support.test", "--data", s.dataFile("arf.eml", arf))
		testenv.WaitFor(t, 20*time.Second, "the suppression", func() bool {
			out, _, _ := s.run("", "account", "show", "carl@acme.test")
			return strings.Contains(out, "Suppressed: no notification of any case (complaint")
		})
		if out := s.ok("message", "list"); !strings.Contains(out, "ignored") {
			t.Fatalf("the complaint was not ignored:\n%s", out)
		}

		s.swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Cc: carl@acme.test",
			"--header", "Subject: VM down again", "--body", "Again.")
		testenv.WaitFor(t, 20*time.Second, "ann told of case 2", func() bool { return len(s.to("ann@acme.test", 2)) == 1 })
		if out := s.ok("case", "show", "2"); !strings.Contains(out, "carl@acme.test [cc] (no more mail: complaint") {
			t.Fatalf("case show does not say carl is suppressed:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond) // the outbound worker sends in one pass; give carl's a chance to be (wrongly) there
		if n := s.to("carl@acme.test", 2); len(n) != 0 {
			t.Fatalf("suppressed address mailed: %+v", n)
		}

		s.ok("account", "unsuppress", "carl@acme.test")
		s.ok("case", "comment", "2", "--by", "ann@acme.test", "--body-file", s.dataFile("c.txt", "Still down."))
		testenv.WaitFor(t, 20*time.Second, "carl mailed again", func() bool { return len(s.to("carl@acme.test", 2)) == 1 })
	})
}
