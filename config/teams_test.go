package config

import (
	"strings"
	"testing"
)

// A route or policy.default_team naming a team that does not exist would
// leave its cases unheard of at support: config check says so, with the
// line (issue 11).
func TestTeamProblems(t *testing.T) {
	const team = "[[team]]\nname = \"l1\"\nmembers = [\"agnes@support.test\"]\n"
	tests := []struct{ name, in, want string }{
		{"route names an unknown team", team + "[[route]]\naddress = \"help@example.test\"\nproduct = \"p\"\nteam = \"l2\"\n",
			`line 7: route[0].team "l2": no [[team]] has that name (teams: l1)`},
		{"no team at all", "[[route]]\naddress = \"help@example.test\"\nproduct = \"p\"\nteam = \"l2\"\n",
			`line 4: route[0].team "l2": no [[team]] has that name (there is none)`},
		{"default team unknown", team + "[policy]\ndefault_team = \"l9\"\n", `line 5: policy.default_team "l9"`},
		{"team twice", team + team, `team[1].name "l1": already the name of team[0]`},
		{"nobody to tell", "[[team]]\nname = \"l1\"\n", "nobody would hear of its cases"},
		{"member not an address", "[[team]]\nname = \"l1\"\nmembers = [\"Agnès\"]\n", `team[0].members[0] "Agnès": not an address`},
		{"escalation not an address", team + "[policy]\nescalation_notify = [\"duty\"]\n", `policy.escalation_notify[0] "duty": not an address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	c, err := Parse([]byte(team + "address = \"l1@support.test\"\n[[route]]\naddress = \"help@example.test\"\nproduct = \"p\"\nteam = \"L1\"\n[policy]\ndefault_team = \"l1\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tm, ok := c.Team(c.Routes[0].Team); !ok || tm.Address != "l1@support.test" {
		t.Fatalf("Team(%q) = %+v, %v", c.Routes[0].Team, tm, ok)
	}
}

// Only the store knows who is an agent: config check asks it for every
// member and names the one that is not, with its line.
func TestMemberProblems(t *testing.T) {
	c, err := Parse([]byte("[[team]]\nname = \"l1\"\nmembers = [\"agnes@support.test\", \"bob@customer.test\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := c.MemberProblems(func(a string) (bool, error) { return a == "agnes@support.test", nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !strings.Contains(ps[0].Error(), `line 3: team[0].members[1] "bob@customer.test": not an agent account`) {
		t.Fatalf("problems = %v", ps)
	}
}
