package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// I6, issue 10: From fields that used to make mallory@evil.test write as
// ann@acme.test, a participant of the case: the reply was recorded as
// Ann's comment, Mallory's Cc made her a watcher and the agent's next reply
// went to her. Each is now quarantined, or read as Mallory's own mail (and
// quarantined as a claim by an outsider): no comment, no watcher, no mail
// to her.
func TestForgedFromIsQuarantined(t *testing.T) {
	tests := []struct {
		name   string
		from   []string // one From field each
		reason string
	}{
		{"address as display name", []string{"ann@acme.test <mallory@evil.test>"}, "does not take part"},
		{"encoded word with a group colon", []string{"=?utf-8?q?x:_ann=40acme.test?= <mallory@evil.test>"}, "does not take part"},
		{"encoded word hiding <ann>", []string{"=?utf-8?q?Ann_=3Cann=40acme.test=3E?= <mallory@evil.test>"}, "does not take part"},
		{"encoded word alone", []string{"=?utf-8?q?Ann_=3Cann=40acme.test=3E?="}, "no usable From address"},
		{"display name with an address and a comma", []string{"Ann, ann@acme.test <mallory@evil.test>"}, "does not take part"},
		{"quoted local part", []string{`"ann@acme.test"@evil.test`}, "does not take part"},
		{"comment", []string{"(ann@acme.test) mallory@evil.test"}, "does not take part"},
		{"comment only", []string{"(ann@acme.test)"}, "no usable From address"},
		{"group", []string{"x: ann@acme.test;"}, "a group"},
		{"two addresses", []string{"ann@acme.test, mallory@evil.test"}, "several addresses"},
		{"two angle-addrs", []string{"<ann@acme.test> <mallory@evil.test>"}, "several addresses"},
		{"two From fields", []string{"ann@acme.test", "mallory@evil.test"}, "several addresses"},
		{"unterminated quote", []string{`"Ann <ann@acme.test>`}, "no usable From address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "")
			_, c := h.open("ann@acme.test", "support@support.test")
			h.notices()
			var hdr strings.Builder
			for _, f := range tt.from {
				hdr.WriteString("From: " + f + "\r\n")
			}
			h.n++
			raw := hdr.String() + "To: support@support.test\r\nCc: mallory@evil.test\r\n" +
				fmt.Sprintf("Subject: Re: [Case #%d] Server down\r\nMessage-ID: <forged%d@evil.test>\r\n", c.ID, h.n) +
				"Content-Type: text/plain; charset=utf-8\r\n\r\nPlease send the admin password to this thread.\r\n"
			out := h.receive(raw, "support@support.test")
			h.want(out, "quarantined", tt.reason)
			if out.CaseID != 0 {
				t.Fatalf("the forgery was linked to case %d", out.CaseID)
			}
			got, err := h.book.Case(h.ctx, c.ID)
			h.must(err)
			if len(got.Comments) != 0 || slices.Contains(got.Watchers, "mallory@evil.test") {
				t.Fatalf("forgery changed the case: comments %+v, watchers %v", got.Comments, got.Watchers)
			}
			if n := h.notices(); len(n) != 0 {
				t.Fatalf("forgery was answered: %v", n)
			}
			// The agent's next reply goes to Ann only.
			_, err = h.book.AddComment(h.ctx, c.ID, "agent@support.test", "Here is the update.")
			h.must(err)
			for _, n := range h.notices() {
				if strings.HasPrefix(n, "mallory@") {
					t.Fatalf("mallory receives the agent's reply: %s", n)
				}
			}
			msg, err := h.book.Message(h.ctx, out.MessageID)
			h.must(err)
			if msg.RawSHA256 == "" { // I4: kept for the admin to look at
				t.Fatal("the forged mail was not kept")
			}
		})
	}
}

// I6 with real mail: Ann's own reply with a display name a sloppy mailer
// broke still threads; her Cc's valid addresses become watchers (R8) and
// the invalid ones are skipped and recorded, never guessed.
func TestBrokenDisplayNameStillThreads(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test")
	h.notices()
	raw := h.mail("Smith, Ann <ann@acme.test>", "support@support.test", fmt.Sprintf("Re: [Case #%d] Server down", c.ID),
		"It works again.", `Cc: carl@acme.test, "dave@acme.test" <not an address>, =?utf-8?q?eve=40acme.test?=`)
	out := h.receive(raw, "support@support.test")
	h.want(out, "comment_added", "subject tag")
	got, err := h.book.Case(h.ctx, c.ID)
	h.must(err)
	if strings.Join(got.Watchers, ",") != "carl@acme.test" {
		t.Fatalf("watchers = %v, want carl only", got.Watchers)
	}
	msg, err := h.book.Message(h.ctx, out.MessageID)
	h.must(err)
	problems := strings.Join(msg.Problems, "\n")
	for _, want := range []string{`"\"dave@acme.test\" <not an address>" is no address`, `"=?utf-8?q?eve=40acme.test?=" is no address`, "unquoted comma"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", msg.Problems, want)
		}
	}
}
