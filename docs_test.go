// Package docs_test checks that the documentation names code that exists:
// docs/rules.md says, for every rule R1–R20 and invariant I1–I6, which
// functions enforce it and which tests guard it, and a rename must not leave
// it pointing at nothing.
package docs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ref is one `file`: `Name` pair of docs/rules.md.
type ref struct {
	line       int
	file, name string
}

var (
	span  = regexp.MustCompile("`([^`]+)`")
	ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	// snake is a template, outcome or column name (notice_closed_case),
	// which Go code does not declare.
	snake = regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)+$`)
)

// rulesRefs reads the list items of a rules page ("- Enforced: ...",
// "- Tested: ...", or a paragraph on one aspect of a rule; an item goes on
// over its indented lines): a backticked path ending in
// .go sets the file, and each backticked identifier after it, up to the
// next file, is a name declared there.
func rulesRefs(text string) []ref {
	var refs []ref
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "- ") {
			continue
		}
		start := i + 1
		item := l
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  ") {
			i++
			item += "\n" + lines[i]
		}
		file := ""
		for _, m := range span.FindAllStringSubmatchIndex(item, -1) {
			s := item[m[2]:m[3]]
			line := start + strings.Count(item[:m[0]], "\n")
			switch {
			case strings.HasSuffix(s, ".go"):
				file = s
				refs = append(refs, ref{line: line, file: s})
			case file != "" && ident.MatchString(s) && !snake.MatchString(s):
				refs = append(refs, ref{line: line, file: file, name: s})
			}
		}
	}
	return refs
}

// declared lists the top-level names of a Go file: functions, methods (as
// Name and Type.Name), types, constants and variables.
func declared(path string) (map[string]bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			names[d.Name.Name] = true
			if d.Recv != nil && len(d.Recv.List) == 1 {
				t := d.Recv.List[0].Type
				if s, ok := t.(*ast.StarExpr); ok {
					t = s.X
				}
				if g, ok := t.(*ast.IndexExpr); ok {
					t = g.X
				}
				if id, ok := t.(*ast.Ident); ok {
					names[id.Name+"."+d.Name.Name] = true
				}
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names, nil
}

// packageDeclares reports whether a .go file of the folder dir declares name.
func packageDeclares(t *testing.T, dir, name string) bool {
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if names, err := declared(p); err == nil && names[name] {
			return true
		}
	}
	return false
}

// Every function and test docs/rules.md names is declared in the file it
// names, so the page can be trusted to lead from a rule to its code (R1–R20,
// I1–I6).
func TestRulesPageNamesExistingCode(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("docs", "rules.md"))
	if err != nil {
		t.Fatal(err)
	}
	refs := rulesRefs(string(text))
	if len(refs) < 50 {
		t.Fatalf("read only %d references from docs/rules.md: has its format changed?", len(refs))
	}
	files := map[string]map[string]bool{}
	for _, r := range refs {
		names, seen := files[r.file]
		if !seen {
			names, err = declared(filepath.FromSlash(r.file))
			if err != nil {
				t.Errorf("docs/rules.md:%d: %s: %v", r.line, r.file, err)
			}
			files[r.file] = names
		}
		if pkg, name, ok := strings.Cut(r.name, "."); ok && pkg == strings.ToLower(pkg) {
			// casebook.NewCase: a name of another package, by its folder.
			if !packageDeclares(t, pkg, name) {
				t.Errorf("docs/rules.md:%d: package %s declares no %s", r.line, pkg, name)
			}
			continue
		}
		if r.name != "" && names != nil && !names[r.name] {
			t.Errorf("docs/rules.md:%d: %s declares no %s", r.line, r.file, r.name)
		}
	}
}

// The reader itself: pairs across lines, several files in one item, and
// prose backticks (commands, template names) that are not references.
func TestRulesRefs(t *testing.T) {
	page := "intro `casemail case list` and `Foo`\n" +
		"- Enforced: `a/b.go`: `One`, applied by `Two` (mail),\n" +
		"  `Three`; `c/d_test.go`: `TestX`, `notice_closed_case` is mailed.\n" +
		"Prose `a/b.go`: `NotAnItem`\n" +
		"- Tested: `e/f_test.go`: `TestY`, `T.Method`\n"
	want := []ref{{2, "a/b.go", ""}, {2, "a/b.go", "One"}, {2, "a/b.go", "Two"}, {3, "a/b.go", "Three"},
		{3, "c/d_test.go", ""}, {3, "c/d_test.go", "TestX"},
		{5, "e/f_test.go", ""}, {5, "e/f_test.go", "TestY"}, {5, "e/f_test.go", "T.Method"}}
	got := rulesRefs(page)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ref %d: got %v, want %v", i, got[i], want[i])
		}
	}
}
