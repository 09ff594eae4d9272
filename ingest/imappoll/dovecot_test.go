package imappoll

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"

	"github.com/emersion/go-imap/v2"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv/dovecot"
)

const wait = 15 * time.Second // generous liveness deadline

func dovecotPoller(t *testing.T, s *dovecot.Server, rcv ingest.Receiver, cp Checkpoints, mut func(*config.IMAP)) (*Poller, *testenv.LogBuffer) {
	t.Helper()
	cfg := baseConfig(t, s.Addr, dovecot.User, dovecot.Password)
	if mut != nil {
		mut(&cfg)
	}
	log, lb := testLogger(t)
	p, err := New(cfg, rcv, cp, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("poller log:\n%s", lb.String())
		}
	})
	return fast(p), lb
}

func count(s *dovecot.Server, mailbox string) int { return len(s.List(mailbox)) }

// A backlog larger than a batch is delivered completely, each mail once,
// with the envelope the receiver expects, and every mail is moved only after
// it was committed (I1, I4).
func TestDovecotBacklog(t *testing.T) {
	s := dovecot.Start(t)
	c := s.Dial("")
	const n = 120
	var lastUID imap.UID
	for i := 0; i < n; i++ {
		extra := ""
		if i == 0 {
			extra = "Return-Path: <bounce+x@sender.example>\r\n"
		}
		lastUID = dovecot.AppendWith(t, c, "INBOX", testMail(fmt.Sprintf("backlog-%d@example.test", i), extra))
	}
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	p, _ := dovecotPoller(t, s, rcv, cp, func(c *config.IMAP) { c.Recipient = "help@example.test" })
	stop := start(t, p)
	testenv.WaitFor(t, wait, "all 120 mails received", func() bool { e, _, _ := rcv.counts(); return e == n })
	testenv.WaitFor(t, wait, "INBOX emptied", func() bool { return count(s, "INBOX") == 0 })
	stop()
	if got := count(s, "Processed"); got != n {
		t.Errorf("Processed holds %d mails, want %d", got, n)
	}
	if e, calls, _ := rcv.counts(); e != n || calls != n {
		t.Errorf("effects=%d calls=%d, want %d each", e, calls, n)
	}
	if _, last := cp.get("main/INBOX"); last != uint32(lastUID) {
		t.Errorf("checkpoint last uid = %d, want %d", last, lastUID)
	}
	if st := p.Status(); st.Processed != n || st.LastSuccess.IsZero() {
		t.Errorf("status = %+v, want Processed=%d and a LastSuccess", st, n)
	}
	env := rcv.envs[0]
	want := ingest.Envelope{Transport: ingest.TransportIMAP, MailFrom: "bounce+x@sender.example", Recipients: []string{"help@example.test"}, RemoteAddr: "imap:main"}
	if fmt.Sprint(env) != fmt.Sprint(want) {
		t.Errorf("first envelope = %+v, want %+v", env, want)
	}
	if rcv.envs[1].MailFrom != "" {
		t.Errorf("mail without Return-Path got MailFrom %q", rcv.envs[1].MailFrom)
	}
}

// The same mail twice in the folder: the receiver sees both, one effect,
// and both leave the inbox (I2).
func TestDovecotSameMailTwice(t *testing.T) {
	s := dovecot.Start(t)
	raw := testMail("twice@example.test", "")
	s.Append("INBOX", raw)
	s.Append("INBOX", raw)
	rcv := newFakeReceiver()
	p, _ := dovecotPoller(t, s, rcv, newMemCheckpoints(), nil)
	start(t, p)
	testenv.WaitFor(t, wait, "both copies moved", func() bool { return count(s, "Processed") == 2 && count(s, "INBOX") == 0 })
	if e, calls, dups := rcv.counts(); e != 1 || calls != 2 || dups != 1 {
		t.Errorf("effects=%d calls=%d duplicates=%d, want 1, 2, 1", e, calls, dups)
	}
}

// New mail is noticed through IDLE even though poll_interval is a minute
// (RFC 2177); the poller is idle-waiting when the mail arrives.
func TestDovecotIdleNoticesNewMail(t *testing.T) {
	s := dovecot.Start(t)
	rcv := newFakeReceiver()
	p, lb := dovecotPoller(t, s, rcv, newMemCheckpoints(), nil)
	start(t, p)
	testenv.WaitFor(t, wait, "first check done", func() bool { return !p.Status().LastSuccess.IsZero() })
	if !strings.Contains(lb.String(), "idle=true") {
		t.Fatalf("poller is not using IDLE; log:\n%s", lb.String())
	}
	s.Append("INBOX", testMail("idle@example.test", ""))
	testenv.WaitFor(t, wait, "mail delivered via IDLE", func() bool { return rcv.callsFor("<idle@example.test>") == 1 })
	testenv.WaitFor(t, wait, "mail moved", func() bool { return count(s, "Processed") == 1 })
}

