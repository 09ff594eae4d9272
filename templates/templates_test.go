package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustNew(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := New(dir, "fr")
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	return s
}

// Every event renders in both locales, with full and with empty data, and
// the French reads as a French support team writes (vouvoiement, greeting,
// signature).
func TestEveryTemplateRendersInBothLocales(t *testing.T) {
	s := mustNew(t, "")
	sign := map[string][]string{
		"fr": {"Bonjour,", "Cordialement,", "L'équipe support"},
		"en": {"Hello,", "Kind regards,", "The support team"},
	}
	for _, loc := range Locales {
		for _, name := range Names {
			for _, data := range []map[string]string{SampleData(), {}} {
				r, err := s.Render(name, loc, data)
				if err != nil {
					t.Fatalf("%s/%s: %v", loc, name, err)
				}
				if r.Subject == "" || strings.TrimSpace(r.Text) == "" || !strings.Contains(r.HTML, "</html>") {
					t.Errorf("%s/%s: empty part: %+v", loc, name, r)
				}
				for _, part := range []string{r.Subject, r.Text, r.HTML} {
					if strings.Contains(part, "<no value>") {
						t.Errorf("%s/%s: <no value> in output", loc, name)
					}
				}
				for _, w := range sign[loc] {
					// Agent mail is a colleague's terse note, not a letter.
					if !Name(name).ForAgents() && !strings.Contains(r.Text, w) {
						t.Errorf("%s/%s text lacks %q", loc, name, w)
					}
				}
				if loc == "fr" && (strings.Contains(r.Text, " tu ") || strings.Contains(r.Text, " ton ")) {
					t.Errorf("fr/%s: tutoiement in %q", name, r.Text)
				}
			}
		}
	}
}

// Customer text is escaped in HTML and never turned into markup.
func TestHTMLEscapesCustomerText(t *testing.T) {
	s := mustNew(t, "")
	d := SampleData()
	d["title"] = `<script>alert(1)</script>`
	d["body"] = `<img src=x onerror=alert(1)>`
	for _, loc := range Locales {
		for _, name := range Names {
			r, err := s.Render(name, loc, d)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.HTML, "<script>") || strings.Contains(r.HTML, "<img") {
				t.Errorf("%s/%s: unescaped customer HTML:\n%s", loc, name, r.HTML)
			}
		}
	}
}

