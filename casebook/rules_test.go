package casebook

import (
	"errors"
	"testing"
)

// MayOpen applies the rules in the order they are written: who the sender
// is (R1, R2) before which organisation (R4), before what they may do there
// (R19, R3), and it never guesses an organisation (R4).
func TestMayOpenRuleOrder(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.must(t, f.AddAccount(f.ctx, Account{Address: "multi@both.test", Verified: true}))
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "multi@both.test", []Perm{PermOpen}))
		f.must(t, f.Grant(f.ctx, "globex", "bob@globex.test", "multi@both.test", []Perm{PermOpen}))
		tests := []struct {
			name, sender, named, product string
			wantOrg, wantRule            string
			wantChoices                  int
		}{
			{"R1 before anything", "stranger@else.test", "", "cloud", "", "R1", 0},
			{"R2 before the organisation", "new@acme.test", "nowhere", "cloud", "", "R2", 0},
			{"R4 the only organisation", "ann@acme.test", "", "cloud", "acme", "", 0},
			{"R4 several: the mail must say", "multi@both.test", "", "cloud", "", "R4", 2},
			{"R4 the mail says", "multi@both.test", "globex", "cloud", "globex", "", 0},
			{"R19 named but not a member", "ann@acme.test", "globex", "cloud", "globex", "R19", 0},
			{"R19 no organisation at all", "agent@support.test", "", "cloud", "", "R19", 0},
			{"R3 after R19", "ann@acme.test", "acme", "storage", "acme", "R3", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, err := f.Sender(f.ctx, tt.sender)
				f.must(t, err)
				org, err := f.MayOpen(f.ctx, s, tt.named, tt.product)
				if org != tt.wantOrg || RuleOf(err) != tt.wantRule {
					t.Fatalf("MayOpen = %q, %v; want %q and rule %q", org, err, tt.wantOrg, tt.wantRule)
				}
				var which *WhichOrgError
				if errors.As(err, &which) != (tt.wantChoices > 0) || which != nil && len(which.Orgs) != tt.wantChoices {
					t.Errorf("choices = %+v, want %d", which, tt.wantChoices)
				}
			})
		}
		if _, err := f.MayOpen(f.ctx, Sender{Address: "ann@acme.test", Account: &Account{Verified: true}}, "nowhere", "cloud"); !errors.Is(err, ErrNotFound) {
			t.Errorf("an organisation that does not exist: %v, want ErrNotFound", err)
		}
	})
}
