package quote

import (
	"encoding/json"
	"io"
	"mime"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/emersion/go-message/charset" // ISO-8859-1 and other charsets in the talon .eml files
	"github.com/emersion/go-message/mail"
)

const (
	erpDir   = "../testdata/corpora/email_reply_parser"
	talonDir = "../testdata/corpora/talon"
)

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// R9: a reply by mail becomes a comment holding only the new text. The
// email_reply_parser corpus gives the exact visible text for these bodies.
func TestReplyEmailReplyParserExact(t *testing.T) {
	var exp struct {
		ParseReplyExact map[string]string `json:"parse_reply_exact"`
	}
	readJSON(t, filepath.Join(erpDir, "expectations.json"), &exp)
	if len(exp.ParseReplyExact) == 0 {
		t.Fatal("no parse_reply_exact cases")
	}
	for _, name := range sortedKeys(exp.ParseReplyExact) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			got := Reply(readFile(t, filepath.Join(erpDir, name)))
			if want := exp.ParseReplyExact[name]; got != want {
				t.Errorf("Reply:\n got %q\nwant %q", got, want)
			}
		})
	}
}

type fragmentCase struct {
	Count     *int              `json:"count"`
	Quoted    []bool            `json:"quoted"`
	Signature []bool            `json:"signature"`
	Hidden    []bool            `json:"hidden"`
	Exact     map[string]string `json:"exact"`
	Regex     map[string]string `json:"regex"`
	Contains  map[string]string `json:"contains"`
}

// R9: the fragment split (new text / quote / signature, and what is hidden)
// must match email_reply_parser's own expectations.
func TestFragmentsEmailReplyParser(t *testing.T) {
	var exp struct {
		Fragments map[string]fragmentCase `json:"fragments"`
	}
	readJSON(t, filepath.Join(erpDir, "expectations.json"), &exp)
	for _, name := range sortedKeys(exp.Fragments) {
		c := exp.Fragments[name]
		t.Run(filepath.Base(name), func(t *testing.T) {
			checkFragments(t, Fragments(readFile(t, filepath.Join(erpDir, name))), c)
		})
	}
}

// firstTextPart returns the first text/plain part of a mail, decoded
// (transfer encoding and charset), as talon's tests read their .eml files.
func firstTextPart(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := mail.CreateReader(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part of %s: %v", path, err)
		}
		if h, ok := p.Header.(*mail.InlineHeader); ok {
			ct, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
			if ct == "" || ct == "text/plain" {
				b, err := io.ReadAll(p.Body)
				if err != nil {
					t.Fatalf("read part of %s: %v", path, err)
				}
				return string(b)
			}
		}
	}
	t.Fatalf("%s: no text/plain part", path)
	return ""
}

// R9: talon's standard replies from Gmail, Outlook, Apple Mail, Yahoo, ...
// StripQuotes removes only the quote (talon keeps "Sent from my iPhone"
// and the Sparrow signature); Reply also removes the signature, leaving
// "Hello".
func TestTalonStandardReplies(t *testing.T) {
	var exp struct {
		Standard map[string]struct {
			ExpectedReply string `json:"expected_reply"`
		} `json:"standard_replies"`
	}
	readJSON(t, filepath.Join(talonDir, "expectations.json"), &exp)
	if len(exp.Standard) == 0 {
		t.Fatal("no standard_replies cases")
	}
	for _, name := range sortedKeys(exp.Standard) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			body := firstTextPart(t, filepath.Join(talonDir, name))
			want := strings.TrimSpace(exp.Standard[name].ExpectedReply)
			if got := strings.TrimSpace(StripQuotes(body)); got != want {
				t.Errorf("StripQuotes:\n got %q\nwant %q", got, want)
			}
			if got := Reply(body); got != "Hello" {
				t.Errorf("Reply = %q, want %q", got, "Hello")
			}
		})
	}
}

func removeSpace(s string) string {
	return strings.Join(strings.Fields(s), "")
}

// R9: HTML replies from Gmail, Outlook 2003-2010, Thunderbird, Hotmail,
// Windows Mail, Yandex and mail.ru all reduce to the same new text.
func TestTalonHTMLReplies(t *testing.T) {
	var exp struct {
		HTML map[string]struct {
			Expected string `json:"expected_reply_text"`
		} `json:"html_replies"`
	}
	readJSON(t, filepath.Join(talonDir, "expectations.json"), &exp)
	if len(exp.HTML) == 0 {
		t.Fatal("no html_replies cases")
	}
	for _, name := range sortedKeys(exp.HTML) {
		t.Run(filepath.Base(name), func(t *testing.T) {
			got := ReplyHTML(readFile(t, filepath.Join(talonDir, name)))
			if removeSpace(got) != removeSpace(exp.HTML[name].Expected) {
				t.Errorf("ReplyHTML:\n got %q\nwant %q", got, exp.HTML[name].Expected)
			}
		})
	}
}

// R9: a signature that names the sender is split off (talon's
// signature_stripped cases); without a sender nothing is removed.
func TestTalonSignatureStripped(t *testing.T) {
	var exp struct {
		Sig map[string]struct {
			SenderFile string `json:"sender_file"`
			Expected   string `json:"expected_signature"`
		} `json:"signature_stripped"`
	}
	readJSON(t, filepath.Join(talonDir, "expectations.json"), &exp)
	if len(exp.Sig) == 0 {
		t.Fatal("no signature_stripped cases")
	}
	for _, name := range sortedKeys(exp.Sig) {
		c := exp.Sig[name]
		t.Run(filepath.Base(name), func(t *testing.T) {
			body := readFile(t, filepath.Join(talonDir, name))
			sender := strings.TrimSpace(readFile(t, filepath.Join(talonDir, c.SenderFile)))
			text, sig := Signature(body, sender)
			if strings.TrimSpace(sig) != strings.TrimSpace(c.Expected) {
				t.Errorf("signature:\n got %q\nwant %q", sig, c.Expected)
			}
			full := strings.TrimSpace(body)
			wantText := strings.TrimSpace(full[:len(full)-len(c.Expected)])
			if strings.TrimSpace(text) != wantText {
				t.Errorf("text:\n got %q\nwant %q", text, wantText)
			}
		})
	}
}

