package outbound

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/templates"
)

// run starts w in the background; the returned stop cancels it and waits.
func run(t testing.TB, w *Worker) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := testenv.Recv(t, done, 10*time.Second, "Run to return after cancel"); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newTestWorker(t testing.TB, q Queue, tr Transport, mod func(*Options)) *Worker {
	t.Helper()
	o := Options{
		Queue:        q,
		Composer:     testComposer(t, testConfig()),
		NewTransport: func() (Transport, error) { return tr, nil },
		Log:          testenv.Logger(t),
		Poll:         10 * time.Millisecond,
		BaseBackoff:  20 * time.Millisecond,
		MaxBackoff:   80 * time.Millisecond,
	}
	if mod != nil {
		mod(&o)
	}
	w, err := NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func row(tmpl, to, token string, caseID int64) casebook.OutboxItem {
	it := casebook.OutboxItem{Event: tmpl, Template: templates.Name(tmpl), To: to, Locale: "en", Token: token,
		Data: map[string]string{"title": "Checkout broken", "requester": "alice@customer.test"}}
	if caseID != 0 {
		it.CaseID = ptr(caseID)
	}
	return it
}

// Three notifications of one case chain their threading headers, so every
// mail client shows the case as one thread (I6: our Message-IDs are what
// replies come back with).
func TestThreadingChainsAcrossNotifications(t *testing.T) {
	q := NewMemQueue("support.example.test")
	q.AddInbound(7, "orig@mail.customer.test")
	for i, tmpl := range []string{"case_opened", "comment_added", "case_closed"} {
		q.Add(row(tmpl, "alice@customer.test", fmt.Sprintf("chain%d", i), 7))
	}
	tr := &capture{}
	w := newTestWorker(t, q, tr, func(o *Options) { o.Batch = 1 }) // one at a time: each sees the previous one sent
	run(t, w)
	testenv.WaitFor(t, time.Minute, "3 sent", func() bool { return q.Count(casebook.OutboxSent) == 3 })
	msgs := tr.all()
	want := [][]string{
		{"orig@mail.customer.test"},
		{"orig@mail.customer.test", "chain0@support.example.test"},
		{"orig@mail.customer.test", "chain0@support.example.test", "chain1@support.example.test"},
	}
	for i, m := range msgs {
		p := parse(t, m.msg)
		irt, _ := p.h.MsgIDList("In-Reply-To")
		refs, _ := p.h.MsgIDList("References")
		id, _ := p.h.MessageID()
		if id != fmt.Sprintf("chain%d@support.example.test", i) {
			t.Errorf("mail %d: Message-ID %q", i, id)
		}
		if len(irt) != 1 || irt[0] != "orig@mail.customer.test" {
			t.Errorf("mail %d: In-Reply-To %v", i, irt)
		}
		if strings.Join(refs, " ") != strings.Join(want[i], " ") {
			t.Errorf("mail %d: References %v, want %v", i, refs, want[i])
		}
	}
}

// I3: a temporary failure is retried with backoff until it goes through; a
// permanent one fails the row at once with the server's answer.
func TestRetriesAndPermanentFailures(t *testing.T) {
	q := NewMemQueue("support.example.test")
	tempID := q.Add(row("comment_added", "temp@customer.test", "temp", 1))
	permID := q.Add(row("comment_added", "perm@customer.test", "perm", 1))
	var tempFails atomic.Int32
	tr := &capture{}
	tr.fail = func(int) error { return nil }
	failing := &failingTransport{inner: tr, fail: func(to string) error {
		switch to {
		case "temp@customer.test":
			if tempFails.Add(1) <= 3 {
				return &SendError{Code: 451, Enhanced: "4.3.0", Message: "try again later"}
			}
		case "perm@customer.test":
			return &SendError{Code: 550, Enhanced: "5.1.1", Message: "mailbox unknown", Permanent: true}
		}
		return nil
	}}
	run(t, newTestWorker(t, q, failing, nil))
	testenv.WaitFor(t, time.Minute, "temp sent and perm failed", func() bool {
		return q.Get(tempID).Status == casebook.OutboxSent && q.Get(permID).Status == casebook.OutboxFailed
	})
	if got := q.Get(tempID); got.Attempts != 3 || !strings.Contains(got.LastError, "451 4.3.0 try again later") {
		t.Errorf("temp row: attempts %d last_error %q", got.Attempts, got.LastError)
	}
	if got := q.Get(permID); got.Attempts != 1 || got.LastError != "550 5.1.1 mailbox unknown" {
		t.Errorf("perm row: attempts %d last_error %q", got.Attempts, got.LastError)
	}
	if n := len(tr.all()); n != 1 {
		t.Errorf("%d mails delivered, want 1", n)
	}
}

type failingTransport struct {
	inner Transport
	fail  func(to string) error
}

func (f *failingTransport) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if err := f.fail(to[0]); err != nil {
		return err
	}
	return f.inner.Send(ctx, from, to, msg)
}
func (f *failingTransport) Close() error { return nil }

