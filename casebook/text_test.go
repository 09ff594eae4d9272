package casebook

import (
	"strings"
	"testing"
)

// Stored text is valid UTF-8 without NUL (text.go): each run of invalid
// bytes and each NUL becomes U+FFFD; valid text, in any script, is kept
// as it is.
func TestValidText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"Crème brûlée, 日本語, Ελληνικά, emoji 🎉", "Crème brûlée, 日本語, Ελληνικά, emoji 🎉"},
		{"caf\xe9", "caf\uFFFD"},
		{"\xff\xfe\xfd", "\uFFFD"},
		{"a\x00b", "a\uFFFDb"},
		{"\xc3\x28", "\uFFFD("},
		{"\xed\xa0\x80", "\uFFFD"},     // a UTF-16 surrogate encoded in UTF-8
		{"\xf4\x90\x80\x80", "\uFFFD"}, // past U+10FFFF
		{"x\x00\xff\x00", "x\uFFFD\uFFFD\uFFFD"},
	} {
		if got := validText(tt.in); got != tt.want {
			t.Errorf("validText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Bad input loses nothing: text with invalid UTF-8 and NUL written from
// the command line (an account's name) and by a mail (Record) is stored
// on both stores alike, and looked up by the same text again.
func TestInvalidTextStoresAlike(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.must(t, f.AddAccount(f.ctx, Account{Address: "zoe@acme.test", Name: "Zo\xeb \x00Admin", Verified: true}))
		a, err := f.Account(f.ctx, "zoe@acme.test")
		f.must(t, err)
		if a.Name != "Zo\uFFFD \uFFFDAdmin" {
			t.Errorf("name %q", a.Name)
		}
		m := f.inbound("fp-\xff\x00")
		m.Subject, m.MessageID = "Imprimante cass\xe9e\x00", "id\xff@mail.test"
		rec, err := f.Record(f.ctx, Delivery{Message: m, Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud",
			Title: m.Subject, Description: "R\xe9ponse\x00 attendue", Requester: "ann@acme.test"}})
		f.must(t, err)
		got, err := f.Message(f.ctx, rec.Message.ID)
		f.must(t, err)
		if got.Subject != "Imprimante cass\uFFFDe\uFFFD" || got.MessageID != "id\uFFFD@mail.test" {
			t.Errorf("stored subject %q, message-id %q", got.Subject, got.MessageID)
		}
		c, err := f.Case(f.ctx, *rec.Message.CaseID)
		f.must(t, err)
		if !strings.HasPrefix(c.Description, "R\uFFFDponse\uFFFD attendue") {
			t.Errorf("description %q", c.Description)
		}
		// I2: the same fingerprint, cleaned the same way, is the same mail.
		again, err := f.Record(f.ctx, Delivery{Message: m, Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "x", Requester: "ann@acme.test"}})
		f.must(t, err)
		if !again.Duplicate {
			t.Error("the same mail was recorded twice")
		}
		if id, ok, err := f.CaseOfMessageID(f.ctx, "id\xff@mail.test"); err != nil || !ok || id != c.ID {
			t.Errorf("CaseOfMessageID = %d, %v, %v; want case %d", id, ok, err, c.ID)
		}
	})
}
