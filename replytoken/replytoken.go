// Package replytoken signs and checks the reply tokens casemail puts in the
// Reply-To of every notification (support+TOKEN@reply_domain, an address
// package address formats and parses). A token names
// one case and is bound to one recipient and an expiry by an HMAC-SHA256
// (RFC 2104), so a reply joins a case only when it comes from the person the
// notification was sent to (I6). Tokens are base32 (RFC 4648) in lower case,
// because mail systems may change the case of a local part.
package replytoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// macLen is the number of HMAC bytes kept: 80 bits is far beyond what an
// attacker can guess by sending mail.
const macLen = 10

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("reply token is malformed")
	ErrForged    = errors.New("reply token does not match its recipient")
	ErrExpired   = errors.New("reply token has expired")
)

// Signer makes and checks tokens with one secret.
type Signer struct {
	secret []byte
}

// New returns a Signer. The secret should be at least 32 random bytes.
func New(secret []byte) *Signer { return &Signer{secret: bytes.Clone(secret)} }

// Sign returns the token for caseID sent to recipient, valid until expires.
func (s *Signer) Sign(caseID int64, recipient string, expires time.Time) string {
	payload := binary.AppendUvarint(nil, uint64(caseID))
	payload = binary.AppendUvarint(payload, uint64(expires.Unix()/3600))
	return strings.ToLower(enc.EncodeToString(append(payload, s.mac(payload, recipient)...)))
}

// Verify checks token for a reply from sender at now and returns the case.
func (s *Signer) Verify(token, sender string, now time.Time) (int64, error) {
	b, err := enc.DecodeString(strings.ToUpper(token))
	if err != nil || len(b) < macLen+2 {
		return 0, ErrMalformed
	}
	payload, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	caseID, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, ErrMalformed
	}
	hours, m := binary.Uvarint(payload[n:])
	if m <= 0 || n+m != len(payload) {
		return 0, ErrMalformed
	}
	if !hmac.Equal(mac, s.mac(payload, sender)) {
		return 0, ErrForged
	}
	if now.Unix()/3600 > int64(hours) {
		return 0, fmt.Errorf("%w (case %d)", ErrExpired, caseID)
	}
	return int64(caseID), nil
}

func (s *Signer) mac(payload []byte, recipient string) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write(payload)
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(strings.TrimSpace(recipient))))
	return h.Sum(nil)[:macLen]
}
