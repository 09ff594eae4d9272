package quote

import (
	"path/filepath"
	"testing"
)

// The 766 KB quote and the ReDoS case of email_reply_parser must stay fast
// (linear time); the figures go in the report, not in assertions.
func BenchmarkReplyLongQuote(b *testing.B) {
	body := readFile(b, filepath.Join(erpDir, "test/emails/email_long_quote.txt"))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Reply(body)
	}
}

func BenchmarkReplyPathological(b *testing.B) {
	body := readFile(b, filepath.Join(erpDir, "test/emails/pathological.txt"))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Reply(body)
	}
}

func BenchmarkReplyHTMLOutlook(b *testing.B) {
	body := readFile(b, filepath.Join(talonDir, "tests/fixtures/html_replies/ms_outlook_2007.html"))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ReplyHTML(body)
	}
}
