package main

import (
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"
)

// sysexits.h as an MTA reads it: a wrong command line is EX_USAGE (64), not
// a temporary failure the MTA would retry for days; unusable input is
// EX_DATAERR (65) every time it is offered (I4: recorded once, I2); a real
// mail offered again is delivered (0) and says so on stderr.
func TestDeliverExitCodesOnRepeat(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		good := "From: ann@acme.test\r\nTo: support@localhost\r\nSubject: Printer on fire\r\nMessage-ID: <rep1@acme.test>\r\n\r\nHelp.\r\n"
		tests := []struct {
			name       string
			stdin      string
			args       []string
			wantCode   int
			wantStderr string // "" : stderr must be empty
		}{
			{"unknown flag", good, []string{"deliver", "--recipeint", "support@localhost"}, exUsage, "flag provided but not defined"},
			{"stray argument", good, []string{"deliver", "extra"}, exUsage, "wrong number of arguments"},
			{"garbage", "\x00\x01garbage", []string{"deliver"}, exDataErr, "not a mail"},
			{"garbage again", "\x00\x01garbage", []string{"deliver"}, exDataErr, "not a mail"},
			{"mail", good, []string{"deliver", "--recipient", "support@localhost"}, 0, ""},
			{"mail again", good, []string{"deliver", "--recipient", "support@localhost"}, 0, "already recorded as message"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, errs, code := c.run(tc.stdin, tc.args...)
				if code != tc.wantCode {
					t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, errs)
				}
				if tc.wantStderr == "" && errs != "" || !strings.Contains(errs, tc.wantStderr) {
					t.Errorf("stderr %q, want it to contain %q", errs, tc.wantStderr)
				}
				if strings.Count(strings.TrimSpace(errs), "\n") > 0 {
					t.Errorf("stderr is more than one line: %q", errs)
				}
			})
		}
	})
}
