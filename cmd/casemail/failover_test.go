package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/internal/testenv/dovecot"
	"github.com/casemail/casemail/internal/testenv/postgres"
)

// sink is the relay both gateways send notifications to: it accepts every
// mail after a short delay (a real relay is not instant, and the fan-out
// must last long enough to be cut in the middle) and counts them by
// Message-ID.
type sink struct {
	addr  string
	delay time.Duration
	mu    sync.Mutex
	got   map[string]int // Message-ID (without <>) → mails received
}

func startSink(t *testing.T, delay time.Duration) *sink {
	t.Helper()
	s := &sink{delay: delay, got: map[string]int{}}
	srv := smtp.NewServer(s)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0) // a killed gateway's connection reset is expected
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s}, nil }

type sinkSession struct{ s *sink }

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(bufio.NewReader(r))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, m.Body)
	time.Sleep(ss.s.delay)
	id := strings.Trim(m.Header.Get("Message-ID"), "<> ")
	ss.s.mu.Lock()
	ss.s.got[id]++
	ss.s.mu.Unlock()
	return nil
}

func (s *sink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.got))
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

// gateway is one "casemail serve" child process.
type gateway struct {
	cmd    *exec.Cmd
	http   string
	holder string
	logs   *testenv.LogBuffer
}

// startGateway runs TestHelperServe (kill_test.go) with config in a child
// process, which the test can kill with SIGKILL, and waits for /healthz.
func startGateway(t *testing.T, config, httpAddr string) *gateway {
	t.Helper()
	g := &gateway{http: httpAddr, logs: &testenv.LogBuffer{}}
	g.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	g.cmd.Env = append(os.Environ(), "CASEMAIL_KILL_CONFIG="+config)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.cmd.Process.Kill()
		g.cmd.Wait()
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", g.holder, g.logs.String())
		}
	})
	testenv.WaitFor(t, 30*time.Second, "the gateway's /healthz", func() bool {
		h, err := g.health()
		g.holder = h.Gateway
		return err == nil && h.Gateway != ""
	})
	return g
}