func TestContent(t *testing.T) {
	s := mustNew(t, "")
	p1 := map[string]string{"case_id": "7", "title": "Site down", "priority": "P1"}
	p3 := map[string]string{"case_id": "7", "title": "Site down", "priority": "P3"}
	tests := []struct {
		name, rule, tmpl, loc string
		data                  map[string]string
		want, notWant         []string
	}{
		{"P1 ack carries urgent instructions", "R20", "case_opened", "fr", p1, []string{"INCIDENT URGENT (P1)", "ligne d'assistance P1"}, nil},
		{"P1 ack carries urgent instructions en", "R20", "case_opened", "en", p1, []string{"URGENT INCIDENT (P1)", "P1 support line"}, nil},
		{"P3 ack has no urgent instructions", "R20", "case_opened", "fr", p3, []string{"numéro 7"}, []string{"URGENT"}},
		{"unknown sender: ask the owner", "R1", "notice_unknown_sender", "fr", map[string]string{"subject": "Aide"}, []string{"propriétaire du compte", "accès partagé", "« Aide »"}, nil},
		{"unknown sender en", "R1", "notice_unknown_sender", "en", nil, []string{"account owner", "shared access"}, nil},
		{"unverified", "R2", "notice_unverified", "fr", nil, []string{"vérifier votre adresse électronique"}, nil},
		{"not entitled", "R3", "notice_not_entitled", "en", map[string]string{"org": "acme", "product": "cloud"}, []string{"acme", `"cloud"`, "not entitled"}, nil},
		{"which org lists addresses", "R4", "notice_which_org", "fr", map[string]string{"addresses": "a@x.test\n\nb@x.test\n"}, []string{"concernée :\n- a@x.test\n- b@x.test\n\nCordialement,"}, nil},
		{"closed case date in English", "R13", "case_closed", "en", map[string]string{"reopen_until": "2026-12-09"}, []string{"until 9 December 2026 included"}, nil},
		{"unparsable date shown as is", "R13", "case_closed", "fr", map[string]string{"reopen_until": "bientôt"}, []string{"jusqu'au bientôt inclus"}, nil},
		{"redirect", "R5", "notice_redirect", "en", nil, []string{"marketplace"}, nil},
		{"closed case says how to reopen", "R13", "notice_closed_case", "fr", map[string]string{"case_id": "9", "reopen_until": "2026-12-01", "link_reopen": "https://d.test/a/R", "link_followup": "https://d.test/a/F"},
			[]string{"https://d.test/a/R", "jusqu'au 1er décembre 2026 inclus", "14 jours", "demande de suivi", "https://d.test/a/F"}, []string{"portail", "casemail"}},
		{"closed case after the window: follow-up only", "R13", "notice_closed_case", "en", map[string]string{"case_id": "9", "reopen_until": "2026-12-01", "link_followup": "https://d.test/a/F"},
			[]string{"are over", "follow-up request", "https://d.test/a/F"}, []string{"reopen the request within", "portal", "casemail"}},
		{"closed case without links still says how", "R13", "notice_closed_case", "en", map[string]string{"case_id": "9", "reopen_until": "2026-12-01"},
			[]string{"by asking us", "follow-up"}, []string{"portal", "casemail"}},
		{"case mail carries its actions", "R11", "comment_added", "en", map[string]string{"link_view": "https://d.test/a/V", "link_close": "https://d.test/a/C", "link_escalate": "https://d.test/a/E"},
			[]string{"https://d.test/a/V", "Close it (problem solved): https://d.test/a/C", "Escalate it to a manager: https://d.test/a/E"}, []string{"Reopen"}},
		{"closed mail: reopen link, no close", "R12", "case_closed", "fr", map[string]string{"link_view": "https://d.test/a/V", "link_reopen": "https://d.test/a/R", "link_followup": "https://d.test/a/F"},
			[]string{"La rouvrir : https://d.test/a/R", "Ouvrir une demande de suivi : https://d.test/a/F"}, []string{"clôturer (problème", "portail", "casemail"}},
		{"sign-in link", "", "signin_link", "fr", map[string]string{"link": "https://d.test/signin/T", "minutes": "15", "address": "a@x.test"},
			[]string{"https://d.test/signin/T", "15 minutes", "a@x.test", "ne sert qu'une fois"}, nil},
		{"imported case: follow-up", "R14", "notice_imported_case", "en", map[string]string{"case_id": "9"}, []string{"follow-up", "read-only"}, nil},
		{"escalated", "R15", "case_escalated", "fr", map[string]string{"escalation_reason": "time to resolution"}, []string{"Motif de l'escalade : time to resolution"}, nil},
		{"watcher added says how to stop", "R8", "watcher_added", "en", nil, []string{"stop watching"}, nil},
		{"comment shows the body", "R9", "comment_added", "fr", map[string]string{"author": "bob@x.test", "body": "Voici le correctif."}, []string{"bob@x.test a ajouté un commentaire", "Voici le correctif."}, nil},
		{"empty locale uses the default (fr)", "", "comment_added", "", nil, []string{"Bonjour,"}, nil},
		{"unknown locale uses the default (fr)", "", "comment_added", "de", nil, []string{"Bonjour,"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Render(tc.tmpl, tc.loc, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("%s: text lacks %q:\n%s", tc.rule, w, r.Text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(r.Text, w) || strings.Contains(r.HTML, w) {
					t.Errorf("%s: output has %q", tc.rule, w)
				}
			}
		})
	}
}

// Notices answering a mail take its subject with one "Re: ".
func TestNoticeSubject(t *testing.T) {
	s := mustNew(t, "")
	for in, want := range map[string]string{"Help": "Re: Help", "RE: Help": "RE: Help", "": "Re:", "a\r\nBcc: x@y": "Re: a Bcc: x@y"} {
		r, err := s.Render("notice_unknown_sender", "en", map[string]string{"subject": in})
		if err != nil {
			t.Fatal(err)
		}
		if r.Subject != want {
			t.Errorf("subject for %q = %q, want %q", in, r.Subject, want)
		}
	}
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Overrides replace defaults file by file; a route's own redirect template
// (R5) takes missing files, or everything, from notice_redirect.
func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "fr/comment_added.subject.tmpl", "Du nouveau sur {{.title}}\n")
	writeFile(t, dir, "en/redirect-marketplace.txt.tmpl", "Write to marketplace@example.test\n")
	s := mustNew(t, dir)
	if s.Check() != nil {
		t.Fatalf("Check: %v", s.Check())
	}
	tests := []struct {
		tmpl, loc                      string
		wantSubject, wantText, notText string
	}{
		{"comment_added", "fr", "Du nouveau sur T", "Bonjour,", ""},                           // text still the default
		{"comment_added", "en", "New comment on your request: T", "Hello,", ""},               // other locale untouched
		{"redirect-marketplace", "en", "Re: S", "Write to marketplace@example.test", "Hello"}, // R5 own text, redirect subject
		{"redirect-marketplace", "fr", "Re: S", "place de marché", ""},                        // no fr override: notice_redirect
		{"redirect-other", "en", "Re: S", "marketplace purchases", ""},                        // R5 unknown name
	}
	for _, tc := range tests {
		r, err := s.Render(tc.tmpl, tc.loc, map[string]string{"title": "T", "subject": "S"})
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.loc, tc.tmpl, err)
		}
		if r.Subject != tc.wantSubject || !strings.Contains(r.Text, tc.wantText) || (tc.notText != "" && strings.Contains(r.Text, tc.notText)) {
			t.Errorf("%s/%s: subject %q text %q", tc.loc, tc.tmpl, r.Subject, r.Text)
		}
	}
	if _, err := s.Render("../etc/passwd", "en", nil); err == nil {
		t.Error("a template name with a path was accepted")
	}
}

// config check names the broken file and its line.
func TestCheckNamesFileAndLine(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []string
	}{
		{"parse error", "fr/case_closed.txt.tmpl", "Bonjour,\n\n{{if .title}}", []string{"fr/case_closed.txt.tmpl:3"}},
		{"execution error", "en/comment_added.html.tmpl", "<p>\n{{.title.nope}}</p>", []string{"en/comment_added.html.tmpl:2"}},
		{"unknown function", "fr/case_opened.subject.tmpl", "{{upper .title}}", []string{"fr/case_opened.subject.tmpl:1", "upper"}},
		{"misnamed file", "de/case_opened.txt.tmpl", "x", []string{"de/case_opened.txt.tmpl", "not a template file"}},
		{"empty override", "en/case_reopened.txt.tmpl", "  \n", []string{"en/case_reopened.txt.tmpl", "empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tc.file, tc.content)
			s, err := New(dir, "en")
			if err == nil {
				err = s.Check()
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nBcc: v@x":   "a Bcc: v@x",
		"  a \t b\x00c\n": "a b c",
		"é\u2028\u0085x":  "é x",
		"":                "",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
