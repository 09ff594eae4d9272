package ingest

import (
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
)

// A watcher an agent adds with "#watch" is in the case's history as added
// by that agent, like every other command of the mail, not by the console
// ("-"): the history says who did what (R8).
func TestWatchCommandNamesTheAgent(t *testing.T) {
	h, signer := agentHarness(t)
	out := h.receive(h.mail("ann@acme.test", "support@support.test", "VM down", "It is down."), "support@support.test")
	h.want(out, "case_opened", "")
	to := address.ForReply("support", signer.Sign(out.CaseID, "agnes@support.test", time.Now().Add(time.Hour)), "support.test")
	h.receive(h.mail("agnes@support.test", to, "Re: [Case #1] VM down", "#watch dave@acme.test\n"), to)
	events, err := h.book.Events(h.ctx, out.CaseID)
	h.must(err)
	found := false
	for _, ev := range events {
		if ev.Kind == casebook.EventWatcherAdded {
			found = true
			if ev.By != "agnes@support.test" {
				t.Errorf("watcher added by %q, want the agent: %+v", ev.By, ev)
			}
		}
	}
	if !found {
		t.Fatalf("no watcher_added event: %+v", events)
	}
}
