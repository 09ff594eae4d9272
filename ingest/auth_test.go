package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/authtest"
	"github.com/casemail/casemail/internal/testenv/stores"
	"github.com/emersion/go-msgauth/dkim"
)

// Sender authentication through the gateway (issue 13), against a real DNS
// server on loopback: acme.test publishes SPF for its relay, a DKIM key and
// DMARC p=reject; globex.test has SPF only, and no DMARC.

const (
	relayIP = "192.0.2.10:4711"   // acme.test's and globex.test's outbound relay
	forgeIP = "203.0.113.66:4711" // anyone else on the Internet
	mta     = "mx.support.test"   // the MTA in front, in trusted_authserv_ids
)

func authZone() *authtest.Zone {
	z := authtest.NewZone()
	z.AddTXT("acme.test", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.acme.test", "v=DMARC1; p=reject")
	z.AddTXT("s1._domainkey.acme.test", authtest.RSAKeyRecord())
	z.AddTXT("globex.test", "v=spf1 ip4:192.0.2.10 -all")
	z.ServFail("both.test")
	return z
}

// authHarness is the gateway harness with [auth] mode and the loopback DNS;
// the route partners@ is an exception in record mode.
func authHarness(t *testing.T, mode string) *harness {
	t.Helper()
	dnsAddr := authtest.StartDNS(t, authZone())
	h := newHarness(t, fmt.Sprintf(`[[route]]
address = "partners@support.test"
product = "cloud"
auth = "record"
[auth]
mode = %q
resolver = %q
trusted_authserv_ids = [%q]
`, mode, dnsAddr, mta))
	// Verification reads the mail from memory: a mail over inMemoryMax is
	// verified on its first bytes only (authenticate), so these tests keep
	// the in-memory path when the suite is rerun streaming.
	h.gw.memMax = inMemoryMax
	return h
}

// smtp delivers raw as an SMTP client at remote would, MAIL FROM mailFrom.
func (h *harness) smtp(remote, mailFrom, raw string, rcpts ...string) Outcome {
	h.t.Helper()
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: mailFrom, Recipients: rcpts, RemoteAddr: remote, HELO: "client.test"}, strings.NewReader(raw))
	if err != nil {
		h.t.Fatalf("receive: %v", err)
	}
	return out
}

// via delivers raw through a door behind the MTA (IMAP, deliver, LMTP).
func (h *harness) via(tr Transport, raw string, rcpts ...string) Outcome {
	h.t.Helper()
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: tr, MailFrom: "ann@acme.test", Recipients: rcpts}, strings.NewReader(raw))
	if err != nil {
		h.t.Fatalf("receive: %v", err)
	}
	return out
}

// verdictOf returns the recorded verdict of a message.
func (h *harness) verdictOf(id int64) (casebook.Message, map[string]any) {
	h.t.Helper()
	m, err := h.book.Message(h.ctx, id)
	h.must(err)
	var v map[string]any
	if len(m.Auth) > 0 {
		h.must(json.Unmarshal(m.Auth, &v))
	}
	return m, v
}

func signed(t *testing.T, raw string) string {
	return string(authtest.Sign(t, []byte(raw), dkim.SignOptions{Domain: "acme.test", Selector: "s1"}))
}

// teamTold is the outbox when a registered customer's mail is quarantined
// for failed authentication: the agent is told, the customer is not.
const teamTold = "agent@support.test:agent_mail_quarantined"

