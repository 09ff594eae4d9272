package config

import (
	"errors"
	"strings"
	"testing"
)

// Parse never panics, and every problem it reports points at a line of the
// input (or none), so config check never sends an admin to a wrong line.
func FuzzParse(f *testing.F) {
	f.Add(Example())
	f.Add([]byte("[smtp]\nlisten = \"127.0.0.1:99999\"\n[[route]]\naddress = \"x\"\n[[route]]\naddress = \"x\"\n"))
	f.Add([]byte("[policy]\ninitial_response = { P1 = \"1h\", P9 = \"x\" } # P1 = \n"))
	f.Add([]byte("a.b.c = 1\n[\"smtp\"]\n'listen' = \"#\" # [[route]]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		n := strings.Count(string(b), "\n") + 1
		var ps Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				if p.Line < 0 || p.Line > n {
					t.Fatalf("problem at line %d of %d: %v", p.Line, n, p)
				}
			}
			return
		}
		if err == nil {
			for k, l := range c.lines {
				if l < 1 || l > n {
					t.Fatalf("key %s at line %d of %d", k, l, n)
				}
			}
		}
	})
}