func (g *gateway) health() (health, error) {
	var h health
	resp, err := http.Get("http://" + g.http + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// pollsMailbox tells whether g holds the mailbox's lease and polls it.
func (g *gateway) pollsMailbox() bool {
	h, err := g.health()
	return err == nil && len(h.Mailboxes) == 1 && h.Mailboxes[0].Mine
}

func (g *gateway) kill(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Kill(); err != nil { // SIGKILL: nothing released, nothing flushed
		t.Fatal(err)
	}
	g.cmd.Wait()
}

// claimedUnsent counts the pending rows holder has claimed: the most it may
// have handed to the relay without marking them sent (the duplicate window).
func claimedUnsent(t *testing.T, b *casebook.Book, holder string) int {
	t.Helper()
	items, err := b.Outbox(context.Background(), casebook.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range items {
		if it.ClaimedBy == holder {
			n++
		}
	}
	return n
}

// Issue 14, two gateways on one store: two "casemail serve" on one
// PostgreSQL database, one Dovecot mailbox and one relay, each killed with
// SIGKILL in turn.
// (a) Killed during an IMAP catch-up, the mailbox's holder is replaced by
// the other gateway within the lease, which finishes: every mail is one
// case (I1, I2) and the folder is empty.
// (b) Killed during an outbox fan-out, the gateway that was sending is
// replaced by the other, which finishes: every notification is sent, and
// at most the rows the dead gateway had claimed and not marked are sent
// twice (the window between the relay's 250 and MarkSent).
// (c) /healthz of each gateway shows itself, who polls the mailbox and
// every heartbeat.
func TestTwoGatewaysFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four casemail serve processes")
	}
	const (
		mails = 300
		lease = 2 * time.Second
	)
	dsn := postgres.DSN(t)
	dc := dovecot.Start(t)
	relay := startSink(t, 10*time.Millisecond)
	c := newCLI(t)
	pass := filepath.Join(c.dir, "imap-pass")
	if err := os.WriteFile(pass, []byte(dovecot.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same configuration for both gateways but their HTTP port.
	configFor := func(httpAddr string) string {
		return fmt.Sprintf(`[store]
dsn = %q
lease = %q
gateway_name = "gw"
[smtp]
listen = ""
[http]
listen = %q
[outbound]
transport = "smtp://%s"
starttls = "never"
from = "Support <support@support.test>"
reply_domain = "support.test"
[[imap]]
name = "main"
address = %q
tls = "none"
username = %q
password_file = %q
folder = "INBOX"
processed_folder = "Processed"
idle = true
[[route]]
address = %q
product = "cloud"
`, dsn, lease.String(), httpAddr, relay.addr, dc.Addr, dovecot.User, pass, dovecot.User)
	}
	configs := map[string]string{}
	newConfig := func() (path, httpAddr string) {
		httpAddr = testenv.FreeAddr(t)
		path = filepath.Join(c.dir, fmt.Sprintf("gw-%d.toml", len(configs)))
		if err := os.WriteFile(path, []byte(configFor(httpAddr)), 0o644); err != nil {
			t.Fatal(err)
		}
		configs[path] = httpAddr
		return path, httpAddr
	}
	c.config, _ = newConfig() // the CLI reads the same store
	c.ok("account", "add", "ann@acme.test", "--verified")
	c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")
	book, err := casebook.Open(dsn, casebook.Options{MessageIDDomain: "support.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() })
	ctx := context.Background()

	imap := dc.Dial("")
	for i := range mails {
		raw := fmt.Sprintf("From: ann@acme.test\r\nTo: %s\r\nSubject: printer %d\r\nMessage-ID: <failover-%d@acme.test>\r\n"+
			"Date: Sun, 29 Nov 2026 20:00:00 +0000\r\n\r\nThe printer is on fire (%d).\r\n", dovecot.User, i, i, i)
		dovecot.AppendWith(t, imap, "INBOX", []byte(raw))
	}
	count := func(folder string) int { return len(dc.List(folder)) }

	// (a) The catch-up.
	cfgA, httpA := c.config, configs[c.config]
	cfgB, httpB := newConfig()
	gws := []*gateway{startGateway(t, cfgA, httpA), startGateway(t, cfgB, httpB)}
	var holder, other *gateway
	testenv.WaitFor(t, 20*time.Second, "one gateway polling the mailbox", func() bool {
		for i, g := range gws {
			if g.pollsMailbox() {
				holder, other = g, gws[1-i]
				return true
			}
		}
		return false
	})
	if other.pollsMailbox() {
		t.Fatalf("both gateways poll the mailbox")
	}
	// Each case opened queues its acknowledgement: the outbox counts the
	// mails committed, cheaply enough to look every 10 ms.
	testenv.WaitFor(t, 30*time.Second, "the holder committing some mails", func() bool {
		s, err := book.Stats(ctx)
		return err == nil && s.Pending+s.Sent >= mails/10
	})
	holder.kill(t)
	killed := time.Now()
	window := claimedUnsent(t, book, holder.holder)
	committed := len(recordedIDs(t, c))
	t.Logf("catch-up: killed %s with %d of %d mails committed (%d still in the folder: settled in groups), %d notifications claimed and not marked",
		holder.holder, committed, mails, count("INBOX"), window)
	if committed == mails {
		t.Fatalf("the catch-up was over before the kill: nothing left to take over")
	}
	// The lease expires within lease of the kill and the standby asks every
	// lease/3: the deadline is generous (a loaded CI machine), the time taken
	// is reported, not asserted.
	testenv.WaitFor(t, 5*lease, "the other gateway taking the mailbox", other.pollsMailbox)
	took := time.Since(killed)
	t.Logf("catch-up: %s took the mailbox %v after the kill (lease %v)", other.holder, took.Round(time.Millisecond), lease)
	testenv.WaitFor(t, 60*time.Second, "the mailbox emptied", func() bool { return count("INBOX") == 0 })
	ids := recordedIDs(t, c)
	for i := range mails {
		if id := fmt.Sprintf("failover-%d@acme.test", i); ids[id] != 1 {
			t.Errorf("%s recorded %d times", id, ids[id])
		}
	}
	var cases []json.RawMessage
	if err := json.Unmarshal([]byte(c.ok("case", "list", "--json")), &cases); err != nil {
		t.Fatal(err)
	}
	if len(ids) != mails || len(cases) != mails || count("Processed") != mails {
		t.Errorf("%d mails recorded, %d cases, %d in Processed; want %d each", len(ids), len(cases), count("Processed"), mails)
	}

	// (c) A new gateway replaces the dead one: it stands by for the mailbox,
	// and each /healthz shows who holds what.
	cfgC, httpC := newConfig()
	standby := startGateway(t, cfgC, httpC)
	testenv.WaitFor(t, 10*time.Second, "the standby's heartbeat", func() bool {
		h, err := other.health()
		if err != nil {
			return false
		}
		for _, l := range h.Leases {
			if l.Name == casebook.HeartbeatLease(standby.holder) {
				return true
			}
		}
		return false
	})
	for _, g := range []*gateway{other, standby} {
		h, err := g.health()
		if err != nil {
			t.Fatal(err)
		}
		if h.Gateway != g.holder || !strings.HasPrefix(h.Gateway, "gw/") {
			t.Errorf("%s: /healthz says gateway %q", g.holder, h.Gateway)
		}
		leases := map[string]leaseHealth{}
		for _, l := range h.Leases {
			leases[l.Name] = l
		}
		mb := leases["imap/main/INBOX"]
		if mb.Holder != other.holder || mb.Mine != (g == other) {
			t.Errorf("%s: the mailbox lease is %+v, want held by %s", g.holder, mb, other.holder)
		}
		for _, hb := range []*gateway{other, standby} {
			if l, ok := leases[casebook.HeartbeatLease(hb.holder)]; !ok || l.Mine != (hb == g) {
				t.Errorf("%s: heartbeat of %s: %+v (listed %v)", g.holder, hb.holder, l, ok)
			}
		}
		if _, ok := leases[casebook.HeartbeatLease(holder.holder)]; ok {
			t.Errorf("%s: the dead gateway's heartbeat is still live", g.holder)
		}
		if len(h.Mailboxes) != 1 || h.Mailboxes[0].Holder != other.holder || h.Mailboxes[0].Mine != (g == other) || h.Mailboxes[0].Standby != (g == standby) {
			t.Errorf("%s: mailboxes %+v", g.holder, h.Mailboxes)
		}
		if h.Status != "ok" {
			t.Errorf("%s: status %s: %v (a standby mailbox is no problem)", g.holder, h.Status, h.Problems)
		}
	}

	// (b) The fan-out: one case, hundreds of watchers.
	testenv.WaitFor(t, 30*time.Second, "the catch-up's notifications sent", func() bool {
		s, err := book.Stats(ctx)
		return err == nil && s.Pending == 0
	})
	var watchers []string
	for i := range 400 {
		watchers = append(watchers, fmt.Sprintf("watcher%03d@acme.test", i))
	}
	if _, err := book.OpenCase(ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "Outage", Description: "Everything is down.",
		Requester: "ann@acme.test", Watchers: watchers}); err != nil {
		t.Fatal(err)
	}
	total := func() int { s, _ := book.Stats(ctx); return s.Pending + s.Sent + s.Failed }
	sentBefore := len(relay.counts())
	fanOut := total() - sentBefore
	var sender *gateway
	testenv.WaitFor(t, 30*time.Second, "a quarter of the fan-out sent", func() bool {
		if len(relay.counts())-sentBefore < fanOut/4 {
			return false
		}
		for _, g := range []*gateway{other, standby} {
			if claimedUnsent(t, book, g.holder) > 0 {
				sender = g
				return true
			}
		}
		return false
	})
	sender.kill(t)
	window2 := claimedUnsent(t, book, sender.holder)
	survivor := other
	if sender == other {
		survivor = standby
	}
	t.Logf("fan-out: killed %s with %d of %d notifications at the relay, %d claimed by it and not marked", sender.holder, len(relay.counts())-sentBefore, fanOut, window2)
	testenv.WaitFor(t, 30*time.Second, "every notification sent", func() bool {
		s, err := book.Stats(ctx)
		return err == nil && s.Pending == 0
	})
	items, err := book.Outbox(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	got := relay.counts()
	dups := 0
	for _, it := range items {
		n := got[book.MessageIDOf(it.Token)]
		if it.Status != casebook.OutboxSent || n == 0 {
			t.Errorf("notification %d to %s: %s, %d at the relay", it.ID, it.To, it.Status, n)
		}
		dups += max(n-1, 0)
	}
	t.Logf("%d notifications, %d sent twice (bound: %d claimed and not marked by the two dead gateways); %s finished", len(items), dups, window+window2, survivor.holder)
	if dups > window+window2 {
		t.Errorf("%d notifications sent twice, more than the %d rows the dead gateways had claimed", dups, window+window2)
	}
	// Tighter: each outbound worker sends one mail at a time, so a kill
	// leaves at most one per worker between the relay's 250 and MarkSent.
	const workers = 2 // [outbound] workers, the default
	if dups > 2*workers {
		t.Errorf("%d notifications sent twice after two kills of gateways with %d workers each", dups, workers)
	}
	if len(got) != len(items) {
		t.Errorf("the relay got %d distinct Message-IDs for %d notifications", len(got), len(items))
	}

	// SIGTERM: the survivor stops cleanly and releases its leases, so that
	// another gateway would take over at once.
	survivor.cmd.Process.Signal(syscall.SIGTERM)
	if err := survivor.cmd.Wait(); err != nil {
		t.Errorf("%s after SIGTERM: %v", survivor.holder, err)
	}
	if ls, err := book.Leases(ctx); err != nil || len(ls) != 0 {
		t.Errorf("live leases after the last gateway stopped: %+v, %v", ls, err)
	}
	for _, g := range []*gateway{holder, other, standby} {
		if strings.Contains(g.logs.String(), "DATA RACE") {
			t.Errorf("%s: a data race (go test -race)", g.holder)
		}
	}
}