// First hop: what the SMTP listener's client may do with the From it writes.
func TestAuthFirstHop(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		tests := []struct {
			name, remote, mailFrom, from string
			sign                         bool
			result, reason               string
			notices                      string
			aligned                      bool
		}{
			// SPF pass for the MAIL FROM, aligned with From, DMARC pass.
			{"SPF pass opens", relayIP, "ann@acme.test", "ann@acme.test", false, "case_opened", "(R6)", "ann@acme.test:case_opened", true},
			// DKIM pass aligned: the mail was forwarded, SPF fails, DMARC passes.
			{"DKIM pass through a forwarder opens", forgeIP, "fwd@else.test", "ann@acme.test", true, "case_opened", "(R6)", "ann@acme.test:case_opened", true},
			// A forged From: no case in Ann's name, no mail to Ann; Ann has
			// an account, so the team is told (issue 13).
			{"forged From opens nothing", forgeIP, "ann@acme.test", "ann@acme.test", false, "quarantined", "From domain acme.test not authenticated (spf=fail", teamTold, false},
			// A domain without DMARC needs an aligned SPF or DKIM pass.
			{"no DMARC, SPF pass opens", relayIP, "bob@globex.test", "bob@globex.test", false, "case_opened", "(R6)", "bob@globex.test:case_opened", true},
			{"no DMARC, SPF fail", forgeIP, "bob@globex.test", "bob@globex.test", false, "quarantined", "dmarc=none", teamTold, false},
			// A DNS failure is temperror, never a pass.
			{"temperror opens nothing", relayIP, "multi@both.test", "multi@both.test", false, "quarantined", "spf=temperror", teamTold, false},
			// A stranger's refusal notice would be backscatter to a forged
			// address; forging a stranger tells nobody at support either.
			{"no notice to an unauthenticated stranger", forgeIP, "x@acme.test", "stranger@acme.test", false, "quarantined", "gets no notice (backscatter)", "", false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := authHarness(t, "enforce")
				raw := h.mail(tt.from, "support@support.test", "Server down", "Our server is down.\n")
				if tt.sign {
					raw = signed(t, raw)
				}
				out := h.smtp(tt.remote, tt.mailFrom, raw, "support@support.test")
				h.want(out, tt.result, tt.reason)
				if got := strings.Join(h.notices(), " "); got != tt.notices {
					t.Errorf("notices = %q, want %q", got, tt.notices)
				}
				m, v := h.verdictOf(out.MessageID)
				if v["source"] != "verified" || v["from_aligned"] != tt.aligned || m.Unauthenticated == tt.aligned {
					t.Errorf("recorded verdict %s, unauthenticated %v; want verified, aligned %v", m.Auth, m.Unauthenticated, tt.aligned)
				}
			})
		}
	})
}

// The forgery scenarios of issue 13: a forged From of the requester with the
// case's subject tag, or with the case's Message-ID in References, is
// quarantined under enforce and never joins the case (I6 is not enough: the
// forger names a participant); under record it is a comment with the verdict.
func TestAuthForgedThreads(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		for _, mode := range []string{"enforce", "record"} {
			for _, how := range []string{"subject tag", "References"} {
				t.Run(mode+"/"+how, func(t *testing.T) {
					h := authHarness(t, mode)
					out := h.smtp(relayIP, "ann@acme.test", h.mail("ann@acme.test", "support@support.test", "Server down", "down\n"), "support@support.test")
					h.want(out, "case_opened", "")
					h.notices()
					subject, hdrs := "Re: Server down", []string{}
					if how == "subject tag" {
						subject = fmt.Sprintf("Re: [Case #%d] Server down", out.CaseID)
					} else {
						orig, err := h.book.Message(h.ctx, out.MessageID)
						h.must(err)
						hdrs = append(hdrs, "References: <"+orig.MessageID+">")
					}
					forged := h.mail("ann@acme.test", "support@support.test", subject, "Please send the invoices to evil@attacker.test\n", hdrs...)
					got := h.smtp(forgeIP, "ann@acme.test", forged, "support@support.test")
					c, err := h.book.Case(h.ctx, out.CaseID)
					h.must(err)
					if mode == "enforce" {
						h.want(got, "quarantined", "may not join case")
						if len(c.Comments) != 0 {
							t.Fatalf("the forgery became a comment: %+v", c.Comments)
						}
					} else {
						h.want(got, "comment_added", `recorded, not refused (auth = "record")`)
						if len(c.Comments) != 1 {
							t.Fatalf("comments = %+v, want the recorded one", c.Comments)
						}
					}
					// Ann is not answered; the team is told (issue 13).
					if n := strings.Join(h.notices(), " "); mode == "enforce" && n != teamTold {
						t.Errorf("notices = %v, want the team's only", n)
					}
				})
			}
		}
	})
}

