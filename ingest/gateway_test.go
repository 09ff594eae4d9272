package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/replytoken"
)

type harness struct {
	t    *testing.T
	ctx  context.Context
	book *casebook.Book
	gw   *Gateway
	cfg  *config.Config
	n    int
}

const routes = `
[outbound]
from = "Support <support@support.test>"
reply_domain = "support.test"
[[route]]
address = "support@support.test"
product = "cloud"
[[route]]
address = "urgent@support.test"
product = "cloud"
priority = "P1"
[[route]]
address = "storage@support.test"
product = "storage"
[[route]]
address = "shop@support.test"
action = "redirect"
template = "redirect-marketplace"
[[route]]
address = "fr@support.test"
product = "cloud"
locale = "fr"
`

func newHarness(t *testing.T, extra string) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(routes + extra))
	if err != nil {
		t.Fatal(err)
	}
	b, err := casebook.Open(filepath.Join(t.TempDir(), "cb.db"), casebook.Options{MessageIDDomain: "support.test", NoticesPerHour: 100, DefaultLocale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	gw, err := New(b, cfg, replytoken.New(b.Secret()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv(streamEnv) == "1" {
		gw.memMax = 64 // every test mail takes the streaming path (TestStreamingPathPassesTheSuite)
	}
	h := &harness{t: t, ctx: context.Background(), book: b, gw: gw, cfg: cfg}
	for _, a := range []casebook.Account{
		{Address: "ann@acme.test", Verified: true},
		{Address: "carl@acme.test", Verified: true},
		{Address: "bob@globex.test", Verified: true},
		{Address: "multi@both.test", Verified: true},
		{Address: "new@acme.test"},
		{Address: "agent@support.test", Verified: true, Agent: true},
	} {
		h.must(b.AddAccount(h.ctx, a))
	}
	h.must(b.CreateOrg(h.ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	h.must(b.CreateOrg(h.ctx, casebook.Org{Slug: "globex", Owner: "bob@globex.test", Products: []string{"cloud", "storage"}}))
	h.must(b.Grant(h.ctx, "acme", "ann@acme.test", "multi@both.test", []casebook.Perm{casebook.PermOpen, casebook.PermView}))
	h.must(b.Grant(h.ctx, "globex", "bob@globex.test", "multi@both.test", []casebook.Perm{casebook.PermOpen, casebook.PermView}))
	return h
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// mail builds a message; headers is "Name: value" lines.
func (h *harness) mail(from, to, subject, body string, headers ...string) string {
	h.n++
	hdr := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <m%d.%d@client.test>\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n", from, to, subject, h.n, time.Now().UnixNano())
	for _, x := range headers {
		hdr += x + "\r\n"
	}
	return hdr + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
}

func (h *harness) receive(raw string, rcpts ...string) Outcome {
	h.t.Helper()
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "x@y", Recipients: rcpts}, strings.NewReader(raw))
	if err != nil {
		h.t.Fatalf("receive: %v", err)
	}
	return out
}

func (h *harness) want(out Outcome, result string, reasonPart string) {
	h.t.Helper()
	if string(out.Result) != result || !strings.Contains(out.Reason, reasonPart) {
		h.t.Fatalf("outcome %s (%s), want %s containing %q", out.Result, out.Reason, result, reasonPart)
	}
}

// notices returns the pending outbox rows as "to:template".
func (h *harness) notices() []string {
	items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
	h.must(err)
	var out []string
	for _, it := range items {
		out = append(out, it.To+":"+string(it.Template))
	}
	for _, it := range items {
		h.must(h.book.MarkSent(h.ctx, it.ID, "", time.Now()))
	}
	return out
}

func (h *harness) open(from, rcpt string, cc ...string) (Outcome, casebook.Case) {
	h.t.Helper()
	hdrs := []string{}
	if len(cc) > 0 {
		hdrs = append(hdrs, "Cc: "+strings.Join(cc, ", "))
	}
	out := h.receive(h.mail(from, rcpt, "Server down", "Our server is down.\n", hdrs...), rcpt)
	h.want(out, "case_opened", "")
	c, err := h.book.Case(h.ctx, out.CaseID)
	h.must(err)
	return out, c
}

// R6, R8: a registered sender opens a case; Cc'd people become watchers and everyone is notified.
func TestOpenCaseWithWatchers(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("Ann <ann@acme.test>", "support@support.test", "Carl <carl@acme.test>", "support@support.test")
	if c.Org != "acme" || c.Product != "cloud" || c.Title != "Server down" || !strings.Contains(c.Description, "Our server is down.") || c.Priority != "P3" {
		t.Fatalf("case = %+v", c)
	}
	if strings.Join(c.Watchers, ",") != "carl@acme.test" {
		t.Fatalf("watchers = %v (our own address must not watch)", c.Watchers)
	}
	if got := strings.Join(h.notices(), " "); got != "ann@acme.test:case_opened carl@acme.test:case_opened_watcher" {
		t.Fatalf("notices = %s", got)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name, from, rcpt, subject string
		result, reason, notice    string
	}{
		{"R1 unknown sender", "stranger@else.test", "support@support.test", "help", "refused", "(R1)", "stranger@else.test:notice_unknown_sender"},
		{"R2 unverified", "new@acme.test", "support@support.test", "help", "refused", "(R2)", "new@acme.test:notice_unverified"},
		{"R3 not entitled", "ann@acme.test", "storage@support.test", "help", "refused", "(R3)", "ann@acme.test:notice_not_entitled"},
		{"R4 which organisation", "multi@both.test", "support@support.test", "help", "refused", "(R4)", "multi@both.test:notice_which_org"},
		{"R5 redirect", "ann@acme.test", "shop@support.test", "refund", "refused", "(R5)", "ann@acme.test:redirect-marketplace"},
		{"no route", "ann@acme.test", "nobody@support.test", "help", "quarantined", "no route", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "")
			out := h.receive(h.mail(tt.from, tt.rcpt, tt.subject, "text"), tt.rcpt)
			h.want(out, tt.result, tt.reason)
			if got := strings.Join(h.notices(), " "); got != tt.notice {
				t.Fatalf("notices = %q, want %q", got, tt.notice)
			}
			if cs, _ := h.book.List(h.ctx, casebook.ListFilter{Org: "acme"}); len(cs) != 0 {
				t.Fatal("a refused mail opened a case")
			}
		})
	}
}

// R4, R19: the notice lists the addresses to use, and the plus tag picks the organisation.
func TestPlusTagChoosesOrganisation(t *testing.T) {
	h := newHarness(t, "")
	h.receive(h.mail("multi@both.test", "support@support.test", "help", "text"), "support@support.test")
	items, _ := h.book.Outbox(h.ctx, casebook.OutboxPending)
	if got := items[0].Data["addresses"]; got != "acme: support+acme@support.test\nglobex: support+globex@support.test" {
		t.Fatalf("addresses = %q", got)
	}
	out := h.receive(h.mail("multi@both.test", "support+globex@support.test", "help", "text"), "support+globex@support.test")
	h.want(out, "case_opened", "globex")
	c, _ := h.book.Case(h.ctx, out.CaseID)
	if c.Org != "globex" {
		t.Fatalf("org = %s", c.Org)
	}
	// A plus tag naming an organisation the sender is not in opens nothing
	// there: R4 takes the organisation from the tag, never a guess, and R19
	// refuses a sender who is neither member nor grantee of it.
	out = h.receive(h.mail("ann@acme.test", "support+globex@support.test", "help", "text"), "support+globex@support.test")
	h.want(out, "refused", "R19")
}

// R20: a P1 route or the [P1] marker gives the top priority.
func TestPriority(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "urgent@support.test")
	if c.Priority != "P1" {
		t.Fatalf("priority = %s", c.Priority)
	}
	out := h.receive(h.mail("ann@acme.test", "support@support.test", "[P1] all down", "x"), "support@support.test")
	c, _ = h.book.Case(h.ctx, out.CaseID)
	if c.Priority != "P1" {
		t.Fatalf("marker priority = %s", c.Priority)
	}
}

func (h *harness) token(caseID int64, rcpt string) string {
	return address.ForReply("support", replytoken.New(h.book.Secret()).Sign(caseID, rcpt, time.Now().Add(time.Hour)), "support.test")
}

// R9: a reply through the reply token becomes a comment with only the new text; Cc on the reply become watchers.
func TestReplyByTokenIsComment(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test")
	h.notices()
	addr := h.token(c.ID, "ann@acme.test")
	body := "Thanks, it works now.\n\nOn Mon, 2 Mar 2026 at 10:00, Support <support@support.test> wrote:\n> Please restart the server.\n> Regards\n"
	out := h.receive(h.mail("ann@acme.test", addr, "Re: [Case #1] Server down", body, "Cc: dave@acme.test"), addr)
	h.want(out, "comment_added", "reply token")
	got, _ := h.book.Case(h.ctx, c.ID)
	if got.Comments[0].Body != "Thanks, it works now." || !strings.Contains(got.Comments[0].FullText, "Please restart") {
		t.Fatalf("comment = %+v", got.Comments[0])
	}
	if strings.Join(got.Watchers, ",") != "dave@acme.test" {
		t.Fatalf("watchers = %v", got.Watchers)
	}
}

// I6: forged tag, foreign token, spoofed References and an outsider are quarantined, never comments.
func TestForgedThreadsAreQuarantined(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	h.notices()
	ours, _ := h.book.CaseThread(h.ctx, c.ID)
	tag := fmt.Sprintf("Re: [Case #%d] Server down", c.ID)

	// Participants may use the tag and the thread.
	h.want(h.receive(h.mail("carl@acme.test", "support@support.test", tag, "me too"), "support@support.test"), "comment_added", "subject tag")
	h.want(h.receive(h.mail("ann@acme.test", "support@support.test", "Re: Server down", "more", "In-Reply-To: <"+ours[0]+">"), "support@support.test"), "comment_added", "In-Reply-To")

	carlsToken := h.token(c.ID, "carl@acme.test")
	tests := []struct {
		name, from, rcpt, subject string
		hdrs                      []string
	}{
		{"forged subject tag", "bob@globex.test", "support@support.test", tag, nil},
		{"foreign reply token", "bob@globex.test", carlsToken, "Re: x", nil},
		{"spoofed References", "bob@globex.test", "support@support.test", "Re: x", []string{"References: <" + ours[0] + ">"}},
		{"outsider with tag", "stranger@else.test", "support@support.test", tag, nil},
		{"garbage token", "ann@acme.test", "support+aaaaaaaaaaaaaaaaaaaaaaaaaaaaa@support.test", "Re: x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.receive(h.mail(tt.from, tt.rcpt, tt.subject, "I am in charge now", tt.hdrs...), tt.rcpt)
			h.want(out, "quarantined", "")
			if out.CaseID != 0 {
				t.Fatalf("a quarantined claim was linked to case %d", out.CaseID)
			}
		})
	}
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Comments) != 2 {
		t.Fatalf("case has %d comments, want the 2 by participants", len(got.Comments))
	}
	if n := h.notices(); strings.Join(n, " ") != "ann@acme.test:comment_added carl@acme.test:comment_added" { // each comment to the other follower
		t.Fatalf("notices after forgeries = %v", n)
	}
}

