package imappoll

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
)

// flakyLeaser is the store as one gateway sees it: down makes every lease
// request fail, as when this gateway loses its connection to the store.
type flakyLeaser struct {
	Leaser
	down atomic.Bool
}

func (f *flakyLeaser) Lease(ctx context.Context, name, holder string, ttl time.Duration) (casebook.Lease, bool, error) {
	if f.down.Load() {
		return casebook.Lease{}, false, errors.New("store unreachable")
	}
	return f.Leaser.Lease(ctx, name, holder, ttl)
}

// Issue 14, two gateways on one store: two pollers of one mailbox (each
// with its own gateway's receiver) share its lease in the store. Only the
// holder polls; the other stands by and says who holds it; when the holder
// stops, it releases the lease and the other takes over at once; when the
// holder cannot renew, it stops polling and the other takes over after the
// expiry. Every mail is committed once (I2: one effect per mail).
func TestLeaseOnePollerPerMailbox(t *testing.T) {
	m := startMem(t, nil, false)
	book, err := casebook.Open(filepath.Join(t.TempDir(), "cb.db"), casebook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() }) // after the pollers stop (cleanups run last first)
	const ttl = 900 * time.Millisecond
	deliver := func(from, n int) {
		for i := from; i < from+n; i++ {
			m.append(t, "INBOX", testMail(fmt.Sprintf("m%d@x", i), ""))
		}
	}
	inboxEmpty := func() bool { in, _ := m.count(t, "INBOX"); return in == 0 }
	effects := func(r *fakeReceiver) int { e, _, _ := r.counts(); return e }

	rcvA, rcvB := newFakeReceiver(), newFakeReceiver()
	leaserA := &flakyLeaser{Leaser: book}
	a := memPoller(t, m, rcvA, book, nil)
	b := memPoller(t, m, rcvB, book, nil)
	if err := a.UseLease(leaserA, "gw-a", ttl); err != nil {
		t.Fatal(err)
	}
	if err := b.UseLease(book, "gw-b", ttl); err != nil {
		t.Fatal(err)
	}
	deliver(0, 5)
	stopA := start(t, a)
	testenv.WaitFor(t, wait, "gateway A polls", func() bool { return effects(rcvA) == 5 && inboxEmpty() })
	start(t, b)
	testenv.WaitFor(t, wait, "gateway B stands by", func() bool { return b.Status().Standby })
	deliver(5, 5)
	testenv.WaitFor(t, wait, "A reads the new mail", func() bool { return effects(rcvA) == 10 && inboxEmpty() })
	if st := b.Status(); !st.Standby || st.Holder != "gw-a" || st.Lease != "imap/main/INBOX" || effects(rcvB) != 0 {
		t.Fatalf("standby gateway: %+v, %d mails; want standing by for gw-a on imap/main/INBOX, none read", st, effects(rcvB))
	}
	if st := a.Status(); st.Standby || st.Holder != "gw-a" {
		t.Errorf("holder: %+v, want holding", st)
	}

	// A stops: its lease is released, and B polls within a third of the lease.
	stopA()
	stopped := time.Now()
	deliver(10, 5)
	testenv.WaitFor(t, wait, "B takes over", func() bool { return effects(rcvB) == 5 && inboxEmpty() })
	if took := time.Since(stopped); took > ttl {
		t.Errorf("B took over %v after A stopped, want within the lease (%v): A released it", took, ttl)
	}
	if st := b.Status(); st.Standby || st.Holder != "gw-b" {
		t.Errorf("B after takeover: %+v", st)
	}

	// A comes back: it stands by, B keeps the mailbox.
	rcvA2 := newFakeReceiver()
	a2 := memPoller(t, m, rcvA2, book, nil)
	a2.UseLease(leaserA, "gw-a", ttl)
	start(t, a2)
	testenv.WaitFor(t, wait, "A stands by", func() bool { st := a2.Status(); return st.Standby && st.Holder == "gw-b" })
	deliver(15, 3)
	testenv.WaitFor(t, wait, "B reads it", func() bool { return effects(rcvB) == 8 && inboxEmpty() })
	if n := effects(rcvA2); n != 0 {
		t.Errorf("the standby gateway read %d mails", n)
	}
	if e, _, dups := rcvA.counts(); e != 10 || dups != 0 {
		t.Errorf("A: %d effects, %d duplicates; want 10, 0", e, dups)
	}
}

// The holder that cannot renew its lease (its store connection is down)
// ends its session and polls nothing more; the other gateway takes the
// mailbox once the lease expired.
func TestLeaseLostStopsPolling(t *testing.T) {
	m := startMem(t, nil, false)
	book, err := casebook.Open(filepath.Join(t.TempDir(), "cb.db"), casebook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() }) // after the pollers stop (cleanups run last first)
	const ttl = 900 * time.Millisecond
	rcvA, rcvB := newFakeReceiver(), newFakeReceiver()
	leaserA := &flakyLeaser{Leaser: book}
	a := memPoller(t, m, rcvA, book, nil)
	b := memPoller(t, m, rcvB, book, nil)
	a.UseLease(leaserA, "gw-a", ttl)
	b.UseLease(book, "gw-b", ttl)
	m.append(t, "INBOX", testMail("first@x", ""))
	start(t, a)
	testenv.WaitFor(t, wait, "A polls", func() bool { e, _, _ := rcvA.counts(); return e == 1 })
	start(t, b)
	testenv.WaitFor(t, wait, "B stands by", func() bool { return b.Status().Standby })

	leaserA.down.Store(true)
	lostAt := time.Now()
	testenv.WaitFor(t, wait, "A ends its session", func() bool { return !a.Status().Connected })
	testenv.WaitFor(t, wait, "B takes over", func() bool { st := b.Status(); return !st.Standby && st.Holder == "gw-b" })
	// At most: A's last renewal (ttl/3 before it failed) + ttl + B's retry (ttl/3).
	if took := time.Since(lostAt); took > 2*ttl+time.Second {
		t.Errorf("B took over %v after A lost the store", took)
	}
	m.append(t, "INBOX", testMail("second@x", ""))
	testenv.WaitFor(t, wait, "B reads the new mail", func() bool { e, _, _ := rcvB.counts(); return e == 1 })
	if e, _, _ := rcvA.counts(); e != 1 {
		t.Errorf("A committed %d mails after losing its lease", e-1)
	}
}
