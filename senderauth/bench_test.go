package senderauth

import (
	"context"
	"testing"
)

// BenchmarkVerify: one full first-hop verification (SPF, one RSA-2048
// signature, DMARC) against the loopback DNS server, so DNS round trips
// are included; a real resolver adds network latency on top.
func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b, testZone())
	in := Input{ClientIP: goodIP, HELO: "mx.acme.test", MailFrom: "alice@acme.test",
		Message: sign(b, mailOf(plainMail), signOpts("acme.test", "s1"))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		vd, err := v.Verify(ctx, in)
		if err != nil || !vd.FromAligned {
			b.Fatalf("%+v %v", vd, err)
		}
	}
}

// BenchmarkTrusted: reading an MTA's verdict, the path behind Postfix.
func BenchmarkTrusted(b *testing.B) {
	h := mailOf(`Received: from out.acme.test (out.acme.test [192.0.2.10]) by mx.support.example.test (Postfix) with ESMTPS id 4AB; Sun, 29 Nov 2026 10:00:00 +0000
Authentication-Results: mx.support.example.test; dmarc=pass (p=reject dis=none) header.from=acme.test
Authentication-Results: mx.support.example.test; dkim=pass (2048-bit key; unprotected) header.d=acme.test header.s=s1 header.b=AbCd
Authentication-Results: mx.support.example.test; spf=pass smtp.mailfrom=acme.test
` + senderPart)
	b.ReportAllocs()
	for b.Loop() {
		if vd, err := Trusted(h, mx); err != nil || !vd.FromAligned {
			b.Fatalf("%+v %v", vd, err)
		}
	}
}
