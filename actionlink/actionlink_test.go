package actionlink_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/replytoken"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestRoundTrip(t *testing.T) {
	s := actionlink.New(secret)
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	for _, a := range actionlink.Actions {
		for _, id := range []int64{1, 127, 128, 1 << 40} {
			in := actionlink.Link{Action: a, CaseID: id, Recipient: " Zoé@Example.TEST ", Expires: now.Add(time.Hour)}
			tok := s.Sign(in)
			if strings.ContainsAny(tok, "+/=%?&#") {
				t.Errorf("token %q needs escaping in a URL", tok)
			}
			got, err := s.Verify(tok, now)
			if err != nil {
				t.Fatalf("%s %d: %v", a, id, err)
			}
			if got.Action != a || got.CaseID != id || got.Recipient != "zoé@example.test" || !got.Expires.Equal(in.Expires) {
				t.Errorf("got %+v, want %+v", got, in)
			}
		}
	}
}

func TestRefused(t *testing.T) {
	s := actionlink.New(secret)
	now := time.Date(2026, 11, 29, 20, 0, 0, 0, time.UTC)
	good := s.Sign(actionlink.Link{Action: actionlink.Reopen, CaseID: 7, Recipient: "ana@example.test", Expires: now.Add(time.Hour)})
	// Flip one character in the middle: another case, action or recipient.
	b := []byte(good)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	reply := replytoken.New(secret).Sign(7, "ana@example.test", now.Add(time.Hour))
	tests := []struct {
		name  string
		token string
		at    time.Time
		want  error
	}{
		{"expired link", good, now.Add(2 * time.Hour), actionlink.ErrExpired},
		{"changed payload", string(b), now, actionlink.ErrForged},
		{"other secret", actionlink.New([]byte("another secret of thirty-two by")).Sign(actionlink.Link{Action: actionlink.Close, CaseID: 7, Recipient: "ana@example.test", Expires: now.Add(time.Hour)}), now, actionlink.ErrForged},
		// A reply token signed with the same secret is never an action link.
		{"reply token", reply, now, nil},
		{"empty", "", now, actionlink.ErrMalformed},
		{"not base64url", "a+b/c==", now, actionlink.ErrMalformed},
		{"huge", strings.Repeat("A", 5000), now, actionlink.ErrMalformed},
		{"truncated", good[:len(good)-4], now, actionlink.ErrForged},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Verify(tc.token, tc.at)
			if err == nil {
				t.Fatalf("accepted %q", tc.token)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSumSeparatesParts(t *testing.T) {
	s := actionlink.New(secret)
	if s.Sum("ab", "c") == s.Sum("a", "bc") {
		t.Error("Sum does not separate its parts")
	}
	if !actionlink.Equal(s.Sum("x"), s.Sum("x")) {
		t.Error("Sum is not deterministic")
	}
}

func BenchmarkVerify(b *testing.B) {
	s := actionlink.New(secret)
	now := time.Now()
	tok := s.Sign(actionlink.Link{Action: actionlink.View, CaseID: 12345, Recipient: "someone@example.test", Expires: now.Add(time.Hour)})
	for b.Loop() {
		if _, err := s.Verify(tok, now); err != nil {
			b.Fatal(err)
		}
	}
}
