package message

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse: Parse and Classify never panic, and the output stays bounded
// by the input (no amplification a hostile mail could use).
func FuzzParse(f *testing.F) {
	for _, path := range corpusFiles(f) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err == nil && len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Add([]byte("From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--x--"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := Parse(raw, Options{MaxAttachmentBytes: 1 << 16})
		if err != nil {
			return
		}
		ClassifyEnvelope(p, "")
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		// Text, HTML and problems are each derived from the input; HTML to
		// text and JSON escaping can grow it, but not without bound.
		if limit := 64*len(raw) + 64<<10; len(b) > limit {
			t.Fatalf("output %d bytes for %d input bytes", len(b), len(raw))
		}
	})
}

// FuzzParseLarge: the streaming path never panics either, always gives the
// header fields when Parse does, and keeps no more than its bounds.
func FuzzParseLarge(f *testing.F) {
	for _, path := range corpusFiles(f) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err == nil && len(raw) < 64<<10 {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParseLarge(bytes.NewReader(raw), Options{MaxAttachmentBytes: 1 << 16})
		q, qerr := Parse(raw, Options{MaxAttachmentBytes: 1 << 16})
		// ParseLarge may read what Parse gives up on, never the reverse.
		if err != nil && qerr == nil {
			t.Fatalf("ParseLarge error %v, Parse read it", err)
		}
		if err != nil || qerr != nil {
			return
		}
		// Parse's fallback for an unreadable structure drops Content-Type and
		// with it the lines it swallowed; only compare when it did not.
		fallback := slices.ContainsFunc(q.Problems, func(s string) bool { return strings.HasPrefix(s, "MIME structure unreadable") })
		if !fallback && (p.From != q.From || p.MessageID != q.MessageID || p.Subject != q.Subject) {
			t.Fatalf("header differs: %q %q %q vs %q %q %q", p.From, p.MessageID, p.Subject, q.From, q.MessageID, q.Subject)
		}
		if len(p.Text) > 2*LargeTextMax || len(p.HTML) > LargeTextMax {
			t.Fatalf("text %d, html %d bytes", len(p.Text), len(p.HTML))
		}
	})
}

// FuzzReturnPath: ReturnPath never panics, null and an address never come
// together, and an address it returns is one line with an @ (it is stored
// and logged as the envelope sender).
func FuzzReturnPath(f *testing.F) {
	for _, s := range []string{"Return-Path: <>\r\n\r\n", "Return-Path: <a@b.test>\r\n\r\n", "Return-Path:\r\n <x@y> (c)\r\n\r\n", "From: a\r\n\r\nReturn-Path: <>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		addr, null := ReturnPath(header)
		if null && addr != "" {
			t.Fatalf("null with address %q", addr)
		}
		if addr != "" && (!strings.Contains(addr, "@") || strings.ContainsAny(addr, "\r\n<>")) {
			t.Fatalf("address %q is not one address", addr)
		}
	})
}

// FuzzDecodeWords: RFC 2047 decoding never panics, never amplifies, and
// keeps valid UTF-8 valid (a subject is stored and mailed back as is).
func FuzzDecodeWords(f *testing.F) {
	for _, s := range []string{"=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "=?ISO-2022-JP?B?GyRCJEc=?= =?ISO-2022-JP?B?JDkhIxsoQg==?=",
		"Re:=?utf-8?q?caf=C3=A9?=ok", `"=?GB2312?B?1g==?= =?GB2312?B?0M7E?=" <a@b>`, "=?x?Q?=?=", "=?UTF-8*fr?Q?a_b?="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := decodeWords(in)
		if len(out) > 4*len(in)+16 {
			t.Fatalf("%d bytes from %d", len(out), len(in))
		}
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q from %q", out, in)
		}
		if !strings.Contains(in, "=?") && out != in {
			t.Fatalf("changed %q without encoded words: %q", in, out)
		}
		// Joining the words first (for the address parser) reads the same.
		if m := decodeWords(mergeWords(in)); m != out {
			t.Fatalf("merged %q reads %q, not %q", mergeWords(in), m, out)
		}
	})
}

