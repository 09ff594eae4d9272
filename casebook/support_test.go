package casebook

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// I3 (the "Note interne" defect): an internal note, typed or mailed
// by an agent, is in nobody's audience and queues no mail for the customer
// or a watcher; a customer cannot write one.
func TestInternalNoteReachesNoCustomer(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
	tests := []struct {
		name string
		note func() error
	}{
		{"typed", func() error {
			_, err := f.AddInternalNote(f.ctx, c.ID, "agent@support.test", "Note interne : client VIP")
			return err
		}},
		{"mailed", func() error {
			d := Delivery{Message: f.inbound("note1"), Action: ActComment, CaseID: c.ID, Author: "agent@support.test",
				Body: "Note interne : client VIP", Internal: true, AddWatchers: []string{"boss@support.test"}}
			said, err := f.Audience(f.ctx, d)
			if err != nil {
				return err
			}
			if len(said) != 0 {
				t.Errorf("Audience of an internal note = %v, want nobody", said)
			}
			_, err = f.Record(f.ctx, d)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clearOutbox(t)
			f.must(t, tc.note())
			items, err := f.Outbox(f.ctx, OutboxPending)
			f.must(t, err)
			if len(items) != 0 {
				t.Errorf("an internal note queued %d mails, first to %s", len(items), items[0].To)
			}
		})
	}
	got, err := f.Case(f.ctx, c.ID)
	f.must(t, err)
	if len(got.Comments) != 2 || !got.Comments[0].Internal || !got.Comments[1].Internal {
		t.Errorf("comments = %+v, want two internal notes", got.Comments)
	}
	if slices.Contains(got.Watchers, "boss@support.test") {
		t.Errorf("the Cc of a note became a watcher of the customer's case: %v", got.Watchers)
	}
	// R10 search is shared with customers: a note's words find nothing.
	found, err := f.Search(f.ctx, ListFilter{Org: "acme", Viewer: "ann@acme.test"}, "VIP")
	f.must(t, err)
	if len(found) != 0 {
		t.Errorf("a customer's search finds the words of an internal note: %v", found)
	}
	_, err = f.AddInternalNote(f.ctx, c.ID, "ann@acme.test", "psst")
	if RuleOf(err) != "R7" {
		t.Errorf("a customer's internal note: err = %v, want a refusal", err)
	}
	_, err = f.Record(f.ctx, Delivery{Message: f.inbound("note2"), Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "x", Internal: true})
	if err == nil {
		t.Error("a customer's mail recorded as an internal note")
	}
}

