package templates

import (
	"regexp"
	"testing"
)

// Every mail rendered in French is French, and no mail to a customer or a
// watcher sends them to a "portal" or to a casemail command: customers have
// the links of the mail and the web view (docs/customers.md). Rendered with
// every field set and with none, so every branch is read; the data is
// neutral so that only the templates' own words are judged.
func TestRenderedMailSpeaksItsLanguage(t *testing.T) {
	s := mustNew(t, "")
	agentCommand := regexp.MustCompile(`#[a-z]+( me)?`) // #close, #assign me: typed as is in any language
	// A command line in agent mail ("casemail message release 314 --new-case") is typed as is too.
	commandLine := regexp.MustCompile(`casemail( +[a-z]+)+( +(--[a-z-]+|[A-Z0-9]+))*`)
	forCustomer := regexp.MustCompile(`(?i)\bportal\b|\bportail\b|\bcasemail\s+[a-z]+`)
	neutral := SampleData()
	for k, v := range map[string]string{"subject": "Aide", "reason": "motif", "escalation_reason": "motif",
		"team": "n1", "title": "Paiement refusé", "command": "#priority P9"} {
		neutral[k] = v
	}
	for _, name := range Names {
		for _, loc := range Locales {
			for _, data := range []map[string]string{neutral, {}} {
				r, err := s.Render(name, loc, data)
				if err != nil {
					t.Fatalf("%s/%s: %v", loc, name, err)
				}
				for part, text := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
					if !Name(name).ForAgents() {
						if m := forCustomer.FindString(text); m != "" {
							t.Errorf("%s/%s %s tells a customer %q", loc, name, part, m)
						}
					}
					if loc != "fr" {
						continue
					}
					if part == "html" {
						text = htmlTag.ReplaceAllString(text, " ")
					}
					text = urlRE.ReplaceAllString(text, " ")
					text = agentCommand.ReplaceAllString(text, " ")
					if Name(name).ForAgents() {
						text = commandLine.ReplaceAllString(text, " ")
					}
					if m := english.FindString(text); m != "" {
						t.Errorf("fr/%s %s has English %q:\n%s", name, part, m, text)
					}
				}
			}
		}
	}
}

var (
	// english are words of English mail that French mail never needs.
	english = regexp.MustCompile(`(?i)\b(the|your|you|please|request|reply|click|link|here|close it|reopen|escalate|regards|hello|thanks?|watcher|follow-up|sign in|team|new|case)\b`)
	htmlTag = regexp.MustCompile(`<[^>]*>`)
	urlRE   = regexp.MustCompile(`(https?|mailto):[^\s"<]+|[\w.+-]+@[\w.-]+`)
)

// The word list would pass on anything if it matched nothing: the English
// mail of every event trips it.
func TestEnglishIsSeen(t *testing.T) {
	s := mustNew(t, "")
	for _, name := range Names {
		r, err := s.Render(name, "en", SampleData())
		if err != nil {
			t.Fatal(err)
		}
		if english.FindString(r.Text) == "" {
			t.Errorf("en/%s reads as not English:\n%s", name, r.Text)
		}
	}
}

// A watcher is told about someone else's request: no mail a watcher can
// receive calls it theirs, its web links included ("See your request").
func TestWatcherMailSaysWhoseRequest(t *testing.T) {
	s := mustNew(t, "")
	yours := regexp.MustCompile(`(?i)\byour request\b|\bvotre demande\b`)
	data := SampleData() // requester_of is set: the recipient is a watcher
	for _, name := range []string{"case_opened_watcher", "watcher_added", "comment_added", "case_closed", "case_reopened", "case_priority_changed", "case_escalated"} {
		for _, loc := range Locales {
			r, err := s.Render(name, loc, data)
			if err != nil {
				t.Fatalf("%s/%s: %v", loc, name, err)
			}
			for part, text := range map[string]string{"subject": r.Subject, "text": r.Text, "html": r.HTML} {
				if m := yours.FindString(text); m != "" {
					t.Errorf("%s/%s %s tells a watcher %q", loc, name, part, m)
				}
			}
		}
	}
}