// FuzzParseMediaType: Content-Type and Content-Disposition values (RFC
// 2045, RFC 2231 continuations and charsets) never panic or amplify.
func FuzzParseMediaType(f *testing.F) {
	for _, s := range []string{`attachment; filename*0*=utf-8'fr'%C3%A9t%C3%A9; filename*1*=%20r.txt`, `attachment; filename*=iso-8859-1''%E9`,
		`text/plain; charset=us-ascii`, `attachment; filename*1="b"; filename*0="a"`, `a/b; name="=?UTF-8?Q?x?="`, `x; a*99999999999999999999*=1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_, params, _, _ := parseMediaType(v)
		for k, val := range params {
			// Linear, never more: enmime's parser hands invalid bytes back
			// as encoded words of U+FFFD (about 4.3 bytes for each) and
			// marks each malformed parameter "=not-a-param-value" inside
			// them (about 13 bytes for each input byte of "x;").
			if len(val) > 16*len(v)+128 {
				t.Fatalf("param %s: %d bytes from %d", k, len(val), len(v))
			}
		}
	})
}

// FuzzHeaderRepair: the repairs of a header section (bare CR line ends,
// stray lines, undeclared 8-bit bytes) never panic and never lose bytes.
func FuzzHeaderRepair(f *testing.F) {
	f.Add([]byte("From: a@b\rSubject: x\r\rbody"))
	f.Add([]byte("From: a@b\r\nSubject: wrapped\r\nno indent\r\nTo: c@d\r\n\r\n"))
	f.Add([]byte("Subject: caf\xe9\r\nFrom: R\xc3\xa9mi <r@b>\r\n"))
	f.Fuzz(func(t *testing.T, h []byte) {
		c := crToCRLF(h)
		if len(c) != len(h)+bytes.Count(c, []byte("\r\n"))-bytes.Count(h, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(c, []byte("\r\n"), nil), []byte("\r")) {
			t.Fatalf("crToCRLF(%q) = %q", h, c)
		}
		loneCRHeader(h)
		if isFieldLine(h) != fieldLine.Match(h) {
			t.Fatalf("isFieldLine(%q) = %v", h, isFieldLine(h))
		}
		r, n := repairStrayLines(h)
		if len(r) < len(h) || len(r) > len(h)+n+2 {
			t.Fatalf("repairStrayLines: %d bytes from %d, %d repairs", len(r), len(h), n)
		}
		if d := decodeHeader8bit(h, "windows-1252"); !utf8.Valid(d) {
			t.Fatalf("decodeHeader8bit(%q) = %q, not UTF-8", h, d)
		}
		if s, _ := decodeUndeclared(h, len(h) > 0 && h[0] == '<'); !utf8.ValidString(s) {
			t.Fatalf("decodeUndeclared(%q) = %q, not UTF-8", h, s)
		}
	})
}

// FuzzAutomatic: the readers of complaints, provider notifications,
// challenges, read receipts and calendar replies never panic on any body,
// and every address they report has exactly one '@'.
func FuzzAutomatic(f *testing.F) {
	f.Add(`{"Type":"Notification","Message":"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bouncedRecipients\":[{\"emailAddress\":\"a@b.c\"}]},\"mail\":{\"commonHeaders\":{\"messageId\":\"<x@y>\"}}}"}`)
	f.Add(`{"RecordType":"SpamComplaint","Email":"a@b.c"}`)
	f.Add("Feedback-Type: abuse\r\nUser-Agent: x\r\nOriginal-Rcpt-To: a@b.c\r\n\r\nMessage-ID: <x@y>\r\n")
	f.Add("BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR")
	f.Fuzz(func(t *testing.T, text string) {
		p := &Parsed{From: "noreply@x.example", Text: text, Attachments: []Attachment{{ContentType: "text/calendar", Content: []byte(text)}}}
		for _, b := range []*Bounce{detectComplaint(p), func() *Bounce { b, _ := providerEvent(p); return b }()} {
			if b == nil {
				continue
			}
			for _, r := range b.Recipients {
				if strings.Count(r, "@") != 1 {
					t.Fatalf("recipient %q", r)
				}
			}
		}
		challenge(&diag{p: p}, true)
		calendarReply(p)
		readReceipt(p)
	})
}
