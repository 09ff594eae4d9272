package casebook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Issue 14, two gateways on one store: a lease is held by one gateway at a
// time, renewed by it, refused to the other until it expires or is
// released.
func TestLease(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		const name, ttl = "imap/support/INBOX", 30 * time.Second
		steps := []struct {
			what       string
			advance    time.Duration
			holder     string
			release    bool
			wantHeld   bool
			wantHolder string
		}{
			{what: "a free lease is taken", holder: "gw-a", wantHeld: true, wantHolder: "gw-a"},
			{what: "the other gateway is refused and told who holds it", advance: 10 * time.Second, holder: "gw-b", wantHolder: "gw-a"},
			{what: "the holder renews", holder: "gw-a", wantHeld: true, wantHolder: "gw-a"},
			{what: "still refused just before the renewed expiry", advance: ttl - time.Millisecond, holder: "gw-b", wantHolder: "gw-a"},
			{what: "taken over once expired", advance: time.Millisecond, holder: "gw-b", wantHeld: true, wantHolder: "gw-b"},
			{what: "the old holder cannot renew a lease it lost", holder: "gw-a", wantHolder: "gw-b"},
			{what: "a release by the old holder changes nothing", holder: "gw-a", release: true, wantHolder: "gw-b"},
			{what: "released by its holder", holder: "gw-b", release: true},
			{what: "a released lease is taken at once", holder: "gw-a", wantHeld: true, wantHolder: "gw-a"},
		}
		for _, s := range steps {
			f.clock.Advance(s.advance)
			if s.release {
				if err := f.ReleaseLease(f.ctx, name, s.holder); err != nil {
					t.Fatalf("%s: %v", s.what, err)
				}
				live, err := f.Leases(f.ctx)
				if err != nil {
					t.Fatal(err)
				}
				holder := ""
				for _, l := range live {
					if l.Name == name {
						holder = l.Holder
					}
				}
				if holder != s.wantHolder {
					t.Errorf("%s: held by %q, want %q", s.what, holder, s.wantHolder)
				}
				continue
			}
			l, held, err := f.Lease(f.ctx, name, s.holder, ttl)
			if err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			if held != s.wantHeld || l.Holder != s.wantHolder {
				t.Errorf("%s: held=%v by %q, want held=%v by %q", s.what, held, l.Holder, s.wantHeld, s.wantHolder)
			}
			if held && !l.ExpiresAt.Equal(f.clock.Now().Add(ttl)) {
				t.Errorf("%s: expires %v, want %v", s.what, l.ExpiresAt, f.clock.Now().Add(ttl))
			}
		}
		// Leases lists the live ones only: an expired heartbeat is not shown.
		if _, _, err := f.Lease(f.ctx, HeartbeatLease("gw-c"), "gw-c", time.Second); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Second)
		live, err := f.Leases(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 1 || live[0].Name != name || live[0].Holder != "gw-a" {
			t.Errorf("live leases: %+v, want only %s held by gw-a", live, name)
		}
		if _, _, err := f.Lease(f.ctx, "", "gw-a", ttl); err == nil {
			t.Errorf("a lease without a name was taken")
		}
	})
}

// Two gateways ask for the same free lease at once: exactly one gets it.
func TestLeaseRace(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		other := f.second(t, "gw-b")
		for round := range 20 {
			name := fmt.Sprintf("imap/box%d/INBOX", round)
			var wg sync.WaitGroup
			held := make([]bool, 2)
			for i, b := range []*Book{f.Book, other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, h, err := b.Lease(context.Background(), name, fmt.Sprintf("gw-%d", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					held[i] = h
				}()
			}
			wg.Wait()
			if held[0] == held[1] {
				t.Fatalf("%s: held by both or neither: %v", name, held)
			}
		}
	})
}

