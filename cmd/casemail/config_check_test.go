package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/templates"
)

// checkConfig writes a config made of base sections plus the case's own,
// and returns the file and the line marked "# <-".
type checkCase struct {
	name     string
	smtp     string // more [smtp] keys
	outbound string // [outbound] keys; the default transport unless it sets one
	tail     string // more tables
	files    map[string]string
	key      string // the key the message must name
	want     string // and what it must say
}

func (tc checkCase) config(dir string) string {
	out := tc.outbound
	if !strings.Contains(out, "transport") {
		out = fmt.Sprintf("transport = \"maildir:%s\"\n", filepath.Join(dir, "sent")) + out
	}
	smtp := tc.smtp
	if !strings.Contains(smtp, "listen") {
		smtp = "listen = \"127.0.0.1:2525\"\n" + smtp
	}
	return strings.ReplaceAll(fmt.Sprintf(`[store]
path = "DIR/cm.db"

[smtp]
domains = ["example.com"]
%s
[outbound]
from = "Support <support@example.com>"
reply_domain = "example.com"
%s
[http]
listen = ""

[[route]]
address = "support@example.com"
product = "cloud"
%s`, smtp, out, tc.tail), "DIR", dir)
}

// imapBlock is a mailbox whose secret is the given line.
func imapBlock(secret string) string {
	return "\n[[imap]]\nname = \"main\"\naddress = \"imap.example.com:993\"\ntls = \"implicit\"\nusername = \"support@example.com\"\n" + secret + " # <-\n"
}

