package message

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// floor for the flufl.bounce expectations: raise it when the heuristics
// improve, never lower it.
const fluflMinPass = 101

// TestFluflBounceExpectations runs every case of flufl.bounce's detector
// tests: the file must be a bounce (I5: never answered), with exactly the
// expected recipients (case-insensitively) and the expected permanence.
func TestFluflBounceExpectations(t *testing.T) {
	dir := "../testdata/corpora/flufl-bounce"
	var exp struct {
		Cases []struct {
			File      string   `json:"file"`
			Detector  string   `json:"detector"`
			Addresses []string `json:"expected_addresses"`
			Kind      string   `json:"kind"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expectations.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	pass := 0
	for _, c := range exp.Cases {
		raw, err := os.ReadFile(filepath.Join(dir, c.File))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw, Options{})
		if err != nil {
			t.Errorf("%s: %v", c.File, err)
			continue
		}
		if len(c.Addresses) == 0 {
			pass++ // must not crash
			continue
		}
		var got []string
		if p.Bounce != nil {
			for _, a := range p.Bounce.Recipients {
				got = append(got, strings.ToLower(a))
			}
		}
		var want []string
		for _, a := range c.Addresses {
			want = append(want, strings.ToLower(a))
		}
		slices.Sort(got)
		slices.Sort(want)
		ok := p.Kind == KindBounce && slices.Equal(got, want) && p.Bounce.Permanent == (c.Kind == "permanent")
		if ok {
			pass++
			continue
		}
		perm := false
		if p.Bounce != nil {
			perm = p.Bounce.Permanent
		}
		t.Logf("MISS %s %s: kind=%s got=%v perm=%v want=%v %s", c.Detector, filepath.Base(c.File), p.Kind, got, perm, want, c.Kind)
	}
	t.Logf("flufl.bounce: %d/%d cases pass", pass, len(exp.Cases))
	if pass < fluflMinPass {
		t.Errorf("flufl.bounce: %d/%d pass, want at least %d", pass, len(exp.Cases), fluflMinPass)
	}
}

// fluflMails reads the flufl.bounce sample mails.
func fluflMails(tb testing.TB) [][]byte {
	files, err := filepath.Glob("../testdata/corpora/flufl-bounce/flufl/bounce/tests/data/*.txt")
	if err != nil || len(files) < 100 {
		tb.Fatalf("flufl.bounce samples: %d files, %v", len(files), err)
	}
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

// FuzzBounceText: the text heuristics of non-standard bounces (diagnostic
// text, failed recipients, permanence) never panic on any body, the
// diagnostic text is never longer than the body, and every recipient is
// an address.
func FuzzBounceText(f *testing.F) {
	for _, raw := range fluflMails(f) {
		if i := bytes.Index(raw, []byte("\n\n")); i >= 0 && len(raw) < 64<<10 {
			f.Add(string(raw[i+2:]))
		}
	}
	f.Add("Your message\n\nTo: a@b.example\n\ndid not reach the following recipient(s):\n\n\tname\n")
	f.Add("--b\nContent-Type: text/plain\n\nx\n--b\nContent-Type: message/rfc822\n\nFrom: a@b.c\n")
	f.Fuzz(func(t *testing.T, text string) {
		p := &Parsed{From: "MAILER-DAEMON@mx.example.net", To: []string{"bounce+x@casemail.test"}, Text: text}
		d := diagnosticText(p)
		if len(d) > len(text) {
			t.Fatalf("diagnostic text %d bytes from %d", len(d), len(text))
		}
		for _, r := range heuristicRecipients(p, d) {
			if strings.Count(r, "@") != 1 || strings.ContainsAny(r, " \t\r\n<>") {
				t.Fatalf("recipient %q is no address", r)
			}
		}
		isWarning(p, d)
		originalMessageID(p, d)
	})
}

// BenchmarkClassifyBounce classifies every flufl.bounce sample once per
// iteration: the cost of the bounce rules on the mail that triggers them
// all (parsing excluded).
func BenchmarkClassifyBounce(b *testing.B) {
	var ps []*Parsed
	for _, raw := range fluflMails(b) {
		p, err := Parse(raw, Options{})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range ps {
			ClassifyEnvelope(p, "")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/mail")
}
