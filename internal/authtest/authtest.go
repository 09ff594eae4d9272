// Package authtest is what tests of sender authentication need (issue 13):
// an in-process DNS server on loopback (github.com/miekg/dns) serving the
// SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) TXT records of test
// domains, and a DKIM signer with keys made once per test binary. It is
// shared by the senderauth and ingest tests so that they test against the
// same server.
package authtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
)

// Zone is what the loopback DNS server answers. Names are lower case,
// without the trailing dot.
type Zone struct {
	mu       sync.Mutex
	txt      map[string][]string
	a        map[string][]net.IP
	servfail map[string]bool // answer SERVFAIL
	drop     map[string]bool // never answer: the client times out
}

// NewZone returns an empty zone: every name is NXDOMAIN.
func NewZone() *Zone {
	return &Zone{txt: map[string][]string{}, a: map[string][]net.IP{},
		servfail: map[string]bool{}, drop: map[string]bool{}}
}

// AddTXT adds TXT records to name.
func (z *Zone) AddTXT(name string, recs ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[name] = append(z.txt[name], recs...)
}

// ServFail makes name and every name below it answer SERVFAIL.
func (z *Zone) ServFail(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.servfail[name] = true
}

// Drop makes name and every name below it never answer.
func (z *Zone) Drop(name string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.drop[name] = true
}

// failing reports whether name or one of its parents is marked.
func failing(m map[string]bool, name string) bool {
	for {
		if m[name] {
			return true
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok {
			return false
		}
		name = rest
	}
}

// ServeDNS answers one query from the zone.
func (z *Zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	z.mu.Lock()
	defer z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	if len(r.Question) != 1 {
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.TrimSuffix(strings.ToLower(q.Name), ".")
	if failing(z.drop, name) {
		return
	}
	if failing(z.servfail, name) {
		m.SetRcode(r, dns.RcodeServerFailure)
		w.WriteMsg(m)
		return
	}
	_, hasTXT := z.txt[name]
	_, hasA := z.a[name]
	if !hasTXT && !hasA {
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
		return
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60, Rrtype: q.Qtype}
	switch q.Qtype {
	case dns.TypeTXT:
		for _, t := range z.txt[name] {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: chunks(t)})
		}
	case dns.TypeA:
		for _, ip := range z.a[name] {
			if ip4 := ip.To4(); ip4 != nil {
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip4})
			}
		}
	}
	w.WriteMsg(m)
}

// chunks splits a record into the 255-byte strings of one TXT record, as
// a 2048-bit DKIM key needs.
func chunks(s string) []string {
	var out []string
	for len(s) > 255 {
		out = append(out, s[:255])
		s = s[255:]
	}
	return append(out, s)
}

// StartDNS serves z on a random loopback port, over UDP and TCP (for
// truncated answers), until the test ends, and returns its address.
func StartDNS(t testing.TB, z *Zone) string {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for i := 0; ; i++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if i == 20 {
			t.Fatalf("no free port for UDP and TCP: %v", err)
		}
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: z}, {Listener: ln, Handler: z}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// keys are generated once per test binary: RSA generation is slow.
var keys = sync.OnceValue(func() struct {
	rsa *rsa.PrivateKey
	ed  ed25519.PrivateKey
} {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return struct {
		rsa *rsa.PrivateKey
		ed  ed25519.PrivateKey
	}{rk, ek}
})

// RSAKey is the test binary's 2048-bit RSA signing key.
func RSAKey() *rsa.PrivateKey { return keys().rsa }

// EdKey is the test binary's Ed25519 signing key.
func EdKey() ed25519.PrivateKey { return keys().ed }

// RSAKeyRecord is the DKIM key record (RFC 6376 3.6.1) of RSAKey.
func RSAKeyRecord() string {
	der, err := x509.MarshalPKIXPublicKey(&keys().rsa.PublicKey)
	if err != nil {
		panic(err)
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
}

// EdKeyRecord is the DKIM key record of EdKey (RFC 8463).
func EdKeyRecord() string {
	return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(keys().ed.Public().(ed25519.PublicKey))
}

// Sign signs raw with go-msgauth's signer, as a sending domain would:
// RSAKey, relaxed/relaxed, From, To, Subject, Date and Message-ID unless o
// says otherwise.
func Sign(t testing.TB, raw []byte, o dkim.SignOptions) []byte {
	t.Helper()
	if o.Signer == nil {
		o.Signer = keys().rsa
	}
	if o.HeaderCanonicalization == "" {
		o.HeaderCanonicalization, o.BodyCanonicalization = dkim.CanonicalizationRelaxed, dkim.CanonicalizationRelaxed
	}
	if o.HeaderKeys == nil {
		o.HeaderKeys = []string{"From", "To", "Subject", "Date", "Message-ID"}
	}
	var b bytes.Buffer
	if err := dkim.Sign(&b, bytes.NewReader(raw), &o); err != nil {
		t.Fatalf("signing: %v", err)
	}
	return b.Bytes()
}
