package message

import (
	"strings"
	"testing"
)

// FuzzParseSender: the sender, if any, is the addr-spec between the angle
// brackets or the bare addr-spec (RFC 5322 3.4, I6): never text from a
// display name, a comment or an encoded word.
func FuzzParseSender(f *testing.F) {
	for _, c := range forgedFroms {
		f.Add(c.from)
	}
	for _, s := range []string{"ann@acme.test", `"Doe, John" <john@x.example>`, "john@x.example (John)",
		"<@relay.example:joe@where.test>", `"joe"@x.example`, "joe@[192.0.2.1]", "g: a@b.test;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, from string) {
		m, _, err := ParseSender([]string{from})
		if err != nil {
			if m != (Mailbox{}) {
				t.Fatalf("error %v with a sender %+v", err, m)
			}
			return
		}
		checkAddrPosition(t, from, m.Addr)
	})
}

// FuzzSenderDisplayName: whatever the display name holds, the sender of
// "NAME <mallory@evil.test>" is mallory or no one (issue 10: the display
// name, a comment or an encoded word made it alice).
func FuzzSenderDisplayName(f *testing.F) {
	for _, c := range forgedFroms {
		if i := strings.LastIndex(c.from, "<mallory@evil.test>"); i >= 0 {
			f.Add(c.from[:i])
		} else {
			f.Add(c.from)
		}
	}
	f.Fuzz(func(t *testing.T, name string) {
		from := name + " <mallory@evil.test>"
		m, _, err := ParseSender([]string{from})
		if err == nil && m.Addr != "mallory@evil.test" {
			t.Fatalf("From %q: sender %q", from, m.Addr)
		}
	})
}

// FuzzParseAddressList: every address of To/Cc (the watchers, R8) is a
// valid addr-spec written in address position.
func FuzzParseAddressList(f *testing.F) {
	for _, c := range forgedFroms {
		f.Add(c.from + ", b@c.test")
	}
	f.Add("undisclosed-recipients:;")
	f.Add("team: a@x.test, B <b@y.test>;, Doe, John <j@x.test>")
	f.Fuzz(func(t *testing.T, raw string) {
		l := ParseAddressList(raw)
		for _, m := range l.Mailboxes {
			if again, ok := parseAddrSpec(m.Addr); !ok || again != m.Addr {
				t.Fatalf("%q: address %q is no addr-spec (%q)", raw, m.Addr, again)
			}
			checkAddrPosition(t, raw, m.Addr)
		}
	})
}

// checkAddrPosition is the oracle: with comments and display-name quoted
// strings removed, addr is written in raw between delimiters of address
// position: start or end, '<' '>', ',' ';' or ':' (group, obs-route).
func checkAddrPosition(t *testing.T, raw, addr string) {
	t.Helper()
	v := strings.ToLower(visible(raw))
	a := strings.ToLower(squeeze(addr))
	for i := 0; ; {
		j := strings.Index(v[i:], a)
		if j < 0 {
			t.Fatalf("%q: address %q not in address position of %q", raw, addr, v)
		}
		j += i
		before, after := byte(','), byte(',')
		if j > 0 {
			before = v[j-1]
		}
		if k := j + len(a); k < len(v) {
			after = v[k]
		}
		if strings.IndexByte("<,;:", before) >= 0 && strings.IndexByte(">,;", after) >= 0 {
			return
		}
		i = j + 1
	}
}

// visible is raw without comments, without quoted strings that are not
// part of a local part (not followed by '@' or '.'), without whitespace
// and '"'.
func visible(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '(':
			depth := 0
			for ; i < len(raw); i++ {
				if raw[i] == '\\' {
					i++
					continue
				}
				if raw[i] == '(' {
					depth++
				}
				if raw[i] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
		case '"':
			j := i + 1
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' && j+1 < len(raw) {
					j++
				}
			}
			rest := strings.TrimLeft(raw[min(j+1, len(raw)):], " \t\r\n")
			if strings.HasPrefix(rest, "@") || strings.HasPrefix(rest, ".") {
				b.WriteString(raw[i:min(j+1, len(raw))]) // as written: escapes kept, as in the address
			}
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return squeeze(b.String())
}

func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '"' {
			return -1
		}
		return r
	}, s)
}
