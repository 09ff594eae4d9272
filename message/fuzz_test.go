package message

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzParse: Parse and Classify never panic, and the output stays bounded
// by the input (no amplification a hostile mail could use).
func FuzzParse(f *testing.F) {
	for _, path := range corpusFiles(f) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err == nil && len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw, Options{MaxAttachmentBytes: 1 << 16})
		if err != nil {
			return
		}
		ClassifyEnvelope(p, "")
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		// Text, HTML and problems are each derived from the input; HTML to
		// text and JSON escaping can grow it, but not without bound.
		if limit := 64*len(raw) + 64<<10; len(b) > limit {
			t.Fatalf("output %d bytes for %d input bytes", len(b), len(raw))
		}
	})
}
