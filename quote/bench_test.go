package quote

import (
	"path/filepath"
	"strings"
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

// Lines that every header pattern has to look at (attribution-like lines
// ending with ":", header fields, dated lines): the per-line checks must
// stay cheap, whatever the vocabulary's size.
func BenchmarkReplyHeaderLikeLines(b *testing.B) {
	body := strings.Repeat("On x wrote:\nFrom: a\nTo: b\n2016-12-08 10:00 <a@b>:\nx\n\n> q\n", 1000)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Reply(body)
	}
}

// A plain reply with prose, an attribution and a quote: the common case.
func BenchmarkReplyPlain(b *testing.B) {
	body := strings.Repeat("Bonjour, voici ma réponse à votre question d'hier.\n", 40) +
		"\nLe jeu. 8 déc. 2016 à 10:00, Jean Dupont <jean@example.com> a écrit\u00a0:\n" +
		strings.Repeat("> Pouvez-vous redémarrer le service ?\n", 40)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		Reply(body)
	}
}
