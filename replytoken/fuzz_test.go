package replytoken

import (
	"strings"
	"testing"
)

// FuzzCheckReturnPath: the detail of a bounce address comes from anyone
// who sends us mail. It never panics, and it is believed only when it is
// exactly what ReturnPath makes (in any letter case).
func FuzzCheckReturnPath(f *testing.F) {
	s := New([]byte("0123456789abcdef0123456789abcdef"))
	for _, seed := range []string{s.ReturnPath("abcdefgh234567"), "abcdefgh234567", "a-b-c", "-", "", "x-" + strings.Repeat("a", 200), "t0k3n-AAAAAAAAAAAAAAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, detail string) {
		tok, ok := s.CheckReturnPath(detail)
		if ok && !strings.EqualFold(s.ReturnPath(tok), detail) {
			t.Fatalf("believed %q, which ReturnPath(%q) = %q is not", detail, tok, s.ReturnPath(tok))
		}
	})
}
