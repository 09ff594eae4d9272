package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/casemail/casemail/casebook"
)

// pageData is what every page template sees.
type pageData struct {
	L       string // locale
	Title   string // message key of the page title
	Message string // message key of a sentence to show
	Detail  string // a rule's refusal, already localised
	Status  int
	V       *viewer
	CSRF    string
	Nav     string // which menu entry is current

	// lists
	Scope   string // "mine" or "org"
	Org     string
	Query   string
	Orgs    []casebook.Membership // where the viewer is a member
	ViewOrg []string              // organisations whose cases the viewer may list
	Rows    []caseRow

	// a case
	Case      *caseView
	LinkToken string // action-link pages: the token the form posts back
	LinkFor   string // the address a link was sent to
	Action    string
	Reasons   []string
	Can       map[string]bool
	When      time.Time // escalation allowed from / reopen until
	NextLink  string    // after an action done by link: a fresh view link

	// forms
	Choices []choice
	Form    map[string]string
	Grants  []casebook.Grant
	Owned   []string // organisations the viewer owns
}

type caseRow struct {
	casebook.Case
	LastActivity time.Time
}

type caseView struct {
	casebook.Case
	MayDecide bool // close, reopen, escalate, follow up (casebook.MayDecide)
	Files     []casebook.Attachment
	MailFiles []mailFile
}

// mailFile is an attachment of an inbound mail of the case.
type mailFile struct {
	MessageID int64
	Index     int
	Filename  string
	Size      int64
}

type choice struct {
	Value, Org, Product string
}

var pageNames = []string{"message", "signin", "signin_confirm", "cases", "case", "new", "access", "link"}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "pages/layout.html", "pages/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: page %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

var funcs = template.FuncMap{
	"t": tr,
	"date": func(loc string, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if loc == "fr" {
			return t.UTC().Format("02/01/2006 15:04 UTC")
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"datep": func(loc string, t *time.Time) string {
		if t == nil {
			return ""
		}
		if loc == "fr" {
			return t.UTC().Format("02/01/2006 15:04 UTC")
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"status": func(loc string, s casebook.Status) string { return tr(loc, "status_"+string(s)) },
	"reason": func(loc string, r any) string { return tr(loc, "reason_"+fmt.Sprint(r)) }, // a casebook.EscalationReason or its name
	"has": func(ps []casebook.Perm, p string) bool {
		for _, x := range ps {
			if string(x) == p {
				return true
			}
		}
		return false
	},
	"inc":   func(i int) int { return i + 1 },
	"lines": func(s string) []string { return strings.Split(s, "\n") },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// render writes page name with d, in the viewer's language.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *viewer, status int, name string, d pageData) {
	d.L = s.locale(r, v)
	d.V = v
	d.Status = status
	if d.CSRF == "" {
		d.CSRF = s.csrf(v)
	}
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// refusal renders a rule's refusal in the viewer's language.
func (s *Server) refusal(w http.ResponseWriter, r *http.Request, v *viewer, status int, err error) {
	loc := s.locale(r, v)
	msg, ok := ruleMessages[loc][casebook.RuleOf(err)]
	if !ok {
		msg = err.Error()
	}
	s.render(w, r, v, status, "message", pageData{Title: "refused", Detail: msg})
}
