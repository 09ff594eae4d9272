package message

import (
	"bytes"
	"strings"
	"testing"
)

// TestUndeclaredAndDefaults: text keeps what the customer wrote whatever
// the mailer left out (R6: the case's description is the body). Bytes
// that are valid UTF-8 are UTF-8 unless another charset is declared; only
// invalid UTF-8 is detected; a part without Content-Type is text/plain
// (RFC 2045 5.2), message/rfc822 in a digest (RFC 2046 5.1.5); CR-only and
// mixed line ends are a mail. Each case is checked on Parse and, where
// the streaming path reads the same, on ParseLarge.
func TestUndeclaredAndDefaults(t *testing.T) {
	mp := func(ct string, parts ...string) string {
		s := hdrs("From: a@b.example", "Subject: s", "MIME-Version: 1.0", "Content-Type: "+ct+`; boundary="b"`, "")
		for _, p := range parts {
			s += "--b" + crlf + p + crlf
		}
		return s + "--b--" + crlf
	}
	cases := []struct {
		name     string
		raw      string
		text     string // substring of Text
		html     string // substring of HTML
		attach   string // content type of the one attachment expected, "" for none
		subject  string
		notLarge bool // ParseLarge does not read this one the same
	}{
		{name: "utf-8 body without MIME headers", raw: hdrs("From: a@b.example", "Subject: s", "") + "2e étage\r\n", text: "2e étage"},
		{name: "long utf-8 body without MIME headers", raw: hdrs("From: a@b.example", "Subject: s", "") +
			strings.Repeat("Le bureau est au 2e étage, à gauche après l'accueil. ", 8), text: "2e étage, à gauche"},
		{name: "utf-8 body declared us-ascii", raw: hdrs("From: a@b.example", "Subject: s", "Content-Type: text/plain; charset=us-ascii", "") + "Grüße aus Köln", text: "Grüße aus Köln"},
		{name: "latin-1 body undeclared", raw: hdrs("From: a@b.example", "Subject: s", "") + "caf\xe9 cr\xe8me", text: "café crème"},
		{name: "declared latin-1 is latin-1", raw: hdrs("From: a@b.example", "Subject: s", "Content-Type: text/plain; charset=iso-8859-1", "") + "\xc3\xa9", text: "Ã©"},
		{name: "part without content-type is text", raw: mp("multipart/mixed", crlf+"Merci, à bientôt", "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF"),
			text: "Merci, à bientôt", attach: "application/pdf"},
		{name: "part without charset, latin-1", raw: mp("multipart/mixed", "Content-Type: text/plain\r\n\r\nna\xefve"), text: "naïve"},
		{name: "html part without charset, meta names it", raw: mp("multipart/alternative", "Content-Type: text/html\r\n\r\n<html><head><meta charset=\"iso-8859-15\"></head><body>100 \xa4</body></html>"),
			html: "100 €"},
		{name: "digest part without content-type is a message", raw: mp("multipart/digest", "\r\nFrom: c@d.example\r\nSubject: one\r\n\r\nfirst digest entry"),
			attach: "message/rfc822"},
		{name: "cr-only line ends", raw: strings.ReplaceAll(hdrs("From: a@b.example", "Subject: classic", "")+"line one\r\nline two\r\n", "\r\n", "\r"),
			text: "line one\r\nline two", subject: "classic"},
		{name: "mixed line ends", raw: "From: a@b.example\rSubject: mixed\nTo: s@x.example\r\n\r\nbody one\rbody two\n",
			text: "body two", subject: "mixed"},
		{name: "subject wrapped without indent", raw: "From: a@b.example\r\nSubject: a long subject\r\nthat wrapped\r\nTo: s@x.example\r\n\r\nbody",
			text: "body", subject: "a long subject that wrapped"},
		{name: "header without blank line", raw: "From: a@b.example\r\nSubject: s\r\nThis is the text\r\nmore text\r\n",
			text: "This is the text\r\nmore text"},
		{name: "boundary over 70 chars never matching", raw: hdrs("From: a@b.example", "Subject: s", `Content-Type: multipart/mixed; boundary="`+strings.Repeat("x", 5000)+`"`, "") +
			"--" + strings.Repeat("x", 40) + crlf + crlf + "the customer's text" + crlf, text: "the customer's text"},
		{name: "whole body is a forwarded message", raw: hdrs("From: a@b.example", "Subject: s", "Content-Type: message/rfc822", "") +
			hdrs("From: c@d.example", "Subject: inner", "Content-Type: text/plain; charset=utf-8", "") + "texte transféré",
			text: "texte transféré", attach: "message/rfc822"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(how string, p *Parsed, err error) {
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if !strings.Contains(p.Text, c.text) {
					t.Errorf("%s: text %q, want %q in it", how, p.Text, c.text)
				}
				if !strings.Contains(p.HTML, c.html) {
					t.Errorf("%s: html %q, want %q in it", how, p.HTML, c.html)
				}
				var types []string
				for _, a := range p.Attachments {
					types = append(types, a.ContentType)
				}
				if got := strings.Join(types, ","); got != c.attach {
					t.Errorf("%s: attachments %q, want %q", how, got, c.attach)
				}
				if c.subject != "" && p.Subject != c.subject {
					t.Errorf("%s: subject %q, want %q", how, p.Subject, c.subject)
				}
				for _, pr := range p.Problems {
					if strings.Contains(pr, undeclaredCharset) || strings.Contains(pr, "content-type is empty") {
						t.Errorf("%s: problem %q describes no defect of the mail", how, pr)
					}
				}
			}
			p, err := Parse([]byte(c.raw), Options{})
			check("Parse", p, err)
			if !c.notLarge {
				p, err = ParseLarge(bytes.NewReader([]byte(c.raw)), Options{})
				check("ParseLarge", p, err)
			}
		})
	}
}

// TestDecodeUndeclared: the detection behind undeclared text (R6).
func TestDecodeUndeclared(t *testing.T) {
	cases := []struct {
		in, want, cs string
		html         bool
	}{
		{in: "déjà vu", want: "déjà vu", cs: "utf-8"},
		{in: "d\xe9j\xe0 vu", want: "déjà vu", cs: "windows-1252"},
		{in: `<meta charset="windows-1250"/>Euro: ` + "\x80 \x8a", want: "Euro: € Š", cs: "windows-1250", html: true},
		{in: "\x93quoted\x94", want: "\u201cquoted\u201d", cs: "windows-1252"},
		{in: `<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>` + "\xf0\xd2\xc9\xd7\xc5\xd4", want: "Привет", cs: "koi8-r", html: true},
	}
	for _, c := range cases {
		got, cs := decodeUndeclared([]byte(c.in), c.html)
		if !strings.Contains(got, c.want) || cs != c.cs {
			t.Errorf("decodeUndeclared(%q) = %q, %s; want %q, %s", c.in, got, cs, c.want, c.cs)
		}
	}
}