// The gateway dies between the receiver's commit and the MOVE: after a
// restart the mail is read again, the receiver answers Duplicate, the mail
// is moved, and there is no second effect (I1, I2).
func TestDovecotCrashBetweenCommitAndMove(t *testing.T) {
	s := dovecot.Start(t)
	s.Append("INBOX", testMail("crash@example.test", ""))
	rcv, cp := newFakeReceiver(), newMemCheckpoints()

	p1, _ := dovecotPoller(t, s, rcv, cp, nil)
	ctx, cancel := context.WithCancel(context.Background())
	p1.afterReceive = func(imap.UID) error { cancel(); return errors.New("simulated crash") }
	if err := p1.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := count(s, "INBOX"); got != 1 {
		t.Fatalf("after the crash INBOX holds %d mails, want the committed mail still there", got)
	}
	if _, last := cp.get("main/INBOX"); last != 0 {
		t.Fatalf("checkpoint advanced to %d before the move", last)
	}

	p2, _ := dovecotPoller(t, s, rcv, cp, nil)
	start(t, p2)
	testenv.WaitFor(t, wait, "mail moved after restart", func() bool { return count(s, "INBOX") == 0 && count(s, "Processed") == 1 })
	if e, calls, dups := rcv.counts(); e != 1 || calls != 2 || dups != 1 {
		t.Errorf("effects=%d calls=%d duplicates=%d, want 1, 2, 1", e, calls, dups)
	}
}

// UIDVALIDITY changes (folder deleted and recreated with the same mails plus
// a new one at a UID below the old checkpoint): the whole folder is rescanned,
// the new mail is not missed, old ones have no second effect (I2, I4).
func TestDovecotUIDValidityReset(t *testing.T) {
	s := dovecot.Start(t)
	old := [][]byte{testMail("old-1@example.test", ""), testMail("old-2@example.test", ""), testMail("old-3@example.test", "")}
	for _, m := range old {
		s.Append("Support", m)
	}
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	noMove := func(c *config.IMAP) { c.Folder, c.ProcessedFolder = "Support", "" }
	p, _ := dovecotPoller(t, s, rcv, cp, noMove)
	stop := start(t, p)
	testenv.WaitFor(t, wait, "3 old mails received", func() bool { e, _, _ := rcv.counts(); return e == 3 })
	testenv.WaitFor(t, wait, "checkpoint at 3", func() bool { _, l := cp.get("main/Support"); return l == 3 })
	stop()
	v1, _ := cp.get("main/Support")

	c := s.Dial("")
	if err := c.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	// Dovecot's UIDVALIDITY is a timestamp: let it change.
	time.Sleep(1100 * time.Millisecond)
	// The new mail takes UID 1, below the old checkpoint.
	dovecot.AppendWith(t, c, "Support", testMail("new@example.test", ""))
	for _, m := range old {
		dovecot.AppendWith(t, c, "Support", m)
	}
	if v2, _ := s.Status("Support"); v2 == v1 {
		t.Fatalf("UIDVALIDITY did not change (%d); cannot test", v1)
	}

	p2, _ := dovecotPoller(t, s, rcv, cp, noMove)
	start(t, p2)
	testenv.WaitFor(t, wait, "new mail at UID 1 received", func() bool { return rcv.callsFor("<new@example.test>") == 1 })
	testenv.WaitFor(t, wait, "old mails re-read", func() bool { _, calls, _ := rcv.counts(); return calls == 7 })
	if e, _, dups := rcv.counts(); e != 4 || dups != 3 {
		t.Errorf("effects=%d duplicates=%d, want 4 and 3", e, dups)
	}
	testenv.WaitFor(t, wait, "all flagged \\Seen", func() bool {
		for _, m := range s.List("Support") {
			if !m.Seen() {
				return false
			}
		}
		return true
	})
}

// Dovecot restarts under a connected poller: it reconnects and goes on
// delivering (no mail lost, I4).
func TestDovecotRestartWhileConnected(t *testing.T) {
	s := dovecot.Start(t)
	rcv := newFakeReceiver()
	p, _ := dovecotPoller(t, s, rcv, newMemCheckpoints(), nil)
	start(t, p)
	s.Append("INBOX", testMail("before@example.test", ""))
	testenv.WaitFor(t, wait, "first mail received", func() bool { return rcv.callsFor("<before@example.test>") == 1 })
	testenv.WaitFor(t, wait, "connected", func() bool { return p.Status().Connected })
	s.Restart()
	s.Append("INBOX", testMail("after@example.test", ""))
	testenv.WaitFor(t, wait, "mail after restart received", func() bool { return rcv.callsFor("<after@example.test>") == 1 })
	testenv.WaitFor(t, wait, "both moved", func() bool { return count(s, "Processed") == 2 })
	if st := p.Status(); st.Errors == 0 {
		t.Errorf("status shows no error after the server went away: %+v", st)
	}
}