// Every change to a case is in its history, with who and when.
func TestEventsRecordEveryChange(t *testing.T) {
	f := newFixture(t)
	f.must(t, f.AddAccount(f.ctx, Account{Address: "agnes@support.test", Verified: true, Agent: true}))
	c, err := f.OpenCase(f.ctx, NewCase{Org: "acme", Product: "cloud", Title: "Phone call", Requester: "ann@acme.test",
		Watchers: []string{"carl@acme.test"}, By: "agent@support.test"})
	f.must(t, err)
	f.must(t, f.AddWatcher(f.ctx, c.ID, "ext@partner.test"))
	f.must(t, f.Unsubscribe(f.ctx, c.ID, "ext@partner.test"))
	_, err = f.Assign(f.ctx, c.ID, "agnes@support.test", "agent@support.test")
	f.must(t, err)
	_, err = f.Set(f.ctx, c.ID, CaseFields{Priority: "P1", Title: "Phone call: VM down"}, "agnes@support.test")
	f.must(t, err)
	_, err = f.AddComment(f.ctx, c.ID, "agnes@support.test", "looking")
	f.must(t, err)
	_, err = f.AddInternalNote(f.ctx, c.ID, "agnes@support.test", "VIP")
	f.must(t, err)
	f.clock.Advance(2 * time.Hour)
	f.must(t, f.Escalate(f.ctx, c.ID, EscalationReasons[0], "ann@acme.test"))
	_, err = f.Record(f.ctx, Delivery{Message: f.inbound("q1"), Action: ActQuarantine, CaseID: c.ID, Reason: "no DKIM"})
	f.must(t, err)
	for i, claimed := range []int64{c.ID, 999} { // I6: a forged claim is told to the case it names, if there is one
		_, err = f.Record(f.ctx, Delivery{Message: f.inbound(fmt.Sprint("forged", i)), Action: ActQuarantine, Claimed: claimed, Reason: "bad token"})
		f.must(t, err)
	}
	f.must(t, f.CloseCase(f.ctx, c.ID, "agnes@support.test"))
	f.must(t, f.ReopenCase(f.ctx, c.ID, "ann@acme.test"))
	_, err = f.Assign(f.ctx, c.ID, "none", "")
	f.must(t, err)

	got, err := f.Case(f.ctx, c.ID)
	f.must(t, err)
	var lines []string
	for _, e := range got.Events {
		lines = append(lines, e.By+" "+string(e.Kind)+" "+e.Detail)
		if e.At.IsZero() {
			t.Errorf("event %s has no time", e.Kind)
		}
	}
	want := []string{
		"agent@support.test opened cli",
		"agent@support.test watcher_added carl@acme.test (cc)",
		" watcher_added ext@partner.test (manual)",
		"ext@partner.test watcher_removed ext@partner.test (unsubscribe)",
		"agent@support.test assigned agnes@support.test",
		"agnes@support.test priority P3 -> P1",
		"agnes@support.test title Phone call -> Phone call: VM down",
		"agnes@support.test comment public comment 1 by cli",
		"agnes@support.test comment internal comment 2 by cli",
		"ann@acme.test escalated " + string(EscalationReasons[0]),
		"ann@acme.test mail_quarantined message 1: no DKIM",
		"ann@acme.test mail_quarantined message 2: bad token",
		"agnes@support.test closed ",
		"ann@acme.test reopened ",
		" assigned none",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got.Assignee != "" || got.Priority != "P1" || !got.LastActivity.Equal(got.Events[len(got.Events)-1].At) {
		t.Errorf("case = assignee %q priority %s last activity %s", got.Assignee, got.Priority, got.LastActivity)
	}
}

// Assign and Set refuse what support cannot do, and change nothing then.
func TestAssignAndSetRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, "acme", "ann@acme.test", "VM down")
	f.must(t, f.CreateOrg(f.ctx, Org{Slug: "initech", Owner: "carl@acme.test", Products: []string{"mail"}}))
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"assign to a customer", func() error { _, err := f.Assign(f.ctx, c.ID, "ann@acme.test", ""); return err }, "not an active agent"},
		{"assign by a customer", func() error { _, err := f.Assign(f.ctx, c.ID, "agent@support.test", "ann@acme.test"); return err }, "not an agent"},
		{"assign a missing case", func() error { _, err := f.Assign(f.ctx, 99, "agent@support.test", ""); return err }, "no case 99"},
		{"bad priority", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{Priority: "P0"}, ""); return err }, "P1..P4"},
		{"nothing to set", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{}, ""); return err }, "nothing to change"},
		{"org not entitled (R3)", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{Org: "initech"}, ""); return err }, "cloud"},
		{"unknown org", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{Org: "nowhere"}, ""); return err }, "no organisation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	got, err := f.Case(f.ctx, c.ID)
	f.must(t, err)
	if got.Org != "acme" || got.Assignee != "" || len(got.Events) != 1 {
		t.Errorf("after refusals: org %s assignee %q events %v", got.Org, got.Assignee, got.Events)
	}
	if _, err := f.Set(f.ctx, 99, CaseFields{Title: "x"}, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Set on a missing case = %v, want ErrNotFound", err)
	}
}

// The queue crosses organisations, most urgent first then oldest, with filters.
func TestQueue(t *testing.T) {
	f := newFixture(t)
	a := f.open(t, "acme", "ann@acme.test", "old P3")
	f.clock.Advance(time.Hour)
	g := f.open(t, "globex", "bob@globex.test", "new P3")
	f.clock.Advance(time.Hour)
	u, err := f.OpenCase(f.ctx, NewCase{Org: "globex", Product: "cloud", Title: "urgent", Requester: "bob@globex.test", Priority: "P1", Team: "l2"})
	f.must(t, err)
	_, err = f.Assign(f.ctx, g.ID, "agent@support.test", "")
	f.must(t, err)
	me, none := "agent@support.test", ""
	tests := []struct {
		name string
		f    QueueFilter
		want []int64
	}{
		{"all", QueueFilter{}, []int64{u.ID, a.ID, g.ID}},
		{"org", QueueFilter{Org: "globex"}, []int64{u.ID, g.ID}},
		{"team", QueueFilter{Team: "l2"}, []int64{u.ID}},
		{"assignee", QueueFilter{Assignee: &me}, []int64{g.ID}},
		{"unassigned", QueueFilter{Assignee: &none}, []int64{u.ID, a.ID}},
		{"priority", QueueFilter{Priority: "P3"}, []int64{a.ID, g.ID}},
		{"older than 90m", QueueFilter{OlderThan: 90 * time.Minute}, []int64{a.ID}},
		{"limit", QueueFilter{Limit: 2}, []int64{u.ID, a.ID}},
		{"an agent's teams", QueueFilter{Teams: []string{"l2"}}, []int64{u.ID}},
		{"no teams", QueueFilter{Teams: []string{}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := f.Queue(f.ctx, tc.f)
			f.must(t, err)
			var ids []int64
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("ids = %v, want %v", ids, tc.want)
			}
		})
	}
}

