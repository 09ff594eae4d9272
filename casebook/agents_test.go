package casebook

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/casemail/casemail/templates"
)

// supportFixture is newFixture with two teams: l1 (members agent and agnes,
// the default team) and l2 (a distribution list), and a duty manager told
// of escalations.
func supportFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	b, err := Open(filepath.Join(t.TempDir(), "cb.db"), Options{
		Now:             clk.Now,
		InitialResponse: map[string]time.Duration{"P3": time.Hour},
		MessageIDDomain: "support.test",
		Teams: []Team{
			{Name: "l1", Members: []string{"agent@support.test", "agnes@support.test"}, Locale: "fr"},
			{Name: "l2", Address: "l2@support.test"},
		},
		DefaultTeam:      "l1",
		EscalationNotify: []string{"duty@support.test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f := &fixture{Book: b, clock: clk, ctx: context.Background()}
	for _, a := range []Account{
		{Address: "ann@acme.test", Name: "Ann Smith", Verified: true, Locale: "en"},
		{Address: "carl@acme.test", Verified: true},
		{Address: "agent@support.test", Verified: true, Agent: true},
		{Address: "agnes@support.test", Name: "Agnès Durand", Verified: true, Agent: true},
	} {
		f.must(t, b.AddAccount(f.ctx, a))
	}
	f.must(t, b.CreateOrg(f.ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	return f
}

// sent is the pending outbox as "template to" pairs, cleared after.
func (f *fixture) sent(t *testing.T) []string {
	t.Helper()
	items, err := f.Outbox(f.ctx, OutboxPending)
	f.must(t, err)
	var out []string
	for _, it := range items {
		out = append(out, string(it.Template)+" "+it.To)
	}
	f.clearOutbox(t)
	slices.Sort(out)
	return out
}

// Who at support hears of what (issue 11): the team while nobody has the
// case, then its assignee only; never the author of the change, never a
// customer or watcher; customers never get agent mail, and an agent's
// public answer reaches the customer under the agent's name.
func TestAgentsHearOfTheirCases(t *testing.T) {
	f := supportFixture(t)
	c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
	if c.Team != "l1" {
		t.Fatalf("team = %q, want the default team l1", c.Team)
	}
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"opened: the whole team", func() error { return nil }, []string{
			"agent_case_opened agent@support.test", "agent_case_opened agnes@support.test",
			"case_opened ann@acme.test", "case_opened_watcher carl@acme.test"}},
		{"customer comment: the team", func() error {
			_, err := f.AddComment(f.ctx, c.ID, "carl@acme.test", "still down")
			return err
		}, []string{"agent_comment_added agent@support.test", "agent_comment_added agnes@support.test", "comment_added ann@acme.test"}},
		{"internal note: the other agents only", func() error {
			_, err := f.AddInternalNote(f.ctx, c.ID, "agent@support.test", "client VIP")
			return err
		}, []string{"agent_comment_added agnes@support.test"}},
		{"assigned by a colleague: the assignee", func() error {
			_, err := f.Assign(f.ctx, c.ID, "agnes@support.test", "agent@support.test")
			return err
		}, []string{"agent_case_assigned agnes@support.test"}},
		{"public answer: customers only", func() error {
			_, err := f.AddComment(f.ctx, c.ID, "agnes@support.test", "fixed")
			return err
		}, []string{"comment_added ann@acme.test", "comment_added carl@acme.test"}},
		{"customer reply: the assignee only", func() error {
			_, err := f.AddComment(f.ctx, c.ID, "ann@acme.test", "thanks")
			return err
		}, []string{"agent_comment_added agnes@support.test", "comment_added carl@acme.test"}},
		{"escalated (R15): the assignee and the duty manager", func() error {
			f.clock.Advance(2 * time.Hour)
			return f.Escalate(f.ctx, c.ID, EscalationReasons[0], "ann@acme.test")
		}, []string{"agent_case_escalated agnes@support.test", "agent_case_escalated duty@support.test",
			"case_escalated ann@acme.test", "case_escalated carl@acme.test"}},
	}
	for _, s := range steps {
		if s.name != steps[0].name {
			f.must(t, s.do())
		}
		if got := f.sent(t); !slices.Equal(got, s.want) {
			t.Errorf("%s:\n got %v\nwant %v", s.name, got, s.want)
		}
	}
	items, err := f.Outbox(f.ctx, OutboxSent)
	f.must(t, err)
	for _, it := range items {
		if it.Template.ForAgents() && (it.To == "ann@acme.test" || it.To == "carl@acme.test") {
			t.Errorf("a customer got agent mail %s", it.Template)
		}
		if it.Template == templates.CommentAdded && it.Data["body"] == "fixed" && (it.Data["author"] != "Agnès Durand" || it.Data["from_name"] != "Agnès Durand") {
			t.Errorf("the answer names %q / %q, want the agent's name and never their address", it.Data["author"], it.Data["from_name"])
		}
		if it.Template == templates.AgentCaseOpened && (it.Data["requester_name"] != "Ann Smith" || it.Data["watchers"] != "carl@acme.test" || it.Locale != "fr") {
			t.Errorf("agent_case_opened data %v, locale %s", it.Data, it.Locale)
		}
	}
}

// A route's team, a distribution list, and what "route test" prints:
// Audience names the agents Record mails, and a refused or quarantined
// mail that claimed a case is told to them (issue 11).
func TestAgentAudienceAgreesWithRecord(t *testing.T) {
	f := supportFixture(t)
	open := Delivery{Message: f.inbound("o1"), Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Team: "l2", Title: "t", Requester: "ann@acme.test"}}
	got, err := f.Audience(f.ctx, open)
	f.must(t, err)
	if want := []string{"ann@acme.test", "l2@support.test"}; !slices.Equal(got, want) {
		t.Errorf("Audience(open) = %v, want %v", got, want)
	}
	rec, err := f.Record(f.ctx, open)
	f.must(t, err)
	if s := f.sent(t); !slices.Equal(s, []string{"agent_case_opened l2@support.test", "case_opened ann@acme.test"}) {
		t.Errorf("Record(open) queued %v", s)
	}
	id := *rec.Message.CaseID
	forged := Delivery{Message: f.inbound("q1"), Action: ActQuarantine, Claimed: id, Reason: "forged (I6)"}
	forged.Message.From = "mallory@else.test"
	got, err = f.Audience(f.ctx, forged)
	f.must(t, err)
	if !slices.Equal(got, []string{"l2@support.test"}) {
		t.Errorf("Audience(quarantine) = %v", got)
	}
	rec, err = f.Record(f.ctx, forged)
	f.must(t, err)
	if rec.Message.CaseID != nil {
		t.Errorf("a forged claim was linked to case %d (I6)", *rec.Message.CaseID)
	}
	items, err := f.Outbox(f.ctx, OutboxPending)
	f.must(t, err)
	if len(items) != 1 || items[0].Template != templates.AgentRefused || items[0].Data["author"] != "mallory@else.test" || items[0].Data["reason"] != "forged (I6)" {
		t.Errorf("quarantine queued %+v", items)
	}
}
