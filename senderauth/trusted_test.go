package senderauth

import (
	"context"
	"slices"
	"strings"
	"testing"
)

var mx = []string{"mx.support.example.test"}

// body of a mail as it reaches casemail behind the MTA; the header above it
// varies per test.
const senderPart = `From: Alice <alice@acme.test>
To: support@casemail.test
Subject: Printer on fire
Message-ID: <m1@acme.test>

The printer is on fire.
`

func TestTrusted(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		source  Source
		spf     Result
		dkim    []Result
		dmarc   Result
		aligned bool
	}{
		{"Postfix + OpenDKIM + OpenDMARC, comments with ';'",
			`Return-Path: <alice@acme.test>
Delivered-To: support@casemail.test
Received: from mx.support.example.test by mx.support.example.test (Dovecot) with LMTP id x; Sun, 29 Nov 2026 10:00:01 +0000
Received: from out.acme.test (out.acme.test [192.0.2.10]) by mx.support.example.test (Postfix) with ESMTPS id 4AB; Sun, 29 Nov 2026 10:00:00 +0000
Authentication-Results: mx.support.example.test; dmarc=pass (p=reject dis=none) header.from=acme.test
Authentication-Results: mx.support.example.test;
	dkim=pass (2048-bit key; unprotected) header.d=acme.test header.i=@acme.test header.a=rsa-sha256 header.s=s1 header.b=AbCd
Authentication-Results: mx.support.example.test; spf=pass (mailfrom) smtp.mailfrom=acme.test (client-ip=192.0.2.10; helo=out.acme.test; envelope-from=alice@acme.test)
`, SourceTrustedHeader, Pass, []Result{Pass}, Pass, true},
		{"rspamd, one field",
			`Authentication-Results: MX.Support.Example.Test;
	dkim=pass header.d=acme.test header.s=s1 header.b=abc;
	spf=pass (mx.support.example.test: domain of alice@acme.test designates 192.0.2.10 as permitted sender) smtp.mailfrom=alice@acme.test;
	dmarc=pass (policy=reject) header.from=acme.test
`, SourceTrustedHeader, Pass, []Result{Pass}, Pass, true},
		{"trusted MTA says the forged From fails",
			`Authentication-Results: mx.support.example.test; spf=fail smtp.mailfrom=acme.test; dkim=none; dmarc=fail header.from=acme.test
`, SourceTrustedHeader, Fail, nil, Fail, false},
		// The attacks: a sender writes its own Authentication-Results.
		{"forged pass below the sender's first header field is ignored",
			`Authentication-Results: mx.support.example.test; spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=acme.test
X-Mailer: evil 1.0
Authentication-Results: mx.support.example.test; dmarc=pass header.from=acme.test; dkim=pass header.d=acme.test
`, SourceTrustedHeader, Fail, nil, Fail, false},
		{"forged pass right below the MTA's fields: the worse result wins",
			`Authentication-Results: mx.support.example.test; spf=fail smtp.mailfrom=evil.example; dkim=fail header.d=acme.test header.s=s1; dmarc=fail header.from=acme.test
Authentication-Results: mx.support.example.test; spf=pass smtp.mailfrom=acme.test; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test
`, SourceTrustedHeader, Fail, []Result{Fail}, Fail, false},
		{"forged field in the sender's header, MTA added none",
			`Received: from out.evil.example by mx.support.example.test (Postfix); Sun, 29 Nov 2026 10:00:00 +0000
Received: from laptop by out.evil.example; Sun, 29 Nov 2026 09:59:00 +0000
Authentication-Results: mx.support.example.test; spf=pass smtp.mailfrom=acme.test; dmarc=pass header.from=acme.test
`, SourceNone, None, nil, None, false},
		// The OpenDMARC forgery: the sender's fields come right after the
		// Received of the MTA, whose milters put theirs above it.
		{"forged fields below the MTA's Received, milter fields above it",
			`Authentication-Results: mx.support.example.test; spf=pass (mailfrom) smtp.mailfrom=evil.example
Received: from smtp.evil.example (evil.example [198.51.100.80]) by mx.support.example.test (Postfix) with SMTP id D4AC; Sun, 29 Nov 2026 10:00:00 +0000
Authentication-Results: mx.support.example.test; spf=pass smtp.mailfrom=acme.test
Authentication-Results: mx.support.example.test; dkim=pass (1024-bit key; unprotected) header.d=acme.test header.i=@acme.test
`, SourceTrustedHeader, Pass, nil, None, false},
		{"another authserv-id above ends the zone",
			`Authentication-Results: mx.evil.example; dmarc=pass header.from=acme.test
Authentication-Results: mx.support.example.test; dmarc=pass header.from=acme.test
`, SourceNone, None, nil, None, false},
		{"another authserv-id is never believed",
			`Authentication-Results: gmail.test; spf=pass smtp.mailfrom=acme.test; dmarc=pass header.from=acme.test
`, SourceNone, None, nil, None, false},
		{"DMARC pass about another From domain counts as fail",
			`Authentication-Results: mx.support.example.test; spf=pass smtp.mailfrom=evil.example; dmarc=pass header.from=evil.example
`, SourceTrustedHeader, Pass, nil, Fail, false},
		{"no DMARC: aligned DKIM pass",
			`Authentication-Results: mx.support.example.test; dkim=pass header.d=mail.acme.test header.s=s1; dmarc=none header.from=acme.test
`, SourceTrustedHeader, None, []Result{Pass}, None, true},
		{"no DMARC: third-party DKIM pass",
			`Authentication-Results: mx.support.example.test; dkim=pass header.d=esp.test; spf=pass smtp.mailfrom=bounce@esp.test
`, SourceTrustedHeader, Pass, []Result{Pass}, None, false},
		{"RFC 8601 version and hardfail spelling",
			`Authentication-Results: mx.support.example.test 1; spf=hardfail smtp.mailfrom=acme.test
`, SourceTrustedHeader, Fail, nil, None, false},
		{"temperror stays temperror",
			`Authentication-Results: mx.support.example.test; spf=temperror smtp.mailfrom=acme.test; dmarc=temperror header.from=acme.test
`, SourceTrustedHeader, TempError, nil, TempError, false},
		{"unparseable trusted field: permerror",
			`Authentication-Results: mx.support.example.test 2; dmarc=pass header.from=acme.test
`, SourceTrustedHeader, PermError, []Result{PermError}, PermError, false},
		{"'none' field",
			`Authentication-Results: mx.support.example.test; none
`, SourceTrustedHeader, None, nil, None, false},
		{"no Authentication-Results at all", ``, SourceNone, None, nil, None, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Trusted(mailOf(tc.header+senderPart), mx)
			if err != nil {
				t.Fatal(err)
			}
			var dk []Result
			for _, d := range got.DKIM {
				dk = append(dk, d.Result)
			}
			if got.Source != tc.source || got.SPF != tc.spf || !slices.Equal(dk, tc.dkim) ||
				got.DMARC != tc.dmarc || got.FromAligned != tc.aligned {
				t.Errorf("got source=%s spf=%s dkim=%v dmarc=%s aligned=%v\nwant source=%s spf=%s dkim=%v dmarc=%s aligned=%v",
					got.Source, got.SPF, dk, got.DMARC, got.FromAligned, tc.source, tc.spf, tc.dkim, tc.dmarc, tc.aligned)
			}
		})
	}
}

