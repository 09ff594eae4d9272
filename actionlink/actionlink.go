// Package actionlink signs and checks the one-click action links casemail
// puts in customer mail (view, reopen, close, escalate, follow-up, stop
// watching). A link names one action on one case for one recipient until an
// expiry, and is bound to them by an HMAC-SHA256 (RFC 2104) keyed with the
// casebook's secret under its own purpose string, so a reply token can never
// be used as an action link nor the other way round. Tokens are unpadded
// base64url (RFC 4648 section 5) so they stand in a URL path unescaped.
//
// A link only says who it was sent to: what that person may still do is
// decided by the casebook when the link is used (a revoked grant makes old
// links useless).
package actionlink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is what a link does.
type Action string

// The actions a customer mail links to.
const (
	View     Action = "view"
	Reopen   Action = "reopen"   // R12
	Close    Action = "close"    // R11
	Escalate Action = "escalate" // R15
	FollowUp Action = "followup" // R14
	Unwatch  Action = "unwatch"  // R8
)

// Actions lists every action, in the order mails show them.
var Actions = []Action{View, Reopen, Close, Escalate, FollowUp, Unwatch}

// codes are the one-byte encodings of actions in a token; never renumber.
var codes = map[Action]byte{View: 1, Reopen: 2, Close: 3, Escalate: 4, FollowUp: 5, Unwatch: 6}

func actionOf(c byte) (Action, bool) {
	for a, v := range codes {
		if v == c {
			return a, true
		}
	}
	return "", false
}

// purpose separates this key from every other use of the casebook's secret.
const purpose = "casemail action link v1"

// macLen is 128 bits: a link is usable from anywhere on the web, unlike a
// reply token that also needs the right sender.
const macLen = 16

// maxRecipient bounds the address carried in a token (RFC 5321: 254).
const maxRecipient = 254

var enc = base64.RawURLEncoding

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("action link is malformed")
	ErrForged    = errors.New("action link signature does not match")
	ErrExpired   = errors.New("action link has expired")
)

// Link is what a token says.
type Link struct {
	Action    Action
	CaseID    int64
	Recipient string // lower case
	Expires   time.Time
}

// Signer makes and checks links with one key.
type Signer struct {
	key []byte
}

// New returns a Signer keyed from the casebook's secret (at least 32 random
// bytes) and this package's purpose.
func New(secret []byte) *Signer {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(purpose))
	return &Signer{key: h.Sum(nil)}
}

// Sign returns the token of l. It panics on an unknown action or an
// unusable recipient, which are programming errors.
func (s *Signer) Sign(l Link) string {
	code, ok := codes[l.Action]
	if !ok {
		panic(fmt.Sprintf("actionlink: unknown action %q", l.Action))
	}
	rcpt := normAddr(l.Recipient)
	if rcpt == "" || len(rcpt) > maxRecipient {
		panic("actionlink: recipient must be an address")
	}
	p := []byte{code}
	p = binary.AppendUvarint(p, uint64(l.CaseID))
	p = binary.AppendUvarint(p, uint64(l.Expires.Unix()))
	p = append(p, rcpt...)
	return enc.EncodeToString(append(p, s.mac(p)...))
}

// Verify checks token at now and returns the link it carries.
func (s *Signer) Verify(token string, now time.Time) (Link, error) {
	if len(token) > 2*(macLen+maxRecipient+24) {
		return Link{}, ErrMalformed
	}
	// The decoder skips CR and LF: only the alphabet is a token.
	if strings.IndexFunc(token, func(r rune) bool { return !isB64URL(r) }) >= 0 {
		return Link{}, ErrMalformed
	}
	b, err := enc.DecodeString(token)
	if err != nil || len(b) < macLen+4 {
		return Link{}, ErrMalformed
	}
	p, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(mac, s.mac(p)) {
		return Link{}, ErrForged
	}
	// Only a signed payload is decoded: whatever follows was written by Sign.
	a, ok := actionOf(p[0])
	if !ok {
		return Link{}, ErrMalformed
	}
	caseID, n := binary.Uvarint(p[1:])
	if n <= 0 || caseID > 1<<62 {
		return Link{}, ErrMalformed
	}
	exp, m := binary.Uvarint(p[1+n:])
	if m <= 0 || exp > 1<<40 {
		return Link{}, ErrMalformed
	}
	rcpt := string(p[1+n+m:])
	if rcpt == "" || !utf8.ValidString(rcpt) {
		return Link{}, ErrMalformed
	}
	l := Link{Action: a, CaseID: int64(caseID), Recipient: rcpt, Expires: time.Unix(int64(exp), 0).UTC()}
	if now.After(l.Expires) {
		return l, fmt.Errorf("%w (case %d)", ErrExpired, l.CaseID)
	}
	return l, nil
}

func (s *Signer) mac(p []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(p)
	return h.Sum(nil)[:macLen]
}

// Sum returns an HMAC of parts under this signer's key, for values that must
// be tied to the secret without being links (CSRF tokens). The parts are
// separated so that ("ab", "c") and ("a", "bc") differ.
func (s *Signer) Sum(parts ...string) string {
	h := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return enc.EncodeToString(h.Sum(nil)[:macLen])
}

func isB64URL(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
}

func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// Equal reports whether two tokens or sums are the same, in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
