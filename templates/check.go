package templates

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"regexp"
	"strings"
	texttemplate "text/template"
)

// Lint is what `casemail config check` runs on the templates: Check, plus
// two mistakes that fail silently at run time. An override file whose name
// no event and no redirect route uses (routeTemplates) is never sent; a
// field that does not exist renders as nothing, since mail goes out with
// missingkey=zero. Lint renders each override with missingkey=error against
// SampleData, which sets every key real events provide. Each error names
// the file and, where there is one, the line.
func (s *Set) Lint(routeTemplates []string) []error {
	errs := split(s.Check())
	if s.dir == "" {
		return errs
	}
	used := map[string]bool{}
	for _, n := range Names {
		used[string(n)] = true
	}
	for _, n := range routeTemplates {
		used[n] = true
	}
	fsys := os.DirFS(s.dir)
	data := withKeys(SampleData())
	for _, p := range s.Overrides() {
		file := s.dir + string(os.PathSeparator) + p
		k, _ := parseFileName(p)
		if !used[k.name] {
			errs = append(errs, fmt.Errorf("%s: no event or redirect route uses a template named %q (expected one of %s, or the template of a redirect route)",
				file, k.name, strings.Join(builtinNames(), ", ")))
			continue
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", file, err))
			continue
		}
		if err := strictRender(file, k, string(b), data); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// strictRender renders one template file with missingkey=error; only an
// unknown field is reported, as Check reports every other error.
func strictRender(file string, k key, text string, data map[string]string) error {
	var ex executor
	if k.part == partHTML {
		t, err := htmltemplate.New(file).Funcs(funcsFor(k.locale)).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil // Check reported it
		}
		ex = t
	} else {
		t, err := texttemplate.New(file).Funcs(funcsFor(k.locale)).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil
		}
		ex = t
	}
	var buf bytes.Buffer
	err := ex.Execute(&buf, data)
	if err == nil {
		return nil
	}
	m := missingKey.FindStringSubmatch(err.Error())
	if m == nil {
		return nil // not an unknown field: Check reported it
	}
	return fmt.Errorf("%s:%s: {{%s}}: field %q does not exist (fields: %s)", file, m[1], m[2], m[3], strings.Join(Keys, ", "))
}

// missingKey reads text/template's "template: FILE:LINE:COL: executing
// "FILE" at <.nope>: map has no entry for key "nope"".
var missingKey = regexp.MustCompile(`:([0-9]+):[0-9]+: executing .* at <(.*?)>: map has no entry for key "(.*)"`)

func builtinNames() []string {
	out := make([]string, len(Names))
	for i, n := range Names {
		out[i] = string(n)
	}
	return out
}

// split undoes errors.Join, so that each problem is reported on its own.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, split(e)...)
		}
		return out
	}
	return []error{err}
}
