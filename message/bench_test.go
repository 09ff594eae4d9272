package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// multipartMail builds a multipart/mixed mail: text, HTML and a base64
// binary attachment of attach bytes. With attach ~8.7 KB it is the ~20 KB
// message of STACK-NOTES.md section 6.
func multipartMail(attach int) []byte {
	var b bytes.Buffer
	b.WriteString("From: =?utf-8?Q?H=C3=A9l=C3=A8ne?= Dupont <helene@client.example>\r\nTo: support@casemail.test\r\n" +
		"Subject: =?utf-8?Q?Probl=C3=A8me_d'impression?=\r\nMessage-ID: <bench@client.example>\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	para := "Bonjour, l'imprimante du deuxième étage ne répond plus depuis ce matin. Merci d'avance.\r\n"
	for b.Len() < 4500 {
		b.WriteString(para)
	}
	b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
	for i := 0; i < 40; i++ {
		b.WriteString("<p>" + strings.TrimSpace(para) + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--alt--\r\n")
	data := make([]byte, attach)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	enc := base64.StdEncoding.EncodeToString(data)
	b.WriteString("--outer\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=\"capture.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--outer--\r\n")
	return b.Bytes()
}

// BenchmarkParse: ~20 KB multipart mail, with enmime's charset detection
// (as enmime's default) and without (casemail's choice, see parse.go).
func BenchmarkParse(b *testing.B) {
	raw := multipartMail(8700)
	for _, c := range []struct {
		name string
		opt  Options
	}{{"trust-declared", Options{}}, {"detect", Options{CharsetDetection: true}}} {
		b.Run(fmt.Sprintf("%s-%dKB", c.name, len(raw)/1000), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Parse(raw, c.opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLargeMessage: a 30 MB mail (one 22 MB attachment) is read whole, the
// attachment's size is right and, over the cap, its content is dropped with
// a problem (I4: the mail is still recorded, not refused).
func TestLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("30 MB message skipped with -short")
	}
	raw := multipartMail(22 << 20)
	p, err := Parse(raw, Options{MaxAttachmentBytes: 10 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Size != 22<<20 || p.Attachments[0].Content != nil {
		t.Fatalf("attachments %+v", p.Attachments)
	}
	if len(p.Problems) != 1 || !strings.Contains(p.Problems[0], "content dropped") {
		t.Errorf("problems %q", p.Problems)
	}
}

// TestHelperParseFile is not a test: with CASEMAIL_PARSE_FILE set it parses
// that file once, so "/usr/bin/time -v" on the test binary measures the
// peak memory of one Parse (see the package report).
func TestHelperParseFile(t *testing.T) {
	path := os.Getenv("CASEMAIL_PARSE_FILE")
	if path == "" {
		t.Skip("set CASEMAIL_PARSE_FILE to measure one Parse")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(raw, Options{MaxAttachmentBytes: 25 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes, %d attachments, %d problems", len(raw), len(p.Attachments), len(p.Problems))
}

// TestWriteLargeMail writes the 30 MB mail for the measurement above when
// CASEMAIL_WRITE_LARGE names a path.
func TestWriteLargeMail(t *testing.T) {
	path := os.Getenv("CASEMAIL_WRITE_LARGE")
	if path == "" {
		t.Skip("set CASEMAIL_WRITE_LARGE to write the 30 MB test mail")
	}
	if err := os.WriteFile(path, multipartMail(22<<20), 0o644); err != nil {
		t.Fatal(err)
	}
}