// config check refuses, with exit 78 (EX_CONFIG), every mistake that the
// config used to accept and that broke only at run time, naming the file,
// the line and the key.
func TestConfigCheckRefusesWhatBreaksAtRunTime(t *testing.T) {
	tests := []checkCase{
		{name: "route not an address", tail: "\n[[route]]\naddress = \"billing.example.com\" # <-\nproduct = \"billing\"\n",
			key: "route[1].address", want: "not an address (expected local@domain"},
		// The SMTP listener refuses the recipient at RCPT time: the route is dead.
		{name: "route outside smtp.domains", tail: "\n[[route]]\naddress = \"support@other.test\" # <-\nproduct = \"billing\"\n",
			key: "route[1].address", want: `route[1].address "support@other.test": not in smtp.domains (example.com)`},
		// First match wins: the second route is never used.
		{name: "duplicate route", tail: "\n[[route]]\naddress = \"SUPPORT@example.com\" # <-\nproduct = \"billing\"\n",
			key: "route[1].address", want: "already the address of route[0]"},
		{name: "password_file missing", tail: imapBlock(`password_file = "DIR/imap-password"`),
			key: "imap[0].password_file", want: "no such file or directory"},
		{name: "password_file unreadable", tail: imapBlock(`password_file = "DIR/secrets"`), files: map[string]string{"secrets/x": ""},
			key: "imap[0].password_file", want: "cannot be read"},
		{name: "password_env unset", tail: imapBlock(`password_env = "CASEMAIL_IMAP_PASSWORD"`),
			key: "imap[0].password_env", want: "CASEMAIL_IMAP_PASSWORD is not set"},
		{name: "password_file and password_env both set", tail: imapBlock("password_file = \"DIR/pw\"\npassword_env = \"IMAP_PASSWORD\""), files: map[string]string{"pw": "secret\n"},
			key: "imap[0].password_env", want: "set only one of them"},
		{name: "TLS certificate missing", smtp: "tls_cert = \"DIR/cert.pem\" # <-\ntls_key = \"DIR/key.pem\"\n", files: map[string]string{"key.pem": "x"},
			key: "smtp.tls_cert", want: "no such file or directory"},
		{name: "TLS key missing", smtp: "tls_cert = \"DIR/cert.pem\"\ntls_key = \"DIR/key.pem\" # <-\n", files: map[string]string{"cert.pem": "x"},
			key: "smtp.tls_key", want: "no such file or directory"},
		{name: "listen port out of range", smtp: "max_message_bytes = 1000\nlisten = \"0.0.0.0:65536\" # <-\n",
			key: "smtp.listen", want: "out of range (expected 1..65535)"},
		{name: "IMAP port out of range", tail: "\n[[imap]]\nname = \"main\"\naddress = \"imap.example.com:99993\" # <-\ntls = \"implicit\"\nusername = \"support@example.com\"\npassword_env = \"PATH\"\n",
			key: "imap[0].address", want: "out of range"},
		{name: "max_connections below 1", smtp: "max_connections = 0 # <-\n",
			key: "smtp.max_connections", want: "must be at least 1"},
		{name: "smtp:// relay without port", outbound: "transport = \"smtp://relay.example.com\" # <-\n",
			key: "outbound.transport", want: "expected smtp://HOST:PORT"},
		{name: "template file no event uses", tail: "\n[templates]\ndir = \"DIR/tpl\" # <-\n", files: map[string]string{"tpl/en/case_open.txt.tmpl": "Hello"},
			key: "templates.dir", want: `case_open.txt.tmpl: no event or redirect route uses a template named "case_open"`},
		{name: "template field that does not exist", tail: "\n[templates]\ndir = \"DIR/tpl\" # <-\n", files: map[string]string{"tpl/fr/case_opened.txt.tmpl": "Bonjour,\n\nVotre demande « {{.titre}} » est enregistrée."},
			key: "templates.dir", want: `case_opened.txt.tmpl:3: {{.titre}}: field "titre" does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			for name, content := range tc.files {
				p := filepath.Join(c.dir, name)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			text := tc.config(c.dir)
			if err := os.WriteFile(c.config, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			line := 0
			for i, l := range strings.Split(text, "\n") {
				if strings.Contains(l, "# <-") {
					line = i + 1
				}
			}
			out, errs, code := c.run("", "config", "check", "--config", c.config)
			if code != exConfig {
				t.Fatalf("exit %d, want %d (EX_CONFIG)\nstdout: %s\nstderr: %s", code, exConfig, out, errs)
			}
			prefix := fmt.Sprintf("%s:%d: %s", c.config, line, tc.key)
			for _, l := range strings.Split(errs, "\n") {
				if strings.HasPrefix(l, prefix) && strings.Contains(l, tc.want) {
					return
				}
			}
			t.Fatalf("stderr lacks a line starting %q saying %q:\n%s", prefix, tc.want, errs)
		})
	}
}

// Every mistake is reported at once, in the order of the file, with one
// summary line; a good config (with a template using every field an event
// provides) is accepted.
func TestConfigCheckReportsEveryMistake(t *testing.T) {
	c := newCLI(t)
	tc := checkCase{
		smtp:     "max_connections = 0\n",
		outbound: "transport = \"smtp://relay.example.com\"\n",
		tail:     "\n[[route]]\naddress = \"support@other.test\"\nproduct = \"x\"\n[templates]\ndir = \"DIR/tpl\"\n",
	}
	os.MkdirAll(filepath.Join(c.dir, "tpl", "en"), 0o755)
	os.WriteFile(filepath.Join(c.dir, "tpl", "en", "case_closed.txt.tmpl"), []byte("Hello {{.nope}}"), 0o644)
	os.WriteFile(c.config, []byte(tc.config(c.dir)), 0o644)
	_, errs, code := c.run("", "config", "check")
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	want := []string{":7: smtp.max_connections", ":12: outbound.transport", ":22: route[1].address", ":25: templates.dir", "casemail: " + c.config + ": 4 problem(s) found"}
	if code != exConfig || len(lines) != len(want) {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}

	good := checkCase{tail: "\n[templates]\ndir = \"DIR/tpl\"\n"}
	fields := "Hello,\n{{.case_id}} {{.title}} {{.org}} {{.product}} {{.priority}} {{.status}} {{.requester}} {{.author}} {{.body}} {{.reason}} {{.reopen_until}} {{.escalation_reason}} {{.watcher}} {{.addresses}} {{.subject}} {{.in_reply_to}} {{.references}} {{.follow_up_of}}\n"
	os.WriteFile(filepath.Join(c.dir, "tpl", "en", "case_closed.txt.tmpl"), []byte(fields), 0o644)
	os.WriteFile(filepath.Join(c.dir, "tpl", "en", "followup_opened.txt.tmpl"), []byte(fields), 0o644)
	os.WriteFile(c.config, []byte(good.config(c.dir)), 0o644)
	if out := c.ok("config", "check"); !strings.Contains(out, "is valid: 1 route(s)") {
		t.Fatalf("stdout = %q", out)
	}
}

// "config example" prints a config that "config check" accepts and that
// "serve" starts with, in an empty folder, then stops on SIGTERM (I6:
// nothing to set up before the first run).
func TestConfigExampleChecksAndServes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	noEnv := func(string) string { return "" }
	runIn := func(ctx context.Context, stderr *testenv.LogBuffer, args ...string) (string, int) {
		var out bytes.Buffer
		code := run(ctx, args, strings.NewReader(""), &out, stderr, noEnv)
		return out.String(), code
	}
	logs := &testenv.LogBuffer{}
	example, code := runIn(context.Background(), logs, "config", "example")
	if code != 0 {
		t.Fatalf("config example: exit %d: %s", code, logs)
	}
	// Free ports instead of the example's, which may be in use here.
	smtpAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	for from, to := range map[string]string{`"127.0.0.1:2525"`: `"` + smtpAddr + `"`, `"127.0.0.1:9025"`: `"` + httpAddr + `"`} {
		if strings.Count(example, from) != 1 {
			t.Fatalf("the example does not listen on %s once", from)
		}
		example = strings.Replace(example, from, to, 1)
	}
	if err := os.WriteFile("casemail.toml", []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := runIn(context.Background(), logs, "config", "check"); code != 0 || !strings.Contains(out, "casemail.toml is valid") {
		t.Fatalf("config check: exit %d: %s %s", code, out, logs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	go func() { _, code := runIn(ctx, logs, "serve"); served <- code }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-served
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs)
		}
	}()
	testenv.WaitFor(t, 20*time.Second, "the SMTP listener", func() bool {
		conn, err := net.Dial("tcp", smtpAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "casemail.db")); err != nil {
		t.Fatalf("the store is not in the working folder: %v", err)
	}
	cancel()
	stopped = true
	select {
	case code := <-served:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of SIGTERM")
	}
}

// config check renders overrides with missingkey=error against sample data
// holding templates.Keys: a field that real events provide but Keys lacks
// would be refused falsely. Every event and notice the gateway sends must
// use only those keys (R6, R8, R9, R11–R15, R1, R2, R13 notices).
func TestEventFieldsAreKnownToConfigCheck(t *testing.T) {
	c := newCLI(t)
	c.setup()
	ctx := context.Background()
	b := c.book(nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cs, err := b.OpenCase(ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "Disk full", Description: "full", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}})
	must(err)
	_, err = b.AddComment(ctx, cs.ID, "agent@support.test", "On it.")
	must(err)
	must(b.AddWatcher(ctx, cs.ID, "dave@acme.test"))
	later := c.book(func() time.Time { return time.Now().Add(72 * time.Hour) })
	must(later.Escalate(ctx, cs.ID, "urgency", "ann@acme.test"))
	must(b.CloseCase(ctx, cs.ID, "agent@support.test"))
	must(b.ReopenCase(ctx, cs.ID, "ann@acme.test"))
	must(b.CloseCase(ctx, cs.ID, "agent@support.test"))
	_, err = b.FollowUp(ctx, cs.ID, "ann@acme.test", "Disk full again")
	must(err)
	c.ok("account", "add", "new@acme.test")
	for _, m := range []string{
		"From: stranger@else.test\r\nTo: support@localhost\r\nSubject: hi\r\nMessage-ID: <n1@else.test>\r\n\r\nhi\r\n",
		"From: new@acme.test\r\nTo: support@localhost\r\nSubject: hi\r\nMessage-ID: <n2@acme.test>\r\n\r\nhi\r\n",
		fmt.Sprintf("From: ann@acme.test\r\nTo: support@localhost\r\nSubject: Re: [Case #%d] Disk full\r\nMessage-ID: <n3@acme.test>\r\n\r\nagain\r\n", cs.ID),
	} {
		if _, errs, code := c.run(m, "deliver", "--recipient", "support@localhost"); code != 0 {
			t.Fatalf("deliver: exit %d: %s", code, errs)
		}
	}
	items, err := b.Outbox(ctx, casebook.OutboxPending)
	must(err)
	known := map[string]bool{}
	for _, k := range templates.Keys {
		known[k] = true
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[string(it.Template)] = true
		for k := range it.Data {
			if !known[k] {
				t.Errorf("%s carries field %q, unknown to templates.Keys: config check would refuse a template using it", it.Template, k)
			}
		}
	}
	for _, tmpl := range []string{"case_opened", "case_opened_watcher", "comment_added", "watcher_added", "case_escalated", "case_closed", "case_reopened", "followup_opened", "notice_unknown_sender", "notice_unverified", "notice_closed_case"} {
		if !seen[tmpl] {
			t.Errorf("no %s was queued: the test no longer covers it", tmpl)
		}
	}
}
