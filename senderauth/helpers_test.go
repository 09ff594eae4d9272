package senderauth

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/authtest"
	"github.com/emersion/go-msgauth/dkim"
)

// The DNS server and the signer are internal/authtest's, shared with the
// ingest tests.
type zone = authtest.Zone

func newZone() *zone { return authtest.NewZone() }

func startDNS(t testing.TB, z *zone) string { return authtest.StartDNS(t, z) }

func rsaKeyRecord() string { return authtest.RSAKeyRecord() }

func edKeyRecord() string { return authtest.EdKeyRecord() }

func keys() struct {
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
} {
	return struct {
		rsa *rsa.PrivateKey
		ed  ed25519.PrivateKey
	}{authtest.RSAKey(), authtest.EdKey()}
}

// mailOf builds a CRLF mail from "\n"-separated text.
func mailOf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

func sign(t testing.TB, raw []byte, o dkim.SignOptions) []byte {
	t.Helper()
	return authtest.Sign(t, raw, o)
}

var wsp = regexp.MustCompile(`[ \t]+`)

// signLength signs raw with relaxed/relaxed and RSA; withL adds an l= tag
// with the length of the canonical body, as a mailing-list-friendly signer
// does, so that text appended later is outside the signature. go-msgauth's signer cannot write l=, so this is a minimal signer of
// our own; TestSignLengthHelper checks it against the verifier.
func signLength(t testing.TB, raw []byte, domain, selector string, withL bool) []byte {
	t.Helper()
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("mail without a body")
	}
	// RFC 6376 3.4.4: relaxed body.
	lines := strings.Split(string(body), "\r\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(wsp.ReplaceAllString(l, " "), " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	canon := ""
	if len(lines) > 0 {
		canon = strings.Join(lines, "\r\n") + "\r\n"
	}
	tagsL := ""
	if withL {
		tagsL = fmt.Sprintf(" l=%d;", len(canon))
	}
	bh := sha256.Sum256([]byte(canon))
	// RFC 6376 3.4.2: relaxed header, h=from:subject picked bottom-up.
	relaxed := func(k, v string) string {
		v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", ""), "\n", "")
		return strings.ToLower(strings.TrimSpace(k)) + ":" + strings.TrimSpace(wsp.ReplaceAllString(v, " ")) + "\r\n"
	}
	fields := regexp.MustCompile(`(?m)^[^ \t\r\n][^:]*:`).FindAllStringIndex(string(head), -1)
	value := map[string]string{}
	for i, f := range fields {
		end := len(head)
		if i+1 < len(fields) {
			end = fields[i+1][0]
		}
		k := strings.ToLower(string(head[f[0] : f[1]-1]))
		value[k] = string(head[f[1]:end]) // the last (bottom-most) wins
	}
	sig := fmt.Sprintf("v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=%s; h=from:subject;%s bh=%s; b=",
		domain, selector, tagsL, base64.StdEncoding.EncodeToString(bh[:]))
	data := relaxed("from", value["from"]) + relaxed("subject", value["subject"]) +
		strings.TrimSuffix(relaxed("DKIM-Signature", sig), "\r\n")
	h := sha256.Sum256([]byte(data))
	b, err := rsa.SignPKCS1v15(rand.Reader, keys().rsa, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("DKIM-Signature: "+sig+base64.StdEncoding.EncodeToString(b)+"\r\n"), raw...)
}

// newTestVerifier points a Verifier at z with the default timeouts: the
// loopback server answers at once, and short timeouts would turn a busy
// machine into temperrors. TestVerifyTimeout covers servers that never answer.
func newTestVerifier(t testing.TB, z *zone) *Verifier {
	t.Helper()
	v, err := New(Config{Resolver: startDNS(t, z)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
