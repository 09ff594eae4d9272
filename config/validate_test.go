package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// markedLine is the line of text that carries the marker "# <-".
func markedLine(t *testing.T, text string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "# <-") {
			return i + 1
		}
	}
	t.Fatal("no line is marked with # <-")
	return 0
}

// Every mistake Validate finds names the line that sets the key, the key
// and what is expected, and every mistake of a file is reported.
func TestValidateNamesLineAndKey(t *testing.T) {
	tests := []struct{ name, in, key, want string }{
		{"route not an address", "[[route]]\naddress = \"support at example.com\" # <-\nproduct = \"p\"\n",
			"route[0].address", "not an address (expected local@domain"},
		{"route display name", "[[route]]\naddress = \"Support <support@localhost>\" # <-\nproduct = \"p\"\n",
			"route[0].address", "not an address"},
		{"route with a plus tag", "[[route]]\naddress = \"support+acme@localhost\" # <-\nproduct = \"p\"\n",
			"route[0].address", "plus tag"},
		{"duplicate route, any case", "[[route]]\naddress = \"support@localhost\"\nproduct = \"p\"\n\n[[route]]\n# address = \"x@y\" in a comment\naddress = \"Support@LOCALHOST\" # <-\nproduct = \"q\"\n",
			"route[1].address", "already the address of route[0] (line 2)"},
		{"listen port out of range", "[smtp]\nlisten = \"127.0.0.1:70000\" # <-\n", "smtp.listen", `port "70000" out of range (expected 1..65535)`},
		{"listen without port", "[smtp]\nlisten = \"2525\" # <-\n", "smtp.listen", "no port"},
		{"http port out of range", "[http]\nlisten = \"127.0.0.1:0\" # <-\n", "http.listen", "out of range"},
		{"imap port", "[[imap]]\nname = \"m\"\naddress = \"imap.example.com\" # <-\nusername = \"u\"\ntls = \"none\"\npassword_env = \"P\"\n",
			"imap[0].address", "no port"},
		{"max_connections", "[smtp]\nmax_connections = 0 # <-\n", "smtp.max_connections", "0: must be at least 1"},
		{"relay without port", "[outbound]\ntransport = \"smtp://relay.example.com\" # <-\n", "outbound.transport", "expected smtp://HOST:PORT"},
		{"smtps port out of range", "[outbound]\ntransport = \"smtps://relay.example.com:99999\" # <-\n", "outbound.transport", `port "99999" out of range (expected 1..65535)`},
		{"both password_file and password_env", "[[imap]]\nname = \"m\"\naddress = \"h:993\"\nusername = \"u\"\npassword_file = \"/run/secrets/imap\"\npassword_env = \"IMAP_PASSWORD\" # <-\n",
			"imap[0].password_env", "set only one"},
		{"outbound both passwords", "[outbound]\npassword_file = \"/x\"\npassword_env = \"Y\" # <-\n", "outbound.password_env", "set only one"},
		{"older checks get their line", "[smtp]\n\nprotocol = \"pop3\" # <-\n", "smtp.protocol", `must be "smtp" or "lmtp"`},
		{"second route's key", "[[route]]\naddress = \"a@localhost\"\nproduct = \"p\"\n[[route]]\naddress = \"b@localhost\"\naction = \"send\" # <-\n",
			"route[1].action", "action must be"},
		{"inline table", "[policy]\ninitial_response = { P1 = \"1h\", P9 = \"2h\" } # <-\n", "policy.initial_response", `unknown priority "P9"`},
		{"unknown key in a route", "[[route]]\naddress = \"a@localhost\"\nproduct = \"p\"\n[[route]]\naddress = \"b@localhost\"\nprodct = \"p\" # <-\n",
			"route[1].prodct", `unknown key "route[1].prodct"`},
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

// A file with several mistakes gets all of them, in the order of the file,
// each with the file name.
func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "casemail.toml")
	in := "[smtp]\nlisten = \"127.0.0.1:99999\"\nmax_connections = 0\nlisen = 1\n[[route]]\naddress = \"nobody\"\nproduct = \"p\"\n"
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error = %v, want Problems", err)
	}
	want := []string{
		path + ":2: smtp.listen",
		path + ":3: smtp.max_connections",
		path + `:4: unknown key "smtp.lisen"`,
		path + ":6: route[0].address",
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].Error(), w) {
			t.Errorf("problem %d = %q, want it to start with %q", i, ps[i].Error(), w)
		}
	}
}