// A reply token is a capability the real recipient received: a reply from a
// failing domain still threads, and the comment is marked unauthenticated.
func TestAuthReplyTokenThreadsUnauthenticated(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := authHarness(t, "enforce")
		out := h.smtp(relayIP, "ann@acme.test", h.mail("ann@acme.test", "support@support.test", "Server down", "down\n"), "support@support.test")
		h.want(out, "case_opened", "")
		addr := h.token(out.CaseID, "ann@acme.test")
		got := h.smtp(forgeIP, "ann@acme.test", h.mail("ann@acme.test", addr, "Re: Server down", "Sent from my phone, through the hotel's relay\n"), addr)
		h.want(got, "comment_added", "threaded by its reply token, marked unauthenticated")
		c, err := h.book.Case(h.ctx, out.CaseID)
		h.must(err)
		if len(c.Comments) != 1 || !c.Comments[0].Unauthenticated {
			t.Fatalf("comments = %+v, want one marked unauthenticated", c.Comments)
		}
		// An authenticated reply is not marked.
		h.smtp(relayIP, "ann@acme.test", h.mail("ann@acme.test", addr, "Re: Server down", "All good now\n"), addr)
		c, _ = h.book.Case(h.ctx, out.CaseID)
		if len(c.Comments) != 2 || c.Comments[0].Unauthenticated {
			t.Fatalf("comments = %+v, want the newest unmarked", c.Comments)
		}
	})
}

// [[route]] auth = "record": a partner whose mail breaks authentication
// (a mailing list, a forwarder) still opens cases, with the verdict kept.
func TestAuthRouteException(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := authHarness(t, "enforce")
		out := h.smtp(forgeIP, "ann@acme.test", h.mail("ann@acme.test", "partners@support.test", "Via the list", "text\n"), "partners@support.test")
		h.want(out, "case_opened", `recorded, not refused (auth = "record")`)
		if m, _ := h.verdictOf(out.MessageID); !m.Unauthenticated {
			t.Errorf("message not marked unauthenticated: %+v", m)
		}
	})
}

// Behind the MTA (deliver, IMAP, LMTP): its Authentication-Results are
// trusted, the ones a sender writes are not.
func TestAuthTrustedHeader(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		arPass := "Authentication-Results: " + mta + "; spf=pass smtp.mailfrom=acme.test; dkim=pass header.d=acme.test; dmarc=pass header.from=acme.test"
		arFail := "Authentication-Results: " + mta + "; spf=fail smtp.mailfrom=acme.test; dmarc=fail header.from=acme.test"
		tests := []struct {
			name   string
			door   Transport
			raw    func(h *harness) string
			result string
			reason string
		}{
			{"the MTA's pass, through deliver", TransportPipe, func(h *harness) string {
				return arPass + "\r\n" + h.mail("ann@acme.test", "support@support.test", "Down", "x\n")
			}, "case_opened", "(R6)"},
			{"the MTA's pass, through IMAP", TransportIMAP, func(h *harness) string {
				return "Return-Path: <ann@acme.test>\r\n" + arPass + "\r\n" + h.mail("ann@acme.test", "support@support.test", "Down", "x\n")
			}, "case_opened", "(R6)"},
			{"the MTA's fail", TransportLMTP, func(h *harness) string {
				return arFail + "\r\n" + h.mail("ann@acme.test", "support@support.test", "Down", "x\n")
			}, "quarantined", "dmarc=fail, trusted_header"},
			// The sender's own pass below the MTA's fail cannot override it.
			{"a forged pass under the MTA's fail", TransportPipe, func(h *harness) string {
				return arFail + "\r\n" + h.mail("ann@acme.test", "support@support.test", "Down", "x\n", arPass)
			}, "quarantined", "not authenticated"},
			// A forged field in the sender's header, no field of the MTA's.
			{"a forged pass alone is ignored", TransportIMAP, func(h *harness) string {
				return h.mail("ann@acme.test", "support@support.test", "Down", "x\n", arPass)
			}, "quarantined", "source none"},
			{"another authserv-id is ignored", TransportPipe, func(h *harness) string {
				return strings.Replace(arPass, mta, "mx.attacker.test", 1) + "\r\n" + h.mail("ann@acme.test", "support@support.test", "Down", "x\n")
			}, "quarantined", "not authenticated"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := authHarness(t, "enforce")
				out := h.via(tt.door, tt.raw(h), "support@support.test")
				h.want(out, tt.result, strings.Replace(tt.reason, "source none", ", none)", 1))
			})
		}
	})
}

