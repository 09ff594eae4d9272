package casebook

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The sign-in link of the customer view: one mail per known address, used
// once, within its 15 minutes.
func TestSignInLink(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		var token string
		link := func(tok string) string { token = tok; return "https://desk.test/signin/" + tok }

		// An unknown address gets no mail, and the caller is told only so it can log nothing.
		sent, err := f.RequestSignIn(f.ctx, "nobody@acme.test", 15*time.Minute, link)
		if err != nil || sent || token != "" {
			t.Fatalf("unknown address: sent=%v err=%v", sent, err)
		}
		sent, err = f.RequestSignIn(f.ctx, "Ann@Acme.test", 15*time.Minute, link)
		if err != nil || !sent {
			t.Fatalf("known address: sent=%v err=%v", sent, err)
		}
		items, err := f.Outbox(f.ctx, OutboxPending)
		if err != nil {
			t.Fatal(err)
		}
		last := items[len(items)-1]
		if last.Template != "signin_link" || last.To != "ann@acme.test" || !strings.Contains(last.Data["link"], token) {
			t.Fatalf("queued %+v", last)
		}

		tests := []struct {
			name    string
			token   string
			advance time.Duration
			want    string
			wantErr error
		}{
			{"first use", token, 0, "ann@acme.test", nil},
			{"second use", token, 0, "", ErrSignInInvalid},
			{"unknown token", "x" + token, 0, "", ErrSignInInvalid},
		}
		for _, tc := range tests {
			f.clock.Advance(tc.advance)
			got, err := f.UseSignIn(f.ctx, tc.token)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: got %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.wantErr)
			}
		}

		// Expired: 15 minutes and a second later.
		f.RequestSignIn(f.ctx, "ann@acme.test", 15*time.Minute, link)
		f.clock.Advance(15*time.Minute + time.Second)
		if _, err := f.UseSignIn(f.ctx, token); !errors.Is(err, ErrSignInInvalid) {
			t.Errorf("expired link: %v", err)
		}
	})
}

func TestSessions(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		id, err := f.NewSession(f.ctx, "ann@acme.test", time.Hour)
		f.must(t, err)
		id2, err := f.NewSession(f.ctx, "ann@acme.test", time.Hour)
		f.must(t, err)
		if got, err := f.SessionAddress(f.ctx, id); got != "ann@acme.test" || err != nil {
			t.Fatalf("live session: %q %v", got, err)
		}
		f.must(t, f.EndSession(f.ctx, id))
		if _, err := f.SessionAddress(f.ctx, id); !errors.Is(err, ErrNoSession) {
			t.Errorf("signed out session still valid: %v", err)
		}
		if _, err := f.SessionAddress(f.ctx, id2); err != nil {
			t.Errorf("signing out one session ended another: %v", err)
		}
		f.must(t, f.EndSessions(f.ctx, "ANN@acme.test")) // what disabling an account does
		if _, err := f.SessionAddress(f.ctx, id2); !errors.Is(err, ErrNoSession) {
			t.Errorf("session survived EndSessions: %v", err)
		}
		id3, _ := f.NewSession(f.ctx, "ann@acme.test", time.Hour)
		f.clock.Advance(time.Hour + time.Second)
		if _, err := f.SessionAddress(f.ctx, id3); !errors.Is(err, ErrNoSession) {
			t.Errorf("expired session still valid: %v", err)
		}
	})
}

// Opening a case with files checks the same rules as OpenCase, and a refused
// case leaves no file behind.
func TestOpenCaseWithFiles(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		file := []NewAttachment{{Filename: "log.txt", ContentType: "text/plain", Data: []byte("panic: x")}}
		tests := []struct {
			name, requester, org, product, rule string
		}{
			{"owner", "ann@acme.test", "acme", "cloud", ""},
			{"R1 unknown", "zed@acme.test", "acme", "cloud", "R1"},
			{"R2 unverified", "new@acme.test", "acme", "cloud", "R2"},
			{"R19 other organisation", "bob@globex.test", "acme", "cloud", "R19"},
			{"R3 not entitled", "ann@acme.test", "acme", "erp", "R3"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c, err := f.OpenCaseWithFiles(f.ctx, NewCase{Org: tc.org, Product: tc.product, Title: "t", Description: "d", Requester: tc.requester}, file)
				if RuleOf(err) != tc.rule || (tc.rule == "" && err != nil) {
					t.Fatalf("err = %v, want rule %q", err, tc.rule)
				}
				if tc.rule != "" {
					return
				}
				as, err := f.Attachments(f.ctx, c.ID)
				f.must(t, err)
				if len(as) != 1 || as[0].Filename != "log.txt" || as[0].Size != 8 {
					t.Fatalf("attachments %+v", as)
				}
				a, data, err := f.AttachmentData(f.ctx, as[0].ID)
				if err != nil || string(data) != "panic: x" || a.CaseID != c.ID {
					t.Fatalf("attachment %+v %q %v", a, data, err)
				}
			})
		}
	})
}
