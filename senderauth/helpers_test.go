package senderauth

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/miekg/dns"
)

// zone is what the loopback DNS server answers. Names are lower case,
// without the trailing dot.
type zone struct {
	mu       sync.Mutex
	txt      map[string][]string
	a        map[string][]net.IP
	servfail map[string]bool // answer SERVFAIL
	drop     map[string]bool // never answer: the client times out
}

func newZone() *zone {
	return &zone{txt: map[string][]string{}, a: map[string][]net.IP{},
		servfail: map[string]bool{}, drop: map[string]bool{}}
}

func (z *zone) addTXT(name string, recs ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.txt[name] = append(z.txt[name], recs...)
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

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
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

// startDNS serves z on a random loopback port, over UDP and TCP (for
// truncated answers), and returns its address.
func startDNS(t testing.TB, z *zone) string {
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

func rsaKeyRecord() string {
	der, err := x509.MarshalPKIXPublicKey(&keys().rsa.PublicKey)
	if err != nil {
		panic(err)
	}
	return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
}

func edKeyRecord() string {
	return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(keys().ed.Public().(ed25519.PublicKey))
}

// mailOf builds a CRLF mail from "\n"-separated text.
func mailOf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// sign signs raw with go-msgauth's signer, as a sending domain would.
func sign(t testing.TB, raw []byte, o dkim.SignOptions) []byte {
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
