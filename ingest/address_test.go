package ingest

import (
	"github.com/casemail/casemail/internal/testenv/stores"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/replytoken"
)

// The addresses outbound writes into watcher mail are read back whatever a
// mail system did to the case of their local part (RFC 5321 section 2.4):
// the unsubscribe address stops the watching (R8) and is never taken for a
// plus-tagged route; the reply address joins the case (I6).
func TestGeneratedAddressesSurviveCaseChanges(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		tests := []struct {
			name   string
			addr   func(tok string) string
			result string
			reason string
		}{
			{"unsubscribe", func(tok string) string { return address.ForUnsubscribe("support", tok, "support.test") }, "ignored", "stopped watching"},
			{"unsubscribe upper-cased", func(tok string) string {
				return strings.ToUpper(address.ForUnsubscribe("support", tok, "support.test"))
			}, "ignored", "stopped watching"},
			{"reply upper-cased", func(tok string) string {
				return strings.ToUpper(address.ForReply("support", tok, "support.test"))
			}, "comment_added", "reply token"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				h := newHarness(t, "")
				_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
				tok := replytoken.New(h.book.Secret()).Sign(c.ID, "carl@acme.test", time.Now().Add(time.Hour))
				rcpt := tc.addr(tok)
				h.want(h.receive(h.mail("carl@acme.test", rcpt, "Re: case", "stop"), rcpt), tc.result, tc.reason)
				got, _ := h.book.Case(h.ctx, c.ID)
				if stopped := len(got.Watchers) == 0; stopped != (tc.result == "ignored") {
					t.Errorf("watchers after %s: %v", tc.name, got.Watchers)
				}
			})
		}
	})
}

// R8: asking twice to stop watching is answered the same way both times.
func TestUnsubscribeTwice(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
		tok := replytoken.New(h.book.Secret()).Sign(c.ID, "carl@acme.test", time.Now().Add(time.Hour))
		rcpt := address.ForUnsubscribe("support", tok, "support.test")
		for range 2 {
			h.want(h.receive(h.mail("carl@acme.test", rcpt, "unsubscribe", ""), rcpt), "ignored", "stopped watching")
		}
	})
}