// R13: a reply to a closed case is kept, not a comment, the case stays closed, the sender is told how to reopen.
func TestReplyToClosedCase(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test")
	h.must(h.book.CloseCase(h.ctx, c.ID, ""))
	h.notices()
	addr := h.token(c.ID, "ann@acme.test")
	out := h.receive(h.mail("ann@acme.test", addr, "Re: Server down", "It is broken again, reopen please"), addr)
	h.want(out, "refused", "R13")
	got, _ := h.book.Case(h.ctx, c.ID)
	if got.Status != casebook.StatusClosed || len(got.Comments) != 0 {
		t.Fatalf("case changed: %+v", got)
	}
	items, _ := h.book.Outbox(h.ctx, casebook.OutboxPending)
	if len(items) != 1 || items[0].Template != "notice_closed_case" || items[0].Data["reopen_until"] == "" {
		t.Fatalf("notice = %+v", items)
	}
	msg, _ := h.book.Message(h.ctx, out.MessageID)
	if msg.RawSHA256 == "" {
		t.Fatal("the refused mail was not kept")
	}
}

// R14 with policy.closed_reply = "followup": a linked follow-up opens instead.
func TestClosedReplyFollowupPolicy(t *testing.T) {
	h := newHarness(t, "[policy]\nclosed_reply = \"followup\"\n")
	_, c := h.open("ann@acme.test", "support@support.test")
	h.must(h.book.CloseCase(h.ctx, c.ID, ""))
	addr := h.token(c.ID, "ann@acme.test")
	out := h.receive(h.mail("ann@acme.test", addr, "Re: Server down", "again"), addr)
	h.want(out, "case_opened", "follow-up")
	fu, _ := h.book.Case(h.ctx, out.CaseID)
	if fu.FollowUpOf == nil || *fu.FollowUpOf != c.ID {
		t.Fatalf("follow-up = %+v", fu)
	}
	old, _ := h.book.Case(h.ctx, c.ID)
	if old.Status != casebook.StatusClosed {
		t.Fatal("original reopened")
	}
}

