package actionlink_test

import (
	"testing"
	"time"

	"github.com/casemail/casemail/actionlink"
)

// FuzzVerify feeds arbitrary tokens to Verify: it must never panic, and
// whatever it accepts must sign back to the same token (nothing but Sign's
// output is ever accepted).
func FuzzVerify(f *testing.F) {
	s := actionlink.New(secret)
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	for _, a := range actionlink.Actions {
		f.Add(s.Sign(actionlink.Link{Action: a, CaseID: 42, Recipient: "ana@example.test", Expires: now.Add(time.Hour)}))
	}
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		l, err := s.Verify(tok, now)
		if err != nil {
			return
		}
		if again := s.Sign(l); again != tok {
			t.Fatalf("accepted %q, which signs back as %q", tok, again)
		}
	})
}
