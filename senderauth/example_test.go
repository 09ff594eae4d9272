package senderauth_test

import (
	"fmt"

	"github.com/casemail/casemail/senderauth"
)

// Behind Postfix with OpenDKIM and OpenDMARC, the verdict comes from the
// MTA's fields; the one the sender wrote below its own header is ignored.
func ExampleTrusted() {
	raw := "Authentication-Results: mx.support.example.test; dmarc=fail (p=reject) header.from=acme.test\r\n" +
		"Received: from evil.example by mx.support.example.test (Postfix); Sun, 29 Nov 2026 10:00:00 +0000\r\n" +
		"Authentication-Results: mx.support.example.test; dmarc=pass header.from=acme.test\r\n" +
		"From: Alice <alice@acme.test>\r\n" +
		"Subject: [Case #12] please close\r\n\r\n#close\r\n"
	v, err := senderauth.Trusted([]byte(raw), []string{"mx.support.example.test"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Source, v.DMARC, v.FromAligned)
	// Output: trusted_header fail false
}

func ExampleFormatResults() {
	v := senderauth.Verdict{Source: senderauth.SourceVerified, SPF: senderauth.Pass, SPFDomain: "acme.test",
		DKIM:  []senderauth.DKIMResult{{Domain: "acme.test", Selector: "s1", Result: senderauth.Pass}},
		DMARC: senderauth.Pass, FromDomain: "acme.test", FromAligned: true}
	fmt.Println("Authentication-Results: " + senderauth.FormatResults("support.example.test", v))
	// Output: Authentication-Results: support.example.test; spf=pass smtp.mailfrom=acme.test; dkim=pass header.d=acme.test header.s=s1; dmarc=pass header.from=acme.test
}
