package message

import (
	"bytes"
	"os"
	"slices"
	"testing"
)

func TestLargeScratch(t *testing.T) {
	var n, diffText, diffAtt, diffHdr, diffKind int
	for _, path := range corpusFiles(t) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		a, errA := Parse(raw, Options{MaxAttachmentBytes: 1 << 20})
		b, errB := ParseLarge(bytes.NewReader(raw), Options{MaxAttachmentBytes: 1 << 20})
		if (errA == nil) != (errB == nil) {
			t.Errorf("%s: err %v vs %v", path, errA, errB)
			continue
		}
		if errA != nil {
			continue
		}
		n++
		if a.From != b.From || a.Subject != b.Subject || a.MessageID != b.MessageID || a.Date != b.Date || !slices.Equal(a.To, b.To) || !slices.Equal(a.Cc, b.Cc) || a.InReplyTo != b.InReplyTo || !slices.Equal(a.References, b.References) || a.Locale != b.Locale {
			diffHdr++
			t.Logf("%s: header differs", path)
		}
		if a.Text != b.Text || a.HTML != b.HTML {
			diffText++
			t.Logf("%s: text differs: %q", path, firstDiff(a.Text, b.Text))
		}
		if len(a.Attachments) != len(b.Attachments) {
			diffAtt++
			t.Logf("%s: attachments %d vs %d", path, len(a.Attachments), len(b.Attachments))
		}
		if a.Kind != b.Kind {
			diffKind++
			t.Logf("%s: kind %s vs %s", path, a.Kind, b.Kind)
		}
	}
	t.Logf("%d mails: header %d, text %d, attachments %d, kind %d differ", n, diffHdr, diffText, diffAtt, diffKind)
}
