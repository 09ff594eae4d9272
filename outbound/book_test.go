package outbound

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/internal/testenv/postgres"
	"github.com/casemail/casemail/internal/testenv/stores"
)

// The worker tests of worker_test.go run on MemQueue, fast; the ones here run
// the same worker on a real casebook.Book, once per store (SQLite and
// PostgreSQL), so that the outbox SQL of both does what MemQueue does.

func TestMain(m *testing.M) { postgres.Main(m) }

// newBook opens a store of the test's kind with one organisation, acme,
// whose owner ann@acme.test may open cases about "cloud".
func newBook(t *testing.T) *casebook.Book {
	t.Helper()
	return openBook(t, stores.Location(t, "cb.db"), true)
}

// openBook opens the store at loc; with seed it adds acme and its owner.
func openBook(t *testing.T, loc string, seed bool) *casebook.Book {
	t.Helper()
	b, err := casebook.Open(loc, casebook.Options{MessageIDDomain: "support.example.test", DefaultLocale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if seed {
		ctx := context.Background()
		if err := b.AddAccount(ctx, casebook.Account{Address: "ann@acme.test", Verified: true, Locale: "en"}); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func openCase(t *testing.T, b *casebook.Book, watchers ...string) casebook.Case {
	t.Helper()
	c, err := b.OpenCase(context.Background(), casebook.NewCase{Org: "acme", Product: "cloud", Title: "Checkout broken",
		Description: "The checkout page answers 500.", Requester: "ann@acme.test", Watchers: watchers})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func outbox(t *testing.T, b *casebook.Book, s casebook.OutboxStatus) []casebook.OutboxItem {
	t.Helper()
	items, err := b.Outbox(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func byRecipient(items []casebook.OutboxItem, to string) casebook.OutboxItem {
	for _, it := range items {
		if it.To == to {
			return it
		}
	}
	return casebook.OutboxItem{}
}

// I3, I6, R8: the notifications of a new case and of a comment leave the
// store's outbox once each, each with the Message-ID the store answers
// replies by, and the comment's mails thread under the case's earlier mails.
func TestBookClaimSendAndThread(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b := newBook(t)
		c := openCase(t, b, "carl@acme.test", "ext@partner.test")
		tr := &capture{}
		run(t, newTestWorker(t, b, tr, nil))
		testenv.WaitFor(t, time.Minute, "3 sent", func() bool { return len(outbox(t, b, casebook.OutboxSent)) == 3 })
		opened := outbox(t, b, casebook.OutboxSent)
		if _, err := b.AddComment(context.Background(), c.ID, "ann@acme.test", "Still broken after the deploy."); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, time.Minute, "5 sent", func() bool { return len(outbox(t, b, casebook.OutboxSent)) == 5 })
		if p := outbox(t, b, casebook.OutboxPending); len(p) != 0 {
			t.Fatalf("%d rows still pending", len(p))
		}
		msgs := tr.all()
		if len(msgs) != 5 {
			t.Fatalf("%d mails sent, want 5", len(msgs))
		}
		var openedIDs []string
		for _, it := range opened {
			openedIDs = append(openedIDs, it.Token+"@support.example.test")
		}
		sent := outbox(t, b, casebook.OutboxSent)
		for _, m := range msgs {
			p := parse(t, m.msg)
			id, _ := p.h.MessageID()
			if !slices.ContainsFunc(sent, func(it casebook.OutboxItem) bool { return it.Token+"@support.example.test" == id }) {
				t.Errorf("mail to %v: Message-ID %q is no outbox row's", m.to, id)
			}
			if slices.Contains(openedIDs, id) {
				continue
			}
			refs, _ := p.h.MsgIDList("References")
			for _, o := range openedIDs {
				if !slices.Contains(refs, o) {
					t.Errorf("comment mail to %v: References %v lacks the case's earlier mail %s", m.to, refs, o)
				}
			}
		}
		for _, it := range sent {
			if it.Attempts != 1 || it.SentAt == nil || it.Subject == "" {
				t.Errorf("sent row %d to %s: attempts %d, sent_at %v, subject %q", it.ID, it.To, it.Attempts, it.SentAt, it.Subject)
			}
		}
	})
}

// I3: a temporary failure is retried with backoff until it goes through; a
// permanent one fails the row at once with the server's answer; the
// attempts and the last error are in the store.
func TestBookRetriesAndPermanentFailures(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b := newBook(t)
		openCase(t, b, "temp@customer.test", "perm@customer.test")
		var tempFails atomic.Int32
		tr := &capture{}
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
		run(t, newTestWorker(t, b, failing, nil))
		testenv.WaitFor(t, time.Minute, "temp sent and perm failed", func() bool {
			return byRecipient(outbox(t, b, casebook.OutboxSent), "temp@customer.test").ID != 0 &&
				byRecipient(outbox(t, b, casebook.OutboxFailed), "perm@customer.test").ID != 0
		})
		// MarkSent counts the attempt that went through: 3 refused + 1.
		if got := byRecipient(outbox(t, b, casebook.OutboxSent), "temp@customer.test"); got.Attempts != 4 || got.LastError != "" {
			t.Errorf("temp row: attempts %d last_error %q", got.Attempts, got.LastError)
		}
		if got := byRecipient(outbox(t, b, casebook.OutboxFailed), "perm@customer.test"); got.Attempts != 1 || got.LastError != "550 5.1.1 mailbox unknown" {
			t.Errorf("perm row: attempts %d last_error %q", got.Attempts, got.LastError)
		}
		if n := len(tr.all()); n != 2 {
			t.Errorf("%d mails delivered, want 2 (the requester's and temp's)", n)
		}
	})
}

// flakyBook is a Book whose MarkSent fails the first n times, as when the
// store is briefly unreachable or the process dies after the relay's 250.
type flakyBook struct {
	*casebook.Book
	fails atomic.Int32
	n     int32
}

func (f *flakyBook) MarkSent(ctx context.Context, id int64, subject string, at time.Time) error {
	if f.fails.Add(1) <= f.n {
		return errors.New("store unreachable")
	}
	return f.Book.MarkSent(ctx, id, subject, at)
}

// I3: the one duplicate the design allows, on a real store: the relay
// accepted the mail and MarkSent never landed. The row's lease expires and
// it is sent exactly once more; a MarkSent that fails once is retried in
// place and causes no duplicate.
func TestBookCrashAfterSendDuplicatesOnce(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		for _, tc := range []struct {
			name      string
			failTimes int32
			wantSends int
		}{
			{"MarkSent fails once: retried, no duplicate", 1, 1},
			{"MarkSent lost (crash): one duplicate after the lease", 3, 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newBook(t)
				openCase(t, b)
				q := &flakyBook{Book: b, n: tc.failTimes}
				tr := &capture{}
				run(t, newTestWorker(t, q, tr, func(o *Options) { o.Lease = 500 * time.Millisecond }))
				testenv.WaitFor(t, time.Minute, "sent", func() bool { return len(outbox(t, b, casebook.OutboxSent)) == 1 })
				if n := len(tr.all()); n != tc.wantSends {
					t.Errorf("delivered %d times, want %d", n, tc.wantSends)
				}
			})
		}
	})
}

