package message

import (
	"strings"
	"testing"
	"time"
)

// TestDecodeWords: RFC 2047 encoded words as mailers really write them.
// The subject is a case's title (R6): a garbled one is what every
// watcher sees.
func TestDecodeWords(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "no words here", "no words here"},
		{"utf-8 q", "=?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=", "café crème"},
		{"utf-8 b", "=?utf-8?b?w6l0w6k=?=", "été"},
		{"latin-1 q", "=?ISO-8859-1?Q?R=E9ponse?=", "Réponse"},
		{"space between words dropped", "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab"},
		{"space kept around text", "Re: =?UTF-8?Q?caf=C3=A9?= ok", "Re: café ok"},
		{"no surrounding space", "Re:=?UTF-8?Q?caf=C3=A9?=ok", "Re:caféok"},
		{"inside quotes", `"=?UTF-8?Q?Ren=C3=A9?=" <r@b.example>`, `"René" <r@b.example>`},
		{"language tag", "=?UTF-8*fr?Q?=C3=A9t=C3=A9?=", "été"},
		{"utf-8 split across words", "=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "éé"},
		{"utf-8 q split across words", "=?utf-8?q?=E4=BD?= =?utf-8?q?=A0=E5=A5=BD?=", "你好"},
		{"gb2312 split across words", "=?GB2312?B?1g==?= =?GB2312?B?0M7E?=", "中文"},
		{"shift_jis split across words", "=?Shift_JIS?B?gg==?= =?Shift_JIS?B?oIKi?=", "あい"},
		{"iso-2022-jp escape spans words", "=?ISO-2022-JP?B?GyRCJEc=?= =?ISO-2022-JP?B?JDkhIxsoQg==?=", "です。"},
		{"iso-2022-jp one word", "=?ISO-2022-JP?B?GyRCJEckOSEjGyhC?=", "です。"},
		{"different charsets not joined", "=?UTF-8?Q?=C3=A9?= =?ISO-8859-1?Q?=E9?=", "éé"},
		{"folded", "=?UTF-8?Q?caf=C3=A9?=\r\n =?UTF-8?Q?_cr=C3=A8me?=", "café crème"},
		{"b without padding", "=?UTF-8?B?w6k?=", "é"},
		{"unknown charset kept", "=?x-unknown?Q?abc?= tail", "=?x-unknown?Q?abc?= tail"},
		{"broken base64 kept", "=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?="},
		{"declared utf-8 that is latin-1", "=?UTF-8?Q?caf=E9?=", "café"},
		{"ks_c_5601 alias", "=?ks_c_5601-1987?B?x9GxuQ==?=", "한국"},
	}
	for _, c := range cases {
		if got := decodeWords(c.in); got != c.want {
			t.Errorf("%s: decodeWords(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

// TestAttachmentNames: RFC 2231 and RFC 2047 parameter values as mailers
// write them; an attachment's name is how support finds the customer's
// file (R6).
func TestAttachmentNames(t *testing.T) {
	cases := []struct{ name, disposition, ctype, want string }{
		{"2231 utf-8 continuation with language", `attachment; filename*0*=utf-8'fr'%C3%A9t%C3%A9; filename*1*=%20r%C3%A9sum%C3%A9.txt`, "application/pdf", "été résumé.txt"},
		{"2231 latin-1 with language", `attachment; filename*=iso-8859-1'de'%E9t%E9.txt`, "application/pdf", "été.txt"},
		{"2231 extended then plain segment", `attachment; filename*0*=iso-8859-1''%E9t; filename*1="e.txt"`, "application/pdf", "éte.txt"},
		{"2231 utf-8 character split across segments", `attachment; filename*0*=UTF-8''%E6%97; filename*1*=%A5%E6%9C%AC.txt`, "application/pdf", "日本.txt"},
		{"2231 charset repeated per segment", `attachment; filename*0*=UTF-8''%C3%A9; filename*1*=UTF-8''t%C3%A9.txt`, "application/pdf", "été.txt"},
		{"2231 plain continuation", `attachment; filename*0="long"; filename*1="name.txt"`, "application/pdf", "longname.txt"},
		{"2231 segments out of order", `attachment; filename*1="b.txt"; filename*0="a"`, "application/pdf", "ab.txt"},
		{"2047 in quoted filename", `attachment; filename="=?UTF-8?Q?caf=C3=A9?=.txt"`, "application/pdf", "café.txt"},
		{"2047 split in quoted filename", `attachment; filename="=?GB2312?B?1g==?= =?GB2312?B?0M7E?=.doc"`, "application/msword", "中文.doc"},
		{"2231 in content-type name", `attachment`, `application/pdf; name*=utf-8''r%C3%A9sum%C3%A9.pdf`, "résumé.pdf"},
	}
	for _, c := range cases {
		raw := hdrs("From: a@b.example", "Subject: s", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`, "") +
			"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: " + c.ctype + "\r\nContent-Disposition: " + c.disposition +
			"\r\n\r\nxx\r\n--b--\r\n"
		for _, large := range []bool{false, true} {
			var p *Parsed
			var err error
			if large {
				p, err = ParseLarge(strings.NewReader(raw), Options{})
			} else {
				p, err = Parse([]byte(raw), Options{})
			}
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if len(p.Attachments) != 1 || p.Attachments[0].Filename != c.want {
				t.Errorf("%s (large %v): attachments %+v, want one named %q", c.name, large, p.Attachments, c.want)
			}
		}
	}
}

// TestHeader8bit: undeclared 8-bit header fields, each line read as UTF-8
// when it is, else as Latin-1/Windows-1252 (R6: the title and the
// requester's name).
func TestHeader8bit(t *testing.T) {
	raw := "From: Ren\xe9 <rene@b.example>\r\nSubject: Réponse à Hélène\r\n\r\nbody"
	p, err := Parse([]byte(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "Réponse à Hélène" || p.FromName != "René" {
		t.Errorf("subject %q name %q", p.Subject, p.FromName)
	}
}

// TestMediaTypeGarbage: a Content-Type that enmime's parser returns no
// parameters for is read, not a panic (found by FuzzParseMediaType; I4:
// nothing lost to an odd header).
func TestMediaTypeGarbage(t *testing.T) {
	for _, ct := range []string{`"000000000;00000000*0=`, `;*=`, `text/plain; charset*0*=%; charset*1="`, `multipart/mixed; boundary*0="a"; boundary*1*=%FF`} {
		raw := hdrs("From: a@b.example", "Subject: s", "Content-Type: "+ct, "") + "the text"
		p, err := Parse([]byte(raw), Options{})
		if err != nil {
			t.Errorf("%q: %v", ct, err)
			continue
		}
		if !strings.Contains(p.Text+string(firstContent(p)), "the text") {
			t.Errorf("%q: text %q lost", ct, p.Text)
		}
	}
}

func firstContent(p *Parsed) []byte {
	if len(p.Attachments) > 0 {
		return p.Attachments[0].Content
	}
	return nil
}

// TestAddressNames: display names as mailers write them (R6: the
// requester's name), with a character split across encoded words too.
func TestAddressNames(t *testing.T) {
	cases := []struct{ from, name string }{
		{`"=?UTF-8?Q?Ren=C3=A9?=" <r@b.example>`, "René"},
		{`=?GB2312?B?1g==?= =?GB2312?B?0M7E?= <r@b.example>`, "中文"},
		{`=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?= <r@b.example>`, "éé"},
		{`=?ISO-8859-1?Q?Ren=E9?= Dupont <r@b.example>`, "René Dupont"},
		{"Ren\xc3\xa9 <r@b.example>", "René"},
	}
	for _, c := range cases {
		p, err := Parse([]byte("From: "+c.from+"\r\nSubject: s\r\n\r\nx"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.FromName != c.name || p.From != "r@b.example" {
			t.Errorf("From: %s read as %q <%s>, want %q", c.from, p.FromName, p.From, c.name)
		}
	}
}

// TestHostileHeaderNoHang: header values built to make the decoders
// quadratic (runs of encoded words in an unknown charset or with broken
// encodings, thousands of RFC 2231 segments or stray lines, within the
// 1 MB header bound) return promptly: a hang detector with a generous
// deadline, not a speed check (I4: one hostile mail must not stall
// ingest). Speed is in BenchmarkDecodeWordsHostile.
func TestHostileHeaderNoHang(t *testing.T) {
	for _, v := range hostileValues() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			decodeWords(v)
			mergeWords(v)
			// enmime's own parser, which runs first, is slow on such
			// values; 100 KB still shows a quadratic parameter reading.
			parseMediaType("attachment; name*0*=" + v[:min(len(v), 100<<10)])
			repairStrayLines([]byte(v))
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("no return on a %d-byte hostile header value", len(v))
		}
	}
}

func hostileValues() []string {
	return []string{
		strings.Repeat("=?x-unknown?Q?a?=", 50000),
		strings.Repeat("=?UTF-8?B?!?=", 50000),
		strings.Repeat("=?UTF-8?Q?=C3", 50000),
		strings.Repeat("=?GB2312?B?1g==?= ", 40000),
		strings.Repeat("x; name*1*=a", 50000),                         // RFC 2231 segments of one name
		"x\r\n" + strings.Repeat("stray line\r\n", 50000) + "To: a@b", // lines neither field nor continuation
	}
}

// BenchmarkDecodeWordsHostile: the cost of the hostile header values.
func BenchmarkDecodeWordsHostile(b *testing.B) {
	vs := hostileValues()
	for b.Loop() {
		for _, v := range vs {
			decodeWords(v)
			mergeWords(v)
		}
	}
}
