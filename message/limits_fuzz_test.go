package message

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzPartHeaderGuard: the guard passes the stream through unchanged up to
// where it cuts, however the reads are split, and never cuts a stream too
// short to hold a part header over its bounds.
func FuzzPartHeaderGuard(f *testing.F) {
	f.Add([]byte("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"))
	f.Add(partHeaderBombMail(9 << 10))
	f.Add([]byte("-- \r\nKey: value\r\n continued\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		g := newPartHeaderGuard(iotest.OneByteReader(bytes.NewReader(in)))
		out, err := io.ReadAll(g)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("output is not a prefix of the input")
		}
		if g.cut != (len(out) < len(in)) {
			t.Fatalf("cut %v, %d of %d bytes", g.cut, len(out), len(in))
		}
		if g.cut && len(in) <= MaxPartHeaderBytes && bytes.Count(in, []byte("\n")) <= MaxHeaderFields {
			t.Fatalf("cut a %d-byte stream", len(in))
		}
	})
}

// FuzzCapHeader: a bounded header keeps at most MaxHeaderFields fields
// and still ends where the header ended.
func FuzzCapHeader(f *testing.F) {
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/mixed" + sections(2<<10) + "\r\n\r\n"))
	f.Add(manyHeadersMail(9 << 10))
	f.Fuzz(func(t *testing.T, h []byte) {
		out, _ := capHeader(h)
		if out == nil {
			return
		}
		if n := len(splitFields(out)); n > MaxHeaderFields+1 {
			t.Fatalf("%d fields kept", n)
		}
	})
}
