package message

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestParseLargeReadsLikeParse: the streaming path reads every header field
// of every corpus mail exactly as Parse does, and classifies it the same
// (I5: a big auto-reply or bounce is still never answered). Bodies of
// malformed MIME may differ (the two parsers recover differently), so text
// is compared on the well-formed fixtures only.
func TestParseLargeReadsLikeParse(t *testing.T) {
	var files []string
	for _, path := range corpusFiles(t) {
		if isMailFile(path) {
			files = append(files, path)
		}
	}
	fixtures, _ := os.ReadDir("testdata/fixtures")
	for _, f := range fixtures {
		files = append(files, "testdata/fixtures/"+f.Name())
	}
	n := 0
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{MaxAttachmentBytes: 1 << 20}
		a, errA := Parse(raw, opt)
		b, errB := ParseLarge(bytes.NewReader(raw), opt)
		if (errA == nil) != (errB == nil) {
			t.Errorf("%s: Parse error %v, ParseLarge error %v", path, errA, errB)
			continue
		}
		if errA != nil {
			continue
		}
		n++
		type fields struct {
			From, FromName, Subject, MessageID, InReplyTo, Date, Locale, To, Cc, ReplyTo, References string
			Kind                                                                                     Kind
		}
		get := func(p *Parsed) fields {
			return fields{p.From, p.FromName, p.Subject, p.MessageID, p.InReplyTo, p.Date, p.Locale,
				fmt.Sprint(p.To), fmt.Sprint(p.Cc), fmt.Sprint(p.ReplyTo), fmt.Sprint(p.References), p.Kind}
		}
		if fa, fb := get(a), get(b); fa != fb {
			t.Errorf("%s:\n Parse      %+v\n ParseLarge %+v", path, fa, fb)
		}
		if !slices.Equal(a.HeaderValues("Received"), b.HeaderValues("Received")) {
			t.Errorf("%s: Received fields differ", path)
		}
		if strings.HasPrefix(path, "testdata/fixtures/") && (a.Text != b.Text || a.HTML != b.HTML) {
			t.Errorf("%s: text differs at %q", path, firstDiff(a.Text, b.Text))
		}
	}
	if n < 400 {
		t.Fatalf("only %d mails compared: testdata missing?", n)
	}
}

// TestParseLargeAttachment: a mail with a big attachment gives the same
// text and the attachment's name, type and decoded size, without its
// content, and a problem says where the content is (I4: nothing is lost,
// the raw message keeps it).
func TestParseLargeAttachment(t *testing.T) {
	const size = 3 << 20
	raw := multipartMail(size)
	cases := []struct {
		name    string
		max     int64
		problem string
	}{
		{"under the cap", 25 << 20, "content kept in the raw message only"},
		{"over the cap", 1 << 20, "over the 1048576-byte cap: content dropped"},
		{"no cap", 0, "content kept in the raw message only"},
	}
	want, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseLarge(bytes.NewReader(raw), Options{MaxAttachmentBytes: c.max})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Attachments) != 1 {
				t.Fatalf("attachments %+v", p.Attachments)
			}
			a := p.Attachments[0]
			if a.Filename != "capture.bin" || a.ContentType != "application/octet-stream" || a.Size != size || a.Content != nil {
				t.Errorf("attachment %q %q %d bytes, content kept %v", a.Filename, a.ContentType, a.Size, a.Content != nil)
			}
			if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], c.problem) {
				t.Errorf("problems %q, want one with %q", p.Problems, c.problem)
			}
			if p.Text != want.Text || p.HTML != want.HTML || p.Subject != want.Subject || p.From != want.From {
				t.Errorf("text or header differs from Parse: %q", firstDiff(want.Text, p.Text))
			}
		})
	}
}

