package replytoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
)

// bounceMacLen is the number of HMAC bytes in a return-path tag: 80 bits,
// as for reply tokens.
const bounceMacLen = 10

// ReturnPath returns the detail of a notification's return path
// (bounce+DETAIL@reply_domain): the outbox row's token and a MAC of it.
// The token alone is no secret: it is the left part of the notification's
// Message-ID, which the References of later mail give to every other
// recipient of the case. Only the MAC, known to the one mailbox the
// notification went to and the relays on its way, makes a DSN to this
// address believable.
func (s *Signer) ReturnPath(token string) string {
	return token + "-" + strings.ToLower(enc.EncodeToString(s.bounceMAC(token)))
}

// CheckReturnPath returns the outbox token of a detail made by ReturnPath,
// and false for any other detail, a forged one included.
func (s *Signer) CheckReturnPath(detail string) (string, bool) {
	i := strings.LastIndexByte(detail, '-')
	if i <= 0 {
		return "", false
	}
	token, mac := strings.ToLower(detail[:i]), detail[i+1:]
	got, err := enc.DecodeString(strings.ToUpper(mac))
	if err != nil || !hmac.Equal(got, s.bounceMAC(token)) {
		return "", false
	}
	return token, true
}

func (s *Signer) bounceMAC(token string) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte("return-path\x00")) // never equal to a reply token's MAC input
	h.Write([]byte(strings.ToLower(token)))
	return h.Sum(nil)[:bounceMacLen]
}
