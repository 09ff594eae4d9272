package quote

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	crispDir      = "../testdata/corpora/crisp-email-reply-parser"
	mailparserDir = "../testdata/corpora/mailparser-reply"
)

// replyCase is an expectation on Reply's result for one body.
type replyCase struct {
	Test        string   `json:"test"` // the upstream test it comes from
	Body        string   `json:"body"` // inline cases: the body itself
	Exact       *string  `json:"exact"`
	Contains    []string `json:"contains"`
	NotContains []string `json:"not_contains"`
	Lines       *int     `json:"lines"`
}

func (c replyCase) check(t *testing.T, got string) {
	t.Helper()
	if c.Exact != nil && got != *c.Exact {
		t.Errorf("Reply (%s):\n got %q\nwant %q", c.Test, got, *c.Exact)
	}
	for _, s := range c.Contains {
		if !strings.Contains(got, s) {
			t.Errorf("Reply (%s) = %q, want it to contain %q", c.Test, got, s)
		}
	}
	for _, s := range c.NotContains {
		if strings.Contains(got, s) {
			t.Errorf("Reply (%s) = %q, want it without %q", c.Test, got, s)
		}
	}
	if c.Lines != nil {
		if n := len(strings.Split(got, "\n")); n != *c.Lines {
			t.Errorf("Reply (%s) has %d lines, want %d: %q", c.Test, n, *c.Lines, got)
		}
	}
}

// sigCase: Signature(Reply(body), Sender) splits off Sig (or a signature
// starting with SigPrefix) and leaves Body.
type sigCase struct {
	Test      string `json:"test"`
	Sender    string `json:"sender"`
	Sig       string `json:"sig"`
	SigPrefix string `json:"sig_prefix"`
	Body      string `json:"body"`
}

type fragCase struct {
	fragmentCase
	Test           string `json:"test"`
	MinCount       int    `json:"min_count"`
	AnySignature   bool   `json:"any_signature"`
	SignatureFirst *bool  `json:"signature_first"`
}

type corpusExpectations struct {
	Reply     map[string]replyCase `json:"reply"`
	Inline    map[string]replyCase `json:"inline"`
	Signature map[string]sigCase   `json:"signature"`
	Fragments map[string]fragCase  `json:"fragments"`
}

func runCorpus(t *testing.T, dir string) {
	var exp corpusExpectations
	readJSON(t, filepath.Join(dir, "expectations.json"), &exp)
	if len(exp.Reply) == 0 {
		t.Fatal("no reply cases")
	}
	for _, name := range sortedKeys(exp.Reply) {
		t.Run("reply/"+filepath.Base(name), func(t *testing.T) {
			exp.Reply[name].check(t, Reply(readFile(t, filepath.Join(dir, name))))
		})
	}
	for _, name := range sortedKeys(exp.Inline) {
		t.Run("inline/"+name, func(t *testing.T) {
			c := exp.Inline[name]
			c.Test = name
			c.check(t, Reply(c.Body))
		})
	}
	for _, name := range sortedKeys(exp.Signature) {
		c := exp.Signature[name]
		t.Run("signature/"+filepath.Base(name), func(t *testing.T) {
			body, sig := Signature(Reply(readFile(t, filepath.Join(dir, name))), c.Sender)
			if c.Sig != "" && sig != c.Sig {
				t.Errorf("signature (%s) = %q, want %q", c.Test, sig, c.Sig)
			}
			if c.SigPrefix != "" && !strings.HasPrefix(sig, c.SigPrefix) {
				t.Errorf("signature (%s) = %q, want it to start with %q", c.Test, sig, c.SigPrefix)
			}
			if c.Body != "" && body != c.Body {
				t.Errorf("body (%s) = %q, want %q", c.Test, body, c.Body)
			}
		})
	}
	for _, name := range sortedKeys(exp.Fragments) {
		c := exp.Fragments[name]
		t.Run("fragments/"+filepath.Base(name), func(t *testing.T) {
			frags := Fragments(readFile(t, filepath.Join(dir, name)))
			checkFragments(t, frags, c.fragmentCase)
			if len(frags) < c.MinCount {
				t.Errorf("%s: got %d fragments, want at least %d", c.Test, len(frags), c.MinCount)
			}
			if c.AnySignature {
				any := false
				for _, f := range frags {
					any = any || f.Signature
				}
				if !any {
					t.Errorf("%s: no signature fragment in %#v", c.Test, frags)
				}
			}
			if c.SignatureFirst != nil && len(frags) > 0 && frags[0].Signature != *c.SignatureFirst {
				t.Errorf("%s: first fragment signature = %v", c.Test, frags[0].Signature)
			}
		})
	}
}

// checkFragments compares fragments with an email_reply_parser-style
// expectation (count, per-fragment flags, exact text, regex, substring).
func checkFragments(t *testing.T, frags []Fragment, c fragmentCase) {
	t.Helper()
	if c.Count != nil && len(frags) != *c.Count {
		t.Fatalf("got %d fragments, want %d: %#v", len(frags), *c.Count, frags)
	}
	flags := []struct {
		name string
		want []bool
		get  func(Fragment) bool
	}{
		{"quoted", c.Quoted, func(f Fragment) bool { return f.Quoted }},
		{"signature", c.Signature, func(f Fragment) bool { return f.Signature }},
		{"hidden", c.Hidden, func(f Fragment) bool { return f.Hidden }},
	}
	for _, fl := range flags {
		if fl.want == nil {
			continue
		}
		if len(frags) != len(fl.want) {
			t.Fatalf("%s: got %d fragments, want %d", fl.name, len(frags), len(fl.want))
		}
		for i, w := range fl.want {
			if g := fl.get(frags[i]); g != w {
				t.Errorf("fragment %d %s = %v, want %v (%q)", i, fl.name, g, w, frags[i].Content)
			}
		}
	}
	frag := func(key string) string {
		i, err := strconv.Atoi(key)
		if err != nil || i >= len(frags) {
			t.Fatalf("fragment %s missing (have %d)", key, len(frags))
		}
		return frags[i].Content
	}
	for k, want := range c.Exact {
		if got := frag(k); got != want {
			t.Errorf("fragment %s = %q, want %q", k, got, want)
		}
	}
	for k, re := range c.Regex {
		// Ruby's ^ and $ always match at line boundaries; \A is the start.
		if got := frag(k); !regexp.MustCompile("(?m)" + re).MatchString(got) {
			t.Errorf("fragment %s = %q, want match for %q", k, got, re)
		}
	}
	for k, sub := range c.Contains {
		if got := frag(k); !strings.Contains(got, sub) {
			t.Errorf("fragment %s = %q, want it to contain %q", k, got, sub)
		}
	}
}

// R9: crisp's email-reply-parser suite: replies in Italian, Dutch, Polish,
// German, Portuguese, Finnish, Norwegian, Russian, French Outlook and
// Outlook for iOS, unquoted history, and "tricky" texts that only look like
// headers or signatures, which must stay.
func TestCrispCorpus(t *testing.T) { runCorpus(t, crispDir) }

// R9: mail-parser-reply's suite: Danish, Dutch, Japanese, Polish, Swedish
// and German replies, Outlook header blocks without a separator, mobile
// footers and closings.
func TestMailparserReplyCorpus(t *testing.T) { runCorpus(t, mailparserDir) }
