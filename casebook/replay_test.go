package casebook

import (
	"strings"
	"testing"
)

// I2, I4: a replay is applied although the fingerprint is known, is recorded
// beside the first outcome, and replaying twice has one effect.
func TestReplayHasOneEffect(t *testing.T) {
	f := newFixture(t)
	rec, err := f.Record(f.ctx, Delivery{Message: f.inbound("r1"), Action: ActRefuse, Reason: "no route"})
	f.must(t, err)
	id := rec.Message.ID
	open := Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Description: "d", Requester: "ann@acme.test"}, Reason: "route cloud"}

	dry, err := f.Replay(f.ctx, id, open, true)
	f.must(t, err)
	if !dry.DryRun || dry.Outcome != OutcomeCaseOpened || dry.Changed {
		t.Errorf("dry run = %+v", dry)
	}
	if cs, _ := f.Queue(f.ctx, QueueFilter{}); len(cs) != 0 {
		t.Fatalf("a dry run opened %d cases", len(cs))
	}
	for i := 0; i < 2; i++ {
		r, err := f.Replay(f.ctx, id, open, false)
		f.must(t, err)
		if r.Outcome != OutcomeCaseOpened || r.CaseID == nil || len(r.Replays) != 1 || r.Message.Outcome != OutcomeRefused {
			t.Errorf("replay %d = %+v", i+1, r)
		}
		if r.Changed != (i == 0) {
			t.Errorf("replay %d changed = %v", i+1, r.Changed)
		}
	}
	if cs, _ := f.Queue(f.ctx, QueueFilter{}); len(cs) != 1 {
		t.Errorf("two replays opened %d cases, want 1", len(cs))
	}
	m, err := f.Message(f.ctx, id)
	f.must(t, err)
	if m.Outcome != OutcomeRefused || m.CaseID == nil {
		t.Errorf("the first outcome must stay, with the case now known: %+v", m)
	}
}

// A quarantined mail is released once, as a comment by its sender or as a
// new case the opening rules still apply to.
func TestRelease(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
	quarantine := func(fp string) int64 {
		rec, err := f.Record(f.ctx, Delivery{Message: f.inbound(fp), Action: ActQuarantine, CaseID: c.ID, Reason: "token expired"})
		f.must(t, err)
		return rec.Message.ID
	}
	q1 := quarantine("q1")
	f.clearOutbox(t)
	_, err := f.Release(f.ctx, q1, c.ID, NewCase{}, "here are the logs", "full", "ann@acme.test")
	if RuleOf(err) != "R7" {
		t.Errorf("release by a customer: %v", err)
	}
	r, err := f.Release(f.ctx, q1, c.ID, NewCase{}, "here are the logs", "full", "agent@support.test")
	f.must(t, err)
	if r.Outcome != OutcomeCommentAdded || *r.CaseID != c.ID {
		t.Errorf("release = %+v", r)
	}
	got, _ := f.Case(f.ctx, c.ID)
	if len(got.Comments) != 1 || got.Comments[0].Author != "ann@acme.test" || got.Comments[0].Body != "here are the logs" {
		t.Errorf("comments = %+v", got.Comments)
	}
	items, _ := f.Outbox(f.ctx, OutboxPending)
	if len(items) != 1 || items[0].To != "carl@acme.test" {
		t.Errorf("a released comment is told like any other: %+v", items)
	}
	if _, err := f.Release(f.ctx, q1, c.ID, NewCase{}, "again", "", ""); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("second release: %v", err)
	}
	q2 := quarantine("q2")
	r, err = f.Release(f.ctx, q2, 0, NewCase{Org: "acme", Product: "cloud", Title: "from quarantine"}, "b", "", "")
	f.must(t, err)
	if r.Outcome != OutcomeCaseOpened || *r.CaseID == c.ID {
		t.Errorf("release as a new case = %+v", r)
	}
	q3 := quarantine("q3")
	_, err = f.Release(f.ctx, q3, 0, NewCase{Org: "globex", Product: "cloud", Title: "x"}, "b", "", "")
	if RuleOf(err) == "" {
		t.Errorf("a new case for an organisation the sender is not in: %v", err)
	}
	ok, err := f.Record(f.ctx, Delivery{Message: f.inbound("ok"), Action: ActIgnore})
	f.must(t, err)
	if _, err := f.Release(f.ctx, ok.Message.ID, c.ID, NewCase{}, "b", "", ""); err == nil || !strings.Contains(err.Error(), "not quarantined") {
		t.Errorf("release of a message not quarantined: %v", err)
	}
}

// account set/disable, org set, outbox retry.
func TestAdmin(t *testing.T) {
	f := newFixture(t)
	name, locale, yes := "Carl Dupont", "en", true
	a, err := f.UpdateAccount(f.ctx, "Carl@acme.test", AccountChanges{Name: &name, Locale: &locale, Agent: &yes})
	f.must(t, err)
	if a.Name != name || a.Locale != "en" || !a.Agent {
		t.Errorf("account = %+v", a)
	}
	bad := "de"
	if _, err := f.UpdateAccount(f.ctx, "carl@acme.test", AccountChanges{Locale: &bad}); err == nil {
		t.Error("locale de accepted")
	}
	_, err = f.DisableAccount(f.ctx, "ann@acme.test")
	f.must(t, err)
	_, err = f.OpenCase(f.ctx, NewCase{Org: "acme", Product: "cloud", Title: "x", Requester: "ann@acme.test"})
	if RuleOf(err) != "R1" || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("a disabled account opened a case: %v", err)
	}
	all, err := f.Accounts(f.ctx)
	f.must(t, err)
	if len(all) != 5 || all[0].Address != "agent@support.test" {
		t.Errorf("accounts = %+v", all)
	}
	oname := "ACME Corp"
	o, err := f.UpdateOrg(f.ctx, "acme", OrgChanges{Name: &oname, Owner: "carl@acme.test", Entitle: []string{"mail"}})
	f.must(t, err)
	if o.Name != oname || o.Owner != "carl@acme.test" || strings.Join(o.Products, ",") != "cloud,mail" {
		t.Errorf("org = %+v", o)
	}
	if _, err := f.UpdateOrg(f.ctx, "acme", OrgChanges{Owner: "nobody@x.test"}); err == nil {
		t.Error("an owner without an account accepted")
	}

	c := f.open(t, "globex", "bob@globex.test", "x")
	items, _ := f.Outbox(f.ctx, OutboxPending)
	f.must(t, f.MarkFailed(f.ctx, items[0].ID, "550 no such user"))
	it, err := f.RetryOutbox(f.ctx, items[0].ID)
	f.must(t, err)
	if it.Status != OutboxPending || it.LastError != "" || *it.CaseID != c.ID {
		t.Errorf("retried = %+v", it)
	}
	f.must(t, f.MarkFailed(f.ctx, items[0].ID, "550 again"))
	again, err := f.RetryFailed(f.ctx)
	f.must(t, err)
	if len(again) != 1 || again[0].ID != items[0].ID {
		t.Errorf("retry --failed = %+v", again)
	}
	f.must(t, f.MarkSent(f.ctx, items[0].ID, "s", f.clock.Now()))
	if _, err := f.RetryOutbox(f.ctx, items[0].ID); err == nil {
		t.Error("a sent notification retried")
	}
}
