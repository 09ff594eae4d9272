package casebook

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidText: whatever the bytes, stored text is valid UTF-8 without
// NUL, valid text without NUL is kept as it is, and cleaning twice changes
// nothing more (a lookup by cleaned text finds what was stored).
func FuzzValidText(f *testing.F) {
	for _, s := range []string{"", "plain", "caf\xe9", "a\x00b", "\xed\xa0\x80", "日本語\xff", "\xf4\x90\x80\x80x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := validText(s)
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("validText(%q) = %q: not valid text", s, got)
		}
		if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && got != s {
			t.Fatalf("validText(%q) = %q: valid text changed", s, got)
		}
		if again := validText(got); again != got {
			t.Fatalf("validText is not idempotent on %q: %q, then %q", s, got, again)
		}
	})
}
