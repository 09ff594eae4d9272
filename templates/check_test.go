package templates

import (
	"io/fs"
	"strings"
	"testing"
)

// config check refuses an override that would go out wrong without an
// error at run time: a field that does not exist (rendered as nothing) or a
// file name no event or route uses (never sent). It accepts every field an
// event provides (R5: a redirect route may name its own template).
func TestLint(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		routes []string
		want   []string // each must appear in one error; none: no error
	}{
		{"unknown field in text", map[string]string{"fr/case_closed.txt.tmpl": "Bonjour,\n\nLe dossier {{.case_id}} ({{.tittle}}) est clos."},
			nil, []string{"fr/case_closed.txt.tmpl:3:", `field "tittle" does not exist`, "title"}},
		{"unknown field in HTML", map[string]string{"en/comment_added.html.tmpl": "<p>{{.author}}</p>\n<p>{{.comment}}</p>"},
			nil, []string{"en/comment_added.html.tmpl:2:", `field "comment" does not exist`}},
		{"unknown field in a branch sample data takes", map[string]string{"en/case_opened.subject.tmpl": `{{if eq .priority "P1"}}{{.urgency}}{{end}}{{.title}}`},
			nil, []string{"en/case_opened.subject.tmpl:1:", `"urgency"`}},
		{"file name no event uses", map[string]string{"en/case_open.txt.tmpl": "Hello {{.title}}"},
			nil, []string{"en/case_open.txt.tmpl", `template named "case_open"`, "case_opened"}},
		{"redirect route template is used", map[string]string{"fr/redirect-marketplace.txt.tmpl": "Bonjour,\n\nÉcrivez à la place de marché au sujet de « {{.subject}} »."},
			[]string{"redirect-marketplace"}, nil},
		{"redirect template without its route", map[string]string{"fr/redirect-marketplace.txt.tmpl": "Bonjour"},
			[]string{"redirect-other"}, []string{`"redirect-marketplace"`}},
		{"every field an event provides", map[string]string{"en/followup_opened.txt.tmpl": allKeys()},
			nil, nil},
		// Issue 13: config check knows the quarantine notice and its message_id.
		{"the quarantine notice to agents", map[string]string{"fr/agent_mail_quarantined.txt.tmpl": "casemail message release {{.message_id}} --new-case ({{.author}})"},
			nil, nil},
		{"two mistakes, both reported", map[string]string{"en/case_open.txt.tmpl": "x", "fr/case_reopened.txt.tmpl": "{{.statut}}"},
			nil, []string{`"case_open"`, `"statut"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range tc.files {
				writeFile(t, dir, f, c)
			}
			errs := mustNew(t, dir).Lint(tc.routes)
			if len(tc.want) == 0 {
				if len(errs) > 0 {
					t.Fatalf("false refusal: %v", errs)
				}
				return
			}
			all := ""
			for _, e := range errs {
				all += e.Error() + "\n"
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q lack %q", all, w)
				}
			}
		})
	}
}

// A template that prints every key: what an admin may use anywhere.
func allKeys() string {
	var b strings.Builder
	b.WriteString("Hello,\n")
	for _, k := range Keys {
		b.WriteString(k + ": {{." + k + "}}\n")
	}
	return b.String()
}

// The embedded defaults use only fields the events provide, and the sample
// data sets every field, so the strict render sees every conditional branch.
func TestDefaultsPassStrictRender(t *testing.T) {
	if errs := mustNew(t, "").Lint(nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	d := SampleData()
	for _, k := range Keys {
		if d[k] == "" {
			t.Errorf("SampleData lacks %q", k)
		}
	}
	sub, _ := fs.Sub(defaults, "default")
	err := fs.WalkDir(sub, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		k, ok := parseFileName(p)
		if !ok {
			t.Errorf("%s: not a template file name", p)
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		if err := strictRender(p, k, string(b), withKeys(d)); err != nil {
			t.Error(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
