package message

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusFiles lists every file under testdata/corpora.
func corpusFiles(t testing.TB) []string {
	var files []string
	err := filepath.WalkDir("../testdata/corpora", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// isMailFile tells the corpus files that are mail from the expectation,
// licence and body-only files beside them.
func isMailFile(path string) bool {
	base := filepath.Base(path)
	switch {
	case strings.HasSuffix(base, ".json"), strings.HasSuffix(base, ".xml"), strings.HasSuffix(base, ".md"),
		strings.HasSuffix(base, ".png"), strings.HasSuffix(base, ".html"), strings.HasSuffix(base, ".bin"),
		strings.HasPrefix(base, "LICENSE"), strings.HasPrefix(base, "COPYING"), base == "NOTICE", base == "README",
		strings.Contains(path, "_decoded_"), strings.Contains(path, "email_reply_parser/test/emails/"),
		strings.Contains(path, "talon/tests/fixtures/signature"), strings.Contains(path, "talon/tests/fixtures/standard_replies/"),
		strings.Contains(path, "_expectations_src"), strings.HasSuffix(base, ".txt") && !strings.Contains(path, "flufl"),
		strings.HasSuffix(path, "INDEX-not-retrieved.txt"), strings.HasSuffix(base, ".out"),
		// mail without any header: Parse refuses it as ErrNotMail by design.
		base == "erroneous.raw", strings.HasSuffix(base, "-noheader.msg"):
		return false
	}
	return true
}

// TestCorpusNoPanicNoHang feeds every corpus file to Parse and
// ClassifyEnvelope in a goroutine: it must return within the deadline (a
// hang detector, not a speed check) and never panic. Mail files must parse
// without error; the others may be refused as ErrNotMail only.
func TestCorpusNoPanicNoHang(t *testing.T) {
	const deadline = 10 * time.Second
	files := corpusFiles(t)
	if len(files) < 400 {
		t.Fatalf("only %d corpus files: testdata missing?", len(files))
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			p     *Parsed
			err   error
			panic any
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					done <- result{panic: r}
				}
			}()
			p, err := Parse(raw, Options{MaxAttachmentBytes: 1 << 20})
			if err == nil {
				ClassifyEnvelope(p, "")
				Classify(p)
			}
			done <- result{p: p, err: err}
		}()
		select {
		case r := <-done:
			if r.panic != nil {
				t.Errorf("%s: panic: %v", path, r.panic)
			} else if r.err != nil && (isMailFile(path) || !errors.Is(r.err, ErrNotMail)) {
				t.Errorf("%s: %v", path, r.err)
			} else if r.err == nil && r.p.Kind == "" {
				t.Errorf("%s: no kind", path)
			}
		case <-time.After(deadline):
			t.Fatalf("%s: Parse did not return within %v", path, deadline)
		}
	}
}

// TestCharsetDetectionChoice measures what trusting the declared charset
// changes on the corpora, the evidence behind parserTrust (see parse.go):
// it logs every file whose decoded text or HTML differs, and checks that
// the choice keeps French accents of a mostly-ASCII UTF-8 body intact.
func TestCharsetDetectionChoice(t *testing.T) {
	diff, total := 0, 0
	for _, path := range corpusFiles(t) {
		if !isMailFile(path) {
			continue
		}
		raw, _ := os.ReadFile(path)
		a, errA := Parse(raw, Options{})
		b, errB := Parse(raw, Options{CharsetDetection: true})
		if errA != nil || errB != nil {
			continue
		}
		total++
		if a.Text != b.Text || a.HTML != b.HTML {
			diff++
			t.Logf("differs: %s\n  trusted:  %.80q\n  detected: %.80q", path, firstDiff(a.Text+a.HTML, b.Text+b.HTML), firstDiff(b.Text+b.HTML, a.Text+a.HTML))
		}
	}
	t.Logf("charset detection changes the decoded text of %d of %d corpus mails", diff, total)

	// The classic victim: UTF-8 declared, mostly ASCII, a few accents.
	raw := []byte("From: a@example.test\r\nSubject: x\r\nMessage-ID: <1@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10) + "Merci, à bientôt, Hélène\r\n")
	p, err := Parse(raw, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "à bientôt, Hélène") {
		t.Errorf("declared UTF-8 accents lost: %q", p.Text[len(p.Text)-30:])
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(0, i-20)
	return a[start:min(len(a), i+60)]
}