// second opens another Book (another gateway, holder) on f's store.
func (f *fixture) second(t *testing.T, holder string) *Book {
	t.Helper()
	b, err := Open(f.path, Options{Now: f.clock.Now, MessageIDDomain: "support.test", Holder: holder})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// fanOut opens cases until the outbox holds at least n pending rows.
func (f *fixture) fanOut(t *testing.T, n int) int {
	t.Helper()
	for i := 0; ; i++ {
		s, err := f.Stats(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Pending >= n {
			return s.Pending
		}
		f.open(t, "acme", "ann@acme.test", fmt.Sprintf("case %d", i), "carl@acme.test", "new@acme.test", "agent@support.test")
	}
}

// Issue 14: two gateways (two Books on the same database) claiming at once,
// from many goroutines each, never get the same outbox row, and together
// get every row.
func TestClaimOutboxTwoGateways(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		rows := f.fanOut(t, 300)
		books := []*Book{f.Book, f.second(t, "gw-b")}
		now := f.clock.Now()
		var (
			mu      sync.Mutex
			claimed = map[int64]string{}
			wg      sync.WaitGroup
		)
		for i := range 8 {
			b := books[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					items, err := b.ClaimOutbox(context.Background(), now, 7, 5*time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						if by, dup := claimed[it.ID]; dup {
							t.Errorf("row %d claimed by %s and again by %s", it.ID, by, b.Holder())
						}
						if it.ClaimedBy != b.Holder() {
							t.Errorf("row %d claimed by %s says %q", it.ID, b.Holder(), it.ClaimedBy)
						}
						claimed[it.ID] = b.Holder()
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(claimed) != rows {
			t.Errorf("claimed %d rows, want all %d", len(claimed), rows)
		}
		by := map[string]int{}
		for _, h := range claimed {
			by[h]++
		}
		t.Logf("%d rows claimed: %v", rows, by)
	})
}

// Issue 14: ReclaimOutbox frees the rows of a gateway whose heartbeat
// lease is gone and leaves a live gateway's claims alone, so a starting or
// surviving gateway never steals what another is sending.
func TestReclaimOutboxLiveHolder(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.fanOut(t, 20)
		const heartbeat = 30 * time.Second
		live, dead := f.second(t, "gw-live"), f.second(t, "gw-dead")
		now := f.clock.Now()
		mine, err := live.ClaimOutbox(f.ctx, now, 10, 5*time.Minute)
		if err != nil || len(mine) != 10 {
			t.Fatalf("live claim: %d rows, %v", len(mine), err)
		}
		theirs, err := dead.ClaimOutbox(f.ctx, now, 100, 5*time.Minute)
		if err != nil || len(theirs) == 0 {
			t.Fatalf("dead claim: %d rows, %v", len(theirs), err)
		}
		for _, b := range []*Book{live, dead} {
			if _, held, err := b.Lease(f.ctx, HeartbeatLease(b.Holder()), b.Holder(), heartbeat); err != nil || !held {
				t.Fatalf("heartbeat of %s: held=%v, %v", b.Holder(), held, err)
			}
		}
		steps := []struct {
			what    string
			advance time.Duration
			renew   *Book // renews its heartbeat before the reclaim
			want    int   // rows made due again
		}{
			{what: "both heartbeats live: nothing reclaimed", advance: 10 * time.Second, renew: live, want: 0},
			{what: "the dead gateway's heartbeat expired: its rows only", advance: heartbeat, renew: live, want: len(theirs)},
			{what: "the live gateway keeps its rows", advance: 10 * time.Second, renew: live, want: 0},
			{what: "the live gateway stops renewing: its rows too", advance: heartbeat + time.Second, want: len(mine)},
		}
		for _, s := range steps {
			f.clock.Advance(s.advance)
			if s.renew != nil {
				if _, held, err := s.renew.Lease(f.ctx, HeartbeatLease(s.renew.Holder()), s.renew.Holder(), heartbeat); err != nil || !held {
					t.Fatalf("%s: renew: held=%v, %v", s.what, held, err)
				}
			}
			n, err := f.ReclaimOutbox(f.ctx, f.clock.Now())
			if err != nil {
				t.Fatalf("%s: %v", s.what, err)
			}
			if n != int64(s.want) {
				t.Errorf("%s: reclaimed %d rows, want %d", s.what, n, s.want)
			}
		}
		// The dead gateways' heartbeats are pruned; nothing is left live.
		if ls, err := f.Leases(f.ctx); err != nil || len(ls) != 0 {
			t.Errorf("leases after both gateways died: %+v, %v", ls, err)
		}
	})
}
