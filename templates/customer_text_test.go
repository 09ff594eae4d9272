package templates

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// Issue 11: no mail to a customer or watcher points to an admin command
// ("casemail case reopen 1"): customers cannot run casemail. Agent mail
// (agent_*) may.
func TestCustomerTemplatesNameNoCommand(t *testing.T) {
	command := regexp.MustCompile(`(?i)\bcasemail\s+[a-z]+`)
	n := 0
	err := fs.WalkDir(defaults, "default", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "agent_") {
			return err
		}
		n++
		src, err := defaults.ReadFile(path)
		if err != nil {
			return err
		}
		if m := command.FindString(string(src)); m != "" {
			t.Errorf("%s tells the customer to run %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no templates read")
	}
}

// Issue 11: a watcher is told about someone else's request by that person's
// name ("la demande d'Alice"), the requester about "votre demande"; people
// and organisations are named by their names.
func TestWatcherReadsWhoseRequest(t *testing.T) {
	s := mustNew(t, "")
	watcher := map[string]string{"title": "VM down", "requester": "alice@acme.test", "requester_display": "Alice Martin",
		"requester_of": "d'Alice Martin", "author": "bob@support.test", "author_display": "Bob Agent", "body": "On it."}
	requester := map[string]string{"title": "VM down", "requester": "alice@acme.test", "requester_display": "Alice Martin",
		"author": "bob@support.test", "author_display": "Bob Agent", "org": "acme", "org_display": "ACME Corp"}
	tests := []struct {
		name, tmpl, loc string
		data            map[string]string
		subject, text   string
	}{
		{"watcher fr", "comment_added", "fr", watcher, "Nouveau commentaire sur la demande d'Alice Martin : VM down", "Bob Agent a ajouté un commentaire"},
		{"requester fr", "comment_added", "fr", requester, "Nouveau commentaire sur votre demande : VM down", "Bob Agent a ajouté"},
		{"watcher en", "comment_added", "en", map[string]string{"title": "VM down", "requester_of": "Alice Martin's"}, "New comment on Alice Martin's request: VM down", ""},
		{"watcher told of a closing fr", "case_closed", "fr", watcher, "", "Si le problème n'est pas résolu"},
		{"requester told of a closing en", "case_closed", "en", requester, "", "If your problem is not solved"},
		{"copied watcher fr", "case_opened_watcher", "fr", watcher, "", "Alice Martin a ouvert la demande"},
		{"organisation by name", "case_opened", "en", requester, "", "Organisation: ACME Corp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Render(tc.tmpl, tc.loc, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if tc.subject != "" && r.Subject != tc.subject {
				t.Errorf("subject = %q, want %q", r.Subject, tc.subject)
			}
			if !strings.Contains(r.Text, tc.text) || tc.text != "" && !strings.Contains(r.HTML, tc.text) {
				t.Errorf("text lacks %q:\n%s", tc.text, r.Text)
			}
		})
	}
}

// R19: an account that may not open cases for the organisation is told
// that, not that it has no account (R1).
func TestR19RefusalIsNotNoAccount(t *testing.T) {
	s := mustNew(t, "")
	tests := []struct {
		loc       string
		data      map[string]string
		want, not string
	}{
		{"fr", map[string]string{"recipient_known": "1", "org": "acme", "org_display": "ACME Corp"}, "votre compte n'est pas autorisé à ouvrir des demandes pour l'organisation ACME Corp", "aucun compte"},
		{"en", map[string]string{"recipient_known": "1"}, "your account may not open requests for your organisation", "does not belong to any support account"},
		{"fr", map[string]string{}, "n'est associée à aucun compte d'assistance", "votre compte"},
		{"en", map[string]string{}, "does not belong to any support account", "may not open"},
	}
	for _, tc := range tests {
		r, err := s.Render("notice_unknown_sender", tc.loc, tc.data)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, tc.want) || strings.Contains(r.Text, tc.not) {
			t.Errorf("%s %v:\n%s\nwant %q, not %q", tc.loc, tc.data, r.Text, tc.want, tc.not)
		}
	}
}
