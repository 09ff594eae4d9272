package ingest

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv/stores"
)

// Bad input loses nothing: a mail whose subject, From display name, text
// body and attachment filename hold bytes that are not UTF-8 and NUL is
// recorded on both stores (PostgreSQL refuses such text, SQLite keeps
// it: both store U+FFFD instead, casebook/text.go), its text is readable
// and searchable, and its raw bytes are kept exactly (I1, I4).
func TestInvalidTextIsRecorded(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		raw := "From: \"Ann \xff\x00Admin\" <ann@acme.test>\r\n" +
			"To: support@support.test\r\n" +
			"Subject: Imprimante \xe9\xe9 cass\xe9e \x00 zzkeyword\r\n" +
			"Message-ID: <bad-bytes@client.test>\r\n" +
			"Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n" +
			"MIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"b\"\r\n" +
			"\r\n" +
			"--b\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n" +
			"Content-Transfer-Encoding: 8bit\r\n" +
			"\r\n" +
			"Le serveur \xc3\x28 ne r\xe9pond plus\x00 depuis ce matin, motdebody.\r\n" +
			"--b\r\n" +
			"Content-Type: application/octet-stream; name=\"rapport\xff\x00.pdf\"\r\n" +
			"Content-Disposition: attachment; filename=\"rapport\xff\x00.pdf\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n" +
			"\r\n" +
			"JVBERi0xLjQK\r\n" +
			"--b--\r\n"
		out := h.receive(raw, "support@support.test")
		h.want(out, "case_opened", "")
		c, err := h.book.Case(h.ctx, out.CaseID)
		h.must(err)
		for what, s := range map[string]string{"title": c.Title, "description": c.Description} {
			if !utf8.ValidString(s) || strings.Contains(s, "\x00") {
				t.Errorf("%s %q is not valid text", what, s)
			}
		}
		if !strings.Contains(c.Title, "zzkeyword") || !strings.Contains(c.Description, "motdebody") {
			t.Errorf("text lost: title %q, description %q", c.Title, c.Description)
		}
		for _, word := range []string{"zzkeyword", "motdebody"} {
			found, err := h.book.Search(h.ctx, casebook.ListFilter{Org: "acme"}, word)
			h.must(err)
			if len(found) != 1 || found[0].ID != c.ID {
				t.Errorf("search %q found %d cases, want case %d", word, len(found), c.ID)
			}
		}
		m, err := h.book.Message(h.ctx, out.MessageID)
		h.must(err)
		if !utf8.ValidString(m.Subject) || strings.Contains(m.Subject, "\x00") {
			t.Errorf("message subject %q is not valid text", m.Subject)
		}
		var kept bytes.Buffer
		h.must(h.book.WriteRaw(h.ctx, m.RawSHA256, &kept))
		if kept.String() != raw {
			t.Errorf("raw bytes changed: %d bytes kept of %d", kept.Len(), len(raw))
		}
		// The same mail again is the same record (I2), looked up by text
		// that was cleaned the same way.
		again := h.receive(raw, "support@support.test")
		if again.MessageID != out.MessageID {
			t.Errorf("the same mail was recorded twice: %d and %d", out.MessageID, again.MessageID)
		}
	})
}

// A file attached from the web with such bytes in its name is kept too,
// its name readable, its bytes exact.
func TestInvalidFilenameIsKept(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		data := []byte("%PDF\x00\xff\xfe binary")
		c, err := h.book.OpenCaseWithFiles(h.ctx, casebook.NewCase{Org: "acme", Product: "cloud", Requester: "ann@acme.test",
			Title: "Facture \xff", Description: "ci-joint\x00"}, []casebook.NewAttachment{{Filename: "facture\xe9\x00.pdf", ContentType: "application/pdf", Data: data}})
		h.must(err)
		files, err := h.book.Attachments(h.ctx, c.ID)
		h.must(err)
		if len(files) != 1 {
			t.Fatalf("%d attachments, want 1", len(files))
		}
		if name := files[0].Filename; name != "facture\uFFFD\uFFFD.pdf" {
			t.Errorf("filename %q, want each bad byte run and NUL as U+FFFD", name)
		}
		_, got, err := h.book.AttachmentData(h.ctx, files[0].ID)
		h.must(err)
		if !bytes.Equal(got, data) {
			t.Errorf("attachment bytes changed: %q", got)
		}
	})
}
