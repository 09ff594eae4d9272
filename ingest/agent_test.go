package ingest

import (
	"context"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

func TestParseCommands(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		tests := []struct {
			name, in string
			verbs    []string
			rest     string
		}{
			{"none", "Hello\n#close\n", nil, "Hello\n#close\n"},
			{"two then text", "#priority p2\n#assign me\n\nFixed, please retry.\n", []string{"priority p2", "assign me"}, "Fixed, please retry.\n"},
			{"blank lines first", "\n\n#close\n", []string{"close"}, ""},
			{"upper case verb", "#CLOSE\nbye", []string{"close"}, "bye"},
			{"unknown word is text", "#hashtag life\n#close\n", nil, "#hashtag life\n#close\n"},
			{"hash alone is text", "#\n#close\n", nil, "#\n#close\n"},
			{"CRLF", "#note\r\nVIP customer\r\n", []string{"note"}, "VIP customer\r\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cmds, rest := parseCommands(tt.in)
				var verbs []string
				for _, c := range cmds {
					verbs = append(verbs, strings.TrimSpace(c.verb+" "+c.arg))
				}
				if !slices.Equal(verbs, tt.verbs) || rest != tt.rest {
					t.Errorf("parseCommands(%q) = %q, %q; want %q, %q", tt.in, verbs, rest, tt.verbs, tt.rest)
				}
			})
		}
	})
}

// agentHarness is newHarness with a team l1 (agent and agnes) as the
// default team, so agents hear of every case.
func agentHarness(t *testing.T) (*harness, *replytoken.Signer) {
	t.Helper()
	return agentHarnessAt(t, stores.Location(t, "cb.db"))
}