// R14: replies to imported read-only cases are answered with an invitation to follow up.
func TestReplyToImportedCase(t *testing.T) {
	h := newHarness(t, "")
	imp, err := h.book.OpenCase(h.ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "old", Requester: "ann@acme.test", Imported: true})
	h.must(err)
	out := h.receive(h.mail("ann@acme.test", "support@support.test", fmt.Sprintf("Re: [Case #%d] old", imp.ID), "hello"), "support@support.test")
	h.want(out, "refused", "R14")
	if got := strings.Join(h.notices(), " "); got != "ann@acme.test:notice_imported_case" {
		t.Fatalf("notices = %s", got)
	}
}

// I5: auto-replies, list mail, loops and our own mail are recorded as ignored and never answered.
func TestMachinesGetNoAnswer(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test")
	h.notices()
	tag := fmt.Sprintf("Re: [Case #%d] Server down", c.ID)
	var loop []string
	for range maxReceived + 1 {
		loop = append(loop, "Received: from a by b; Mon, 2 Mar 2026 10:00:00 +0000")
	}
	tests := []struct {
		name string
		raw  string
		why  string
	}{
		{"out of office", h.mail("ann@acme.test", "support@support.test", "Automatic reply: "+tag, "I am away", "Auto-Submitted: auto-replied"), "auto-reply"},
		{"unknown sender's vacation", h.mail("stranger@else.test", "support@support.test", "Out of office", "away", "X-Autoreply: yes"), "auto-reply"},
		{"list", h.mail("stranger@else.test", "support@support.test", "newsletter", "x", "List-Id: <news.else.test>", "Precedence: list"), "list"},
		{"loop", h.mail("stranger@else.test", "support@support.test", "hi", "x", loop...), "loop"},
		{"our own mail", h.mail("Support <support@support.test>", "support@support.test", "[Case #1] x", "x"), "own mail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.want(h.receive(tt.raw, "support@support.test"), "ignored", tt.why)
			if n := h.notices(); len(n) != 0 {
				t.Fatalf("answered a machine: %v", n)
			}
		})
	}
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Comments) != 0 {
		t.Fatal("an auto-reply became a comment")
	}
}

