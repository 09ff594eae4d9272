package casebook

import (
	"testing"
	"time"
)

// R11, R12, R14, R15: the customer (the requester, or whoever may see the
// organisation's cases) or support decides a case's course; a watcher who
// is only copied follows it but does not close, reopen, escalate or
// follow it up for the customer.
func TestWatcherDoesNotDecide(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "VM down", "ext@partner.test")
		if err := f.CloseCase(f.ctx, c.ID, "ext@partner.test"); RuleOf(err) != "R11" {
			t.Fatalf("a watcher closed the case: err = %v, want an R11 refusal", err)
		}
		f.clock.Advance(48 * time.Hour) // past the initial response time (R15)
		if err := f.Escalate(f.ctx, c.ID, ReasonUrgency, "ext@partner.test"); RuleOf(err) != "R11" {
			t.Fatalf("a watcher escalated the case: err = %v, want an R11 refusal", err)
		}
		if ok, err := f.MayDecide(f.ctx, "ext@partner.test", c); err != nil || ok {
			t.Fatalf("MayDecide(watcher) = %v, %v", ok, err)
		}
		// The requester, and support, decide.
		f.must(t, f.CloseCase(f.ctx, c.ID, "agent@support.test"))
		if err := f.ReopenCase(f.ctx, c.ID, "ext@partner.test"); RuleOf(err) != "R11" {
			t.Fatalf("a watcher reopened the case: err = %v, want an R11 refusal", err)
		}
		if _, err := f.FollowUp(f.ctx, c.ID, "ext@partner.test", ""); RuleOf(err) != "R11" {
			t.Fatalf("a watcher opened a follow-up: err = %v, want an R11 refusal", err)
		}
		f.must(t, f.ReopenCase(f.ctx, c.ID, "ann@acme.test"))
		got, err := f.Case(f.ctx, c.ID)
		f.must(t, err)
		if got.Status != StatusOpen {
			t.Fatalf("status %s after the requester reopened", got.Status)
		}
	})
}
