package main

import (
	"context"
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
)

// Issue 12: an address suppressed after a complaint shows in "account
// show" (with or without an account) and in "case show" (watcher and
// requester), and "account unsuppress" lifts it; lifting an address that
// gets mail is an error of one sentence.
func TestAccountUnsuppress(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := doorsCLI(t)
		book := c.book(nil)
		ctx := context.Background()
		mail := "From: ann@acme.test\r\nTo: support@support.test\r\nCc: ext@partner.test\r\nSubject: VM down\r\nMessage-ID: <s1@acme.test>\r\n\r\nIt is down.\r\n"
		if _, errs, code := c.run(mail, "deliver"); code != 0 {
			t.Fatalf("deliver: %s", errs)
		}
		for _, a := range []string{"ext@partner.test", "ann@acme.test"} {
			if err := book.SuppressAddress(ctx, a, casebook.SuppressedComplaint, "complaint (abuse) about notification 1"); err != nil {
				t.Fatal(err)
			}
		}

		tests := []struct {
			name string
			args []string
			want []string
		}{
			{"account show, an account", []string{"account", "show", "ann@acme.test"}, []string{"Suppressed: no notification of any case (complaint on ", "account unsuppress ann@acme.test"}},
			{"account show, no account", []string{"account", "show", "EXT@partner.test"}, []string{"ext@partner.test (none)", "complaint"}},
			{"case show", []string{"case", "show", "1"}, []string{"Requester: ann@acme.test (no more mail: complaint", "Watcher:   ext@partner.test [cc] (no more mail: complaint: complaint (abuse)"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := c.ok(tt.args...)
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("%s:\n%s\nlacks %q", strings.Join(tt.args, " "), out, w)
					}
				}
			})
		}
		v := decode[map[string]any](t, c.ok("account", "show", "ann@acme.test", "--json"))
		if s, ok := v["suppressed"].(map[string]any); !ok || s["reason"] != "complaint" {
			t.Fatalf("account show --json: suppressed = %v", v["suppressed"])
		}

		u := decode[map[string]any](t, c.ok("account", "unsuppress", "ext@partner.test", "--json"))
		if u["address"] != "ext@partner.test" || u["was"] != "complaint" {
			t.Fatalf("unsuppress --json: %v", u)
		}
		if out := c.ok("case", "show", "1"); strings.Contains(out, "ext@partner.test [cc] (no more mail") {
			t.Fatalf("watcher still shown suppressed:\n%s", out)
		}
		c.fail("not suppressed", "account", "unsuppress", "ext@partner.test")
		c.fail("no account ext@partner.test", "account", "show", "ext@partner.test")
		if out := c.ok("account", "unsuppress", "ann@acme.test"); !strings.Contains(out, "ann@acme.test gets notifications again") {
			t.Fatalf("unsuppress: %q", out)
		}
		if out := c.ok("account", "show", "ann@acme.test"); strings.Contains(out, "Suppressed") {
			t.Fatalf("still suppressed:\n%s", out)
		}
	})
}