// TestParseLargeKeepsReportParts: the small parts of a delivery report keep
// their content, so a big bounce is still read as a bounce of the right
// recipient (I5).
func TestParseLargeKeepsReportParts(t *testing.T) {
	raw := hdrs("From: MAILER-DAEMON@mx.example", "To: bounce+tok@support.test", "Subject: Undelivered Mail",
		"Message-ID: <b1@mx.example>", `Content-Type: multipart/report; report-type=delivery-status; boundary="b"`, "") +
		"--b\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n" +
		"Final-Recipient: rfc822; gone@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <orig@support.test>\r\nSubject: x\r\n\r\n" +
		strings.Repeat("padding line of the returned message\r\n", 200000) + "--b--\r\n"
	p, err := ParseLarge(strings.NewReader(raw), Options{MaxAttachmentBytes: 25 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != KindBounce || p.Bounce == nil || !slices.Equal(p.Bounce.Recipients, []string{"gone@customer.example"}) || !p.Bounce.Permanent {
		t.Fatalf("kind %s bounce %+v", p.Kind, p.Bounce)
	}
	if p.Attachments[0].Content == nil || p.Attachments[1].Content != nil {
		t.Errorf("kept content: report %v, returned 7 MB message %v", p.Attachments[0].Content != nil, p.Attachments[1].Content != nil)
	}
}

// TestParseLargeBounds: whatever the mail, what ParseLarge keeps is
// bounded (issue 6), and what was cut is said in Problems (I4).
func TestParseLargeBounds(t *testing.T) {
	long := strings.Repeat("un texte très long, ", LargeTextMax/20+1000)
	cases := []struct {
		name    string
		raw     string
		problem string
		check   func(t *testing.T, p *Parsed)
	}{
		{name: "text over the cap", raw: hdrs("From: a@b.example", "Message-ID: <t@b.example>", "Content-Type: text/plain; charset=utf-8", "") + long,
			problem: "cut", check: func(t *testing.T, p *Parsed) {
				if len(p.Text) > LargeTextMax || len(p.Text) < LargeTextMax-8 || !strings.HasPrefix(long, p.Text) {
					t.Errorf("text %d bytes, want a prefix of about %d", len(p.Text), LargeTextMax)
				}
			}},
		{name: "html only over the cap", raw: hdrs("From: a@b.example", "Message-ID: <h@b.example>", "Content-Type: text/html", "") + "<p>" + long,
			problem: "cut", check: func(t *testing.T, p *Parsed) {
				if len(p.HTML) > LargeTextMax || !strings.HasPrefix(p.Text, "un texte") {
					t.Errorf("html %d bytes, text %.20q", len(p.HTML), p.Text)
				}
			}},
		{name: "header without end", raw: "From: a@b.example\r\nX-Long: " + strings.Repeat("x", LargeHeaderMax+10),
			problem: "header section over", check: func(t *testing.T, p *Parsed) {
				if p.From != "a@b.example" {
					t.Errorf("from %q", p.From)
				}
			}},
		{name: "deep nesting", raw: nested(100), problem: "nested over"},
		{name: "latin-1 text", raw: hdrs("From: a@b.example", "Message-ID: <l@b.example>", "Content-Type: text/plain; charset=iso-8859-1", "") + "caf\xe9",
			check: func(t *testing.T, p *Parsed) {
				if p.Text != "café" {
					t.Errorf("text %q", p.Text)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseLarge(strings.NewReader(c.raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c.problem != "" && !slices.ContainsFunc(p.Problems, func(s string) bool { return strings.Contains(s, c.problem) }) {
				t.Errorf("problems %q, want one with %q", p.Problems, c.problem)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

// nested returns a mail of depth multiparts, each inside the previous.
func nested(depth int) string {
	var b strings.Builder
	b.WriteString(hdrs("From: a@b.example", "Message-ID: <n@b.example>", `Content-Type: multipart/mixed; boundary="b0"`, ""))
	for i := range depth {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	b.WriteString("--b" + fmt.Sprint(depth) + "\r\nContent-Type: text/plain\r\n\r\ndeep\r\n")
	for i := depth; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.String()
}

// TestParseLargeNotMail: like Parse, only input without a header is refused.
func TestParseLargeNotMail(t *testing.T) {
	for _, raw := range []string{"", " \r\n\r\n", "\x00\x01 garbage", "hello, this is not a mail\r\n"} {
		if _, err := ParseLarge(strings.NewReader(raw), Options{}); !errors.Is(err, ErrNotMail) {
			t.Errorf("%q: error %v, want ErrNotMail", raw, err)
		}
	}
}

// BenchmarkParseLarge: the 30 MB mail of TestLargeMessage, streamed.
func BenchmarkParseLarge(b *testing.B) {
	raw := multipartMail(22 << 20)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseLarge(bytes.NewReader(raw), Options{MaxAttachmentBytes: 25 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}
