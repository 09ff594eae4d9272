// Package templates holds the notification templates casemail sends: for
// every template name and locale (fr, en) a subject, a text body
// (text/template) and an HTML body (html/template, so customer text is
// escaped). The defaults are embedded; a folder named by `[templates] dir`
// overrides them file by file with the same layout:
//
//	LOCALE/NAME.subject.tmpl
//	LOCALE/NAME.txt.tmpl
//	LOCALE/NAME.html.tmpl
//
// A file missing from the folder falls back to the embedded default. The
// templates only format: who is notified and what the data says is decided
// by the casebook. The rendered parts are turned into a MIME message
// (RFC 2045–2047) by package outbound.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed default
var defaults embed.FS

// Locales are the languages shipped by default.
var Locales = []string{"fr", "en"}

// Keys are the data keys the casebook fills; every one is defined (possibly
// empty) when a template runs, so templates can test them with if/with.
var Keys = []string{
	"case_id", "title", "org", "product", "priority", "status", "requester",
	"author", "body", "reason", "reopen_until", "escalation_reason", "watcher",
	"addresses", "subject", "in_reply_to", "references", "follow_up_of",
	// The customer's signed actions (package actionlink) and sign-in link.
	"link_view", "link_reopen", "link_close", "link_escalate", "link_followup", "link_unwatch",
	"link", "minutes", "address",
	// agent mail (issue 11)
	"requester_name", "watchers", "attachments", "assignee", "team", "command", "note_address", "internal",
	"from_name",  // the agent who answers, by name (comment_added)
	"raw_sha256", // the mail whose attachments agent mail carries
	"message_id", // the stored inbound message an agent mail is about (agent_mail_quarantined)
	// People and organisations by name in customer mail, filled per
	// recipient by the casebook: the requester's and the author's name,
	// falling back to the address; the organisation's name, falling back to
	// the slug; "requester_of" only when the recipient is not the requester,
	// so a watcher reads "la demande d'Alice", not "votre demande";
	// "recipient_known" when the recipient has an account (a refusal under
	// R19 says the account may not open cases there, not that there is none).
	"requester_display", "author_display", "org_display", "requester_of", "recipient_known", "previous_priority",
}

// validName keeps template names usable as file names: no path traversal.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// part is one of the three files of a template.
type part string

const (
	partSubject part = "subject"
	partText    part = "txt"
	partHTML    part = "html"
)

var parts = []part{partSubject, partText, partHTML}

// Rendered is one template rendered with data.
type Rendered struct {
	Subject string // one line, whitespace and control characters collapsed
	Text    string
	HTML    string
}

// executor is satisfied by both text and html templates.
type executor interface {
	Execute(w io.Writer, data any) error
}

type key struct {
	locale, name string
	part         part
}

// Set is the parsed templates: the embedded defaults plus the overrides of
// one folder. It is immutable and safe for concurrent use.
type Set struct {
	dir           string
	defaultLocale string
	tmpl          map[key]executor
	source        map[key]string // file the template came from, for errors
	overrides     []string       // override files, relative to dir
}

var months = map[string][]string{
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
}

// funcsFor returns Funcs plus the helpers that depend on the language.
func funcsFor(locale string) map[string]any {
	m := make(map[string]any, len(Funcs)+1)
	for k, v := range Funcs {
		m[k] = v
	}
	// longdate writes a YYYY-MM-DD date the way the language does
	// ("9 décembre 2026", "9 December 2026"); anything else is left as is.
	m["longdate"] = func(s string) string {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return s
		}
		day := strconv.Itoa(t.Day())
		if locale == "fr" && t.Day() == 1 {
			day = "1er"
		}
		return day + " " + months[locale][t.Month()-1] + " " + strconv.Itoa(t.Year())
	}
	return m
}

// Funcs are the formatting helpers templates may use, in every language;
// "longdate" is added per language (see funcsFor).
var Funcs = map[string]any{
	// lines splits a newline-separated list, dropping empty lines (R4 addresses).
	"lines": func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		return out
	},
	// re prefixes "Re: " to the subject of the mail a notice answers, once.
	"re": func(s string) string {
		s = strings.TrimSpace(s)
		if s == "" {
			return "Re:"
		}
		if len(s) >= 3 && strings.EqualFold(s[:3], "re:") {
			return s
		}
		return "Re: " + s
	},
}

