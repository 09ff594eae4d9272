package ingest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/casemail/casemail/internal/testenv/stores"
)

// Every mail of the public corpora (testdata/corpora: malformed headers,
// 8-bit filenames, undeclared charsets, bounces, list mail) is recorded on
// both stores, never refused by the store: PostgreSQL refuses text that
// SQLite takes, and a mail refused by the store is answered 4xx forever
// (I1, I4: nothing lost).
func TestCorporaAreRecorded(t *testing.T) {
	root := filepath.Join("..", "testdata", "corpora")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(p) {
		case ".eml", ".msg", ".raw", ".txt":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d corpus mails found under %s", len(files), root)
	}
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		for _, p := range files {
			raw, err := os.ReadFile(p)
			h.must(err)
			out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "x@y", Recipients: []string{"support@support.test"}}, strings.NewReader(string(raw)))
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			m, err := h.book.Message(h.ctx, out.MessageID)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.From) || strings.ContainsRune(m.Subject, 0) {
				t.Errorf("%s: stored subject %q from %q is not valid text", p, m.Subject, m.From)
			}
		}
	})
}