// I5: a hard bounce of one of our notifications finds its outbox row and suppresses the watcher.
func TestBounceSuppressesWatcher(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "gone@else.test")
	items, _ := h.book.Outbox(h.ctx, casebook.OutboxPending)
	var tok string
	for _, it := range items {
		if it.To == "gone@else.test" {
			tok = it.Token
		}
	}
	tok = replytoken.New(h.book.Secret()).ReturnPath(tok) // the return path the notification was sent with
	dsn := "From: MAILER-DAEMON@mx.else.test\r\nTo: bounce+" + tok + "@support.test\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: <dsn1@mx.else.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.else.test\r\n\r\nFinal-Recipient: rfc822; gone@else.test\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"--b--\r\n"
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "", Recipients: []string{"bounce+" + tok + "@support.test"}}, strings.NewReader(dsn))
	h.must(err)
	h.want(out, "ignored", "hard bounce")
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.WatcherDetails) != 1 || !got.WatcherDetails[0].Suppressed {
		t.Fatalf("watcher not suppressed: %+v", got.WatcherDetails)
	}
	h.notices()
	_, err = h.book.AddComment(h.ctx, c.ID, "agent@support.test", "update")
	h.must(err)
	for _, n := range h.notices() {
		if strings.HasPrefix(n, "gone@") {
			t.Fatal("suppressed watcher still mailed")
		}
	}
}

// I2: the same mail twice, or through two doors with different trace fields, has one effect.
func TestExactlyOnce(t *testing.T) {
	h := newHarness(t, "")
	raw := h.mail("ann@acme.test", "support@support.test", "Once", "only once")
	first := h.receive(raw, "support@support.test")
	second := h.receive(raw, "support@support.test")
	viaIMAP, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportIMAP, Recipients: []string{"support@support.test"}},
		strings.NewReader("Received: from mx by imap; Mon, 2 Mar 2026 10:00:01 +0000\r\nDelivered-To: support@support.test\r\n"+raw))
	h.must(err)
	if !second.Duplicate || !viaIMAP.Duplicate || second.CaseID != first.CaseID || viaIMAP.CaseID != first.CaseID {
		t.Fatalf("first %+v second %+v imap %+v", first, second, viaIMAP)
	}
	cs, _ := h.book.List(h.ctx, casebook.ListFilter{Org: "acme"})
	msgs, _ := h.book.Messages(h.ctx, "")
	if len(cs) != 1 || len(msgs) != 1 || len(h.notices()) != 1 {
		t.Fatalf("%d cases, %d messages", len(cs), len(msgs))
	}
}

