package main

import (
	"os"
	"strings"
	"testing"
)

// config check refuses a route naming a team that does not exist and,
// asking the store, a team member who is not an agent account, each with
// its line (issue 11); a team of agents passes.
func TestConfigCheckTeams(t *testing.T) {
	tests := []struct {
		name, tail string
		agent      bool // make bob@example.com an agent account
		want       string
	}{
		{"route names an unknown team", "team = \"l2\"\n\n[[team]]\nname = \"l1\"\nmembers = [\"agnes@example.com\"]\n", false,
			`:19: route[0].team "l2": no [[team]] has that name (teams: l1)`},
		{"member is a customer", "team = \"l1\"\n\n[[team]]\nname = \"l1\"\nmembers = [\"agnes@example.com\", \"bob@example.com\"]\n", false,
			`:23: team[0].members[1] "bob@example.com": not an agent account`},
		{"member unknown", "\n[[team]]\nname = \"l1\"\nmembers = [\"zed@example.com\"]\n", false,
			`:22: team[0].members[0] "zed@example.com": not an agent account`},
		{"every member an agent", "team = \"l1\"\n\n[[team]]\nname = \"l1\"\nmembers = [\"agnes@example.com\", \"bob@example.com\"]\n", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			c.ok("account", "add", "agnes@example.com", "--verified", "--agent")
			if tt.agent {
				c.ok("account", "add", "bob@example.com", "--verified", "--agent")
			} else {
				c.ok("account", "add", "bob@example.com", "--verified")
			}
			text := checkCase{}.config(c.dir) + tt.tail
			if err := os.WriteFile(c.config, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out, errs, code := c.run("", "config", "check", "--config", c.config)
			if tt.want == "" {
				if code != 0 {
					t.Fatalf("exit %d: %s", code, errs)
				}
				return
			}
			if code != exConfig || !strings.Contains(errs, c.config+tt.want) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s\nconfig:\n%s", code, exConfig, tt.want, out, errs, text)
			}
		})
	}
}
