package casebook

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 12: suppression is per address. Whoever the suppressed address is
// on an event (requester, watcher, the recipient of a refusal notice, an
// agent), Audience leaves it out and Record queues nothing for it, on
// every case; lifting it restores the mail.
func TestSuppressedAddressHearsOfNothing(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
		tests := []struct {
			name       string
			suppressed string
			d          Delivery
		}{
			{"requester of a new case", "ann@acme.test", Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}}}},
			{"copied on a new case", "carl@acme.test", Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Requester: "ann@acme.test", Watchers: []string{"Carl@ACME.test"}}}},
			{"watcher of a comment", "carl@acme.test", Delivery{Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "b"}},
			{"requester of a comment", "ann@acme.test", Delivery{Action: ActComment, CaseID: c.ID, Author: "carl@acme.test", Body: "b"}},
			{"refusal notice", "who@else.test", Delivery{Action: ActRefuse, Notice: &Notice{Template: "notice_unknown_sender", To: "who@else.test"}}},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f.clearOutbox(t)
				f.must(t, f.SuppressAddress(f.ctx, tc.suppressed, SuppressedBounce, "550 5.1.1"))
				defer func() { f.must(t, f.Unsuppress(f.ctx, tc.suppressed)) }()
				said, err := f.Audience(f.ctx, tc.d)
				f.must(t, err)
				d := tc.d
				d.Message = f.inbound("sup" + string(rune('a'+i)))
				_, err = f.Record(f.ctx, d)
				f.must(t, err)
				items, err := f.Outbox(f.ctx, OutboxPending)
				f.must(t, err)
				if slices.Contains(said, tc.suppressed) || slices.ContainsFunc(items, func(it OutboxItem) bool { return it.To == tc.suppressed }) {
					t.Fatalf("suppressed %s: Audience %v, queued %+v", tc.suppressed, said, items)
				}
			})
		}
		// Lifted: the next comment reaches carl again.
		f.clearOutbox(t)
		said, err := f.Audience(f.ctx, Delivery{Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "b"})
		f.must(t, err)
		if !slices.Contains(said, "carl@acme.test") {
			t.Fatalf("carl not mailed after unsuppress: %v", said)
		}
	})
}

// Issue 12: a second bounce keeps the first record; lifting an address
// that gets mail is ErrNotFound; addresses compare case-insensitively.
func TestSuppressionRecord(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.must(t, f.SuppressAddress(f.ctx, "Gone@Else.test", SuppressedBounce, "first"))
		f.clock.Advance(48 * time.Hour)
		f.must(t, f.SuppressAddress(f.ctx, "gone@else.test", SuppressedComplaint, "second"))
		s, err := f.Suppression(f.ctx, "GONE@else.test")
		f.must(t, err)
		if s.Address != "gone@else.test" || s.Reason != SuppressedBounce || s.Detail != "first" {
			t.Fatalf("suppression %+v, want the first record", s)
		}
		if err := f.SuppressAddress(f.ctx, " ", SuppressedBounce, ""); err == nil {
			t.Fatal("empty address suppressed")
		}
		f.must(t, f.Unsuppress(f.ctx, "gone@else.test"))
		if err := f.Unsuppress(f.ctx, "gone@else.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Unsuppress: %v", err)
		}
		if _, err := f.Suppression(f.ctx, "gone@else.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Suppression after Unsuppress: %v", err)
		}
	})
}

// Issue 12: what was queued for an address before its suppression is not
// sent either: it fails with the reason, and the others still go.
func TestSuppressionFailsPendingNotifications(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
		f.must(t, f.SuppressAddress(f.ctx, "carl@acme.test", SuppressedComplaint, "abuse"))
		pending, err := f.Outbox(f.ctx, OutboxPending)
		f.must(t, err)
		if slices.ContainsFunc(pending, func(it OutboxItem) bool { return it.To == "carl@acme.test" }) || !slices.ContainsFunc(pending, func(it OutboxItem) bool { return it.To == "ann@acme.test" }) {
			t.Fatalf("pending after suppressing carl: %+v", pending)
		}
		failed, err := f.Outbox(f.ctx, OutboxFailed)
		f.must(t, err)
		if len(failed) != 1 || failed[0].To != "carl@acme.test" || !strings.Contains(failed[0].LastError, "suppressed (complaint)") {
			t.Fatalf("failed %+v", failed)
		}
	})
}