// Issue 11: each notification speaks the recipient's language and names
// people by their name: a watcher reads about "la demande d'Ann", the
// escalation reason and a follow-up's title are French in French mail.
func TestNotificationsNamePeopleInTheirLanguage(t *testing.T) {
	f := newFixture(t)
	name := "Ann Martin"
	_, err := f.UpdateAccount(f.ctx, "ann@acme.test", AccountChanges{Name: &name})
	f.must(t, err)
	oname := "ACME Corp"
	_, err = f.UpdateOrg(f.ctx, "acme", OrgChanges{Name: &oname})
	f.must(t, err)
	c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
	g := f.open(t, "globex", "bob@globex.test", "Disk slow")
	f.must(t, f.CloseCase(f.ctx, g.ID, ""))
	f.clearOutbox(t)
	_, err = f.AddComment(f.ctx, c.ID, "agent@support.test", "On it")
	f.must(t, err)
	f.clock.Advance(48 * time.Hour)
	f.must(t, f.Escalate(f.ctx, c.ID, ReasonUrgency, "ann@acme.test"))
	fu, err := f.FollowUp(f.ctx, g.ID, "bob@globex.test", "")
	f.must(t, err)
	items, err := f.Outbox(f.ctx, OutboxPending)
	f.must(t, err)
	got := map[string]map[string]string{}
	for _, it := range items {
		got[string(it.Template)+" "+it.To] = it.Data
	}
	tests := []struct {
		item, key, want string
	}{
		{"comment_added carl@acme.test", "requester_of", "d'Ann Martin"},
		{"comment_added carl@acme.test", "requester_display", "Ann Martin"},
		{"comment_added carl@acme.test", "org_display", "ACME Corp"},
		{"comment_added ann@acme.test", "requester_of", ""},          // her own request
		{"comment_added ann@acme.test", "author_display", "Support"}, // an agent without a name answers as support, never by address
		{"case_escalated carl@acme.test", "escalation_reason", "changement de l'urgence du problème"},
		{"followup_opened bob@globex.test", "title", fmt.Sprintf("Suivi de la demande n° %d : Disk slow", g.ID)},
		{"followup_opened bob@globex.test", "body", fmt.Sprintf("Suite de la demande n° %d.", g.ID)},
		{"followup_opened bob@globex.test", "org_display", "globex"},
	}
	for _, tc := range tests {
		if d := got[tc.item]; d[tc.key] != tc.want {
			t.Errorf("%s: %s = %q, want %q", tc.item, tc.key, d[tc.key], tc.want)
		}
	}
	if fu.Title != fmt.Sprintf("Suivi de la demande n° %d : Disk slow", g.ID) {
		t.Errorf("follow-up title %q", fu.Title)
	}
	// R19: a notice knows whether its recipient has an account.
	f.clearOutbox(t)
	for i, to := range []string{"carl@acme.test", "who@else.test"} {
		_, err := f.Record(f.ctx, Delivery{Message: f.inbound(fmt.Sprint("r19-", i)), Action: ActRefuse, Notice: &Notice{Template: "notice_unknown_sender", To: to, Data: map[string]string{}}})
		f.must(t, err)
	}
	notices, _ := f.Outbox(f.ctx, OutboxPending)
	if len(notices) != 2 || notices[0].Data["recipient_known"] != "1" || notices[1].Data["recipient_known"] != "" {
		t.Errorf("recipient_known: %+v", notices)
	}
	for k, d := range got {
		for key := range d {
			if strings.Contains(key, "@") {
				t.Errorf("%s: per-locale key %q left in the data", k, key)
			}
		}
	}
	if en := got["case_escalated ann@acme.test"]["escalation_reason"]; en != ReasonUrgency.Description() {
		t.Errorf("English escalation reason = %q", en)
	}
}

func TestPossessive(t *testing.T) {
	for _, tc := range []struct{ name, locale, want string }{
		{"Alice", "fr", "d'Alice"}, {"Bruno", "fr", "de Bruno"}, {"Hélène", "fr", "d'Hélène"}, {"Émile", "fr", "d'Émile"},
		{"ann@acme.test", "fr", "d'ann@acme.test"}, {"Alice", "en", "Alice's"}, {"James", "en", "James'"},
	} {
		if got := possessive(tc.name, tc.locale); got != tc.want {
			t.Errorf("possessive(%q, %s) = %q, want %q", tc.name, tc.locale, got, tc.want)
		}
	}
}

// The customer and watchers are told of a new priority, not of support's
// own filing (team, title); the author of the change is not told.
func TestSetNotifiesPriorityOnly(t *testing.T) {
	f := newFixture(t)
	c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
	tests := []struct {
		name   string
		fields CaseFields
		want   []string
	}{
		{"team", CaseFields{Team: "l2"}, nil},
		{"priority", CaseFields{Priority: "P1"}, []string{"ann@acme.test", "carl@acme.test"}},
		{"same priority", CaseFields{Priority: "P1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clearOutbox(t)
			_, err := f.Set(f.ctx, c.ID, tc.fields, "agent@support.test")
			f.must(t, err)
			items, _ := f.Outbox(f.ctx, OutboxPending)
			var to []string
			for _, it := range items {
				if it.Template != "case_priority_changed" || it.Data["previous_priority"] != "P3" || it.Data["priority"] != "P1" {
					t.Errorf("queued %+v", it)
				}
				to = append(to, it.To)
			}
			if !slices.Equal(to, tc.want) {
				t.Errorf("told %v, want %v", to, tc.want)
			}
		})
	}
}
