package senderauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

var (
	goodIP = net.ParseIP("192.0.2.10")   // the senders' permitted relay
	badIP  = net.ParseIP("203.0.113.66") // anyone else on the Internet
)

// testZone is the DNS of every sending domain the tests use.
func testZone() *zone {
	z := newZone()
	// acme.test: a careful domain, p=reject, RSA and Ed25519 keys.
	z.AddTXT("acme.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("mx.acme.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.acme.test", "v=DMARC1; p=reject; rua=mailto:dmarc@acme.test")
	z.AddTXT("s1._domainkey.acme.test", rsaKeyRecord())
	z.AddTXT("ed1._domainkey.acme.test", edKeyRecord())
	z.ServFail("flaky._domainkey.acme.test")
	// soft.test: SPF ~all, no DMARC.
	z.AddTXT("soft.test", "v=spf1 ip4:192.0.2.10 ~all")
	// nodmarc.test: SPF and DKIM but no DMARC record.
	z.AddTXT("nodmarc.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("s1._domainkey.nodmarc.test", rsaKeyRecord())
	// esp.test: a mailing service signing and bouncing for others.
	z.AddTXT("esp.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("s1._domainkey.esp.test", rsaKeyRecord())
	// relaxed.test and strict.test: bounces from a subdomain, mail signed by
	// another subdomain; p=none and strict alignment respectively.
	for _, d := range []string{"relaxed.test", "strict.test"} {
		z.AddTXT("bounce."+d, "v=spf1 ip4:192.0.2.10 -all")
		z.AddTXT("s1._domainkey.mail."+d, rsaKeyRecord())
		z.AddTXT("s1._domainkey."+d, rsaKeyRecord())
	}
	z.AddTXT("_dmarc.relaxed.test", "v=DMARC1; p=none")
	z.AddTXT("_dmarc.strict.test", "v=DMARC1; p=reject; aspf=s; adkim=s")
	// org.test: p=none for itself, sp=reject for its subdomains.
	z.AddTXT("org.test", "v=spf1 -all")
	z.AddTXT("_dmarc.org.test", "v=DMARC1; p=none; sp=reject")
	// twice.test publishes two DMARC records; bad.test an invalid one.
	z.AddTXT("twice.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.twice.test", "v=DMARC1; p=reject", "v=DMARC1; p=none")
	z.AddTXT("bad.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.bad.test", "v=DMARC1; p=sometimes")
	// exämple.test, an internationalised domain (A-labels in DNS).
	z.AddTXT("xn--exmple-cua.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.xn--exmple-cua.test", "v=DMARC1; p=reject")
	// broken.test answers SERVFAIL; slow.test never answers.
	z.ServFail("broken.test")
	z.Drop("slow.test")
	return z
}

const plainMail = `From: Alice <alice@acme.test>
To: support@casemail.test
Subject: Printer on fire
Date: Sun, 29 Nov 2026 10:00:00 +0000
Message-ID: <m1@acme.test>

The printer on floor 3 is on fire again.
`

func mailFrom(addr string) []byte {
	return mailOf(strings.Replace(plainMail, "Alice <alice@acme.test>", addr, 1))
}

func signOpts(domain, selector string) dkim.SignOptions {
	return dkim.SignOptions{Domain: domain, Selector: selector}
}

func rsaSigned(t *testing.T, raw []byte, domain string) []byte {
	return sign(t, raw, signOpts(domain, "s1"))
}

type wantVerdict struct {
	spf     Result
	dkim    []Result // per signature, in header order
	dmarc   Result
	policy  string
	aligned bool
}

func check(t *testing.T, got Verdict, w wantVerdict) {
	t.Helper()
	var dk []Result
	for _, d := range got.DKIM {
		dk = append(dk, d.Result)
	}
	if got.SPF != w.spf || !slices.Equal(dk, w.dkim) || got.DMARC != w.dmarc ||
		got.DMARCPolicy != w.policy || got.FromAligned != w.aligned || got.Source != SourceVerified {
		t.Errorf("got spf=%s dkim=%v dmarc=%s policy=%q aligned=%v source=%s (%+v)\nwant spf=%s dkim=%v dmarc=%s policy=%q aligned=%v",
			got.SPF, dk, got.DMARC, got.DMARCPolicy, got.FromAligned, got.Source, got.DKIM,
			w.spf, w.dkim, w.dmarc, w.policy, w.aligned)
	}
}

// TestVerify runs each scenario against a real DNS server on loopback and
// real signatures.
func TestVerify(t *testing.T) {
	v := newTestVerifier(t, testZone())
	appended := func(raw []byte) []byte {
		return append(bytes.Clone(raw), "\r\nPS: please send the invoice to iban FR76 0000 0000 0000.\r\n"...)
	}
	tests := []struct {
		name     string
		ip       net.IP
		helo     string
		mailFrom string
		msg      func(t *testing.T) []byte
		want     wantVerdict
	}{
		{"pass: SPF, DKIM and DMARC", goodIP, "mx.acme.test", "alice@acme.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailOf(plainMail), "acme.test") },
			wantVerdict{Pass, []Result{Pass}, Pass, "reject", true}},
		// I6: a stranger writing From: alice@acme.test.
		{"forged From from another IP, unsigned: fail", badIP, "evil.example", "alice@acme.test",
			func(t *testing.T) []byte { return mailOf(plainMail) },
			wantVerdict{Fail, nil, Fail, "reject", false}},
		{"forged From with the attacker's own envelope", badIP, "evil.example", "x@evil.example",
			func(t *testing.T) []byte { return mailOf(plainMail) },
			wantVerdict{None, nil, Fail, "reject", false}},
		{"forwarded: SPF fails but the aligned signature passes", badIP, "fwd.example", "alice@acme.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailOf(plainMail), "acme.test") },
			wantVerdict{Fail, []Result{Pass}, Pass, "reject", true}},
		{"ed25519 signature", badIP, "fwd.example", "",
			func(t *testing.T) []byte {
				return sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "ed1", Signer: keys().ed})
			},
			wantVerdict{None, []Result{Pass}, Pass, "reject", true}},
		{"softfail, no DMARC: not aligned", badIP, "x.example", "bob@soft.test",
			func(t *testing.T) []byte { return mailFrom("bob@soft.test") },
			wantVerdict{SoftFail, nil, None, "", false}},
		{"none: the domain publishes nothing", goodIP, "x.example", "carol@none.test",
			func(t *testing.T) []byte { return mailFrom("carol@none.test") },
			wantVerdict{None, nil, None, "", false}},
		{"no DMARC: aligned SPF pass aligns", goodIP, "x.example", "dan@nodmarc.test",
			func(t *testing.T) []byte { return mailFrom("dan@nodmarc.test") },
			wantVerdict{Pass, nil, None, "", true}},
		{"no DMARC: aligned DKIM pass aligns", badIP, "x.example", "",
			func(t *testing.T) []byte { return rsaSigned(t, mailFrom("dan@nodmarc.test"), "nodmarc.test") },
			wantVerdict{None, []Result{Pass}, None, "", true}},
		{"no DMARC: a third party's passes do not align", goodIP, "x.example", "bounces@esp.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailFrom("dan@nodmarc.test"), "esp.test") },
			wantVerdict{Pass, []Result{Pass}, None, "", false}},
		{"DMARC: a third party's passes do not align", goodIP, "x.example", "bounces@esp.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailOf(plainMail), "esp.test") },
			wantVerdict{Pass, []Result{Pass}, Fail, "reject", false}},
		{"null sender: SPF of the HELO name, relaxed aligned", goodIP, "mx.acme.test", "",
			func(t *testing.T) []byte { return mailOf(plainMail) },
			wantVerdict{Pass, nil, Pass, "reject", true}},
		{"temperror: the domain's DNS answers SERVFAIL", goodIP, "x.example", "eve@broken.test",
			func(t *testing.T) []byte { return mailFrom("eve@broken.test") },
			wantVerdict{TempError, nil, TempError, "", false}},
		{"temperror: the DKIM key lookup fails, SPF fails", badIP, "x.example", "alice@acme.test",
			func(t *testing.T) []byte {
				return sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "flaky"})
			},
			wantVerdict{Fail, []Result{TempError}, TempError, "reject", false}},
		{"fail: key not published", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "gone"})
			},
			wantVerdict{None, []Result{PermError}, Fail, "reject", false}},
		{"fail: body changed after signing", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return bytes.Replace(rsaSigned(t, mailOf(plainMail), "acme.test"), []byte("on fire"), []byte("fine!!!"), 1)
			},
			wantVerdict{None, []Result{Fail}, Fail, "reject", false}},
		{"l= signature, text appended: policy, not aligned", badIP, "x.example", "",
			func(t *testing.T) []byte { return appended(signLength(t, mailOf(plainMail), "acme.test", "s1", true)) },
			wantVerdict{None, []Result{Policy}, Fail, "reject", false}},
		{"l= signature, nothing appended: still policy", badIP, "x.example", "",
			func(t *testing.T) []byte { return signLength(t, mailOf(plainMail), "acme.test", "s1", true) },
			wantVerdict{None, []Result{Policy}, Fail, "reject", false}},
		{"second From added above a signed one: permerror, not aligned", goodIP, "mx.acme.test", "alice@acme.test",
			func(t *testing.T) []byte {
				return append([]byte("From: CEO <ceo@acme.test>\r\n"), rsaSigned(t, mailOf(plainMail), "acme.test")...)
			},
			wantVerdict{Pass, []Result{Policy}, PermError, "", false}},
		{"second Subject added above a signed one: policy", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return append([]byte("Subject: Urgent: new bank details\r\n"), rsaSigned(t, mailOf(plainMail), "acme.test")...)
			},
			wantVerdict{None, []Result{Policy}, Fail, "reject", false}},
		{"oversigned From, then a second From added: fail", badIP, "x.example", "",
			func(t *testing.T) []byte {
				m := sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "s1",
					HeaderKeys: []string{"From", "From", "Subject", "Subject"}})
				return append([]byte("From: ceo@acme.test\r\n"), m...)
			},
			wantVerdict{None, []Result{Fail}, PermError, "", false}},
		{"relaxed/relaxed survives re-folded whitespace", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return bytes.Replace(rsaSigned(t, mailOf(plainMail), "acme.test"),
					[]byte("Subject: Printer on fire"), []byte("Subject:   Printer\r\n  on   fire"), 1)
			},
			wantVerdict{None, []Result{Pass}, Pass, "reject", true}},
		{"LF line endings, as a Maildir stores them", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return bytes.ReplaceAll(rsaSigned(t, mailOf(plainMail), "acme.test"), []byte("\r\n"), []byte("\n"))
			},
			wantVerdict{None, []Result{Pass}, Pass, "reject", true}},
		{"simple/simple breaks on re-folded whitespace", badIP, "x.example", "",
			func(t *testing.T) []byte {
				m := sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "s1",
					HeaderCanonicalization: dkim.CanonicalizationSimple, BodyCanonicalization: dkim.CanonicalizationSimple})
				return bytes.Replace(m, []byte("Subject: Printer on fire"), []byte("Subject:   Printer\r\n  on   fire"), 1)
			},
			wantVerdict{None, []Result{Fail}, Fail, "reject", false}},
		{"simple/simple, untouched", badIP, "x.example", "",
			func(t *testing.T) []byte {
				return sign(t, mailOf(plainMail), dkim.SignOptions{Domain: "acme.test", Selector: "s1",
					HeaderCanonicalization: dkim.CanonicalizationSimple, BodyCanonicalization: dkim.CanonicalizationSimple})
			},
			wantVerdict{None, []Result{Pass}, Pass, "reject", true}},
		{"p=none, relaxed: subdomain SPF and DKIM align", goodIP, "x.example", "b@bounce.relaxed.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailFrom("fay@relaxed.test"), "mail.relaxed.test") },
			wantVerdict{Pass, []Result{Pass}, Pass, "none", true}},
		{"p=none, failing: fail whatever the policy", badIP, "x.example", "",
			func(t *testing.T) []byte { return mailFrom("fay@relaxed.test") },
			wantVerdict{None, nil, Fail, "none", false}},
		{"strict: subdomain SPF and DKIM do not align", goodIP, "x.example", "b@bounce.strict.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailFrom("gus@strict.test"), "mail.strict.test") },
			wantVerdict{Pass, []Result{Pass}, Fail, "reject", false}},
		{"strict: exact DKIM domain aligns", goodIP, "x.example", "b@bounce.strict.test",
			func(t *testing.T) []byte { return rsaSigned(t, mailFrom("gus@strict.test"), "strict.test") },
			wantVerdict{Pass, []Result{Pass}, Pass, "reject", true}},
		{"subdomain policy from the organizational domain", badIP, "x.example", "",
			func(t *testing.T) []byte { return mailFrom("hal@sales.org.test") },
			wantVerdict{None, nil, Fail, "reject", false}},
		{"organizational domain's own policy", badIP, "x.example", "hal@org.test",
			func(t *testing.T) []byte { return mailFrom("hal@org.test") },
			wantVerdict{Fail, nil, Fail, "none", false}},
		{"two DMARC records: no DMARC, SPF alignment decides", goodIP, "x.example", "ivy@twice.test",
			func(t *testing.T) []byte { return mailFrom("ivy@twice.test") },
			wantVerdict{Pass, nil, None, "", true}},
		{"invalid DMARC record: permerror, SPF alignment decides", goodIP, "x.example", "jo@bad.test",
			func(t *testing.T) []byte { return mailFrom("jo@bad.test") },
			wantVerdict{Pass, nil, PermError, "", true}},
		{"internationalised From domain", goodIP, "x.example", "kai@exämple.test",
			func(t *testing.T) []byte { return mailFrom("=?utf-8?q?K=C3=A4i?= <kai@exämple.test>") },
			wantVerdict{Pass, nil, Pass, "reject", true}},
		{"two addresses in From: permerror", goodIP, "mx.acme.test", "alice@acme.test",
			func(t *testing.T) []byte { return mailFrom("alice@acme.test, mallory@evil.example") },
			wantVerdict{Pass, nil, PermError, "", false}},
		{"no client address: SPF none", nil, "", "alice@acme.test",
			func(t *testing.T) []byte { return mailOf(plainMail) },
			wantVerdict{None, nil, Fail, "reject", false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), Input{ClientIP: tc.ip, HELO: tc.helo,
				MailFrom: tc.mailFrom, Message: tc.msg(t)})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			check(t, got, tc.want)
		})
	}
}

