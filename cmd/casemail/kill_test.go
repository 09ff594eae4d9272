package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/casemail/casemail/internal/testenv"
)

// TestHelperServe is not a test: run by TestKill9DuringBatch as a child
// process (the test binary itself), it is "casemail serve" with the
// config in CASEMAIL_KILL_CONFIG, so that it can be killed with SIGKILL.
func TestHelperServe(t *testing.T) {
	cfg := os.Getenv("CASEMAIL_KILL_CONFIG")
	if cfg == "" {
		t.Skip("helper process for TestKill9DuringBatch")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, []string{"serve"}, strings.NewReader(""), os.Stdout, os.Stderr, func(k string) string {
		if k == "CASEMAIL_CONFIG" {
			return cfg
		}
		return ""
	}))
}

// I1, I2, issue 14: "casemail serve" killed with SIGKILL while SMTP
// sessions are delivering (mails sharing group commits): every mail that
// got its 250 is in the store, once; the others are retried by their
// senders after a restart, and then every mail is in the store exactly
// once, whether its first attempt was committed (the 250 lost) or not.
func TestKill9DuringBatch(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts casemail serve twice")
		}
		c := newCLI(t)
		smtpAddr := testenv.FreeAddr(t)
		cfg := fmt.Sprintf(`[store]
%s
[smtp]
listen = %q
domains = ["support.test"]
[outbound]
transport = "maildir:%s"
from = "Support <support@support.test>"
reply_domain = "support.test"
[http]
listen = ""
[[route]]
address = "support@support.test"
product = "cloud"
`, c.store, smtpAddr, filepath.Join(c.dir, "sent"))
		if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		c.ok("account", "add", "ann@acme.test", "--verified")
		c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")

		const senders, perSender = 8, 60
		const total = senders * perSender
		var (
			mu       sync.Mutex
			acked    = map[string]bool{} // Message-IDs that got a 250
			inFlight atomic.Int64        // DATA sent, no answer yet
		)
		mailOf := func(id string) string {
			return "From: ann@acme.test\r\nTo: support@support.test\r\nSubject: printer " + id + "\r\nMessage-ID: <" + id + ">\r\n" +
				"Date: Sun, 29 Nov 2026 20:00:00 +0000\r\n\r\nThe printer is on fire (" + id + ").\r\n"
		}
		// send delivers the mails of one sender not yet acknowledged, over one
		// connection, until the server goes away.
		send := func(s int) {
			cl, err := smtp.Dial(smtpAddr)
			if err != nil {
				return
			}
			defer cl.Close()
			if cl.Hello("client.test") != nil {
				return
			}
			for i := range perSender {
				id := fmt.Sprintf("kill-%d-%d@acme.test", s, i)
				mu.Lock()
				done := acked[id]
				mu.Unlock()
				if done {
					continue
				}
				inFlight.Add(1)
				err := cl.SendMail("ann@acme.test", []string{"support@support.test"}, strings.NewReader(mailOf(id)))
				inFlight.Add(-1)
				if err != nil {
					return // the sender keeps it and retries later
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}
		nAcked := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }

		serve := startServeProcess(t, c.config, smtpAddr)
		var wg sync.WaitGroup
		for s := range senders {
			wg.Add(1)
			go func() { defer wg.Done(); send(s) }()
		}
		testenv.WaitFor(t, 60*time.Second, "a third of the mails acknowledged", func() bool { return nAcked() >= total/3 })
		flying := inFlight.Load()
		if err := serve.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		serve.Wait()
		wg.Wait()
		t.Logf("killed with %d of %d mails acknowledged, %d in flight", nAcked(), total, flying)

		// Every 250 is durable (I1), each mail once (I2).
		counts := recordedIDs(t, c)
		mu.Lock()
		for id := range acked {
			if counts[id] != 1 {
				t.Errorf("%s got a 250 before the kill, recorded %d times", id, counts[id])
			}
		}
		t.Logf("%d recorded, %d of them committed without their 250 reaching the sender", len(counts), len(counts)-len(acked))
		mu.Unlock()
		for id, n := range counts {
			if n != 1 {
				t.Errorf("%s recorded %d times", id, n)
			}
		}

		// The senders retry what got no 250.
		serve = startServeProcess(t, c.config, smtpAddr)
		for s := range senders {
			wg.Add(1)
			go func() { defer wg.Done(); send(s) }()
		}
		wg.Wait()
		if n := nAcked(); n != total {
			t.Fatalf("%d of %d mails acknowledged after the retry", n, total)
		}
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
		counts = recordedIDs(t, c)
		if len(counts) != total {
			t.Errorf("%d mails recorded, want %d", len(counts), total)
		}
		for id, n := range counts {
			if n != 1 {
				t.Errorf("%s recorded %d times after the retries", id, n)
			}
		}
	})
}

// startServeProcess runs TestHelperServe in a child process and waits for
// its SMTP listener.
func startServeProcess(t *testing.T, config, smtpAddr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "CASEMAIL_KILL_CONFIG="+config)
	logs := &testenv.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	testenv.WaitFor(t, 30*time.Second, "the SMTP listener", func() bool {
		conn, err := net.Dial("tcp", smtpAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	return cmd
}

// recordedIDs counts the inbound records per Message-ID, read with the CLI.
func recordedIDs(t *testing.T, c *cli) map[string]int {
	t.Helper()
	var msgs []struct {
		MessageID string `json:"message_id"`
	}
	if err := json.Unmarshal([]byte(c.ok("message", "list", "--json")), &msgs); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, m := range msgs {
		counts[m.MessageID]++
	}
	return counts
}
