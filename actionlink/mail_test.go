package actionlink_test

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/actionlink"
)

// Which links a mail carries follows the case it describes: close and
// escalate while open (R11, R15); reopen only within the window (R12), the
// follow-up always once closed (R14); stop watching only for a watcher (R8).
func TestMailLinks(t *testing.T) {
	s := actionlink.New(secret)
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	links := actionlink.MailLinks(s, "https://desk.example.test/", 30*24*time.Hour)
	tests := []struct {
		name, rule, to string
		data           map[string]string
		want           []string
	}{
		{"open case, requester", "R11", "ann@x.test", map[string]string{"status": "open", "requester": "ann@x.test"},
			[]string{actionlink.KeyClose, actionlink.KeyEscalate, actionlink.KeyView}},
		// R8, R11: a watcher follows the case; the customer decides its course.
		{"open case, watcher", "R11", "carl@x.test", map[string]string{"status": "open", "requester": "ann@x.test"},
			[]string{actionlink.KeyUnwatch, actionlink.KeyView}},
		{"closed case, watcher", "R12", "carl@x.test", map[string]string{"status": "closed", "requester": "ann@x.test", "reopen_until": "2026-12-10"},
			[]string{actionlink.KeyUnwatch, actionlink.KeyView}},
		{"closed within the window", "R12", "ann@x.test", map[string]string{"status": "closed", "requester": "ann@x.test", "reopen_until": "2026-12-10"},
			[]string{actionlink.KeyFollowUp, actionlink.KeyReopen, actionlink.KeyView}},
		{"closed, last day of the window", "R12", "ann@x.test", map[string]string{"status": "closed", "reopen_until": "2026-11-29"},
			[]string{actionlink.KeyFollowUp, actionlink.KeyReopen, actionlink.KeyView}},
		{"closed after the window", "R14", "ann@x.test", map[string]string{"status": "closed", "reopen_until": "2026-11-28"},
			[]string{actionlink.KeyFollowUp, actionlink.KeyView}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := links(42, tc.to, tc.data, now)
			var keys []string
			for k, v := range got {
				keys = append(keys, k)
				tok, ok := strings.CutPrefix(v, "https://desk.example.test"+actionlink.Path)
				if !ok {
					t.Fatalf("%s: %q is not under the public URL", k, v)
				}
				l, err := s.Verify(tok, now)
				if err != nil || l.CaseID != 42 || l.Recipient != tc.to || "link_"+string(l.Action) != k {
					t.Errorf("%s: link %+v, %v", k, l, err)
				}
			}
			sort.Strings(keys)
			if !slices.Equal(keys, tc.want) {
				t.Errorf("%s: links %v, want %v", tc.rule, keys, tc.want)
			}
		})
	}
	if got := actionlink.MailLinks(s, "", time.Hour)(42, "ann@x.test", nil, now); got != nil {
		t.Errorf("no public URL, links %v", got)
	}
}
