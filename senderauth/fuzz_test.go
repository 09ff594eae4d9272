package senderauth

import (
	"strings"
	"testing"
)

// FuzzTrusted: whatever a sender writes in its header, Trusted neither
// panics nor vouches for a mail without a single From domain, and nothing
// is trusted without a trusted authserv-id.
func FuzzTrusted(f *testing.F) {
	for _, s := range []string{
		"Authentication-Results: mx.support.example.test; dkim=pass (2048-bit key; unprotected) header.d=acme.test header.s=s1; dmarc=pass header.from=acme.test\r\nFrom: a@acme.test\r\n\r\n",
		"Authentication-Results: mx.support.example.test 1; spf=pass smtp.mailfrom=\"a;b\"@acme.test; none\r\nFrom: a@acme.test\r\n",
		"Received: from x by mx.support.example.test; d\r\nAuthentication-Results: mx.support.example.test; dmarc=pass header.from=acme.test\r\nFrom: a@acme.test, b@evil.example\r\n",
		"Authentication-Results: (c(nested)\\) mx.support.example.test; spf=pass\r\nFrom: =?utf-8?q?x?= <x@exämple.test>\r\n",
		"Authentication-Results: mx.support.example.test; dkim=pass header.i=@acme.test\r\nFrom: <>\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		if v, _ := Trusted(header, nil); v.Source != SourceNone || v.FromAligned {
			t.Fatalf("trusted without a trusted id: %+v", v)
		}
		v, err := Trusted(header, mx)
		if err != nil && (v.FromAligned || v.Source != SourceNone) {
			t.Fatalf("error %v but verdict %+v", err, v)
		}
		if v.FromAligned {
			if v.FromDomain == "" || v.Source != SourceTrustedHeader {
				t.Fatalf("aligned without a From domain or trusted source: %+v", v)
			}
			if v.DMARC != Pass && v.DMARC != None && v.DMARC != PermError {
				t.Fatalf("aligned with dmarc=%s", v.DMARC)
			}
		}
		if v.DKIM == nil {
			t.Fatal("dkim must be [] in JSON, not null")
		}
	})
}

// FuzzParseAuthResults: the field parser copes with any value, and the
// comment stripper never grows its input nor leaves a comment's content.
func FuzzParseAuthResults(f *testing.F) {
	for _, s := range []string{
		"mx.example; dkim=pass (2048-bit key; unprotected) header.d=acme.test",
		"mx.example 1; spf=pass smtp.mailfrom=\"a(b)c\"@x; dmarc=fail (p=reject) header.from=x",
		"(comment) mx.example; none",
		"mx.example; dkim=pass header.d=(unclosed",
		"\\(;=;\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s := stripComments(v)
		if len(s) > len(v) {
			t.Fatalf("stripComments grew %q to %q", v, s)
		}
		if !strings.ContainsAny(v, "\"\\") && strings.Count(v, "(") == strings.Count(v, ")") && strings.Contains(v, "(secret)") &&
			strings.Contains(s, "secret") && !strings.Contains(strings.ReplaceAll(v, "(secret)", ""), "secret") {
			t.Fatalf("comment content left in %q", s)
		}
		id, rs, err := parseAuthResults(v)
		if err == nil && strings.ContainsAny(id, " \t;") {
			t.Fatalf("authserv-id %q", id)
		}
		for _, r := range rs {
			if r.method != "spf" && r.method != "dkim" && r.method != "dmarc" {
				t.Fatalf("unexpected method %q", r.method)
			}
		}
		_ = tags(v)
	})
}
