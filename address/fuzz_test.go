package address

import (
	"strings"
	"testing"
)

// FuzzRoundTrip: every address formatted here parses back to its kind and
// token, in either letter case, for any token, local part and domain of
// printable ASCII (what an outbox row, a signer or outbound.from produce)
// without the separators.
func FuzzRoundTrip(f *testing.F) {
	f.Add("support", "support.test", "abc234", false)
	f.Add("Help.Desk", "xn--bcher-kva.test", "Z", true)
	f.Fuzz(func(t *testing.T, local, domain, token string, upper bool) {
		if local == "" || token == "" || !printable(local+domain+token) || strings.ContainsAny(local+domain, "+@<>") ||
			strings.EqualFold(local, bounceLocal) || strings.ContainsAny(token, "@<> ") {
			t.Skip()
		}
		cased := func(s string) string {
			if upper {
				return strings.ToUpper(s)
			}
			return s
		}
		for _, tc := range []struct {
			addr string
			kind Kind
		}{
			{ForReply(local, token, domain), Reply},
			{ForUnsubscribe(local, token, domain), Unsubscribe},
			{ForBounce(token, domain), Bounce},
			{ForNote(local, token, domain), Note},
		} {
			want := token
			if tc.kind == Reply && (hasPrefixFold(token, unsubscribePrefix) || hasPrefixFold(token, notePrefix)) {
				continue // a reply token never starts so: it is base32
			}
			kind, got := Parse(cased(tc.addr), local, domain)
			if kind != tc.kind || got != cased(want) {
				t.Fatalf("Parse(%q) = %v %q, want %v %q", cased(tc.addr), kind, got, tc.kind, cased(want))
			}
		}
		base := local + "@" + domain
		if b, tag := Split(Tag(base, token)); b != base || tag != token {
			t.Fatalf("Split(Tag(%q, %q)) = %q %q", base, token, b, tag)
		}
		if got, ok := MessageToken(MessageID(token, domain), domain); !ok || got != token {
			t.Fatalf("MessageToken(MessageID(%q)) = %q %v", token, got, ok)
		}
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
