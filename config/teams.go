package config

import (
	"fmt"
	"net/mail"
	"strings"
)

// Team is a group of agents new cases are assigned to: a route's team,
// else policy.default_team. Its members (agent accounts) are mailed about
// its cases, or its address (a distribution list) when it has no members.
type Team struct {
	Name    string   `toml:"name"`
	Members []string `toml:"members"` // agent addresses
	Address string   `toml:"address"` // a distribution list, instead of or beside the members
	Locale  string   `toml:"locale"`  // agent mail for a member with no locale of their own
}

// Team returns the team named name.
func (c *Config) Team(name string) (Team, bool) {
	for _, t := range c.Teams {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Team{}, false
}

// teamProblems: teams are named once, their addresses are addresses, and
// every route, policy.default_team included, names a team that exists.
func (c *Config) teamProblems() Problems {
	var ps Problems
	bad := func(key, format string, a ...any) {
		ps = append(ps, c.At(key, key+" "+fmt.Sprintf(format, a...)))
	}
	seen := map[string]int{}
	for i, t := range c.Teams {
		at := fmt.Sprintf("team[%d].", i)
		name := strings.ToLower(t.Name)
		switch j, dup := seen[name]; {
		case t.Name == "":
			bad(at+"name", "is required")
		case dup:
			bad(at+"name", "%q: already the name of team[%d]", t.Name, j)
		default:
			seen[name] = i
		}
		for k, m := range t.Members {
			if !isBareAddress(m) {
				bad(fmt.Sprintf("%smembers[%d]", at, k), "%q: not an address (expected local@domain)", m)
			}
		}
		if t.Address != "" && !isBareAddress(t.Address) {
			bad(at+"address", "%q: not an address (expected local@domain)", t.Address)
		}
		if len(t.Members) == 0 && t.Address == "" {
			bad(at+"members", "is empty and team[%d] has no address: nobody would hear of its cases", i)
		}
		if t.Locale != "" && t.Locale != "fr" && t.Locale != "en" {
			bad(at+"locale", "must be \"fr\" or \"en\", not %q", t.Locale)
		}
	}
	for i, r := range c.Routes {
		if _, ok := c.Team(r.Team); r.Team != "" && !ok {
			bad(fmt.Sprintf("route[%d].team", i), "%q: no [[team]] has that name (%s)", r.Team, c.teamNames())
		}
	}
	if _, ok := c.Team(c.Policy.DefaultTeam); c.Policy.DefaultTeam != "" && !ok {
		bad("policy.default_team", "%q: no [[team]] has that name (%s)", c.Policy.DefaultTeam, c.teamNames())
	}
	for i, a := range c.Policy.EscalationNotify {
		if !isBareAddress(a) {
			bad(fmt.Sprintf("policy.escalation_notify[%d]", i), "%q: not an address (expected local@domain)", a)
		}
	}
	if c.Policy.AgentAttachmentBytes < 0 {
		bad("policy.agent_attachment_bytes", "%d: must not be negative (0 attaches nothing)", c.Policy.AgentAttachmentBytes)
	}
	return ps
}

func (c *Config) teamNames() string {
	if len(c.Teams) == 0 {
		return "there is none"
	}
	names := make([]string, len(c.Teams))
	for i, t := range c.Teams {
		names[i] = t.Name
	}
	return "teams: " + strings.Join(names, ", ")
}

// MemberProblems is what config check adds with the store at hand: every
// team member must be an agent account. isAgent answers for one address.
func (c *Config) MemberProblems(isAgent func(addr string) (bool, error)) (Problems, error) {
	var ps Problems
	for i, t := range c.Teams {
		for k, m := range t.Members {
			if !isBareAddress(m) {
				continue // teamProblems says so
			}
			ok, err := isAgent(m)
			if err != nil {
				return nil, fmt.Errorf("team %s: member %s: %w", t.Name, m, err)
			}
			if !ok {
				key := fmt.Sprintf("team[%d].members[%d]", i, k)
				ps = append(ps, c.At(key, fmt.Sprintf("%s %q: not an agent account (casemail account add %s --agent)", key, m, m)))
			}
		}
	}
	return ps, nil
}

func isBareAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s, "@")
}
