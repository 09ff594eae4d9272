package message

import (
	"bytes"
	"errors"
	"net/mail"
	"os"
	"strings"
	"testing"
)

// forgedFroms are the From fields of issue 10 that made mallory@evil.test
// write as alice@example.com: each must give mallory (the addr-spec in the
// angle brackets) or no sender at all, never alice. They are fuzz seeds too.
var forgedFroms = []struct {
	name, from string
	want       string // "" means no sender: ingest quarantines (I6)
	err        error
}{
	{"address as display name", "alice@example.com <mallory@evil.test>", "mallory@evil.test", nil},
	{"encoded word with a group colon", "=?utf-8?q?x:_alice=40example.com?= <mallory@evil.test>", "mallory@evil.test", nil},
	{"encoded word hiding <alice>", "=?utf-8?q?Alice_=3Calice=40example.com=3E?= <mallory@evil.test>", "mallory@evil.test", nil},
	{"encoded word alone", "=?utf-8?q?Alice_=3Calice=40example.com=3E?=", "", ErrFromNoAddr},
	{"display name with address and comma", "Alice, alice@example.com <mallory@evil.test>", "mallory@evil.test", nil},
	{"quoted display name with address and comma", `"alice@example.com, Alice" <mallory@evil.test>`, "mallory@evil.test", nil},
	{"quoted local part holding an address", `"alice@example.com"@evil.test`, `"alice@example.com"@evil.test`, nil},
	{"quoted local part in brackets", `Alice <"alice@example.com"@evil.test>`, `"alice@example.com"@evil.test`, nil},
	{"comment with an address", "(alice@example.com) mallory@evil.test", "mallory@evil.test", nil},
	{"comment after the address", "mallory@evil.test (alice@example.com)", "mallory@evil.test", nil},
	{"comment inside the brackets", "<(alice@example.com)mallory@evil.test>", "mallory@evil.test", nil},
	{"comment only", "(alice@example.com)", "", ErrFromNoAddr},
	{"group", "x: alice@example.com;", "", ErrFromGroup},
	{"group with angle-addr", "x: Alice <alice@example.com>;", "", ErrFromGroup},
	{"group unterminated", "x: alice@example.com", "", ErrFromGroup},
	{"two addresses", "alice@example.com, mallory@evil.test", "", ErrFromSeveral},
	{"two angle-addrs", "<alice@example.com> <mallory@evil.test>", "", ErrFromSeveral},
	{"address after the angle-addr", "<mallory@evil.test> alice@example.com", "mallory@evil.test", nil},
	{"brackets in a quoted name", `"<alice@example.com>" <mallory@evil.test>`, "mallory@evil.test", nil},
	{"unterminated quote", `"Alice <alice@example.com>`, "", ErrFromNoAddr},
	{"unterminated comment", `(Alice <alice@example.com>`, "", ErrFromNoAddr},
	{"unterminated bracket", `Alice <alice@example.com`, "", ErrFromNoAddr},
	{"encoded word as the address", "<=?utf-8?q?alice=40example.com?=>", "", ErrFromNoAddr},
	{"space in the local part", "alice smith@example.com", "", ErrFromNoAddr},
	{"two at signs", "alice@example.com@evil.test", "", ErrFromNoAddr},
	{"empty brackets", "Alice <>", "", ErrFromNoAddr},
	{"address in a name with an at", "Alice @ alice@example.com <mallory@evil.test>", "mallory@evil.test", nil},
	{"empty", " ", "", ErrFromMissing},
}

// I6: the sender is the addr-spec and nothing else (RFC 5322 3.4).
func TestParseSenderForgeries(t *testing.T) {
	for _, c := range forgedFroms {
		t.Run(c.name, func(t *testing.T) {
			m, _, err := ParseSender([]string{c.from})
			if m.Addr != c.want || !errors.Is(err, c.err) {
				t.Fatalf("ParseSender(%q) = %q, %v; want %q, %v", c.from, m.Addr, err, c.want, c.err)
			}
			if strings.Contains(m.Name, "alice@") {
				t.Fatalf("display name %q shows the victim's address", m.Name)
			}
		})
	}
}

// I6: two From fields are two senders (RFC 5322 3.6 allows one).
func TestParseSenderTwoFields(t *testing.T) {
	_, _, err := ParseSender([]string{"alice@example.com", "mallory@evil.test"})
	if !errors.Is(err, ErrFromSeveral) {
		t.Fatalf("err = %v", err)
	}
}

