package message

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
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

// FuzzParseLarge: the streaming path never panics either, always gives the
// header fields when Parse does, and keeps no more than its bounds.
func FuzzParseLarge(f *testing.F) {
	for _, path := range corpusFiles(f) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err == nil && len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParseLarge(bytes.NewReader(raw), Options{MaxAttachmentBytes: 1 << 16})
		q, qerr := Parse(raw, Options{MaxAttachmentBytes: 1 << 16})
		// ParseLarge may read what Parse gives up on, never the reverse.
		if err != nil && qerr == nil {
			t.Fatalf("ParseLarge error %v, Parse read it", err)
		}
		if err != nil || qerr != nil {
			return
		}
		// Parse's fallback for an unreadable structure drops Content-Type and
		// with it the lines it swallowed; only compare when it did not.
		fallback := slices.ContainsFunc(q.Problems, func(s string) bool { return strings.HasPrefix(s, "MIME structure unreadable") })
		if !fallback && (p.From != q.From || p.MessageID != q.MessageID || p.Subject != q.Subject) {
			t.Fatalf("header differs: %q %q %q vs %q %q %q", p.From, p.MessageID, p.Subject, q.From, q.MessageID, q.Subject)
		}
		if len(p.Text) > 2*LargeTextMax || len(p.HTML) > LargeTextMax {
			t.Fatalf("text %d, html %d bytes", len(p.Text), len(p.HTML))
		}
	})
}

// FuzzReturnPath: ReturnPath never panics, null and an address never come
// together, and an address it returns is one line with an @ (it is stored
// and logged as the envelope sender).
func FuzzReturnPath(f *testing.F) {
	for _, s := range []string{"Return-Path: <>\r\n\r\n", "Return-Path: <a@b.test>\r\n\r\n", "Return-Path:\r\n <x@y> (c)\r\n\r\n", "From: a\r\n\r\nReturn-Path: <>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		addr, null := ReturnPath(header)
		if null && addr != "" {
			t.Fatalf("null with address %q", addr)
		}
		if addr != "" && (!strings.Contains(addr, "@") || strings.ContainsAny(addr, "\r\n<>")) {
			t.Fatalf("address %q is not one address", addr)
		}
	})
}
