package ingest

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv/stores"
)

// failCommandWrites makes the store at loc fail while it applies an
// agent's #priority, the way a crash or a lost database would: the
// notice of a changed priority cannot be written. The mail's comment is
// written before, in the same record. The returned function repairs the
// store.
func failCommandWrites(t *testing.T, loc string) (repair func()) {
	t.Helper()
	driver, create, drop := "sqlite3", []string{
		`CREATE TRIGGER crash_command BEFORE INSERT ON outbox WHEN NEW.template = 'case_priority_changed'
		 BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END`,
	}, []string{`DROP TRIGGER crash_command`}
	if stores.Of(t) == "postgres" {
		driver, create, drop = "pgx", []string{
			`CREATE FUNCTION crash_command() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
			 IF NEW.template = 'case_priority_changed' THEN RAISE EXCEPTION 'simulated storage failure'; END IF; RETURN NEW; END $$`,
			`CREATE TRIGGER crash_command BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION crash_command()`,
		}, []string{`DROP TRIGGER crash_command ON outbox`, `DROP FUNCTION crash_command()`}
	}
	db, err := sql.Open(driver, loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(stmts []string) {
		for _, s := range stmts {
			if _, err := db.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	exec(create)
	return func() { exec(drop) }
}

// caseState is what an agent's mail with commands changes on case id, as
// one comparable line.
func caseState(h *harness, id int64) string {
	h.t.Helper()
	c, err := h.book.Case(h.ctx, id)
	h.must(err)
	var bodies []string
	for _, cm := range c.Comments {
		bodies = append(bodies, cm.Body)
	}
	slices.Sort(c.Watchers)
	return strings.Join([]string{string(c.Status), c.Priority, "assignee=" + c.Assignee, "watchers=" + strings.Join(c.Watchers, ","),
		"comments=" + strings.Join(bodies, "|")}, " ")
}

// I4: an agent's commands by mail are kept with the mail or not at all. The
// store failing while the commands are applied keeps neither the comment
// nor the commands, and the client is not answered, so it sends again
// (before, the comment was kept, the client got its 250 and the command
// was lost, answered as refused); the mail sent again after the gateway
// is restarted on the same store applies its comment and its commands
// together, once; the same mail once more, as after a crash between the
// commit and the client's 250, applies nothing twice (I2).
func TestAgentCommandsAreNeverLost(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		loc := stores.Location(t, "cb.db")
		h, signer := agentHarnessAt(t, loc)
		out := h.receive(h.mail("ann@acme.test", "support@support.test", "VM down", "It is down."), "support@support.test")
		h.want(out, "case_opened", "")
		id := out.CaseID
		h.pending()
		before := caseState(h, id)
		to := address.ForReply("support", signer.Sign(id, "agnes@support.test", time.Now().Add(time.Hour)), "support.test")
		raw := h.mail("agnes@support.test", to, "Re: [Case #1] VM down", "#priority P1\n#watch dave@acme.test\n#close\n\nWe restarted the host.\n")
		env := Envelope{Transport: TransportSMTP, MailFrom: "agnes@support.test", Recipients: []string{to}}

		repair := failCommandWrites(t, loc)
		if out, err := h.gw.Receive(h.ctx, env, strings.NewReader(raw)); err == nil {
			t.Fatalf("the store failed while #priority was applied, yet the gateway answered %+v as if all was kept", out)
		}
		if got := caseState(h, id); got != before {
			t.Errorf("after a failed record the case is\n%s\nwant it unchanged\n%s", got, before)
		}
		if got := h.pending(); len(got) != 0 {
			t.Errorf("a failed record queued %v", got)
		}
		if ms, err := h.book.Messages(h.ctx, casebook.OutcomeCommentAdded); err != nil || len(ms) != 0 {
			t.Errorf("a failed record kept the message: %v %v", ms, err)
		}
		repair()

		// The gateway restarted on the same store: the client sends again.
		h.book.Close()
		h, _ = agentGateway(t, loc)
		out = h.receive(raw, to)
		h.want(out, "comment_added", "commands: #priority P1, #watch dave@acme.test, #close")
		want := "closed P1 assignee=agnes@support.test watchers=dave@acme.test comments=We restarted the host."
		if got := caseState(h, id); got != want {
			t.Errorf("after the mail was sent again the case is\n%s\nwant\n%s", got, want)
		}
		queued := h.pending()
		wantQueued := []string{"case_closed ann@acme.test", "case_closed dave@acme.test", "case_priority_changed ann@acme.test",
			"comment_added ann@acme.test", "watcher_added dave@acme.test"}
		if !slices.Equal(queued, wantQueued) {
			t.Errorf("queued %v\nwant   %v", queued, wantQueued)
		}
		events, err := h.book.Events(h.ctx, id)
		h.must(err)

		// Once more, as a client that never saw the 250 would (I2).
		h.book.Close()
		h, _ = agentGateway(t, loc)
		if out := h.receive(raw, to); !out.Duplicate || out.Result != "comment_added" {
			t.Errorf("the same mail again: %+v, want the first outcome as a duplicate", out)
		}
		if got := caseState(h, id); got != want {
			t.Errorf("a duplicate changed the case:\n%s\nwant\n%s", got, want)
		}
		if got := h.pending(); len(got) != 0 {
			t.Errorf("a duplicate applied its commands again: %v", got)
		}
		again, err := h.book.Events(h.ctx, id)
		h.must(err)
		if len(again) != len(events) {
			t.Errorf("a duplicate added %d events to the history", len(again)-len(events))
		}
	})
}

// A refused command is answered to the agent and undone alone: the comment
// and the other commands of the mail are kept, and the mail is not decided
// again (the casebook's refusal of a record would be). I4
func TestRefusedAgentCommandKeepsTheMail(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h, signer := agentHarness(t)
		out := h.receive(h.mail("ann@acme.test", "support@support.test", "VM down", "It is down."), "support@support.test")
		h.want(out, "case_opened", "")
		id := out.CaseID
		h.pending()
		to := address.ForReply("support", signer.Sign(id, "agnes@support.test", time.Now().Add(time.Hour)), "support.test")
		tests := []struct {
			name, body     string
			result, reason string
			refused        map[string]string // command line: a part of the reason given
			state          string
		}{
			{name: "an agent who is not one", body: "#assign ann@acme.test\n#priority P2\n\nLooking into it.\n",
				result: "comment_added", reason: "public comment",
				refused: map[string]string{"#assign ann@acme.test": "not an active agent"},
				// the agent named an assignee: assign_on_first_reply stands aside, even when it is refused
				state: "open P2 assignee= watchers= comments=Looking into it."},
			{name: "assign without a name, watch twice", body: "#assign\n#watch dave@acme.test\n#watch dave@acme.test\n",
				result: "ignored", reason: "commands",
				refused: map[string]string{"#assign": "name the agent", "#watch dave@acme.test": "already watches"},
				state:   "open P2 assignee= watchers=dave@acme.test comments=Looking into it."},
			{name: "closed twice", body: "#close\n#close\n\nDone.\n", result: "comment_added", reason: "public comment",
				refused: map[string]string{"#close": "already closed"},
				state:   "closed P2 assignee=agnes@support.test watchers=dave@acme.test comments=Done.|Looking into it."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := h.receive(h.mail("agnes@support.test", to, "Re: [Case #1] VM down", tt.body), to)
				h.want(out, tt.result, tt.reason)
				if strings.Contains(out.Reason, "refused every decision") {
					t.Errorf("a refused command made the gateway decide again: %s", out.Reason)
				}
				items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
				h.must(err)
				got := map[string]string{}
				for _, it := range items {
					if it.Template == "agent_command_refused" {
						if it.To != "agnes@support.test" || it.Data["subject"] != "Re: [Case #1] VM down" || it.Data["in_reply_to"] == "" {
							t.Errorf("refusal %+v: want it to the agent, in the thread of their mail", it)
						}
						got[it.Data["command"]] = it.Data["reason"]
					}
				}
				h.pending()
				if len(got) != len(tt.refused) {
					t.Errorf("refusals answered %v, want %v", got, tt.refused)
				}
				for cmd, part := range tt.refused {
					if !strings.Contains(got[cmd], part) {
						t.Errorf("refusal of %q says %q, want %q", cmd, got[cmd], part)
					}
				}
				if s := caseState(h, id); s != tt.state {
					t.Errorf("case is\n%s\nwant\n%s", s, tt.state)
				}
			})
		}
	})
}