// R8, I3: a comment on a case with many watchers fans out to every one of
// them, over several connections, each mail once.
func TestBookFanout(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b := newBook(t)
		var watchers []string
		for i := range 40 {
			watchers = append(watchers, fmt.Sprintf("w%02d@customer.test", i))
		}
		c := openCase(t, b, watchers...)
		if _, err := b.AddComment(context.Background(), c.ID, "ann@acme.test", "Fixed on our side?"); err != nil {
			t.Fatal(err)
		}
		want := len(outbox(t, b, casebook.OutboxPending))
		if want != 81 {
			t.Fatalf("%d rows queued, want 81 (1 + 40 opened, 40 comment)", want)
		}
		tr := &capture{}
		run(t, newTestWorker(t, b, tr, func(o *Options) { o.Batch, o.Workers = 40, 3 }))
		testenv.WaitFor(t, time.Minute, "all sent", func() bool { return len(outbox(t, b, casebook.OutboxSent)) == want })
		seen := map[string]int{}
		for _, m := range tr.all() {
			p := parse(t, m.msg)
			id, _ := p.h.MessageID()
			seen[strings.Join(m.to, ",")+" "+id]++
		}
		if len(seen) != want || len(tr.all()) != want {
			t.Errorf("%d mails, %d distinct, want %d once each", len(tr.all()), len(seen), want)
		}
	})
}

// I3: two gateways' workers on one store (two handles, as two processes
// would have) share the outbox: every notification is sent by one of them,
// once.
func TestBookTwoWorkersSendOnce(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		loc := stores.Location(t, "cb.db")
		b1 := openBook(t, loc, true)
		b2 := openBook(t, loc, false)
		var watchers []string
		for i := range 30 {
			watchers = append(watchers, fmt.Sprintf("w%02d@customer.test", i))
		}
		openCase(t, b1, watchers...)
		tr := &capture{}
		for _, b := range []*casebook.Book{b1, b2} {
			run(t, newTestWorker(t, b, tr, func(o *Options) { o.Batch, o.Workers = 5, 2 }))
		}
		testenv.WaitFor(t, time.Minute, "31 sent", func() bool { return len(outbox(t, b1, casebook.OutboxSent)) == 31 })
		if n := len(tr.all()); n != 31 {
			t.Errorf("%d mails for 31 notifications", n)
		}
	})
}