// I4: input that is not a mail, or has no From, is still recorded and kept.
func TestBadInputIsRecorded(t *testing.T) {
	h := newHarness(t, "")
	out := h.receive("\x00\x01\x02 not a mail at all", "support@support.test")
	h.want(out, "quarantined", "not a mail")
	if !out.Unusable {
		t.Fatal("garbage not flagged unusable")
	}
	out = h.receive("Subject: no from\r\n\r\nbody", "support@support.test")
	h.want(out, "quarantined", "From")
	msgs, _ := h.book.Messages(h.ctx, "")
	if len(msgs) != 2 {
		t.Fatalf("%d records, want 2", len(msgs))
	}
}

// I1: a store that fails makes Receive fail (temporary), so the transport asks for a retry.
func TestStoreFailureIsTemporary(t *testing.T) {
	h := newHarness(t, "")
	h.book.Close()
	_, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, Recipients: []string{"support@support.test"}},
		strings.NewReader(h.mail("ann@acme.test", "support@support.test", "x", "y")))
	if err == nil {
		t.Fatal("Receive succeeded with a closed store")
	}
}

// The unsubscribe address of a watcher mail stops the watching.
func TestUnsubscribe(t *testing.T) {
	h := newHarness(t, "")
	_, c := h.open("ann@acme.test", "support@support.test", "carl@acme.test")
	tok := replytoken.New(h.book.Secret()).Sign(c.ID, "carl@acme.test", time.Now().Add(time.Hour))
	addr := "support+unsubscribe-" + tok + "@support.test"
	h.want(h.receive(h.mail("carl@acme.test", addr, "unsubscribe", ""), addr), "ignored", "stopped watching")
	got, _ := h.book.Case(h.ctx, c.ID)
	if len(got.Watchers) != 0 {
		t.Fatalf("still watching: %v", got.Watchers)
	}
	// Someone else cannot unsubscribe carl.
	h.must(h.book.AddWatcher(h.ctx, c.ID, "carl@acme.test"))
	h.want(h.receive(h.mail("bob@globex.test", addr, "unsubscribe", ""), addr), "quarantined", "invalid token")
}

func TestAcceptRecipient(t *testing.T) {
	h := newHarness(t, "")
	for addr, ok := range map[string]bool{
		"support@support.test": true, "SUPPORT+acme@support.test": true, "support+tok@support.test": true,
		"bounce+tok@support.test": true, "nobody@support.test": false, "support@else.test": false,
	} {
		if err := h.gw.AcceptRecipient(h.ctx, addr); (err == nil) != ok {
			t.Errorf("AcceptRecipient(%s) = %v", addr, err)
		}
	}
}

func TestSubjectTag(t *testing.T) {
	tag, err := NewSubjectTag("[Case #%d]")
	if err != nil {
		t.Fatal(err)
	}
	for subject, want := range map[string]int64{
		"Re: [Case #12] disk":          12,
		"RE: [case # 7] x":             7,
		"Fwd: [Case #3] Re: [Case #4]": 4,
		"[Case #] nothing":             0,
		"Case 12":                      0,
		"[Case #99999999999999999999]": 0,
	} {
		got, _ := tag.Find(subject)
		if got != want {
			t.Errorf("Find(%q) = %d, want %d", subject, got, want)
		}
	}
	if _, err := NewSubjectTag("[Case]"); err == nil {
		t.Fatal("a format without a number placeholder was accepted")
	}
}

// A message over max_message_bytes is kept whole, refused and never parsed in full (deliver's refusal).
func TestTooBigIsRefusedAndKept(t *testing.T) {
	h := newHarness(t, "[smtp]\nmax_message_bytes = 1000\n")
	raw := h.mail("ann@acme.test", "support@support.test", "big", strings.Repeat("x", 5000))
	out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportPipe, Recipients: []string{"support@support.test"}}, strings.NewReader(raw))
	h.must(err)
	h.want(out, "refused", "over the limit of 1000 bytes")
	msg, _ := h.book.Message(h.ctx, out.MessageID)
	var kept strings.Builder
	h.must(h.book.WriteRaw(h.ctx, msg.RawSHA256, &kept))
	if kept.String() != raw {
		t.Fatal("the big message was not kept whole")
	}
}
