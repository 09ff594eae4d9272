package testmail

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
)

// The mail is the same on every call (figures compare across runs), is a
// well-formed RFC 5322 message, and grows with the attachment asked for,
// base64 lines within RFC 2045's 76 characters.
func TestMultipart(t *testing.T) {
	for _, attach := range []int{0, 1, 8700, 1 << 20} {
		a, b := Multipart(attach), Multipart(attach)
		if !bytes.Equal(a, b) {
			t.Fatalf("attach %d: two calls differ", attach)
		}
		m, err := mail.ReadMessage(bytes.NewReader(a))
		if err != nil {
			t.Fatalf("attach %d: %v", attach, err)
		}
		if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/mixed") {
			t.Errorf("attach %d: Content-Type %q", attach, m.Header.Get("Content-Type"))
		}
		if min := attach * 4 / 3; len(a) < min {
			t.Errorf("attach %d: mail is %d bytes, want at least %d", attach, len(a), min)
		}
		for _, line := range strings.Split(string(a), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("attach %d: a line of %d bytes", attach, len(line))
			}
		}
	}
}
