package message

import (
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
	dir := "testdata/corpora/flufl-bounce"
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
