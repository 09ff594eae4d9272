package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/replytoken"
)

// I1, I4, I6: a valid reply token from someone no longer on the case is an
// outcome (quarantined with the reason), never a temporary failure that has
// the sender retry forever and stores a raw copy each time.
func TestTokenFromFormerWatcherIsAnOutcome(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	addr := h.token(c.ID, "carl@acme.test")
	h.must(h.book.RemoveWatcher(h.ctx, c.ID, "carl@acme.test"))
	h.notices()
	raw := h.mail("carl@acme.test", addr, "Re: [Case #1] Server down", "Still there?")
	out := h.receive(raw, addr) // fails the test on an error (a 4xx)
	h.want(out, "quarantined", "does not take part in it (I6)")
	if again := h.receive(raw, addr); !again.Duplicate || again.MessageID != out.MessageID {
		t.Fatalf("the retry is a new record: %+v", again)
	}
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Comments) != 0 || len(h.notices()) != 0 {
		t.Fatalf("a former watcher's reply was added or answered: %+v", got.Comments)
	}
}

// I5: two participants whose mail systems answer every mail without saying
// so (no Auto-Submitted, no Precedence) stop within max_mail_comments each;
// past it the mails are kept as a suspected loop, nobody is notified, and
// the team is told once.
func TestLoopBetweenSilentAutoRespondersStops(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	h.notices()
	var quarantined, told int
	for i := range 40 {
		from := []string{"ann@acme.test", "carl@acme.test"}[i%2]
		body := fmt.Sprintf("Thank you for your message (%d). I am reading my mail only now and then.", i)
		out := h.receive(h.mail(from, "support@support.test", "Re: [Case #1] Server down", body), "support@support.test")
		for _, n := range h.notices() {
			if strings.HasSuffix(n, ":agent_loop_suspected") {
				told++
				if !strings.HasPrefix(n, "agent@support.test:") {
					t.Errorf("loop notice to %s, want the agents", n)
				}
			} else if out.Result != casebook.OutcomeCommentAdded {
				t.Errorf("mail %d (%s) notified %s", i, out.Result, n)
			}
		}
		if out.Result == casebook.OutcomeQuarantined {
			quarantined++
			h.want(out, "quarantined", "suspected mail loop")
		}
	}
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Comments) > 10 || quarantined != 40-len(got.Comments) {
		t.Fatalf("%d comments, %d quarantined: the loop did not stop within 10 mails", len(got.Comments), quarantined)
	}
	if told != 1 {
		t.Fatalf("the team was told %d times, want once", told)
	}
}

// I5: a reply that only quotes our own notification, or repeats it word
// for word, adds nothing: it is a suspected loop from the first one.
func TestEchoOfOurOwnMailIsALoop(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	_, err := h.book.AddComment(h.ctx, c.ID, "agent@support.test", "Please restart the VPN gateway and tell us\nwhether the tunnel comes back.")
	h.must(err)
	h.notices()
	tests := []struct{ name, from, body string }{
		{"quoted only", "carl@acme.test", "> Please restart the VPN gateway and tell us whether\n> the tunnel comes back.\n"},
		{"attribution and quote", "ann@acme.test", "On Mon, 2 Mar 2026, Support wrote:\n>> Please restart the VPN gateway\n>> and tell us whether the tunnel comes back.\n"},
		{"attribution in French", "carl@acme.test", "Le lun. 2 mars 2026, Support a écrit :\n> Please restart the VPN gateway and tell us\n> whether the tunnel comes back.\n"},
		{"pasted unquoted", "ann@acme.test", "Please restart the VPN gateway and tell us whether the tunnel comes back.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.receive(h.mail(tt.from, "support@support.test", "Re: [Case #1] Server down", tt.body), "support@support.test")
			if out.Result != casebook.OutcomeQuarantined || !strings.Contains(out.Reason, "our own mail") {
				t.Fatalf("outcome %s (%s), want a suspected loop", out.Result, out.Reason)
			}
			for _, n := range h.notices() {
				if !strings.HasSuffix(n, ":agent_loop_suspected") {
					t.Fatalf("an echo notified %s", n)
				}
			}
		})
	}
	// People say short things twice: not an echo.
	for range 2 {
		out := h.receive(h.mail("carl@acme.test", "support@support.test", "Re: [Case #1] Server down", "Thanks, trying now."), "support@support.test")
		h.want(out, "comment_added", "R9")
	}
	// A real answer under the quote is a comment as ever (R9).
	out := h.receive(h.mail("carl@acme.test", "support@support.test", "Re: [Case #1] Server down",
		"Done, the tunnel is back.\n\n> Please restart the VPN gateway and tell us whether\n> the tunnel comes back.\n"), "support@support.test")
	h.want(out, "comment_added", "R9")
}

// R8, I5: one mail adds at most policy.max_cc_watchers watchers; the rest
// are named in the reason, never mailed.
func TestCcWatchersAreCapped(t *testing.T) {
	h := newHarness(t, "[policy]\nmax_cc_watchers = 3\n")
	var cc []string
	for i := range 50 {
		cc = append(cc, fmt.Sprintf("victim%d@else.test", i))
	}
	out, c := h.open("ann@acme.test", "support@support.test", cc...)
	if len(c.Watchers) != 3 || !strings.Contains(out.Reason, "47 copied addresses not added as watchers (policy.max_cc_watchers = 3)") {
		t.Fatalf("watchers %v, reason %q", c.Watchers, out.Reason)
	}
	if n := h.notices(); len(n) != 4 { // the requester and three watchers
		t.Fatalf("notified %d: %v", len(n), n)
	}
	// The same on a reply.
	out = h.receive(h.mail("ann@acme.test", "support@support.test", "Re: [Case #1] Server down", "More people.", "Cc: "+strings.Join(cc[10:], ", ")), "support@support.test")
	h.want(out, "comment_added", "37 copied addresses not added")
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Watchers) != 6 {
		t.Fatalf("watchers = %v", got.Watchers)
	}
}

