package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// [auth] mistakes name their line and key, like every other (issue 13).
func TestAuthProblems(t *testing.T) {
	tests := []struct{ name, in, key, want string }{
		{"unknown mode", "[auth]\nmode = \"strict\" # <-\n", "auth.mode", `must be "off", "record" or "enforce"`},
		{"resolver without port", "[auth]\nresolver = \"dns.example.com\" # <-\n", "auth.resolver", "no port"},
		{"resolver port out of range", "[auth]\nresolver = \"127.0.0.1:0\" # <-\n", "auth.resolver", "out of range"},
		{"empty authserv-id", "[auth]\ntrusted_authserv_ids = [\"\"] # <-\n", "auth.trusted_authserv_ids[0]", "not an authserv-id"},
		{"authserv-id with a semicolon", "[auth]\ntrusted_authserv_ids = [\"mx; dmarc=pass\"] # <-\n", "auth.trusted_authserv_ids[0]", "not an authserv-id"},
		{"relay not an address", "[auth]\nrelays = [\"mx.example.com\"] # <-\n", "auth.relays[0]", "not an address or prefix"},
		{"query timeout", "[auth]\nquery_timeout = \"0s\" # <-\n", "auth.query_timeout", "must be positive"},
		{"timeout below the query timeout", "[auth]\ntimeout = \"1s\" # <-\n", "auth.timeout", "at least auth.query_timeout"},
		{"route exception", "[[route]]\naddress = \"a@localhost\"\nproduct = \"p\"\nauth = \"lenient\" # <-\n", "route[0].auth", `must be "record"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error = %v, want Problems", err)
			}
			line := markedLine(t, tc.in)
			for _, p := range ps {
				if p.Line == line && p.Key == tc.key && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Fatalf("problems %q: none at line %d for %s saying %q", ps, line, tc.key, tc.want)
		})
	}
}

// The default enforces, and good [auth] values load as written.
func TestAuthValues(t *testing.T) {
	if m := Default().Auth.Mode; m != "enforce" {
		t.Errorf("default auth.mode = %q, want enforce", m)
	}
	c, err := Parse([]byte("[auth]\nmode = \"record\"\nresolver = \"127.0.0.1\"\ntrusted_authserv_ids = [\"mx.example.test\"]\n" +
		"[[route]]\naddress = \"lists@localhost\"\nproduct = \"p\"\nauth = \"record\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(Default().Auth.RelayPrefixes()); got != "[127.0.0.0/8 ::1/128]" {
		t.Errorf("default relays = %s, want loopback", got)
	}
	if c.Auth.Mode != "record" || c.Auth.Resolver != "127.0.0.1" || len(c.Auth.TrustedAuthservIDs) != 1 || c.Routes[0].Auth != "record" {
		t.Errorf("auth = %+v, route = %+v", c.Auth, c.Routes[0])
	}
}
