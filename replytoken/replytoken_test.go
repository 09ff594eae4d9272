package replytoken

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// I6: a token joins its case only for the recipient it was sent to, until it expires.
func TestVerify(t *testing.T) {
	s := New(secret)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tok := s.Sign(42, "Ann@Acme.test", now.Add(48*time.Hour))
	if tok != strings.ToLower(tok) || len(tok) > 40 {
		t.Fatalf("token %q must be short lower-case base32", tok)
	}
	tests := []struct {
		name, token, sender string
		at                  time.Time
		want                error
	}{
		{"recipient", tok, "ann@acme.test", now, nil},
		{"upper-cased by a mail system", strings.ToUpper(tok), "ann@acme.test", now, nil},
		{"someone else", tok, "bob@globex.test", now, ErrForged},
		{"expired", tok, "ann@acme.test", now.Add(50 * time.Hour), ErrExpired},
		{"tampered", tok[:len(tok)-1] + "a", "ann@acme.test", now, ErrForged},
		{"not base32", "acme", "ann@acme.test", now, ErrMalformed},
		{"other secret", New([]byte("another secret, thirty-two bytes")).Sign(42, "ann@acme.test", now.Add(time.Hour)), "ann@acme.test", now, ErrForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.Verify(tt.token, tt.sender, tt.at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && id != 42 {
				t.Fatalf("case = %d", id)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	s := New(secret)
	f.Add(s.Sign(1, "a@b", time.Unix(1<<40, 0)), "a@b")
	f.Add("", "")
	f.Add("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "x")
	f.Fuzz(func(t *testing.T, token, sender string) {
		id, err := s.Verify(token, sender, time.Unix(0, 0))
		if err == nil && id < 0 {
			t.Fatalf("negative case %d", id)
		}
	})
}

// I5, issue 10: a return path is believed only with the MAC of its own
// token; the token alone (the Message-ID's left part, which other
// recipients see in References) is not enough, nor another row's MAC.
func TestReturnPath(t *testing.T) {
	s, other := New([]byte("0123456789abcdef0123456789abcdef")), New([]byte("another secret, another install."))
	rp := s.ReturnPath("abcdefgh234567")
	if tok, ok := s.CheckReturnPath(rp); !ok || tok != "abcdefgh234567" {
		t.Fatalf("CheckReturnPath(%q) = %q, %v", rp, tok, ok)
	}
	if tok, ok := s.CheckReturnPath(strings.ToUpper(rp)); !ok || tok != "abcdefgh234567" {
		t.Fatal("a mail system that upper-cases the local part broke the return path")
	}
	mac := rp[strings.LastIndexByte(rp, '-'):]
	for _, forged := range []string{"abcdefgh234567", "abcdefgh234567-", "zzzzzzzz234567" + mac, other.ReturnPath("abcdefgh234567"), "-" + mac[1:], ""} {
		if tok, ok := s.CheckReturnPath(forged); ok {
			t.Errorf("forged return path %q believed (token %q)", forged, tok)
		}
	}
}
