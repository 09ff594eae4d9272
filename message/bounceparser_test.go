package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBounceParserExpectations runs every expectation of
// Mail::DeliveryStatus::BounceParser's tests (testdata/corpora/bounceparser/
// expectations.json, read from its t/*.t): bounces are bounces with the
// failed recipients, original Message-ID and status the tests name; the
// machine mail they call no bounce (vacation notices, challenge-response
// requests) is still automatic, never a case (I5); a delay is never a
// permanent failure (delays never suppress).
func TestBounceParserExpectations(t *testing.T) {
	dir := "../testdata/corpora/bounceparser"
	var exp struct {
		Cases []struct {
			File         string   `json:"file"`
			Bounce       bool     `json:"bounce"`
			Automatic    bool     `json:"automatic"`
			Transient    bool     `json:"transient"`
			Addresses    []string `json:"addresses"`
			MinAddresses int      `json:"min_addresses"`
			OriginalID   string   `json:"original_message_id"`
			Status       string   `json:"status"`
			Source       string   `json:"source"`
		} `json:"cases"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "expectations.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.Cases) < 120 {
		t.Fatalf("only %d cases", len(exp.Cases))
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
		var why []string
		switch {
		case c.Bounce && p.Kind != KindBounce:
			why = append(why, "kind "+string(p.Kind)+", want bounce")
		case c.Transient && p.Kind == KindBounce && p.Bounce.Permanent:
			why = append(why, "a delay read as a permanent failure")
		case c.Automatic && p.Kind == KindNormal:
			why = append(why, "machine mail read as normal")
		case !c.Bounce && !c.Transient && p.Kind == KindBounce:
			why = append(why, "read as a bounce")
		}
		if p.Bounce != nil && c.Bounce {
			var got []string
			for _, a := range p.Bounce.Recipients {
				got = append(got, strings.ToLower(a))
			}
			want := slices.Clone(c.Addresses)
			slices.Sort(got)
			slices.Sort(want)
			if c.Addresses != nil && !slices.Equal(got, want) {
				why = append(why, "recipients "+strings.Join(got, ",")+", want "+strings.Join(want, ","))
			}
			if len(got) < c.MinAddresses {
				why = append(why, "no recipient")
			}
			if c.OriginalID != "" && p.Bounce.OriginalMessageID != c.OriginalID {
				why = append(why, "original message id "+p.Bounce.OriginalMessageID+", want "+c.OriginalID)
			}
			if c.Status != "" && p.Bounce.Status != c.Status {
				why = append(why, "status "+p.Bounce.Status+", want "+c.Status)
			}
		}
		if len(why) == 0 {
			pass++
			continue
		}
		t.Errorf("%s (%s): %s", c.File, c.Source, strings.Join(why, "; "))
	}
	t.Logf("bounceparser: %d/%d expectations met", pass, len(exp.Cases))
}