// TestTrustedDetails: the verdict names what it read.
func TestTrustedDetails(t *testing.T) {
	got, err := Trusted(mailOf(`Authentication-Results: mx.support.example.test; dkim=pass (2048-bit key; unprotected) header.d=Acme.Test header.s=s1; dmarc=pass header.from=acme.test
`+senderPart), mx)
	if err != nil {
		t.Fatal(err)
	}
	want := DKIMResult{Domain: "acme.test", Selector: "s1", Result: Pass}
	if len(got.DKIM) != 1 || got.DKIM[0] != want || got.AuthservID != "mx.support.example.test" || got.FromDomain != "acme.test" {
		t.Errorf("got %+v", got)
	}
}

// TestTrustedTwoFroms: the MTA's pass for one From says nothing when the
// mail carries two.
func TestTrustedTwoFroms(t *testing.T) {
	got, err := Trusted(mailOf(`Authentication-Results: mx.support.example.test; dmarc=pass header.from=acme.test
From: CEO <ceo@acme.test>
`+senderPart), mx)
	if err != nil {
		t.Fatal(err)
	}
	if got.FromAligned {
		t.Errorf("two From fields aligned: %+v", got)
	}
}

func TestTrustedBadHeader(t *testing.T) {
	got, err := Trusted([]byte(" starts folded\r\nFrom: a@b\r\n\r\n"), mx)
	if err == nil || got.FromAligned || got.Source != SourceNone {
		t.Errorf("got %+v, %v; want an error and nothing trusted", got, err)
	}
}

