package quote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addSeeds adds every file matching the globs to the fuzz corpus.
func addSeeds(f *testing.F, globs ...string) {
	for _, g := range globs {
		paths, err := filepath.Glob(g)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) > 64<<10 {
				continue // the 766 KB quote is for the benchmark
			}
			f.Add(string(b))
		}
	}
}

// R9: the comment is a part of what the customer sent,
// never more and never nothing: Reply and StripQuotes never panic, never
// grow the text nor add line breaks, Reply keeps a non-blank body, and
// Reply's result is unchanged by a second pass (new text has no quote left
// to remove, only lines we kept).
func FuzzReply(f *testing.F) {
	addSeeds(f, "../testdata/corpora/email_reply_parser/test/emails/*.txt", "testdata/own/*.txt",
		crispDir+"/test/fixtures/*.txt", mailparserDir+"/test/emails/*.txt")
	// A lone CR once became a line break and the result grew.
	f.Add("0\n________\n>\r0")
	f.Add("De\u00a0: Jean\nEnvoy\u00e9\u202f: lundi\n\u00c0 : x\nObjet : y\n\nz")
	f.Fuzz(func(t *testing.T, body string) {
		got := Reply(body)
		if len(got) > len(body) {
			t.Fatalf("Reply grew the text: %d > %d bytes", len(got), len(body))
		}
		// Reply's lines are joined with "\n"; a CR left in a line is a
		// character of it, as in the input.
		if strings.Count(got, "\n") > lineBreaks(body) {
			t.Fatalf("Reply added line breaks: %q from %q", got, body)
		}
		if got == "" && trimSpace(body) != "" {
			t.Fatalf("Reply lost a non-blank body: %q", body)
		}
		if strings.TrimRight(got, asciiSpace) != got {
			t.Fatalf("Reply result not trimmed: %q", got)
		}
		sq := StripQuotes(body)
		if len(sq) > len(body) {
			t.Fatalf("StripQuotes grew the text: %d > %d bytes", len(sq), len(body))
		}
		if utf8.ValidString(body) && !utf8.ValidString(got) {
			t.Fatalf("Reply broke UTF-8: %q", got)
		}
		// Every kept line comes from the input (joined headers aside).
		norm := normalizeNewlines(body)
		for _, l := range strings.Split(got, "\n") {
			if l != "" && !strings.Contains(norm, l) && !strings.Contains(strings.ReplaceAll(norm, "\n", " "), l) {
				t.Fatalf("Reply invented line %q", l)
			}
		}
		frags := Fragments(body)
		n := 0
		for _, fr := range frags {
			n += len(fr.Content)
		}
		if n > len(body)+len(frags)+len(norm)/4 {
			t.Fatalf("fragments hold %d bytes for a %d-byte body", n, len(body))
		}
	})
}

// lineBreaks counts the line ends of s as splitLines sees them.
func lineBreaks(s string) int { return len(splitLines(s)) - 1 }

// R9 for HTML bodies: no panic, and the text never holds more characters
// than the HTML it comes from.
func FuzzReplyHTML(f *testing.F) {
	addSeeds(f, "../testdata/corpora/talon/tests/fixtures/html_replies/*.html", "../testdata/corpora/talon/tests/fixtures/*.html", "testdata/own/*.html")
	f.Fuzz(func(t *testing.T, body string) {
		got := ReplyHTML(body)
		if utf8.RuneCountInString(got) > utf8.RuneCountInString(body) {
			t.Fatalf("ReplyHTML grew the text: %d > %d runes", utf8.RuneCountInString(got), utf8.RuneCountInString(body))
		}
	})
}

// Signature only ever splits the text it was given.
func FuzzSignature(f *testing.F) {
	addSeeds(f, "../testdata/corpora/talon/tests/fixtures/signature/emails/stripped/*_body")
	f.Fuzz(func(t *testing.T, body string) {
		for _, sender := range []string{"", "John Doe", "john@example.com", "Noam"} {
			text, sig := Signature(body, sender)
			if sig == "" {
				continue
			}
			if !strings.HasSuffix(normalizeNewlines(body), sig) && !strings.HasSuffix(strings.TrimRight(normalizeNewlines(body), asciiSpace), sig) {
				t.Fatalf("signature %q is not the end of the body", sig)
			}
			if len(text)+len(sig) > len(body) {
				t.Fatalf("text+signature longer than body")
			}
		}
	})
}
