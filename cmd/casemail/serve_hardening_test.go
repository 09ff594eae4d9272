package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
)

// "casemail serve" after a crash (issue 10): the notifications the dead
// process had claimed are sent at once, not after the 5-minute lease; the
// file it left half-written in the Maildir's tmp/ is removed; and a store
// readable by other users is reported.
func TestServeAfterCrash(t *testing.T) {
	c := newCLI(t)
	dbPath, sent := filepath.Join(c.dir, "cm.db"), filepath.Join(c.dir, "sent")
	cfg := fmt.Sprintf(`[store]
path = %q
[smtp]
listen = ""
[outbound]
transport = "maildir:%s"
from = "Support <support@support.test>"
reply_domain = "support.test"
[http]
listen = ""
[[route]]
address = "support@support.test"
product = "cloud"
`, dbPath, sent)
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.ok("account", "add", "ann@acme.test", "--verified", "--locale", "en")
	c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")

	// The process that crashed: it opened a case and claimed its
	// notifications, then died before sending them.
	b, err := casebook.Open(dbPath, casebook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.OpenCase(ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "VPN down", Requester: "ann@acme.test"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := b.ClaimOutbox(ctx, time.Now(), 100, 5*time.Minute)
	if err != nil || len(claimed) == 0 {
		t.Fatalf("claim: %d rows, %v", len(claimed), err)
	}
	b.Close()
	os.Chmod(dbPath, 0o644) // as an older casemail created it
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	leftover := filepath.Join(sent, "tmp", "1700000000.M1P99Q1."+host)
	if err := os.MkdirAll(filepath.Dir(leftover), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(leftover, []byte("half a mail"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(leftover, old, old)

	runCtx, cancel := context.WithCancel(context.Background())
	logs := &testenv.LogBuffer{}
	served := make(chan int, 1)
	go func() {
		served <- run(runCtx, []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, logs, func(k string) string {
			if k == "CASEMAIL_CONFIG" {
				return c.config
			}
			return ""
		})
	}()
	defer func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("serve exited %d\n%s", code, logs.String())
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	}()
	// Well within the 5-minute lease the claimed rows were left with.
	testenv.WaitFor(t, time.Minute, "the claimed notifications in the Maildir", func() bool {
		files, _ := filepath.Glob(filepath.Join(sent, "new", "*"))
		return len(files) == len(claimed)
	})
	if _, err := os.Stat(leftover); err == nil {
		t.Errorf("the crash's leftover in tmp/ is still there")
	}
	for _, want := range []string{"the store is readable by other users", "cm.db (-rw-r--r--)", "claimed by a stopped process are due again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("serve log lacks %q", want)
		}
	}
}