// TestFormatRoundTrip: what casemail writes after verifying, another
// casemail (or anything reading RFC 8601) reads back the same.
func TestFormatRoundTrip(t *testing.T) {
	z := testZone()
	v := newTestVerifier(t, z)
	ctx := context.Background()
	for _, in := range []Input{
		{ClientIP: goodIP, HELO: "mx.acme.test", MailFrom: "alice@acme.test", Message: rsaSigned(t, mailOf(plainMail), "acme.test")},
		{ClientIP: badIP, HELO: "evil.example", MailFrom: "alice@acme.test", Message: mailOf(plainMail)},
		{ClientIP: goodIP, HELO: "mx.acme.test", MailFrom: "", Message: mailOf(plainMail)},
		{ClientIP: badIP, HELO: "x.example", Message: signLength(t, mailOf(plainMail), "acme.test", "s1", true)},
	} {
		vd, err := v.Verify(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ar := FormatResults("casemail.support.example.test", vd)
		if strings.ContainsAny(ar, "\r\n") {
			t.Fatalf("field value spans lines: %q", ar)
		}
		got, err := Trusted(append([]byte("Authentication-Results: "+ar+"\r\n"), in.Message...), []string{"casemail.support.example.test"})
		if err != nil {
			t.Fatal(err)
		}
		if got.SPF != vd.SPF || got.DMARC != vd.DMARC || got.FromAligned != vd.FromAligned ||
			got.SPFDomain != vd.SPFDomain || len(got.DKIM) != len(vd.DKIM) {
			t.Errorf("%s\nread back %+v\nverified  %+v", ar, got, vd)
			continue
		}
		for i := range vd.DKIM {
			if got.DKIM[i].Domain != vd.DKIM[i].Domain || got.DKIM[i].Selector != vd.DKIM[i].Selector || got.DKIM[i].Result != vd.DKIM[i].Result {
				t.Errorf("%s: dkim %+v, want %+v", ar, got.DKIM[i], vd.DKIM[i])
			}
		}
	}
}

func TestFormatResults(t *testing.T) {
	tests := []struct {
		name string
		v    Verdict
		want string
	}{
		{"verified", Verdict{Source: SourceVerified, SPF: Pass, SPFDomain: "acme.test",
			DKIM: []DKIMResult{{Domain: "acme.test", Selector: "s1", Result: Pass}}, DMARC: Pass, FromDomain: "acme.test"},
			"cm.example; spf=pass smtp.mailfrom=acme.test; dkim=pass header.d=acme.test header.s=s1; dmarc=pass header.from=acme.test"},
		{"unsigned, null sender", Verdict{Source: SourceVerified, SPF: Pass, SPFDomain: "mx.acme.test", SPFHelo: true,
			DMARC: None, FromDomain: "acme.test"},
			"cm.example; spf=pass smtp.helo=mx.acme.test; dkim=none; dmarc=none header.from=acme.test"},
		// A reason taken from the mail must not end the header field.
		{"injection", Verdict{Source: SourceVerified, SPF: None, DMARC: Fail, FromDomain: "acme.test",
			DKIM: []DKIMResult{{Domain: "acme.test", Selector: "s1\r\nX-Evil: 1", Result: Fail, Reason: "bad\r\nBcc: x"}}},
			`cm.example; spf=none; dkim=fail reason="bad  Bcc: x" header.d=acme.test header.s="s1  X-Evil: 1"; dmarc=fail header.from=acme.test`},
		{"trusted header: we vouch for nothing", Verdict{Source: SourceTrustedHeader, SPF: Pass}, "cm.example; none"},
	}
	for _, tc := range tests {
		if got := FormatResults("cm.example", tc.v); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, tc.want)
		}
	}
}
