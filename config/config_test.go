package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

// uncommentIMAP turns the example's commented [[imap]] block into config.
func uncommentIMAP(t *testing.T, b []byte) []byte {
	t.Helper()
	s := string(b)
	start := strings.Index(s, "# [[imap]]\n")
	if start < 0 {
		t.Fatal("the example has no commented [[imap]] block")
	}
	end := start + strings.Index(s[start:], "\n\n")
	block := strings.ReplaceAll("\n"+s[start:end], "\n# ", "\n")[1:]
	return []byte(s[:start] + block + s[end:])
}

// The example printed by "casemail config example" is valid as printed
// (its [[imap]] block commented out, as it needs a real server) and with
// that block uncommented, and shows every key.
func TestExampleCoversEveryKey(t *testing.T) {
	c, err := Parse(Example())
	if err != nil {
		t.Fatalf("example does not parse: %v", err)
	}
	if len(c.IMAP) != 0 {
		t.Fatalf("example polls %d IMAP mailbox(es): serve would need a server", len(c.IMAP))
	}
	full := uncommentIMAP(t, Example())
	if c, err := Parse(full); err != nil || len(c.IMAP) != 1 {
		t.Fatalf("example with its [[imap]] block uncommented: %v", err)
	}
	var raw map[string]any
	if _, err := toml.Decode(string(full), &raw); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(prefix string, typ reflect.Type, have map[string]any)
	walk = func(prefix string, typ reflect.Type, have map[string]any) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key := f.Tag.Get("toml")
			if key == "" || key == "-" {
				continue
			}
			v, ok := have[key]
			if !ok {
				missing = append(missing, prefix+key)
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				if list, ok := v.([]map[string]any); ok && len(list) > 0 {
					walk(prefix+key+".", ft.Elem(), list[0])
				}
			} else if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(Duration{}) {
				if m, ok := v.(map[string]any); ok {
					walk(prefix+key+".", ft, m)
				}
			}
		}
	}
	walk("", reflect.TypeOf(Config{}), raw)
	if len(missing) > 0 {
		t.Fatalf("example config lacks keys: %v", missing)
	}
	if c.Policy.ReopenWindow.Duration != 14*24*time.Hour {
		t.Fatalf("reopen window = %v", c.Policy.ReopenWindow)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown key", "[smtp]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n", `line 3: unknown key "smtp.lisen"`},
		{"syntax with line", "[smtp]\nlisten = \n", "line 2"},
		{"bad duration", "[policy]\nreopen_window = \"two weeks\"\n", "line 2: policy.reopen_window: invalid duration"},
		{"wrong type", "[smtp]\nmax_connections = \"many\"\n", "line 2: smtp.max_connections: TOML value has type string; expected integer"},
		{"bad protocol", "[smtp]\nprotocol = \"pop3\"\n", "smtp.protocol"},
		{"redirect without template", "[[route]]\naddress = \"a@b\"\naction = \"redirect\"\n", "needs a template"},
		{"route priority", "[[route]]\naddress = \"a@b\"\nproduct = \"p\"\npriority = \"P0\"\n", "priority must be P1..P4"},
		{"imap without password", "[[imap]]\nname = \"m\"\naddress = \"h:1\"\nusername = \"u\"\ntls = \"none\"\n", "password_file or password_env"},
		{"bad subject tag", "[policy]\nsubject_tag = \"[Case]\"\n", "subject_tag"},
		{"negative loop limit", "[policy]\nmax_mail_comments = -1\n", "line 2: policy.max_mail_comments must be 0 (no limit) or more"},
		{"negative loop window", "[policy]\nloop_window = \"-10m\"\n", "policy.loop_window must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// Routes in a file replace the default route instead of adding to it.
func TestRoutesReplaceDefault(t *testing.T) {
	c, err := Parse([]byte("[[route]]\naddress = \"help@example.test\"\nproduct = \"cloud\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 1 || c.Routes[0].Address != "help@example.test" {
		t.Fatalf("routes = %+v", c.Routes)
	}
	c, err = Parse([]byte("[smtp]\nlisten = \"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Routes) != 1 || c.Routes[0].Address != "support@localhost" {
		t.Fatalf("default route lost: %+v", c.Routes)
	}
}

// --config, then $CASEMAIL_CONFIG, then ./casemail.toml, else the default.
func TestResolveOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(name, listen string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("[smtp]\nlisten = \""+listen+"\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := Resolve("")
	if err != nil || c.Source != "" {
		t.Fatalf("no file: %v %q", err, c.Source)
	}
	write("casemail.toml", "127.0.0.1:1")
	env := write("env.toml", "127.0.0.1:2")
	flag := write("flag.toml", "127.0.0.1:3")
	if c, _ := Resolve(""); c.SMTP.Listen != "127.0.0.1:1" {
		t.Fatalf("./casemail.toml not used: %s", c.SMTP.Listen)
	}
	t.Setenv("CASEMAIL_CONFIG", env)
	if c, _ := Resolve(""); c.SMTP.Listen != "127.0.0.1:2" {
		t.Fatalf("$CASEMAIL_CONFIG not used: %s", c.SMTP.Listen)
	}
	if c, _ := Resolve(flag); c.SMTP.Listen != "127.0.0.1:3" {
		t.Fatalf("--config not used: %s", c.SMTP.Listen)
	}
	if _, err := Resolve(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("a missing --config file is not an error")
	}
}

// An [[imap]] block without tls reads as implicit TLS, the default the
// example shows commented out, instead of being refused.
func TestIMAPTLSDefault(t *testing.T) {
	c, err := Parse([]byte("[[imap]]\nname = \"m\"\naddress = \"imap.example.com:993\"\nusername = \"u\"\npassword_env = \"P\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.IMAP[0].TLS != "implicit" {
		t.Fatalf("tls = %q, want implicit", c.IMAP[0].TLS)
	}
}