// [auth] record_orgs: a partner organisation whose mail breaks
// authentication keeps opening cases and replying, with the verdict kept;
// other organisations stay under enforce.
func TestAuthOrgException(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := authHarness(t, "enforce")
		h.cfg.Auth.RecordOrgs = []string{"globex"}
		out := h.smtp(forgeIP, "bob@globex.test", h.mail("bob@globex.test", "support@support.test", "Via the list", "text\n"), "support@support.test")
		h.want(out, "case_opened", `recorded, not refused (auth = "record")`)
		out = h.smtp(forgeIP, "ann@acme.test", h.mail("ann@acme.test", "support@support.test", "Forged", "text\n"), "support@support.test")
		h.want(out, "quarantined", "may not open a case")
	})
}

// Under mode = "off" nothing is checked or recorded.
func TestAuthOff(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := authHarness(t, "off")
		out := h.smtp(forgeIP, "ann@acme.test", h.mail("ann@acme.test", "support@support.test", "Down", "x\n"), "support@support.test")
		h.want(out, "case_opened", "")
		if m, v := h.verdictOf(out.MessageID); v != nil || m.Unauthenticated {
			t.Errorf("mode off recorded a verdict: %s", m.Auth)
		}
	})
}

// [auth] relays (default loopback): the SMTP listener's client there is the
// MTA in front, whose header is read; from anywhere else casemail is the
// first hop and an Authentication-Results the client wrote, even with the
// trusted authserv-id, counts for nothing.
func TestAuthRelays(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		arPass := "Authentication-Results: " + mta + "; spf=pass smtp.mailfrom=acme.test; dmarc=pass header.from=acme.test\r\n"
		tests := []struct {
			name, remote, field, result, source string
		}{
			{"the relay's trusted header", "127.0.0.1:4242", arPass, "case_opened", "trusted_header"},
			{"the relay without its header", "[::1]:4242", "", "quarantined", "none"},
			{"the trusted header from the Internet", forgeIP, arPass, "quarantined", "verified"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := authHarness(t, "enforce")
				out := h.smtp(tt.remote, "ann@acme.test", tt.field+h.mail("ann@acme.test", "support@support.test", "Down", "x\n"), "support@support.test")
				h.want(out, tt.result, "")
				if _, v := h.verdictOf(out.MessageID); v["source"] != tt.source {
					t.Errorf("source = %v, want %s", v["source"], tt.source)
				}
			})
		}
	})
}