// agentHarnessAt is agentHarness on a new store at loc.
func agentHarnessAt(t *testing.T, loc string) (*harness, *replytoken.Signer) {
	t.Helper()
	h, signer := agentGateway(t, loc)
	for _, a := range []casebook.Account{
		{Address: "ann@acme.test", Verified: true},
		{Address: "carl@acme.test", Verified: true},
		{Address: "agent@support.test", Name: "Agent Smith", Verified: true, Agent: true},
		{Address: "agnes@support.test", Name: "Agnès Durand", Verified: true, Agent: true},
	} {
		h.must(h.book.AddAccount(h.ctx, a))
	}
	h.must(h.book.CreateOrg(h.ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	return h, signer
}

// agentGateway opens the casebook at loc (new or already used: a
// gateway restarted on the same store) and a gateway over it.
func agentGateway(t *testing.T, loc string) (*harness, *replytoken.Signer) {
	t.Helper()
	cfg, err := config.Parse([]byte(routes + "[[team]]\nname = \"l1\"\nmembers = [\"agent@support.test\", \"agnes@support.test\"]\n[policy]\ndefault_team = \"l1\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := casebook.Open(loc, casebook.Options{MessageIDDomain: "support.test", NoticesPerHour: 100, DefaultLocale: "en",
		Teams: []casebook.Team{{Name: "l1", Members: cfg.Teams[0].Members}}, DefaultTeam: "l1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	signer := replytoken.New(b.Secret())
	gw, err := New(b, cfg, signer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, ctx: context.Background(), book: b, gw: gw, cfg: cfg}, signer
}

// pending returns the queued mail as "template to" and marks it sent.
func (h *harness) pending() []string {
	h.t.Helper()
	items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
	h.must(err)
	var out []string
	for _, it := range items {
		out = append(out, string(it.Template)+" "+it.To)
		h.must(h.book.MarkSent(h.ctx, it.ID, "s", time.Now()))
	}
	slices.Sort(out)
	return out
}

// Agents answer by mail (issue 11): a reply to their token is a public
// comment without its commands, the first reply takes the case, commands
// apply with the CLI's rules and a refused one is answered; the note
// address makes an internal note; a customer's "#close" is text, and the
// note address works for the agent it was sent to only (I6).
func TestAgentsAnswerByMail(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h, signer := agentHarness(t)
		out := h.receive(h.mail("ann@acme.test", "support@support.test", "VM down", "It is down.", "Cc: carl@acme.test"), "support@support.test")
		h.want(out, "case_opened", "")
		id := out.CaseID
		if got := h.pending(); !slices.Contains(got, "agent_case_opened agnes@support.test") || !slices.Contains(got, "agent_case_opened agent@support.test") {
			t.Fatalf("queued %v", got)
		}
		exp := time.Now().Add(time.Hour)
		reply := func(agent string) string {
			return address.ForReply("support", signer.Sign(id, agent, exp), "support.test")
		}
		note := func(agent string) string {
			return address.ForNote("support", signer.Sign(id, agent, exp), "support.test")
		}
		steps := []struct {
			name, from, to, body string
			result, reason       string
			queued               []string
			check                func(c casebook.Case)
		}{
			{name: "agent answers with commands", from: "agnes@support.test", to: reply("agnes@support.test"),
				body: "#priority P2\n#priority P9\n\nWe restarted the host.\n\n> It is down.\n", result: "comment_added", reason: "public comment",
				queued: []string{"agent_command_refused agnes@support.test", "case_priority_changed ann@acme.test", "case_priority_changed carl@acme.test", "comment_added ann@acme.test", "comment_added carl@acme.test"},
				check: func(c casebook.Case) {
					if c.Priority != "P2" || c.Assignee != "agnes@support.test" {
						t.Errorf("priority %s, assignee %q: want P2 and the agent who answered first", c.Priority, c.Assignee)
					}
					if cm := c.Comments[0]; !cm.BySupport || cm.Internal || cm.Body != "We restarted the host." {
						t.Errorf("comment %+v", cm)
					}
				}},
			{name: "agent's internal note", from: "agnes@support.test", to: note("agnes@support.test"),
				body: "VIP customer, call them.\n", result: "comment_added", reason: "internal note",
				queued: nil, // the assignee wrote it: no other agent, and never a customer
				check: func(c casebook.Case) {
					if cm := c.Comments[0]; !cm.Internal || cm.Body != "VIP customer, call them." {
						t.Errorf("note %+v", cm)
					}
				}},
			{name: "a customer's #close is text", from: "ann@acme.test", to: reply("ann@acme.test"),
				body: "#close\nStill down.\n", result: "comment_added", reason: "R9",
				queued: []string{"agent_comment_added agnes@support.test", "comment_added carl@acme.test"},
				check: func(c casebook.Case) {
					if c.Status != casebook.StatusOpen || c.Comments[0].Body != "#close\nStill down." {
						t.Errorf("status %s, comment %q", c.Status, c.Comments[0].Body)
					}
				}},
			{name: "a customer at an agent's note address", from: "ann@acme.test", to: note("agnes@support.test"),
				body: "let me in\n", result: "quarantined", reason: "not valid for ann@acme.test",
				queued: nil}, // a forged token names no case: nothing to tell
			{name: "commands only", from: "agnes@support.test", to: reply("agnes@support.test"),
				body: "#close\n#watch dave@acme.test\n", result: "ignored", reason: "commands",
				queued: []string{"case_closed ann@acme.test", "case_closed carl@acme.test", "case_closed dave@acme.test", "watcher_added dave@acme.test"},
				check: func(c casebook.Case) {
					if c.Status != casebook.StatusClosed || !slices.Contains(c.Watchers, "dave@acme.test") {
						t.Errorf("status %s, watchers %v: want closed after #watch", c.Status, c.Watchers)
					}
				}},
		}
		var last string
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				last = h.mail(s.from, s.to, "Re: [Case #1] VM down", s.body)
				out := h.receive(last, s.to)
				h.want(out, s.result, s.reason)
				if got := h.pending(); !slices.Equal(got, s.queued) {
					t.Errorf("queued %v\nwant   %v", got, s.queued)
				}
				if s.check != nil {
					c, err := h.book.Case(h.ctx, id)
					h.must(err)
					s.check(c)
				}
			})
		}
		// I2: the commands mail delivered again is a duplicate and applies
		// nothing (a second #close would be refused and answered).
		if out := h.receive(last, reply("agnes@support.test")); !out.Duplicate {
			t.Errorf("the same mail again: %+v", out)
		}
		if got := h.pending(); len(got) != 0 {
			t.Errorf("a duplicate applied its commands again: %v", got)
		}
		sent, err := h.book.Outbox(h.ctx, casebook.OutboxSent)
		h.must(err)
		for _, it := range sent {
			if it.Template == templates.AgentCommandRefused && (it.Data["command"] != "#priority P9" || !strings.Contains(it.Data["reason"], "P1..P4")) {
				t.Errorf("refusal says %v", it.Data)
			}
			if it.Template == templates.CommentAdded && it.Data["from_name"] != "Agnès Durand" && it.Data["body"] == "We restarted the host." {
				t.Errorf("the customer's copy is not signed by the agent's name: %v", it.Data)
			}
		}
	})
}