// New parses the embedded templates and, when dir is not empty, the
// overrides found there. defaultLocale ("fr" or "en") is used when a
// notification names no locale or one that has no templates.
func New(dir, defaultLocale string) (*Set, error) {
	s := &Set{dir: dir, defaultLocale: defaultLocale, tmpl: map[key]executor{}, source: map[key]string{}}
	if !hasLocale(defaultLocale) {
		return nil, fmt.Errorf("templates: default locale %q is not one of %v", defaultLocale, Locales)
	}
	sub, err := fs.Sub(defaults, "default")
	if err != nil {
		return nil, err
	}
	if err := s.load(sub, "(embedded) "); err != nil {
		return nil, fmt.Errorf("embedded templates: %w", err)
	}
	if dir == "" {
		return s, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("templates dir: %w", err)
	}
	if err := s.load(os.DirFS(dir), dir+string(os.PathSeparator)); err != nil {
		return nil, err
	}
	return s, nil
}

func hasLocale(l string) bool {
	for _, x := range Locales {
		if x == l {
			return true
		}
	}
	return false
}

// load parses every template file of fsys; later loads replace earlier ones
// file by file. prefix names the files in errors.
func (s *Set) load(fsys fs.FS, prefix string) error {
	var errs []error
	override := !strings.HasPrefix(prefix, "(embedded)")
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
			return nil
		}
		k, ok := parseFileName(p)
		if !ok {
			errs = append(errs, fmt.Errorf("%s%s: not a template file (want LOCALE/NAME.subject.tmpl, .txt.tmpl or .html.tmpl with LOCALE fr or en)", prefix, p))
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s%s: %w", prefix, p, err)
		}
		name := prefix + p
		var ex executor
		if k.part == partHTML {
			t, err := htmltemplate.New(name).Funcs(funcsFor(k.locale)).Option("missingkey=zero").Parse(string(b))
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			ex = t
		} else {
			t, err := texttemplate.New(name).Funcs(funcsFor(k.locale)).Option("missingkey=zero").Parse(string(b))
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			ex = t
		}
		s.tmpl[k] = ex
		s.source[k] = name
		if override {
			s.overrides = append(s.overrides, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// parseFileName splits "fr/comment_added.txt.tmpl".
func parseFileName(p string) (key, bool) {
	locale, file, ok := strings.Cut(p, "/")
	if !ok || !hasLocale(locale) || strings.Contains(file, "/") {
		return key{}, false
	}
	base, ok := strings.CutSuffix(file, ".tmpl")
	if !ok {
		return key{}, false
	}
	dot := strings.LastIndexByte(base, '.')
	if dot < 0 {
		return key{}, false
	}
	name, pt := base[:dot], part(base[dot+1:])
	if !validName.MatchString(name) || (pt != partSubject && pt != partText && pt != partHTML) {
		return key{}, false
	}
	return key{locale, name, pt}, true
}

// Has reports whether name is a built-in template or has override files.
func (s *Set) Has(name string) bool {
	for k := range s.tmpl {
		if k.name == name {
			return true
		}
	}
	return false
}

// Render renders template name in locale with data. An empty or unknown
// locale uses the default locale. A name with no template at all renders
// as notice_redirect (R5: a route may name its own redirect template); a
// name with only some override files takes the others from notice_redirect.
// Data keys missing from data are empty.
func (s *Set) Render(name, locale string, data map[string]string) (Rendered, error) {
	if !validName.MatchString(name) {
		return Rendered{}, fmt.Errorf("render: invalid template name %q", name)
	}
	if !hasLocale(locale) {
		locale = s.defaultLocale
	}
	full := withKeys(data)
	var out [3]string
	for i, pt := range parts {
		ex, err := s.lookup(name, locale, pt)
		if err != nil {
			return Rendered{}, err
		}
		var buf bytes.Buffer
		if err := ex.Execute(&buf, full); err != nil {
			return Rendered{}, fmt.Errorf("render %s/%s.%s: %w", locale, name, pt, err)
		}
		out[i] = buf.String()
	}
	return Rendered{Subject: OneLine(out[0]), Text: out[1], HTML: out[2]}, nil
}

// lookup finds the template for one part: the name in the locale, else,
// for a name that is not built in, the same part of notice_redirect (R5).
func (s *Set) lookup(name, locale string, pt part) (executor, error) {
	if ex, ok := s.tmpl[key{locale, name, pt}]; ok {
		return ex, nil
	}
	if !isBuiltin(name) {
		if ex, ok := s.tmpl[key{locale, string(fallbackName), pt}]; ok {
			return ex, nil
		}
	}
	return nil, fmt.Errorf("render: no template %s/%s.%s", locale, name, pt)
}

func isBuiltin(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// OneLine makes a header-safe single line: every control character (CR, LF,
// TAB, NUL...) and run of spaces becomes one space, so text from a customer
// can never start a new header line (RFC 5322 section 2.2).
func OneLine(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' || r == ' ' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// SampleData is the data Check renders every template with: every key set,
// as for a P1 case, so every conditional branch that shows data runs.
func SampleData() map[string]string {
	return map[string]string{
		"requester_display": "Alice Martin", "author_display": "Bob Agent", "org_display": "ACME Corp", "requester_of": "d'Alice Martin", "recipient_known": "1", "previous_priority": "P3",
		"case_id": "42", "title": "Paiement refusé à l'étape 3 <b>", "org": "acme",
		"product": "commerce", "priority": "P1", "status": "open",
		"requester": "alice@example.test", "author": "Bob Agent <bob@support.example.test>",
		"body": "Bonjour,\nle paiement échoue.\n> cité", "reason": "sample reason",
		"reopen_until": "2026-12-09", "escalation_reason": "time to resolution",
		"watcher": "carol@example.test", "addresses": "support+acme@example.test\nsupport+globex@example.test",
		"subject": "Help needed", "in_reply_to": "abc@example.test", "references": "x@example.test abc@example.test",
		"follow_up_of": "41",
		"link_view":    "https://desk.example.test/a/VIEW", "link_reopen": "https://desk.example.test/a/REOPEN",
		"link_close": "https://desk.example.test/a/CLOSE", "link_escalate": "https://desk.example.test/a/ESCALATE",
		"link_followup": "https://desk.example.test/a/FOLLOWUP", "link_unwatch": "https://desk.example.test/a/UNWATCH",
		"link": "https://desk.example.test/signin/TOKEN", "minutes": "15", "address": "alice@example.test",

		"requester_name": "Alice Martin", "watchers": "carol@example.test\ndave@example.test",
		"attachments": "facture.pdf (12 Kio)\ncapture.png (230 Kio)", "assignee": "agnes@support.example.test",
		"team": "l1", "command": "#priority P9", "note_address": "support+note-tok@support.example.test", "internal": "1",
		"from_name": "Agnès Durand", "raw_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"message_id": "314",
	}
}

// Check is for `casemail config check`: it renders every override file with
// sample data for every event, in both locales, so a broken override is
// found before a customer mail needs it. Errors name the file and line
// (text/template reports "template: FILE:LINE: ...").
func (s *Set) Check() error {
	var errs []error
	seen := map[string]bool{}
	data := SampleData()
	empty := map[string]string{}
	for _, p := range s.overrides {
		k, _ := parseFileName(p)
		ex := s.tmpl[k]
		for _, d := range []map[string]string{data, empty} {
			var buf bytes.Buffer
			if err := ex.Execute(&buf, withKeys(d)); err != nil {
				if msg := err.Error(); !seen[msg] {
					seen[msg] = true
					errs = append(errs, err)
				}
			}
		}
	}
	// And the whole set must render for every event and locale (an
	// override could, e.g., be empty).
	for _, loc := range Locales {
		for _, n := range Names {
			r, err := s.Render(n, loc, data)
			if err != nil {
				if !seen[err.Error()] {
					errs = append(errs, err)
				}
				continue
			}
			if r.Subject == "" || strings.TrimSpace(r.Text) == "" {
				errs = append(errs, fmt.Errorf("%s: renders an empty subject or text body", s.source[key{loc, n, partText}]))
			}
		}
	}
	return errors.Join(errs...)
}

// Overrides lists the override files in use, relative to the folder, sorted.
func (s *Set) Overrides() []string {
	out := append([]string(nil), s.overrides...)
	sort.Strings(out)
	return out
}

func withKeys(d map[string]string) map[string]string {
	full := make(map[string]string, len(Keys))
	for _, k := range Keys {
		full[k] = ""
	}
	for k, v := range d {
		full[k] = v
	}
	return full
}