// I5, issue 10: a DSN silences a watcher only when it comes back to the
// return path of the notification sent to that watcher and names that
// watcher as its Final-Recipient. The Message-IDs of notifications to
// others, which References hand every participant, are not enough.
func TestForgedDSNSuppressesNobody(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	items, _ := h.book.Outbox(h.ctx, casebook.OutboxPending)
	var carls string
	for _, it := range items {
		if it.To == "carl@acme.test" {
			carls = it.Token
		}
	}
	h.notices()
	signer := replytoken.New(h.book.Secret())
	dsn := func(rcpt, finalRecipient, messageID string) string {
		return "From: MAILER-DAEMON@mx.evil.test\r\nTo: " + rcpt + "\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
			"Message-ID: <dsn" + fmt.Sprint(time.Now().UnixNano()) + "@mx.evil.test>\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.evil.test\r\n\r\n" +
			"Final-Recipient: rfc822; " + finalRecipient + "\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
			"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <" + messageID + ">\r\n--b--\r\n"
	}
	tests := []struct{ name, rcpt, final string }{
		{"the Message-ID's token as return path", "bounce+" + carls + "@support.test", "carl@acme.test"},
		{"a made-up MAC", "bounce+" + carls + "-aaaaaaaaaaaaaaaa@support.test", "carl@acme.test"},
		{"the Message-ID only, to our route", "support@support.test", "carl@acme.test"},
		{"the right return path, another Final-Recipient", "bounce+" + signer.ReturnPath(carls) + "@support.test", "ann@acme.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, Recipients: []string{tt.rcpt}},
				strings.NewReader(dsn(tt.rcpt, tt.final, carls+"@support.test")))
			h.must(err)
			if out.Result != casebook.OutcomeIgnored || strings.Contains(out.Reason, "hard bounce") {
				t.Fatalf("outcome %s (%s)", out.Result, out.Reason)
			}
			got, _ := h.book.Case(h.ctx, c.ID)
			for _, w := range got.WatcherDetails {
				if w.Suppressed {
					t.Fatalf("a forged DSN suppressed %s", w.Address)
				}
			}
		})
	}
	// The real one still does.
	rp := "bounce+" + signer.ReturnPath(carls) + "@support.test"
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, Recipients: []string{rp}}, strings.NewReader(dsn(rp, "carl@acme.test", carls+"@support.test")))
	h.must(err)
	h.want(out, "ignored", "hard bounce")
}

// I5: with nobody to tell about a loop, the gateway says so at WARN and
// the reason records it.
func TestLoopWithNobodyToTellWarns(t *testing.T) {
	var logs testenv.LogBuffer
	h := bareHarness(t, "[policy]\nmax_mail_comments = 1\n", &logs) // no agent
	h.open("ann@acme.test", "support@support.test")
	for i := range 2 {
		out := h.receive(h.mail("ann@acme.test", "support@support.test", "Re: [Case #1] Server down", fmt.Sprint("answer ", i)), "support@support.test")
		if i == 1 {
			h.want(out, "quarantined", casebook.NoAgentToTell)
		}
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "no agent to tell") {
		t.Fatalf("logs:\n%s", logs.String())
	}
}

// bareHarness is a gateway over a store with the casebook limits of
// config extra, one account (ann, owner of acme) and no agent.
func bareHarness(t *testing.T, extra string, logs *testenv.LogBuffer) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(routes + extra))
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Policy
	b, err := casebook.Open(filepath.Join(t.TempDir(), "cb.db"), casebook.Options{MessageIDDomain: "support.test", DefaultLocale: "en",
		LoopWindow: p.LoopWindow.Duration, MaxMailComments: p.MaxMailComments, MaxCaseNotifications: p.MaxCaseNotifications})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	gw, err := New(b, cfg, replytoken.New(b.Secret()), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: context.Background(), book: b, gw: gw, cfg: cfg}
	h.must(b.AddAccount(h.ctx, casebook.Account{Address: "ann@acme.test", Verified: true}))
	h.must(b.CreateOrg(h.ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	return h
}

// I5, I4: mails of a loop that arrive at the same time cannot all pass the
// limit between decision and record: Record checks it again, and the mail
// it refuses is decided again into a quarantine, never an error.
func TestConcurrentLoopMailsStayWithinTheLimit(t *testing.T) {
	h := bareHarness(t, "[policy]\nmax_mail_comments = 3\n", &testenv.LogBuffer{})
	_, c := h.open("ann@acme.test", "support@support.test")
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		raw := h.mail("ann@acme.test", "support@support.test", "Re: [Case #1] Server down", fmt.Sprint("auto answer ", i))
		wg.Go(func() {
			_, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "ann@acme.test", Recipients: []string{"support@support.test"}}, strings.NewReader(raw))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a loop mail got a temporary failure: %v", err)
		}
	}
	got, _ := h.book.Case(h.ctx, c.ID)
	msgs, _ := h.book.Messages(h.ctx, casebook.OutcomeQuarantined)
	if len(got.Comments) != 3 || len(msgs) != 9 {
		t.Fatalf("%d comments and %d quarantined, want 3 and 9", len(got.Comments), len(msgs))
	}
}