// Check finds what only the machine can tell: secrets readable and set,
// TLS files present; and routes the SMTP listener would refuse.
func TestCheckEnvironment(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	env := map[string]string{"IMAP_PASSWORD": "pw"}
	getenv := func(k string) string { return env[k] }
	imap := func(auth string) string {
		return "[[imap]]\nname = \"m\"\naddress = \"imap.example.com:993\"\ntls = \"implicit\"\nusername = \"support@example.com\"\n" + auth + " # <-\n"
	}
	tests := []struct{ name, in, key, want string }{
		{"password file missing", imap(`password_file = "` + filepath.Join(dir, "nope") + `"`), "imap[0].password_file", "no such file"},
		{"password file unreadable", imap(`password_file = "` + dir + `"`), "imap[0].password_file", "cannot be read"},
		{"password file empty", imap(`password_file = "` + empty + `"`), "imap[0].password_file", "empty"},
		{"password env unset", imap(`password_env = "CASEMAIL_NOT_SET"`), "imap[0].password_env", "CASEMAIL_NOT_SET is not set"},
		{"token file missing", imap("auth = \"xoauth2\"\ntoken_file = \"" + filepath.Join(dir, "tok") + `"`), "imap[0].token_file", "no such file"},
		{"relay password env unset", "[outbound]\ntransport = \"smtp://relay.example.com:587\"\nusername = \"u\"\npassword_env = \"RELAY_PW\" # <-\n", "outbound.password_env", "RELAY_PW is not set"},
		{"TLS files missing", "[smtp]\ntls_cert = \"" + filepath.Join(dir, "cert.pem") + "\" # <-\ntls_key = \"" + filepath.Join(dir, "key.pem") + "\"\n", "smtp.tls_cert", "no such file"},
		{"TLS key missing", "[smtp]\ntls_cert = \"" + secret + "\"\ntls_key = \"" + filepath.Join(dir, "key.pem") + "\" # <-\n", "smtp.tls_key", "no such file"},
		{"TLS files not PEM", "[smtp]\ntls_cert = \"" + secret + "\" # <-\ntls_key = \"" + secret + "\"\n", "smtp.tls_cert", "not a PEM certificate"},
		{"route outside smtp.domains", "[smtp]\ndomains = [\"example.com\"]\n[[route]]\naddress = \"support@other.test\" # <-\nproduct = \"p\"\n",
			"route[0].address", `route[0].address "support@other.test": not in smtp.domains (example.com)`},
		{"default route outside smtp.domains", "[smtp]\ndomains = [\"example.com\"] # <-\n",
			"route[0].address", "the default route, as the file has no [[route]]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			line := markedLine(t, tc.in)
			ps := c.Check(getenv)
			for _, p := range ps {
				if p.Line == line && p.Key == tc.key && strings.Contains(p.Msg, tc.want) {
					return
				}
			}
			t.Fatalf("problems %q: none at line %d for %s saying %q", ps, line, tc.key, tc.want)
		})
	}
	ok := []struct{ name, in string }{
		{"password file", imap(`password_file = "` + secret + `"`)},
		{"password env set", imap(`password_env = "IMAP_PASSWORD"`)},
		// Mail for an IMAP mailbox's recipient does not come through the SMTP listener.
		{"route of an IMAP mailbox", imap(`password_env = "IMAP_PASSWORD"`) + "[[route]]\naddress = \"support@example.com\"\nproduct = \"p\"\n"},
		{"no SMTP listener, any domain", "[smtp]\nlisten = \"\"\n[[route]]\naddress = \"support@other.test\"\nproduct = \"p\"\n"},
		{"maildir needs no password", "[outbound]\npassword_env = \"RELAY_PW\"\n"},
	}
	for _, tc := range ok {
		c, err := Parse([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: Parse: %v", tc.name, err)
		}
		if ps := c.Check(getenv); len(ps) > 0 {
			t.Errorf("%s: false refusal: %v", tc.name, ps)
		}
	}
}

// The key index survives what TOML allows: comments naming keys, quoted
// and dotted keys, multi-line arrays, the same key in several tables.
func TestKeyLines(t *testing.T) {
	in := `# smtp.listen = "in a comment"
[smtp]
domains = [
  "a.test", # listen = "no"
]
listen = "127.0.0.1:1" # password_env = "x"

[[route]]
address = "a@a.test"
"product" = "p"

[[ route ]]
address = "b@a.test"
product = "p"
[policy]
initial_response = { P1 = "1h", P2 = "2h" }
`
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]int{
		"smtp": 2, "smtp.domains": 3, "smtp.listen": 6,
		"route[0]": 8, "route[0].address": 9, "route[0].product": 10,
		"route[1]": 12, "route[1].address": 13, "route[1].product": 14, "route[1].org": 12,
		"policy.initial_response.P2": 16, "store.path": 0,
	} {
		if got := c.Line(key); got != want {
			t.Errorf("Line(%q) = %d, want %d", key, got, want)
		}
	}
}