// A wrong password: a clear error in Status and in the log (with the
// mailbox's name), retries with backoff, no crash; a second poller on
// another mailbox keeps working meanwhile.
func TestDovecotWrongPasswordIsolated(t *testing.T) {
	s := dovecot.Start(t)
	rcv := newFakeReceiver()
	bad, badLog := dovecotPoller(t, s, rcv, newMemCheckpoints(), func(c *config.IMAP) {
		c.Name = "bad"
		c.PasswordFile = writeSecret(t, "not-the-password")
	})
	good, _ := dovecotPoller(t, s, rcv, newMemCheckpoints(), func(c *config.IMAP) {
		c.Name, c.Folder, c.ProcessedFolder = "good", "Second", "Second-done"
	})
	stopBad := start(t, bad)
	start(t, good)
	s.Append("Second", testMail("second@example.test", ""))
	testenv.WaitFor(t, wait, "good poller delivered", func() bool { return rcv.callsFor("<second@example.test>") == 1 })
	testenv.WaitFor(t, wait, "bad poller retried", func() bool { return bad.Status().Errors >= 3 })
	st := bad.Status()
	if st.Connected || !strings.Contains(st.LastError, "login as "+dovecot.User) || !strings.Contains(strings.ToLower(st.LastError), "auth") {
		t.Errorf("bad poller status = %+v, want a login error naming the user", st)
	}
	if l := badLog.String(); !strings.Contains(l, "imap=bad") || !strings.Contains(l, "retry_in=") {
		t.Errorf("log does not name the failing mailbox and its retry:\n%s", l)
	}
	stopBad()
	if good.Status().LastError != "" {
		t.Errorf("good poller has error %q", good.Status().LastError)
	}
}

// A 25 MB mail streams from the IMAP literal to the receiver: the poller
// never holds it in memory, let alone twice (issue requirement "a 50 MB
// mail is never held twice in memory").
func TestDovecotLargeMailBoundedMemory(t *testing.T) {
	s := dovecot.Start(t)
	const size = 25 << 20
	var b strings.Builder
	b.WriteString("From: big@example.test\r\nMessage-ID: <big@example.test>\r\nSubject: big\r\n\r\n")
	line := strings.Repeat("0123456789abcdef", 4) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	raw := []byte(b.String())
	b.Reset()
	s.Append("INBOX", raw)
	bodyLen := int64(len(raw) - strings.Index(string(raw), "\r\n\r\n") - 4)
	raw = nil

	rcv := newFakeReceiver()
	p, _ := dovecotPoller(t, s, rcv, newMemCheckpoints(), nil)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	sampling := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-sampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()
	stop := start(t, p)
	testenv.WaitFor(t, 60*time.Second, "big mail received", func() bool { return rcv.callsFor("<big@example.test>") == 1 })
	stop()
	close(sampling)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	growth := int64(peak.Load()) - int64(before.HeapAlloc)
	t.Logf("25 MB mail: allocated %d KB in total, peak heap growth %d KB", allocated>>10, growth>>10)
	if got := rcv.bytes["<big@example.test>"]; got != bodyLen {
		t.Errorf("receiver read %d body bytes, want %d", got, bodyLen)
	}
	if allocated >= 3*size {
		t.Errorf("allocated %d bytes while streaming a %d-byte mail, want < 3x", allocated, size)
	}
	if growth >= 3*size {
		t.Errorf("heap grew by %d bytes for a %d-byte mail, want < 3x", growth, size)
	}
}