// A forged agent (issue 11's commands by mail): under enforce a mail from
// an agent's address that is not authenticated may not #close a case, even
// with the case's tag; with the agent's reply token its text threads, its
// commands are dropped. Under record the commands apply.
func TestAuthForgedAgentCommands(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		tests := []struct {
			mode, name   string
			token        bool
			body         string
			result       string
			reason       string
			wantStatus   casebook.Status
			wantComments int
		}{
			{"enforce", "subject tag", false, "#close\n", "quarantined", "may not use agent commands", casebook.StatusOpen, 0},
			{"enforce", "reply token", true, "#close\nFixed on our side.\n", "comment_added", "its agent commands are ignored", casebook.StatusOpen, 1},
			{"record", "subject tag", false, "#close\n", "ignored", "commands", casebook.StatusClosed, 0},
		}
		for _, tt := range tests {
			t.Run(tt.mode+"/"+tt.name, func(t *testing.T) {
				h := authHarness(t, tt.mode)
				out := h.smtp(relayIP, "ann@acme.test", h.mail("ann@acme.test", "support@support.test", "Server down", "down\n"), "support@support.test")
				h.want(out, "case_opened", "")
				to := "support@support.test"
				if tt.token {
					to = h.token(out.CaseID, "agent@support.test")
				}
				subject := fmt.Sprintf("Re: [Case #%d] Server down", out.CaseID)
				got := h.smtp(forgeIP, "agent@support.test", h.mail("agent@support.test", to, subject, tt.body), to)
				h.want(got, tt.result, tt.reason)
				c, err := h.book.Case(h.ctx, out.CaseID)
				h.must(err)
				if c.Status != tt.wantStatus || len(c.Comments) != tt.wantComments {
					t.Fatalf("case status %s with %d comments, want %s with %d", c.Status, len(c.Comments), tt.wantStatus, tt.wantComments)
				}
			})
		}
	})
}

// Issue 13: a registered customer whose domain fails authentication is
// not answered, but the team hears of it by mail, once an hour per claimed
// address, in each agent's language, with the stored message to release;
// forging an unknown address tells nobody.
func TestAuthQuarantineTellsTheTeam(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := authHarness(t, "enforce")
		h.must(h.book.AddAccount(h.ctx, casebook.Account{Address: "agnes@support.test", Verified: true, Agent: true, Locale: "fr"}))
		send := func(from, subject string) Outcome {
			t.Helper()
			return h.smtp(forgeIP, from, h.mail("Ann Smith <"+from+">", "support@support.test", subject, "Our SPF record is broken.\n"), "support@support.test")
		}
		out := send("ann@acme.test", "Invoice 2026-03")
		h.want(out, "quarantined", "may not open a case")
		items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
		h.must(err)
		got := map[string]casebook.OutboxItem{}
		for _, it := range items {
			if it.Template != "agent_mail_quarantined" {
				t.Fatalf("queued %s to %s: only the team is told", it.Template, it.To)
			}
			got[it.To] = it
		}
		fr, en := got["agnes@support.test"], got["agent@support.test"]
		if len(items) != 2 || fr.Locale != "fr" || en.Locale != "en" {
			t.Fatalf("queued %v, want one to each agent, in their language", h.notices())
		}
		for _, it := range []casebook.OutboxItem{fr, en} {
			if it.Data["message_id"] != fmt.Sprint(out.MessageID) || it.Data["author"] != "Ann Smith <ann@acme.test>" || it.Data["subject"] != "Invoice 2026-03" {
				t.Errorf("%s: data %v, want message %d from Ann", it.To, it.Data, out.MessageID)
			}
		}
		if !strings.Contains(fr.Data["reason"], "domaine From acme.test non authentifié") || !strings.Contains(en.Data["reason"], "From domain acme.test not authenticated") {
			t.Errorf("reasons fr %q, en %q", fr.Data["reason"], en.Data["reason"])
		}
		h.notices()

		// The same address again within the hour (a forger repeating it,
		// or the customer trying again): quarantined, nobody told again.
		h.want(send("ann@acme.test", "Invoice, again"), "quarantined", "the team was told already")
		if n := h.notices(); len(n) != 0 {
			t.Errorf("second notice within the hour: %v", n)
		}
		// A forged unknown address: quarantined, no human needed.
		h.want(send("nobody@acme.test", "Hello"), "quarantined", "gets no notice")
		if n := h.notices(); len(n) != 0 {
			t.Errorf("a stranger's forgery told %v", n)
		}
	})
}
