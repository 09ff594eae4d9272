package ingest

import (
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
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
	stores.Each(t, func(t *testing.T) {
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
	})
}

// I6 with real mail: Ann's own reply with a display name a sloppy mailer
// broke still threads; her Cc's valid addresses become watchers (R8) and
// the invalid ones are skipped and recorded, never guessed.
func TestBrokenDisplayNameStillThreads(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
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
	})
}

// Issue 10, I4: the parse blow-ups (10,000 nested multiparts in 707 KB,
// 100,000 parts in 3.6 MB took minutes) are read within the parser's
// bounds: the mail is recorded with what was cut among its problems, and
// kept whole.
func TestHostileStructureIsRecorded(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		nested := func() string {
			var b strings.Builder
			b.WriteString("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
			for i := range 10000 {
				fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
			}
			b.WriteString("--b10000\r\nContent-Type: text/plain\r\n\r\nServer down.\r\n")
			for i := 10000; i >= 0; i-- {
				fmt.Fprintf(&b, "--b%d--\r\n", i)
			}
			return b.String()
		}
		parts := func() string {
			var b strings.Builder
			b.WriteString("Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nServer down.\r\n")
			for range 100000 {
				b.WriteString("--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n")
			}
			b.WriteString("--b--\r\n")
			return b.String()
		}
		for _, c := range []struct {
			name, mime, problem string
		}{
			{"10,000 nested multiparts", nested(), "nested over"},
			{"100,000 parts", parts(), "MIME parts"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := newHarness(t, "")
				h.n++
				raw := fmt.Sprintf("From: ann@acme.test\r\nTo: support@support.test\r\nSubject: hostile\r\nMessage-ID: <hostile%d@acme.test>\r\nMIME-Version: 1.0\r\n", h.n) + c.mime
				out := h.receive(raw, "support@support.test")
				msg, err := h.book.Message(h.ctx, out.MessageID)
				h.must(err)
				if !strings.Contains(strings.Join(msg.Problems, "\n"), c.problem) {
					t.Fatalf("outcome %s, problems %q lack %q", out.Result, msg.Problems, c.problem)
				}
				var kept strings.Builder
				h.must(h.book.WriteRaw(h.ctx, msg.RawSHA256, &kept))
				if kept.String() != raw {
					t.Fatal("the hostile mail was not kept whole")
				}
			})
		}
	})
}