// A temporary receiver failure leaves the mail (and those after it) in
// place, stops the batch, is retried next round, and repeated failures of
// the same UID are reported loudly and never skipped (I1, I4).
func TestDovecotTemporaryReceiveFailure(t *testing.T) {
	s := dovecot.Start(t)
	uidA := s.Append("INBOX", testMail("a@example.test", ""))
	uidB := s.Append("INBOX", testMail("b@example.test", ""))
	s.Append("INBOX", testMail("c@example.test", ""))
	var healthy atomic.Bool
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	rcv.fail = func(id string) error {
		if id == "<b@example.test>" && !healthy.Load() {
			return errors.New("database is locked")
		}
		return nil
	}
	p, lb := dovecotPoller(t, s, rcv, cp, nil)
	start(t, p)
	testenv.WaitFor(t, wait, "B reported stuck", func() bool { return p.Status().StuckUID == uint32(uidB) })
	inbox := s.List("INBOX")
	if len(inbox) != 2 || inbox[0].MessageID != "b@example.test" || inbox[0].Seen() {
		t.Errorf("INBOX = %+v, want B (unseen) and C left in place", inbox)
	}
	if _, last := cp.get("main/INBOX"); last != uint32(uidA) {
		t.Errorf("checkpoint = %d, want %d (not past the failing mail)", last, uidA)
	}
	if st := p.Status(); !strings.Contains(st.LastError, fmt.Sprintf("deliver uid %d: database is locked", uidB)) {
		t.Errorf("LastError = %q", st.LastError)
	}
	if !strings.Contains(lb.String(), "level=ERROR msg=\"imap message keeps failing") {
		t.Errorf("no loud log for the stuck mail:\n%s", lb.String())
	}
	if n := rcv.callsFor("<c@example.test>"); n != 0 {
		t.Errorf("C was delivered %d times while B was failing, want 0 (batch stops)", n)
	}

	healthy.Store(true)
	testenv.WaitFor(t, wait, "all moved once the receiver recovers", func() bool { return count(s, "INBOX") == 0 && count(s, "Processed") == 3 })
	if e, _, _ := rcv.counts(); e != 3 {
		t.Errorf("effects = %d, want 3", e)
	}
	testenv.WaitFor(t, wait, "stuck cleared", func() bool { return p.Status().StuckUID == 0 })
}

// Without a processed folder mail is only flagged \Seen, stays in the
// folder, and the checkpoint keeps a restarted poller from re-reading it.
func TestDovecotNoProcessedFolderOnlySeen(t *testing.T) {
	s := dovecot.Start(t)
	s.Append("INBOX", testMail("seen-1@example.test", ""))
	s.Append("INBOX", testMail("seen-2@example.test", ""))
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	noMove := func(c *config.IMAP) { c.ProcessedFolder = "" }
	p, _ := dovecotPoller(t, s, rcv, cp, noMove)
	stop := start(t, p)
	testenv.WaitFor(t, wait, "both flagged \\Seen", func() bool {
		l := s.List("INBOX")
		return len(l) == 2 && l[0].Seen() && l[1].Seen()
	})
	stop()
	if got := s.List("Processed"); got != nil {
		t.Errorf("a Processed folder appeared: %+v", got)
	}
	p2, _ := dovecotPoller(t, s, rcv, cp, noMove)
	start(t, p2)
	s.Append("INBOX", testMail("seen-3@example.test", ""))
	testenv.WaitFor(t, wait, "third mail received", func() bool { return rcv.callsFor("<seen-3@example.test>") == 1 })
	if _, calls, _ := rcv.counts(); calls != 3 {
		t.Errorf("receiver called %d times, want 3 (no re-read after restart)", calls)
	}
}

// Shutdown during a delivery finishes that mail (commit, move, checkpoint),
// delivers nothing more, and logs out cleanly (I1).
func TestDovecotShutdownFinishesMailInFlight(t *testing.T) {
	s := dovecot.Start(t)
	uid1 := s.Append("INBOX", testMail("inflight-1@example.test", ""))
	s.Append("INBOX", testMail("inflight-2@example.test", ""))
	s.Append("INBOX", testMail("inflight-3@example.test", ""))
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	ctx, cancel := context.WithCancel(context.Background())
	rcv.committed = func(string) { cancel() } // shutdown arrives mid-delivery
	p, _ := dovecotPoller(t, s, rcv, cp, nil)
	loggedOut := func() int { return strings.Count(s.Log(), "Disconnected: Logged out") }
	// The harness's own 3 APPEND sessions; Dovecot's log process may write
	// their lines late, so wait for all of them before counting ours.
	const before = 3
	testenv.WaitFor(t, wait, "the harness's sessions logged", func() bool { return loggedOut() == before })
	if err := p.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	testenv.WaitFor(t, wait, "the poller's LOGOUT in Dovecot's log", func() bool { return loggedOut() == before+1 })
	if got := s.List("Processed"); len(got) != 1 || got[0].MessageID != "inflight-1@example.test" {
		t.Errorf("Processed = %+v, want the mail in flight", got)
	}
	if got := s.List("INBOX"); len(got) != 2 || got[0].Seen() || got[1].Seen() {
		t.Errorf("INBOX = %+v, want the 2 other mails untouched", got)
	}
	if _, last := cp.get("main/INBOX"); last != uint32(uid1) {
		t.Errorf("checkpoint = %d, want %d", last, uid1)
	}
	if _, calls, _ := rcv.counts(); calls != 1 {
		t.Errorf("receiver called %d times after shutdown began, want 1", calls)
	}
}
