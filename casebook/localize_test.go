package casebook

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Every refusal the casebook can give has French, found in the source so
// that a new refuse call without it fails here: an agent told by mail why
// a command or a mail was refused reads it in their language (issue 9/11).
// The French has the same arguments, says no English word, and differs
// from the English.
func TestRuleTextsHaveFrench(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "refuse" || len(call.Args) < 2 {
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: refuse with a format that is not a literal: its French cannot be checked", fset.Position(call.Pos()))
				return true
			}
			format, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			found++
			if _, ok := ruleTextFR[format]; !ok {
				t.Errorf("%s: no French for %q", fset.Position(call.Pos()), format)
				return true
			}
			args := make([]any, len(call.Args)-2)
			for i := range args {
				args[i] = sampleArg(format, i)
			}
			e := &RuleError{Rule: R1, Msg: fmt.Sprintf(format, args...), format: format, args: args}
			got := e.In("fr")
			if strings.Contains(got, "%!") || got == e.Msg {
				t.Errorf("French of %q renders %q", format, got)
			}
			if m := englishWords.FindString(got); m != "" {
				t.Errorf("French of %q says English %q: %s", format, m, got)
			}
			if e.In("en") != e.Msg {
				t.Errorf("English of %q changed: %q", format, e.In("en"))
			}
			return true
		})
	}
	if found < 15 {
		t.Fatalf("found %d refuse calls: the walk misses them", found)
	}
	literals := strings.Join(fileTexts(t, files), "\n")
	for format := range ruleTextFR {
		if !strings.Contains(literals, strconv.Quote(format)) {
			t.Errorf("French for %q, which no refuse call says any more", format)
		}
	}
}

// sampleArg is an argument of the type the format's verb i wants.
func sampleArg(format string, i int) any {
	verbs := regexp.MustCompile(`%(\[\d+\])?[a-z]`).FindAllString(format, -1)
	if i < len(verbs) && strings.HasSuffix(verbs[i], "d") {
		return 7
	}
	return "x@acme.test"
}

func fileTexts(t *testing.T, files []string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				out = append(out, lit.Value)
			}
			return true
		})
	}
	return out
}

// englishWords are words of the English refusals that French never needs.
var englishWords = regexp.MustCompile(`(?i)\b(the|has|have|not|may|case|cases|closed|only|can|cannot|account|first|open|reopen|support for|watcher|agent:|days|ago)\b`)

// ErrorIn says the refusals of MayOpen, R4's choice and a missing thing
// in French, and any other error as it is (R1, R4).
func TestErrorIn(t *testing.T) {
	tests := []struct {
		err    error
		fr, en string
	}{
		{refuse(R1, "%s has no account: only registered users can open cases", "x@acme.test"),
			"x@acme.test n'a pas de compte : seuls les utilisateurs enregistrés peuvent ouvrir des demandes", "x@acme.test has no account: only registered users can open cases"},
		{fmt.Errorf("close: %w", refuse(R13, "case %d is closed", 4)), "la demande n° 4 est fermée", "case 4 is closed"},
		{&WhichOrgError{Sender: "m@both.test", Orgs: []string{"acme", "globex"}},
			"m@both.test appartient à acme, globex et le courriel ne dit pas laquelle", "m@both.test belongs to acme, globex and the mail does not say which"},
		{&RuleError{Rule: R7, Msg: "not a watcher"}, "refusé par la règle R7", "not a watcher"},
		{notFound("case %d not found", 9), "introuvable", "case 9 not found"},
		{errors.New("disk full"), "disk full", "disk full"},
	}
	for _, tt := range tests {
		if got := ErrorIn(tt.err, "fr"); got != tt.fr {
			t.Errorf("fr: %q\nwant %q", got, tt.fr)
		}
		if got := ErrorIn(tt.err, "en"); got != tt.en {
			t.Errorf("en: %q\nwant %q", got, tt.en)
		}
	}
}

// An agent's refused command is explained in the agent's language: a rule's
// refusal in its own words, the casebook's other refusals by what the
// command could not do (issue 11; the commands are applied with the mail).
func TestCommandRefusalIn(t *testing.T) {
	closed := fmt.Errorf("close: %w", refuse(R13, "case %d is closed", 4))
	tests := []struct {
		name   string
		cmd    Command
		why    error
		en, fr string
	}{
		{"refused by a rule", Command{Verb: "close"}, closed, "case 4 is closed", ErrorIn(closed, "fr")},
		{"without its argument", Command{Verb: "assign"}, invalid("name the agent: #assign me, #assign ADDRESS or #assign none"),
			"name the agent: #assign me, #assign ADDRESS or #assign none", "nommez l'agent : #assign me, #assign ADRESSE ou #assign none"},
		{"an invalid request", Command{Verb: "priority", Arg: "P9"}, invalid(`priority must be P1..P4, not "P9"`),
			`priority must be P1..P4, not "P9"`, "la priorité P9 n'a pas pu être appliquée : elle doit être P1, P2, P3 ou P4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commandRefusalIn(tt.cmd, tt.why, "en"); got != tt.en {
				t.Errorf("en %q\nwant %q", got, tt.en)
			}
			if got := commandRefusalIn(tt.cmd, tt.why, "fr"); got != tt.fr || got == tt.en {
				t.Errorf("fr %q\nwant %q", got, tt.fr)
			}
		})
	}
}
