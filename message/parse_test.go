package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const crlf = "\r\n"

func hdrs(lines ...string) string { return strings.Join(lines, crlf) + crlf }

// TestParseBadInput: malformed mail is read as well as possible and what
// was wrong is listed in Problems (I4: nothing is lost because a mail is
// odd); only input with no header at all is refused.
func TestParseBadInput(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", 1200)
	cases := []struct {
		name    string
		raw     string
		wantErr bool
		problem string // substring of one Problems entry
		check   func(t *testing.T, p *Parsed)
	}{
		{name: "empty", raw: "", wantErr: true},
		{name: "whitespace only", raw: " \r\n\r\n\t", wantErr: true},
		{name: "binary garbage", raw: "\x00\x01\x02\xff\xfe garbage", wantErr: true},
		{name: "text without header", raw: "hello, this is not a mail\r\n", wantErr: true},
		{name: "no message-id", raw: hdrs("From: a@b.example", "Subject: hi", "") + "body", problem: "no Message-ID",
			check: func(t *testing.T, p *Parsed) {
				if p.MessageID != "" || p.Text != "body" {
					t.Errorf("message id %q text %q", p.MessageID, p.Text)
				}
			}},
		{name: "8-bit latin-1 header", raw: hdrs("From: Ren\xe9 <rene@b.example>", "Subject: caf\xe9 cr\xe8me", "Content-Type: text/plain; charset=iso-8859-1", "") + "caf\xe9",
			problem: "8-bit header bytes",
			check: func(t *testing.T, p *Parsed) {
				if p.Subject != "café crème" || p.FromName != "René" || p.Text != "café" {
					t.Errorf("subject %q name %q text %q", p.Subject, p.FromName, p.Text)
				}
			}},
		{name: "8-bit utf-8 header", raw: hdrs("From: a@b.example", "Subject: Réponse à Hélène", "") + "x",
			problem: "read as UTF-8",
			check: func(t *testing.T, p *Parsed) {
				if p.Subject != "Réponse à Hélène" {
					t.Errorf("subject %q", p.Subject)
				}
			}},
		{name: "header line over 998", raw: hdrs("From: a@b.example", long, "Subject: s", "") + "x", problem: "longer than 998",
			check: func(t *testing.T, p *Parsed) {
				if p.Subject != "s" || len(p.Header("X-Long")) < 1000 {
					t.Errorf("subject %q, X-Long %d bytes", p.Subject, len(p.Header("X-Long")))
				}
			}},
		{name: "NUL bytes", raw: hdrs("From: a@b.example", "Subject: n\x00ul", "") + "bo\x00dy", problem: "NUL",
			check: func(t *testing.T, p *Parsed) {
				if p.Subject != "nul" {
					t.Errorf("subject %q", p.Subject)
				}
			}},
		{name: "missing closing boundary", raw: hdrs("From: a@b.example", "Content-Type: multipart/mixed; boundary=XX", "", "--XX", "Content-Type: text/plain", "", "first part"),
			check: func(t *testing.T, p *Parsed) {
				if !strings.Contains(p.Text, "first part") {
					t.Errorf("text %q", p.Text)
				}
			}},
		{name: "multipart without boundary", raw: hdrs("From: a@b.example", "Content-Type: multipart/mixed", "", "just text"),
			check: func(t *testing.T, p *Parsed) {
				if !strings.Contains(p.Text, "just text") {
					t.Errorf("text %q", p.Text)
				}
			}},
		{name: "mbox From line and leading blank line", raw: "\r\nFrom someone Mon Jan  1 00:00:00 2026\r\n" + hdrs("From: a@B.Example", "Message-ID: <m@x>", "") + "x",
			problem: "mbox",
			check: func(t *testing.T, p *Parsed) {
				if p.From != "a@b.example" || p.MessageID != "m@x" {
					t.Errorf("from %q id %q", p.From, p.MessageID)
				}
			}},
		// I6, issue 10: an address is only ever an addr-spec; an angle-addr
		// holding two is none, skipped and recorded, the valid one kept.
		{name: "malformed address list", raw: hdrs("From: a@b.example", "To: broken <x@y.example, z@w.example>>, ok@v.example", "") + "x",
			problem: "is no address",
			check: func(t *testing.T, p *Parsed) {
				if len(p.To) != 1 || p.To[0] != "ok@v.example" {
					t.Errorf("to %v", p.To)
				}
			}},
		{name: "unparseable date", raw: hdrs("From: a@b.example", "Date: yesterday at noon", "") + "x", problem: "unparseable Date",
			check: func(t *testing.T, p *Parsed) {
				if p.Date != "" {
					t.Errorf("date %q", p.Date)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.raw), Options{})
			if c.wantErr {
				if !errors.Is(err, ErrNotMail) {
					t.Fatalf("err %v, want ErrNotMail", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.problem != "" && !slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, c.problem) }) {
				t.Errorf("problems %q lack %q", p.Problems, c.problem)
			}
			if c.check != nil {
				c.check(t, p)
			}
			if _, err := json.Marshal(p); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestParseFields: the fields "casemail parse --json" shows (a stable interface)
// and ingest reads: R6 title/description, R8 Cc watchers, I6 threading ids.
func TestParseFields(t *testing.T) {
	raw := hdrs(
		"From: =?utf-8?Q?H=C3=A9l=C3=A8ne?= <Helene@Client.EXAMPLE>",
		"To: support@casemail.test, Other <o@x.example>",
		"Cc: boss@client.example",
		"Reply-To: helpdesk-replies@client.example",
		"Subject: =?iso-8859-1?Q?Probl=E8me_d'imprimante?=",
		"Message-ID: <abc@client.example>",
		"In-Reply-To: <case42.1@casemail.test> (comment)",
		"References: <r1@x> <case42.1@casemail.test>",
		"Date: Mon, 23 Nov 2026 10:00:00 +0100",
		"Content-Language: fr-FR",
		"Auto-Submitted: no",
		"MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="b1"`,
		"",
		"--b1",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"Bonjour, =C3=A7a ne marche pas.",
		"--b1",
		"Content-Type: application/pdf",
		"Content-Disposition: attachment; filename*=utf-8''facture%20n%C2%B01.pdf",
		"Content-Transfer-Encoding: base64",
		"",
		"JVBERi0xLjQKJcOkw7zDtsOf",
		"--b1",
		`Content-Type: image/png; name="=?utf-8?B?w6ljcmFuLnBuZw==?="`,
		"Content-Disposition: attachment",
		"Content-Transfer-Encoding: base64",
		"",
		"iVBORw0KGgo=",
		"--b1",
		"Content-Type: message/rfc822",
		"",
		"From: x@y.example",
		"Subject: inner",
		"",
		"inner body",
		"--b1--",
	)
	p, err := Parse([]byte(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]any{
		"from":        {p.From, "Helene@client.example"},
		"from_name":   {p.FromName, "Hélène"},
		"to":          {strings.Join(p.To, ","), "support@casemail.test,o@x.example"},
		"cc":          {strings.Join(p.Cc, ","), "boss@client.example"},
		"reply_to":    {strings.Join(p.ReplyTo, ","), "helpdesk-replies@client.example"},
		"subject":     {p.Subject, "Problème d'imprimante"},
		"message_id":  {p.MessageID, "abc@client.example"},
		"in_reply_to": {p.InReplyTo, "case42.1@casemail.test"},
		"references":  {strings.Join(p.References, " "), "r1@x case42.1@casemail.test"},
		"date":        {p.Date, "2026-11-23T10:00:00+01:00"},
		"text":        {p.Text, "Bonjour, ça ne marche pas."},
		"locale":      {p.Locale, "fr-FR"},
		"kind":        {string(p.Kind), "normal"},
	}
	for k, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s = %q, want %q", k, v[0], v[1])
		}
	}
	if len(p.Attachments) != 3 {
		t.Fatalf("attachments %+v", p.Attachments)
	}
	a := p.Attachments
	if a[0].Filename != "facture n°1.pdf" || a[0].ContentType != "application/pdf" || a[0].Size != 18 || !bytes.HasPrefix(a[0].Content, []byte("%PDF-1.4")) {
		t.Errorf("RFC 2231 attachment %+v", a[0])
	}
	if a[1].Filename != "écran.png" || a[1].ContentType != "image/png" || a[1].Size != 8 {
		t.Errorf("RFC 2047 attachment %+v", a[1])
	}
	if a[2].ContentType != "message/rfc822" || !bytes.Contains(a[2].Content, []byte("inner body")) {
		t.Errorf("nested message %+v", a[2])
	}
	if p.Header("auto-submitted") != "no" {
		t.Errorf("Header(auto-submitted) = %q", p.Header("auto-submitted"))
	}
	b, _ := json.Marshal(p)
	for _, k := range []string{`"from"`, `"to"`, `"cc"`, `"subject"`, `"message_id"`, `"in_reply_to"`, `"references"`, `"date"`, `"text"`, `"reply_text"`, `"html"`, `"attachments"`, `"kind"`, `"problems"`, `"filename"`, `"content_type"`, `"size"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
}

// TestAttachmentCap: over MaxAttachmentBytes the content is dropped, the
// name and size kept, and a problem says so.
func TestAttachmentCap(t *testing.T) {
	raw := hdrs("From: a@b.example", `Content-Type: multipart/mixed; boundary="b"`, "", "--b", "Content-Type: text/plain", "", "hi",
		"--b", "Content-Type: application/octet-stream", `Content-Disposition: attachment; filename="big.bin"`, "", strings.Repeat("x", 5000), "--b--")
	for _, c := range []struct {
		max     int64
		kept    bool
		problem bool
	}{{0, true, false}, {10000, true, false}, {100, false, true}} {
		p, err := Parse([]byte(raw), Options{MaxAttachmentBytes: c.max})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Attachments) != 1 || p.Attachments[0].Size < 5000 {
			t.Fatalf("cap %d: attachments %+v", c.max, p.Attachments)
		}
		if (p.Attachments[0].Content != nil) != c.kept {
			t.Errorf("cap %d: content kept %v, want %v", c.max, p.Attachments[0].Content != nil, c.kept)
		}
		has := slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, "big.bin") })
		if has != c.problem {
			t.Errorf("cap %d: problem %v, want %v (%q)", c.max, has, c.problem, p.Problems)
		}
	}
}

// TestHTMLOnly: with no text part the HTML is turned into text, so a case
// always has a readable description (R6).
func TestHTMLOnly(t *testing.T) {
	raw := hdrs("From: a@b.example", "Content-Type: text/html; charset=utf-8", "") + "<html><body><p>Bonjour <b>Hélène</b></p><p>Ligne 2</p></body></html>"
	p, err := Parse([]byte(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "Bonjour") || !strings.Contains(p.Text, "Hélène") || strings.Contains(p.Text, "<b>") || p.HTML == "" {
		t.Errorf("text %q html %q", p.Text, p.HTML)
	}
	if !utf8.ValidString(p.Text) {
		t.Error("text not UTF-8")
	}
}