// A row older than max_age is failed instead of retried again.
func TestMaxAge(t *testing.T) {
	q := NewMemQueue("support.example.test")
	it := row("comment_added", "a@customer.test", "old", 1)
	it.CreatedAt = time.Now().Add(-73 * time.Hour)
	id := q.Add(it)
	tr := &capture{fail: func(int) error { return &SendError{Message: "connect: connection refused"} }}
	run(t, newTestWorker(t, q, tr, func(o *Options) { o.MaxAge = 72 * time.Hour }))
	testenv.WaitFor(t, time.Minute, "failed", func() bool { return q.Get(id).Status == casebook.OutboxFailed })
	if got := q.Get(id).LastError; !strings.Contains(got, "gave up after 1 attempts") || !strings.Contains(got, "connection refused") {
		t.Errorf("last_error %q", got)
	}
}

// The delay doubles from 30s with ±25% jitter, and never exceeds 15
// minutes, jitter included: after a relay outage of any length, pending
// mail leaves at most 15 minutes after the relay is back (issue 10; the
// cap was an hour).
func TestBackoffGrowsWithJitter(t *testing.T) {
	w, _ := NewWorker(Options{Queue: NewMemQueue("x"), Composer: &Composer{}, NewTransport: func() (Transport, error) { return nil, nil }})
	for _, tc := range []struct {
		n    int
		base time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {5, 8 * time.Minute}, {6, 15 * time.Minute}, {8, 15 * time.Minute}, {50, 15 * time.Minute}} {
		for i := 0; i < 50; i++ {
			d := w.Backoff(tc.n)
			if d < tc.base*3/4 || d > min(tc.base*5/4, 15*time.Minute) {
				t.Fatalf("Backoff(%d) = %s, want %s ±25%%, at most 15m", tc.n, d, tc.base)
			}
		}
	}
}

// The one duplicate the design allows: the relay accepted the mail and the
// process died before MarkSent. The row is sent again after its lease,
// exactly once more. A MarkSent that fails only once is retried in place
// and causes no duplicate.
func TestCrashAfterSendDuplicatesOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failTimes int32
		wantSends int
	}{
		{"MarkSent fails once: retried, no duplicate", 1, 1},
		{"MarkSent lost (crash): one duplicate after the lease", 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := NewMemQueue("support.example.test")
			id := q.Add(row("comment_added", "a@customer.test", "dup", 1))
			var fails atomic.Int32
			q.FailMarkSent = func(int64) error {
				if fails.Add(1) <= tc.failTimes {
					return errors.New("database is locked")
				}
				return nil
			}
			tr := &capture{}
			run(t, newTestWorker(t, q, tr, func(o *Options) { o.Lease = 500 * time.Millisecond }))
			testenv.WaitFor(t, time.Minute, "sent", func() bool { return q.Get(id).Status == casebook.OutboxSent })
			if n := len(tr.all()); n != tc.wantSends {
				t.Errorf("delivered %d times, want %d", n, tc.wantSends)
			}
		})
	}
}

// Notify wakes the worker at once, without waiting for the poll.
func TestNotifyWakesWorker(t *testing.T) {
	q := NewMemQueue("support.example.test")
	var claims atomic.Int32
	q.FailClaim = func() error { claims.Add(1); return nil }
	tr := &capture{}
	w := newTestWorker(t, q, tr, func(o *Options) { o.Poll = time.Hour })
	run(t, w)
	testenv.WaitFor(t, time.Minute, "first claim", func() bool { return claims.Load() >= 1 })
	id := q.Add(row("comment_added", "a@customer.test", "nudge", 1))
	w.Notify()
	testenv.WaitFor(t, time.Minute, "sent after Notify", func() bool { return q.Get(id).Status == casebook.OutboxSent })
}

// blockingTransport holds Send until released.
type blockingTransport struct {
	capture
	started chan struct{}
	release chan struct{}
}

func (b *blockingTransport) Send(ctx context.Context, from string, to []string, msg []byte) error {
	b.started <- struct{}{}
	<-b.release
	return b.capture.Send(ctx, from, to, msg)
}

