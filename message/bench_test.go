package message

import (
	"fmt"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testmail"
)

// multipartMail is the deterministic test mail of internal/testmail: with
// attach ~8.7 KB a typical ~20 KB support mail.
func multipartMail(attach int) []byte { return testmail.Multipart(attach) }

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
