package templates

import (
	"strings"
	"testing"
)

// Agent mail shows what an agent needs to act from their mail client: the
// case's fields, the customer's text, the attachments, and the internal
// note address as a mailto link (issue 11). Customers never get it.
func TestAgentMail(t *testing.T) {
	s := mustNew(t, "")
	d := SampleData()
	tests := []struct {
		name Name
		loc  string
		want []string // in the text part
		html []string
	}{
		{AgentCaseOpened, "fr", []string{"Organisation : ACME Corp", "Priorité : P1", "Demandeur : Alice Martin <alice@example.test>", "  - carol@example.test", "  - facture.pdf (12 Kio)", "le paiement échoue", "support+note-tok@support.example.test"},
			[]string{`<a href="mailto:support&#43;note-tok@support.example.test">Répondre par une note interne</a>`}},
		{AgentCaseOpened, "en", []string{"Organisation: ACME Corp", "Requester: Alice Martin <alice@example.test>", "Attachments:", "#priority P2"},
			[]string{`>Reply as an internal note</a>`, "<li>capture.png (230 Kio)</li>"}},
		{AgentCommentAdded, "fr", []string{"Note interne de Bob Agent", "vue des seuls agents"}, nil},
		{AgentCaseEscalated, "en", []string{"Reason: time to resolution", "Assigned to: agnes@support.example.test"}, nil},
		{AgentRefused, "fr", []string{"Motif : sample reason", "Objet du courriel : Help needed"}, nil},
		{AgentCaseAssigned, "en", []string{"is now assigned to agnes@support.example.test"}, nil},
		{AgentCommandRefused, "fr", []string{"« #priority P9 »", "Motif : sample reason"}, nil},
		// Issue 13: the quarantined mail, and the commands that release it.
		{MailQuarantined, "fr", []string{"Objet du courriel : Help needed", "Motif : sample reason", "Message conservé : 314",
			"casemail message release 314 --case N", "casemail message release 314 --new-case"}, []string{"<code>casemail message release 314 --new-case</code>"}},
		{MailQuarantined, "en", []string{"Bob Agent <bob@support.example.test>, a registered customer", "Stored message: 314", "casemail message release 314 --case N"}, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.name)+"/"+tt.loc, func(t *testing.T) {
			if !tt.name.ForAgents() {
				t.Fatalf("%s is not agent mail", tt.name)
			}
			r, err := s.Render(string(tt.name), tt.loc, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, r.Text)
				}
			}
			for _, w := range tt.html {
				if !strings.Contains(r.HTML, w) {
					t.Errorf("HTML lacks %q:\n%s", w, r.HTML)
				}
			}
		})
	}
	// A comment to a customer never is agent mail.
	for _, n := range []Name{CommentAdded, CaseOpened, CaseOpenedWatcher, CaseEscalated, NoticeClosedCase} {
		if n.ForAgents() {
			t.Errorf("%s.ForAgents() = true", n)
		}
	}
	// The command notice answers an agent's mail: an auto-reply (RFC 3834);
	// the others are case mail with a reply token.
	if !AgentCommandRefused.IsNotice() || AgentCaseOpened.IsNotice() {
		t.Error("IsNotice: want the command notice only")
	}
}
