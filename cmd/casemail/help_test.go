package main

import (
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"
)

// A new user types a group's name ("casemail case", "casemail help case")
// or a mistyped command: the answer names what they typed and, for a group,
// lists its commands, instead of an internal rewriting like "case --help".
func TestHelpForGroupsAndUnknownCommands(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		args           []string
		code           int
		stdout, stderr []string // each must appear
		notStderr      string
	}{
		{[]string{"help", "case"}, 0, []string{"casemail case list", "casemail case open", "casemail case watchers"}, nil, "--help"},
		{[]string{"case", "--help"}, 0, []string{"casemail case list", "casemail case close"}, nil, "--help"},
		{[]string{"account"}, 2, nil, []string{"casemail account add", "casemail account disable"}, ""},
		{[]string{"help", "foo"}, 2, nil, []string{`unknown command "foo"`}, "--help"},
		{[]string{"case", "frobnicate", "1"}, 2, nil, []string{`unknown command "case frobnicate"`, `casemail help case`}, ""},
		{[]string{"no-such-command"}, 2, nil, []string{`unknown command "no-such-command"`}, ""},
		{[]string{"--version"}, 0, []string{"casemail "}, nil, ""},
		{[]string{"--config", "x.toml"}, 2, nil, []string{"no command given"}, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs, code := c.run("", tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q, stderr %q", code, tc.code, out, errs)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if tc.notStderr != "" && strings.Contains(errs, tc.notStderr) {
				t.Errorf("stderr shows %q:\n%s", tc.notStderr, errs)
			}
		})
	}
}

// The command list has no trailing blanks after commands without arguments
// ("version ", "config example ").
func TestHelpLinesEndClean(t *testing.T) {
	out := newCLI(t).ok("help")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("help line ends with a blank: %q", l)
		}
	}
}

// The "http listening" log line says the customer view is served when
// [http] public_url is set, not only /healthz and /metrics.
func TestHTTPPathsLogged(t *testing.T) {
	for _, tc := range []struct{ publicURL, want string }{
		{"", "/healthz /metrics"},
		{"https://desk.example.test", "/healthz /metrics, the customer view at https://desk.example.test"},
	} {
		if got := httpPaths(tc.publicURL); got != tc.want {
			t.Errorf("httpPaths(%q) = %q, want %q", tc.publicURL, got, tc.want)
		}
	}
}

// message replay --dry-run of a mail today's config decides the same way
// says it would still be so, and never "replayed": nothing was applied.
func TestReplayDryRunUnchanged(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := supportCLI(t, "")
		lost := "From: ann@acme.test\r\nTo: cloud@support.test\r\nSubject: Backup failed\r\nMessage-ID: <lost@acme.test>\r\n\r\nLast night's backup failed.\r\n"
		if _, errs, code := c.run(lost, "deliver", "--recipient", "cloud@support.test"); code != 0 {
			t.Fatal(errs)
		}
		out := c.ok("message", "replay", "1", "--dry-run")
		if !strings.Contains(out, "would still be quarantined") || strings.Contains(out, "replayed") {
			t.Errorf("dry run of an unchanged decision: %q", out)
		}
		if dry := decode[map[string]any](t, c.ok("message", "replay", "1", "--dry-run", "--json")); dry["dry_run"] != true {
			t.Errorf("--json of a dry run: %v", dry)
		}
	})
}