// What real mailers write is read as they mean it: every language, old
// forms, broken display names that are safe to repair.
func TestParseSenderValid(t *testing.T) {
	for _, c := range []struct{ from, addr, name string }{
		{"ann@acme.test", "ann@acme.test", ""},
		{"Ann <Ann@ACME.test>", "Ann@acme.test", "Ann"},
		{`"Doe, John" <john@x.example>`, "john@x.example", "Doe, John"},
		{"Doe, John <john@x.example>", "john@x.example", "Doe, John"}, // unquoted comma repaired
		{"=?utf-8?Q?H=C3=A9l=C3=A8ne?= Dupont <helene@client.example>", "helene@client.example", "Hélène Dupont"},
		{"=?iso-8859-1?q?Ren=E9?= =?iso-8859-1?q?_M?= <r@x.example>", "r@x.example", "René M"},
		{"=?utf-8?b?5bGx55Sw5aSq6YOO?= <taro@example.jp>", "taro@example.jp", "山田太郎"},
		{"Jörg Müller <jörg@müller.example>", "jörg@müller.example", "Jörg Müller"}, // RFC 6532
		{"john@x.example (John Doe)", "john@x.example", "John Doe"},
		{"John Q. Public <john.q.public@example.com>", "john.q.public@example.com", "John Q. Public"},
		{"<@relay.example:joe@where.test>", "joe@where.test", ""}, // obs-route
		{"joe@[192.0.2.1]", "joe@[192.0.2.1]", ""},
		{`"joe smith"@x.example`, `"joe smith"@x.example`, ""},
		{`"joe"@x.example`, "joe@x.example", ""},
		{"john..doe@docomo.example", "john..doe@docomo.example", ""}, // obs-local-part some providers issue
		{"john@x.example <john@x.example>", "john@x.example", "john@x.example"},
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "pete@silly.test", "Pete"},
		{"  Mary Smith\r\n <mary@x.test>", "mary@x.test", "Mary Smith"},
	} {
		m, problems, err := ParseSender([]string{c.from})
		if err != nil || m.Addr != c.addr || m.Name != c.name {
			t.Errorf("ParseSender(%q) = %q %q, %v (%q); want %q %q", c.from, m.Addr, m.Name, err, problems, c.addr, c.name)
		}
	}
}

// R8: watchers come from To/Cc, and only valid addr-specs become them; the
// rest is skipped and recorded.
func TestParseAddressList(t *testing.T) {
	for _, c := range []struct {
		raw    string
		addrs  string
		bad    int
		groups int
	}{
		{"a@x.test, B <b@y.test>", "a@x.test b@y.test", 0, 0},
		{"undisclosed-recipients:;", "", 0, 1},
		{"team: a@x.test, b@y.test;, c@z.test", "a@x.test b@y.test c@z.test", 0, 1},
		{"a@x.test, not an address, <also bad>, c@z.test", "a@x.test c@z.test", 1, 0},
		{"a@x.test, a phrase, c@z.test", "a@x.test c@z.test", 1, 0},
		{"Doe, John <j@x.test>, , Ann <a@x.test>", "j@x.test a@x.test", 0, 0},
		{"=?utf-8?q?x:_alice=40example.com?= <mallory@evil.test>", "mallory@evil.test", 0, 0},
		{"(bob@x.test)", "", 0, 0},
		{"lonely phrase", "", 1, 0},
	} {
		l := ParseAddressList(c.raw)
		var got []string
		for _, m := range l.Mailboxes {
			got = append(got, m.Addr)
		}
		if strings.Join(got, " ") != c.addrs || len(l.Bad) != c.bad || l.Groups != c.groups || l.Err != nil {
			t.Errorf("ParseAddressList(%q) = %q bad %q groups %d err %v", c.raw, got, l.Bad, l.Groups, l.Err)
		}
	}
}

// I6 through Parse: the forged From leaves From empty with FromErr set,
// or names mallory; invalid Cc addresses are skipped with a problem.
func TestParseForgedFrom(t *testing.T) {
	for _, c := range forgedFroms {
		raw := "From: " + c.from + "\r\nTo: support@support.test\r\nCc: mallory@evil.test, alice@example.com <x>\r\n" +
			"Subject: Re: [Case #1] x\r\nMessage-ID: <f@evil.test>\r\n\r\nbody\r\n"
		p, err := Parse([]byte(raw), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.From != c.want || !errors.Is(p.FromErr, c.err) {
			t.Errorf("%s: From %q (%v), want %q (%v)", c.name, p.From, p.FromErr, c.want, c.err)
		}
		if strings.Join(p.Cc, " ") != "mallory@evil.test" || !hasProblem(p, "Cc: \"alice@example.com <x>\" is no address") {
			t.Errorf("%s: Cc %q problems %q", c.name, p.Cc, p.Problems)
		}
	}
}

func hasProblem(p *Parsed, part string) bool {
	for _, s := range p.Problems {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}

// Every mailer: on the public corpora, wherever net/mail reads From
// strictly as one mailbox without encoded words, ParseSender reads the same
// address; it refuses only what is no single mailbox.
func TestParseSenderCorpus(t *testing.T) {
	same, refused := 0, 0
	for _, path := range corpusFiles(t) {
		if !isMailFile(path) {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(raw, Options{})
		if err != nil {
			continue
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			continue
		}
		v := m.Header.Get("From")
		if v == "" || strings.Contains(v, "=?") {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err != nil || len(list) != 1 || strings.Contains(v, ":") {
			continue
		}
		want := list[0].Address
		if i := strings.LastIndexByte(want, '@'); i >= 0 {
			want = want[:i] + strings.ToLower(want[i:])
		}
		if p.From == "" {
			refused++
			t.Errorf("%s: From %q refused: %v", path, v, p.FromErr)
			continue
		}
		if strings.ReplaceAll(p.From, `"`, "") != strings.ReplaceAll(want, `"`, "") {
			t.Errorf("%s: From %q read as %q, net/mail reads %q", path, v, p.From, want)
		}
		same++
	}
	if same < 100 {
		t.Fatalf("only %d corpus mails compared", same)
	}
	t.Logf("%d corpus From fields read as net/mail reads them, %d refused", same, refused)
}