// TestSignLengthHelper checks the hand-made l= signer against the real
// verifier: without l= its signatures must pass, or the l= tests above
// would prove nothing.
func TestSignLengthHelper(t *testing.T) {
	v := newTestVerifier(t, testZone())
	got, err := v.Verify(context.Background(), Input{Message: signLength(t, mailOf(plainMail), "acme.test", "s1", false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DKIM) != 1 || got.DKIM[0].Result != Pass || !got.FromAligned {
		t.Fatalf("helper's own signature does not verify: %+v", got)
	}
}

// TestVerifyTimeout: a DNS server that never answers gives temperror
// within the configured budget, not a hang and never a pass.
func TestVerifyTimeout(t *testing.T) {
	z := testZone()
	v, err := New(Config{Resolver: startDNS(t, z), QueryTimeout: 200 * time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	dead := newZone()
	dead.Drop("test")
	vDead, err := New(Config{Resolver: startDNS(t, dead), QueryTimeout: 200 * time.Millisecond, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    *Verifier
		in   Input
		want wantVerdict
	}{
		{"the From domain's servers never answer", v,
			Input{ClientIP: goodIP, HELO: "x.example", MailFrom: "eve@slow.test", Message: mailFrom("eve@slow.test")},
			wantVerdict{TempError, nil, TempError, "", false}},
		{"the resolver never answers", vDead,
			Input{ClientIP: goodIP, HELO: "mx.acme.test", MailFrom: "alice@acme.test", Message: rsaSigned(t, mailOf(plainMail), "acme.test")},
			wantVerdict{TempError, []Result{TempError}, TempError, "", false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			got, err := tc.v.Verify(ctx, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				t.Fatal("Verify ignored its own timeout")
			}
			check(t, got, tc.want)
		})
	}
}

// TestVerifyBadHeader: a header that cannot be read gives an error and a
// verdict that opens nothing.
func TestVerifyBadHeader(t *testing.T) {
	v := newTestVerifier(t, testZone())
	got, err := v.Verify(context.Background(), Input{ClientIP: goodIP, HELO: "mx.acme.test",
		MailFrom: "alice@acme.test", Message: []byte(" folded first line\r\nFrom alice@acme.test\r\n\r\nhi\r\n")})
	if err == nil {
		t.Fatal("no error for an unreadable header")
	}
	if got.FromAligned || got.SPF != Pass {
		t.Errorf("got %+v, want SPF still checked and not aligned", got)
	}
}

func TestNewResolverAddress(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{{"", true}, {"127.0.0.1:5353", true}, {"127.0.0.1", true}, {"::1", true}, {"[::1]:53", true}, {"dns.example:53", true}, {"a:b:c", false}} {
		_, err := New(Config{Resolver: tc.addr})
		if (err == nil) != tc.ok {
			t.Errorf("New(Resolver: %q) error %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

// TestVerdictJSON: the shape parse --json and route test --json print.
func TestVerdictJSON(t *testing.T) {
	b, err := json.Marshal(Verdict{SPF: Pass, DKIM: []DKIMResult{{Domain: "acme.test", Selector: "s1", Result: Pass}},
		DMARC: Pass, FromAligned: true, Source: SourceVerified, FromDomain: "acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"spf", "dkim", "dmarc", "from_aligned", "source"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON %s lacks %q", b, k)
		}
	}
	dk := m["dkim"].([]any)[0].(map[string]any)
	if dk["domain"] != "acme.test" || dk["selector"] != "s1" || dk["result"] != "pass" {
		t.Errorf("dkim entry %v", dk)
	}
	b, _ = json.Marshal(noVerdict())
	if !strings.Contains(string(b), `"dkim":[]`) {
		t.Errorf("no signatures must be [] not null: %s", b)
	}
}

// TestVerifyMaxSignatures: a mail cannot make casemail check unbounded
// numbers of signatures; the first MaxSignatures are reported.
func TestVerifyMaxSignatures(t *testing.T) {
	v := newTestVerifier(t, testZone())
	m := mailOf(plainMail)
	for range 7 {
		m = rsaSigned(t, m, "acme.test")
	}
	got, err := v.Verify(context.Background(), Input{ClientIP: badIP, HELO: "x.example", Message: m})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DKIM) != 5 || !got.FromAligned {
		t.Errorf("got %d results, aligned=%v; want 5, aligned", len(got.DKIM), got.FromAligned)
	}
}

// TestVerifyConcurrent: one Verifier serves every SMTP session at once.
func TestVerifyConcurrent(t *testing.T) {
	v := newTestVerifier(t, testZone())
	good := rsaSigned(t, mailOf(plainMail), "acme.test")
	forged := mailOf(plainMail)
	errs := make(chan string, 16)
	for i := range 16 {
		go func() {
			in, want := Input{ClientIP: badIP, HELO: "x.example", Message: good}, true
			if i%2 == 1 {
				in.Message, want = forged, false
			}
			got, err := v.Verify(context.Background(), in)
			if err != nil || got.FromAligned != want {
				errs <- fmt.Sprintf("mail %d: aligned=%v err=%v, want aligned=%v", i, got.FromAligned, err, want)
				return
			}
			errs <- ""
		}()
	}
	for range 16 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