// R9: replies from the clients our customers use (Gmail, Outlook, Apple
// Mail, Thunderbird, in English and French), signatures and mobile footers.
// Each testdata/own/<name>.txt (or .html) is a body named after what it
// shows; <name>.want is the expected new text. Bodies that are entirely
// quoted are kept whole (an empty comment would lose what the customer
// sent), and text that only looks like a header or footer must be kept.
func TestReplyOwnFixtures(t *testing.T) {
	wants, err := filepath.Glob("testdata/own/*.want")
	if err != nil || len(wants) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, w := range wants {
		in := strings.TrimSuffix(w, ".want")
		if filepath.Ext(in) != ".html" {
			in += ".txt"
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			body, want := readFile(t, in), readFile(t, w)
			var got string
			if filepath.Ext(in) == ".html" {
				got = ReplyHTML(body)
			} else {
				got = Reply(body)
				// CRLF line ends must not change the result.
				if crlf := Reply(strings.ReplaceAll(body, "\n", "\r\n")); crlf != got {
					t.Errorf("Reply with CRLF = %q, with LF = %q", crlf, got)
				}
			}
			if got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

// R9: StripQuotes keeps signatures and footers but still removes history.
func TestStripQuotesKeepsSignature(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"dashes", "Hello\n\n-- \nJean\n\nOn Mon, Feb 3, 2025 at 10:12 AM Jean <j@x.fr> wrote:\n> Hi\n", "Hello\n\n-- \nJean"},
		{"envoyé de mon iPhone", "Oui\n\nEnvoyé de mon iPhone\n\nLe 3 févr. 2025 à 10:12, Jean <j@x.fr> a écrit :\n> Alors ?\n", "Oui\n\nEnvoyé de mon iPhone"},
		{"entirely quoted", "> only\n> quotes\n", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StripQuotes(tt.in); got != tt.want {
				t.Errorf("StripQuotes = %q, want %q", got, tt.want)
			}
		})
	}
}

// R9: Signature only removes a block that names the sender, at the end.
func TestSignature(t *testing.T) {
	tests := []struct {
		name, body, sender, wantText, wantSig string
	}{
		{"mailbox sender", "Please call me.\n\nJean Dupont\nACME SA\n", "Jean Dupont <jean.dupont@x.fr>", "Please call me.", "Jean Dupont\nACME SA"},
		{"address local part", "Ok.\n\n-- \njdupont, ACME\n", "jdupont@x.fr", "Ok.", "-- \njdupont, ACME"},
		{"no sender keeps all", "Ok.\n\nJean\n", "", "Ok.\n\nJean\n", ""},
		{"name only body is text", "Jean Dupont\n", "Jean Dupont", "Jean Dupont\n", ""},
		{"mention too far up", "Jean Dupont here.\n" + strings.Repeat("line\n", 20), "Jean Dupont", "Jean Dupont here.\n" + strings.Repeat("line\n", 20), ""},
		{"sender not mentioned", "Hello\n\nBest,\nMarie\n", "Jean Dupont", "Hello\n\nBest,\nMarie\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, sig := Signature(tt.body, tt.sender)
			if text != tt.wantText || sig != tt.wantSig {
				t.Errorf("Signature = (%q, %q), want (%q, %q)", text, sig, tt.wantText, tt.wantSig)
			}
		})
	}
}

// R9: HTML is rendered line by line, with quoted content marked so that
// Reply can remove it; scripts and styles never reach the comment.
func TestHTMLText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"blocks and br", "<p>a</p><div>b<br>c</div>", "a\nb\nc"},
		{"inline spacing", "<b>From:</b><span> Jean</span>", "From: Jean"},
		{"blockquote marked", "x<blockquote>q1<br>q2<blockquote>deep</blockquote></blockquote>y", "x\n> q1\n> q2\n> deep\ny"},
		{"script and style dropped", "<style>p{}</style><script>alert(1)</script>t", "t"},
		{"pre keeps lines", "<pre>a\n  b</pre>", "a\n  b"},
		{"nbsp is a space", "a&nbsp;b", "a b"},
		{"hotmail marker quotes the rest", "new<hr id=\"stopSpelling\">old<div>older</div>", "new\n> old\n> older"},
		{"new Outlook container quoted", "new<div id=\"mail-editor-reference-message-container\"><b>From:</b> Jean<br>old</div>", "new\n> From: Jean\n> old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HTMLText(tt.in); got != tt.want {
				t.Errorf("HTMLText = %q, want %q", got, tt.want)
			}
		})
	}
}

// R9: answers written between quoted questions are kept ("when unsure, keep
// it"), including lines that start like a header field.
func TestReplyKeepsAnswers(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"A: answer above quote", "> Q: which version?\nA: 2.1\n> Q: which OS?\n", "> Q: which version?\nA: 2.1"},
		{"text after quote", "> Is it fixed?\n\nNo, still broken.\n", "No, still broken."},
		{"colon line above quote", "See below:\n\n> old text\n", "See below:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reply(tt.in); got != tt.want {
				t.Errorf("Reply = %q, want %q", got, tt.want)
			}
		})
	}
}