// On shutdown the mail in flight is finished and recorded; nothing else
// is started.
func TestShutdownFinishesMailInFlight(t *testing.T) {
	q := NewMemQueue("support.example.test")
	first := q.Add(row("comment_added", "a@customer.test", "f1", 1))
	second := q.Add(row("comment_added", "b@customer.test", "f2", 1))
	tr := &blockingTransport{started: make(chan struct{}, 2), release: make(chan struct{})}
	w := newTestWorker(t, q, tr, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	testenv.Recv(t, tr.started, 10*time.Second, "the first mail to reach the relay")
	cancel()
	close(tr.release) // the relay answers after the cancel
	if err := testenv.Recv(t, done, 10*time.Second, "Run to return after cancel"); err != nil {
		t.Fatal(err)
	}
	if q.Get(first).Status != casebook.OutboxSent {
		t.Errorf("mail in flight not recorded: %+v", q.Get(first))
	}
	if q.Get(second).Status != casebook.OutboxPending || len(tr.all()) != 1 {
		t.Errorf("second mail touched after shutdown: %+v, %d sent", q.Get(second), len(tr.all()))
	}
}

// The default transport: a Maildir that mutt can read.
func TestMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sent")
	md, err := NewMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	q := NewMemQueue("support.example.test")
	for i := 0; i < 3; i++ {
		q.Add(row("case_opened", "alice@customer.test", fmt.Sprintf("md%d", i), 5))
	}
	run(t, newTestWorker(t, q, md, nil))
	testenv.WaitFor(t, time.Minute, "3 sent", func() bool { return q.Count(casebook.OutboxSent) == 3 })
	for _, sub := range []string{"tmp", "cur"} {
		if ents, _ := os.ReadDir(filepath.Join(dir, sub)); len(ents) != 0 {
			t.Errorf("%s/ not empty: %v", sub, ents)
		}
	}
	ents, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil || len(ents) != 3 {
		t.Fatalf("new/: %v %v", ents, err)
	}
	for _, e := range ents {
		if strings.ContainsAny(e.Name(), "/:") {
			t.Errorf("bad Maildir name %q", e.Name())
		}
		b, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\r") {
			t.Error("CR in a Maildir file: Maildir lines end in LF")
		}
		if !strings.HasPrefix(string(b), "Return-Path: <bounce+md") {
			t.Errorf("no Return-Path: %.80q", b)
		}
		p := parse(t, []byte(strings.ReplaceAll(string(b), "\n", "\r\n")))
		if s, _ := p.h.Subject(); !strings.HasPrefix(s, "[Case #5] ") || !strings.Contains(p.text, "Hello,") {
			t.Errorf("subject %q text %q", s, p.text)
		}
	}
}

type countingQueue struct {
	*MemQueue
	threads atomic.Int32
}

func (c *countingQueue) CaseThread(ctx context.Context, caseID int64) ([]string, error) {
	c.threads.Add(1)
	return c.MemQueue.CaseThread(ctx, caseID)
}

// A fan-out (one comment, many watchers, R8) asks the store for the case's
// thread once per batch, over several connections.
func TestFanoutReadsThreadOncePerBatch(t *testing.T) {
	q := &countingQueue{MemQueue: NewMemQueue("support.example.test")}
	q.AddInbound(4, "orig@customer.test")
	for i := 0; i < 40; i++ {
		q.Add(row("comment_added", fmt.Sprintf("w%d@customer.test", i), fmt.Sprintf("fan%d", i), 4))
	}
	tr := &capture{}
	run(t, newTestWorker(t, q, tr, func(o *Options) { o.Batch, o.Workers = 40, 3 }))
	testenv.WaitFor(t, time.Minute, "40 sent", func() bool { return q.Count(casebook.OutboxSent) == 40 })
	if n := q.threads.Load(); n != 1 {
		t.Errorf("CaseThread called %d times, want 1", n)
	}
	for _, m := range tr.all() {
		p := parse(t, m.msg)
		if refs, _ := p.h.MsgIDList("References"); len(refs) != 1 || refs[0] != "orig@customer.test" {
			t.Fatalf("watcher copy references %v", refs)
		}
	}
}

// NewFromConfig: the embedded default (a Maildir) works out of the box, and
// a missing SMTP password is reported at start-up, not at the first mail.
func TestNewFromConfig(t *testing.T) {
	cfg := testConfig()
	dir := filepath.Join(t.TempDir(), "casemail-sent")
	cfg.Outbound.Transport = "maildir:" + dir
	q := NewMemQueue(cfg.Outbound.ReplyDomain)
	q.Add(row("case_opened", "alice@customer.test", "cfg1", 1))
	w, err := NewFromConfig(cfg, q, nil, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	run(t, w)
	testenv.WaitFor(t, time.Minute, "sent", func() bool { return q.Count(casebook.OutboxSent) == 1 })
	if ents, _ := os.ReadDir(filepath.Join(dir, "new")); len(ents) != 1 {
		t.Errorf("new/ has %d files", len(ents))
	}

	cfg.Outbound.Transport = "smtp://127.0.0.1:1"
	cfg.Outbound.Username, cfg.Outbound.PasswordEnv = "u", "CASEMAIL_TEST_UNSET_PASSWORD"
	if _, err := NewFromConfig(cfg, q, nil, nil); err == nil || !strings.Contains(err.Error(), "CASEMAIL_TEST_UNSET_PASSWORD") {
		t.Errorf("missing password: %v", err)
	}
	cfg.Outbound.Username, cfg.Outbound.PasswordEnv = "", ""
	cfg.Templates.Dir = filepath.Join(t.TempDir(), "missing")
	if _, err := NewFromConfig(cfg, q, nil, nil); err == nil {
		t.Error("a missing templates dir was accepted")
	}
}
