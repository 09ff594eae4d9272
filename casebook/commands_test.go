package casebook

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/casemail/casemail/templates"
)

// I4, issue 11: an agent's commands are applied with the record of their
// mail, inside a group commit: a refused command is answered to the agent
// and undone alone, and neither fails the mail (which the gateway would
// decide again) nor its neighbours; a mail the rules refuse (R13) is still
// refused alone. The same mail again applies nothing (I2).
func TestAgentCommandsInBatch(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := batchFixture(t, 3)
		c := f.open(t, "acme", "ann@acme.test", "commanded")
		other := f.open(t, "acme", "ann@acme.test", "neighbour")
		closed := f.open(t, "acme", "ann@acme.test", "closed one")
		f.must(t, f.CloseCase(f.ctx, closed.ID, "agent@support.test"))
		f.clearOutbox(t)

		agentMail := Delivery{Action: ActComment, CaseID: c.ID, Author: "agent@support.test", Body: "Restarted.", AssignOnReply: true,
			Commands: []Command{
				{Line: "#close", Verb: "close"}, // last, whatever its place
				{Line: "#priority P9", Verb: "priority", Arg: "P9"},
				{Line: "#watch dave@acme.test", Verb: "watch", Arg: "dave@acme.test"},
			},
			CommandReply: map[string]string{"subject": "Re: commanded"}}
		deliveries := []Delivery{
			agentMail,
			{Action: ActComment, CaseID: other.ID, Author: "ann@acme.test", Body: "Any news?"},
			{Action: ActComment, CaseID: closed.ID, Author: "ann@acme.test", Body: "reopen?"},
		}
		recs := make([]Recorded, len(deliveries))
		errs := make([]error, len(deliveries))
		var wg sync.WaitGroup
		for i, d := range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.Message = Message{Fingerprint: fmt.Sprint("cmd", i), From: d.Author, Transport: "smtp"}
				recs[i], errs[i] = f.RecordRaw(f.ctx, []byte(fmt.Sprintf("Subject: %d\r\n\r\n%s\r\n", i, d.Body)), d)
			}()
		}
		wg.Wait()
		if st := f.BatchStats(); st.Batches != 1 {
			t.Fatalf("want the mails in one commit, got %+v", st)
		}
		if errs[0] != nil || recs[0].Message.Outcome != OutcomeCommentAdded {
			t.Fatalf("the agent's mail: %+v, %v; want its comment kept", recs[0].Message, errs[0])
		}
		if errs[1] != nil {
			t.Errorf("the neighbour was refused: %v", errs[1])
		}
		wantRule(t, errs[2], "R13")

		var results []string
		for _, r := range recs[0].Commands {
			results = append(results, fmt.Sprintf("%s refused=%t", r.Command.Line, r.Refused != ""))
		}
		want := []string{"assign_on_first_reply refused=false", "#priority P9 refused=true", "#watch dave@acme.test refused=false", "#close refused=false"}
		if !slices.Equal(results, want) {
			t.Errorf("commands %q\nwant     %q", results, want)
		}
		got, err := f.Case(f.ctx, c.ID)
		f.must(t, err)
		if got.Status != StatusClosed || got.Priority != "P3" || got.Assignee != "agent@support.test" || !slices.Contains(got.Watchers, "dave@acme.test") ||
			len(got.Comments) != 1 || got.Comments[0].Body != "Restarted." {
			t.Errorf("case after the agent's mail: status %s, priority %s, assignee %q, watchers %v, comments %d",
				got.Status, got.Priority, got.Assignee, got.Watchers, len(got.Comments))
		}
		if n, err := f.Case(f.ctx, other.ID); err != nil || len(n.Comments) != 1 {
			t.Errorf("the neighbour's comment: %v %v", n.Comments, err)
		}

		items, err := f.Outbox(f.ctx, OutboxPending)
		f.must(t, err)
		var refusals []OutboxItem
		for _, it := range items {
			if it.Template == templates.AgentCommandRefused {
				refusals = append(refusals, it)
			}
		}
		if len(refusals) != 1 || refusals[0].To != "agent@support.test" || refusals[0].Data["command"] != "#priority P9" ||
			!strings.Contains(refusals[0].Data["reason"], "P1, P2, P3 ou P4") || refusals[0].Data["subject"] != "Re: commanded" {
			t.Errorf("refusals answered: %+v; want one, to the agent, naming #priority P9 and why, in French (the agent's locale)", refusals)
		}
		f.clearOutbox(t)

		// I2: the same mail again is a duplicate: no command runs again
		// (a second #close would be refused and answered).
		d := agentMail
		d.Message = Message{Fingerprint: "cmd0", From: d.Author, Transport: "smtp"}
		rec, err := f.Record(f.ctx, d)
		f.must(t, err)
		if !rec.Duplicate || len(rec.Commands) != 0 {
			t.Errorf("the same mail again: duplicate %t, commands %+v", rec.Duplicate, rec.Commands)
		}
		if items, _ := f.Outbox(f.ctx, OutboxPending); len(items) != 0 {
			t.Errorf("a duplicate queued %d mails", len(items))
		}
	})
}

// The command line keeps its answers: CloseCase, Assign, Set and
// AddWatcherBy, now wrappers of the cores a mail's record shares, refuse
// what they refused, with the same words (R11, R7).
func TestCommandLineRefusalsUnchanged(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x")
		tests := []struct {
			name string
			do   func() error
			want string
		}{
			{"priority out of range", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{Priority: "P9"}, ""); return err }, `priority must be P1..P4, not "P9"`},
			{"nothing to change", func() error { _, err := f.Set(f.ctx, c.ID, CaseFields{}, ""); return err }, "nothing to change"},
			{"assign a customer", func() error { _, err := f.Assign(f.ctx, c.ID, "ann@acme.test", ""); return err }, "is not an active agent account"},
			{"watch a non-address", func() error { return f.AddWatcherBy(f.ctx, c.ID, "not an address", "") }, "is not an email address"},
			{"close twice", func() error {
				f.must(t, f.CloseCase(f.ctx, c.ID, "agent@support.test"))
				return f.CloseCase(f.ctx, c.ID, "agent@support.test")
			}, "is already closed"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.do(); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("got %v, want an error saying %q", err, tt.want)
				}
			})
		}
	})
}

// I4: a mail too big to be held in memory is recorded by Record, not in a
// group commit: its commands are applied in that transaction all the same.
func TestAgentCommandsWithRecord(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "big logs")
		f.clearOutbox(t)
		rec, err := f.Record(f.ctx, Delivery{Action: ActIgnore, CaseID: c.ID, Author: "agent@support.test",
			Message: f.inbound("big"),
			Commands: []Command{{Line: "#assign me", Verb: "assign", Arg: "agent@support.test"},
				{Line: "#priority p1", Verb: "priority", Arg: "p1"}, {Line: "#assign carl@acme.test", Verb: "assign", Arg: "carl@acme.test"}}})
		f.must(t, err)
		if rec.Message.Outcome != OutcomeIgnored || len(rec.Commands) != 3 || rec.Commands[0].Refused != "" || rec.Commands[1].Refused != "" ||
			!strings.Contains(rec.Commands[2].Refused, "not an active agent") {
			t.Fatalf("recorded %+v", rec)
		}
		got, err := f.Case(f.ctx, c.ID)
		f.must(t, err)
		if got.Assignee != "agent@support.test" || got.Priority != "P1" {
			t.Errorf("assignee %q, priority %s: want the agent and P1", got.Assignee, got.Priority)
		}
	})
}
