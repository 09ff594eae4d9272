package outbound

import (
	"bytes"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

var update = flag.Bool("update", false, "rewrite testdata/golden, printing what changed (see with -v)")

var fixedNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// goldenItem is a realistic row for each template.
func goldenItem(name, locale string) casebook.OutboxItem {
	d := map[string]string{
		"case_id": "42", "title": "Paiement refusé à l'étape 3", "org": "acme", "product": "commerce",
		"priority": "P1", "status": "open", "requester": "alice@customer.test",
		"author": "Bruno Agent", "body": "Bonjour,\nnous avons appliqué le correctif.\nPouvez-vous réessayer ?",
		"reopen_until": "2026-12-09", "escalation_reason": "time to resolution",
		"watcher": "carol@customer.test", "addresses": "support+acme@support.example.test\nsupport+globex@support.example.test",
	}
	it := casebook.OutboxItem{ID: 1, Event: name, Template: templates.Name(name), To: "Alice Martin <alice@customer.test>", Locale: locale, Token: "tok" + strings.ReplaceAll(name, "_", "") + locale, Data: d}
	if n := templates.Name(name); !n.IsNotice() || n == templates.NoticeClosedCase || n == templates.NoticeImportedCase {
		it.CaseID = ptr(42)
	}
	switch name {
	case "case_closed", "notice_closed_case", "notice_imported_case":
		d["status"] = "closed"
	case "signin_link":
		d["link"], d["minutes"], d["address"] = "https://support.example.test/signin/TOKEN", "15", "alice@customer.test"
	}
	if strings.HasPrefix(name, "notice_") {
		d["subject"] = "Re: Paiement refusé"
		d["in_reply_to"] = "CAF=inbound-1@mail.customer.test"
		d["references"] = "root@mail.customer.test"
	}
	if name == "case_opened_watcher" || name == "watcher_added" || name == "comment_added" {
		it.To = "carol@customer.test"
	}
	if n := templates.Name(name); n.ForAgents() {
		// Agent mail (issue 11) goes to an agent, about a case.
		it.To = "Agnès Durand <agnes@support.example.test>"
		it.CaseID = ptr(42)
		d["author"] = "Alice Martin <alice@customer.test>"
		d["requester_name"], d["watchers"], d["team"] = "Alice Martin", "carol@customer.test\ndave@customer.test", "l1"
		d["requester_of"], d["org_display"] = map[string]string{"fr": "d'Alice Martin", "en": "Alice Martin's"}[locale], "ACME Corp"
		d["attachments"] = "facture.pdf (12,0 Kio)"
		d["assignee"], d["reason"] = "agnes@support.example.test", "reply token in support+x@support.example.test is not valid for mallory@else.test (I6)"
		d["subject"] = "Re: [Case #42] Paiement refusé"
		if n == templates.AgentCommandRefused {
			d["command"], d["reason"] = "#priority P9", "priority must be P1..P4, not \"P9\""
			d["in_reply_to"] = "agent-reply-1@support.example.test"
		}
		if n == templates.MailQuarantined {
			// Issue 13: about a quarantined mail, not a case.
			it.CaseID = nil
			d["message_id"], d["subject"] = "314", "Facture 2026-03"
			d["reason"] = "From domain customer.test not authenticated (spf=fail dkim=none dmarc=fail, verified): may not open a case (issue 13)"
		}
	}
	return it
}

// Golden files for every template in fr and en (go test -update -v rewrites
// them and shows what changed).
func TestGolden(t *testing.T) {
	cfg := testConfig()
	cfg.HTTP.PublicURL = "https://support.example.test/"
	c := testComposer(t, cfg)
	// The customer's signed actions, as `casemail serve` sets them.
	c.Links = actionlink.MailLinks(actionlink.New(testSecret), cfg.HTTP.PublicURL, 30*24*time.Hour)
	thread := []string{"first@mail.customer.test", "tokcaseopenedfr@support.example.test"}
	for _, loc := range templates.Locales {
		for _, name := range templates.Names {
			it := goldenItem(name, loc)
			msg, err := c.Compose(it, thread, fixedNow)
			if err != nil {
				t.Fatalf("%s/%s: %v", loc, name, err)
			}
			path := filepath.Join("testdata", "golden", loc, name+".eml")
			// A mismatch fails with its diff; -update logs the diff of what
			// it rewrote and reads the file back.
			testenv.Golden(t, path, msg.Bytes, *update)
			parse(t, msg.Bytes) // and the mail itself reads back
		}
	}
}

// Our own output, read back with go-message the way a client or our own
// ingest reads it: the headers that prevent loops (I5), thread (I6) and
// unsubscribe (R8) are there and well-formed.
func TestHeaders(t *testing.T) {
	signer := replytoken.New(testSecret)
	tests := []struct {
		name        string
		publicURL   string
		item        casebook.OutboxItem
		autoSub     string
		subject     string
		replyTo     bool
		unsubscribe []string // substrings of List-Unsubscribe, nil: no header
		oneClick    bool
		inReplyTo   string
	}{
		{name: "comment to requester", item: casebook.OutboxItem{Template: "comment_added", To: "alice@customer.test", Locale: "en", CaseID: ptr(12), Token: "t1", Data: map[string]string{"title": "Printer on fire", "requester": "Alice <alice@customer.test>"}},
			autoSub: "auto-generated", subject: "[Case #12] New comment on your request: Printer on fire", replyTo: true, inReplyTo: "first@x.test"},
		{name: "comment to watcher, no public URL", item: casebook.OutboxItem{Template: "comment_added", To: "carol@customer.test", Locale: "en", CaseID: ptr(12), Token: "t2", Data: map[string]string{"title": "Printer", "requester": "alice@customer.test"}},
			autoSub: "auto-generated", subject: "[Case #12] New comment on your request: Printer", replyTo: true, unsubscribe: []string{"<mailto:support+unsubscribe-"}, inReplyTo: "first@x.test"},
		{name: "watcher added, public URL", publicURL: "https://desk.example.test", item: casebook.OutboxItem{Template: "watcher_added", To: "carol@customer.test", Locale: "fr", CaseID: ptr(12), Token: "t3", Data: map[string]string{"title": "Printer"}},
			autoSub: "auto-generated", subject: "[Case #12] Vous avez été ajouté(e) comme observateur de la demande n° 12", replyTo: true, unsubscribe: []string{"<https://desk.example.test/unsubscribe?t=", "&a=carol%40customer.test>", "<mailto:support+unsubscribe-"}, oneClick: true, inReplyTo: "first@x.test"},
		{name: "notice answers the inbound mail", item: casebook.OutboxItem{Template: "notice_unknown_sender", To: "stranger@else.test", Locale: "en", Token: "t4", Data: map[string]string{"subject": "Hello", "in_reply_to": "<m1@else.test>"}},
			autoSub: "auto-replied", subject: "Re: Hello", inReplyTo: "m1@else.test"},
		{name: "closed-case notice keeps the tag, no reply token", item: casebook.OutboxItem{Template: "notice_closed_case", To: "alice@customer.test", CaseID: ptr(12), Token: "t5", Data: map[string]string{"subject": "Re: [Case #12] Printer", "in_reply_to": "m2@customer.test"}},
			autoSub: "auto-replied", subject: "[Case #12] Re: Printer", inReplyTo: "m2@customer.test"},
		{name: "custom redirect template is a notice", item: casebook.OutboxItem{Template: "redirect-marketplace", To: "bob@customer.test", Locale: "en", Token: "t6", Data: map[string]string{"subject": "Refund"}},
			autoSub: "auto-replied", subject: "Re: Refund"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.HTTP.PublicURL = tc.publicURL
			c := testComposer(t, cfg)
			msg, err := c.Compose(tc.item, []string{"first@x.test", "second@x.test"}, fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, msg.Bytes)
			h := p.h
			subj, _ := h.Subject()
			if !strings.HasPrefix(subj, tc.subject) || msg.Subject != subj {
				t.Errorf("subject %q (recorded %q), want prefix %q", subj, msg.Subject, tc.subject)
			}
			if got := h.Get("Auto-Submitted"); got != tc.autoSub { // I5, RFC 3834
				t.Errorf("Auto-Submitted %q, want %q", got, tc.autoSub)
			}
			if h.Get("X-Auto-Response-Suppress") != "All" {
				t.Error("X-Auto-Response-Suppress missing")
			}
			if id, _ := h.MessageID(); id != tc.item.Token+"@support.example.test" {
				t.Errorf("Message-ID %q", id)
			}
			// I5: the return path carries a MAC of the token, never the
			// Message-ID's token alone, which References show to others.
			if tok, ok := replytoken.New(testSecret).CheckReturnPath(strings.TrimSuffix(strings.TrimPrefix(msg.MailFrom, "bounce+"), "@support.example.test")); !ok || tok != tc.item.Token {
				t.Errorf("MAIL FROM %q", msg.MailFrom)
			}
			from, _ := h.AddressList("From")
			if len(from) != 1 || from[0].Address != "support@support.example.test" || from[0].Name != "Support Acme" {
				t.Errorf("From %v", from)
			}
			irt, _ := h.MsgIDList("In-Reply-To")
			if tc.inReplyTo == "" && len(irt) != 0 || tc.inReplyTo != "" && (len(irt) != 1 || irt[0] != tc.inReplyTo) {
				t.Errorf("In-Reply-To %v, want %q", irt, tc.inReplyTo)
			}
			rt, _ := h.AddressList("Reply-To")
			if tc.replyTo {
				// I6: the reply token names the case and is bound to this recipient.
				kind, tok := address.Parse(rt[0].Address, "support", "support.example.test")
				if kind != address.Reply {
					t.Fatalf("Reply-To %v", rt)
				}
				if id, err := signer.Verify(tok, tc.item.To, fixedNow); err != nil || id != *tc.item.CaseID {
					t.Errorf("reply token: case %d, %v", id, err)
				}
				if _, err := signer.Verify(tok, "mallory@evil.test", fixedNow); err == nil {
					t.Error("reply token accepted from another sender")
				}
				if h.Get("List-Id") != "<case-12.support.example.test>" {
					t.Errorf("List-Id %q", h.Get("List-Id"))
				}
			} else if len(rt) != 0 {
				t.Errorf("unexpected Reply-To %v", rt)
			}
			lu := h.Get("List-Unsubscribe")
			if tc.unsubscribe == nil && lu != "" {
				t.Errorf("unexpected List-Unsubscribe %q", lu)
			}
			for _, w := range tc.unsubscribe {
				if !strings.Contains(lu, w) {
					t.Errorf("List-Unsubscribe %q lacks %q", lu, w)
				}
			}
			if got := h.Get("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"; got != tc.oneClick { // RFC 8058
				t.Errorf("one-click: %v, want %v", got, tc.oneClick)
			}
			if p.text == "" || p.html == "" {
				t.Error("missing text or HTML part")
			}
			if ct, _, _ := h.ContentType(); ct != "multipart/alternative" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// A customer-chosen title or name with CR/LF cannot add a header (I5/I6:
// no Bcc to a victim, no forged headers).
func TestHeaderInjection(t *testing.T) {
	c := testComposer(t, testConfig())
	evil := "Subject: x\r\nBcc: victim@example.test\r\n\r\nbody"
	items := []casebook.OutboxItem{
		{Template: "comment_added", To: "alice@customer.test", CaseID: ptr(3), Token: "i1", Data: map[string]string{"title": evil, "requester": "alice@customer.test"}},
		{Template: "notice_unknown_sender", To: "alice@customer.test", Token: "i2", Data: map[string]string{"subject": evil, "in_reply_to": "a@b\r\nBcc: victim@example.test", "references": "x@y\r\nBcc: victim@example.test"}},
		{Template: "comment_added", To: "\"Alice\r\nBcc: victim@example.test\" <alice@customer.test>", CaseID: ptr(3), Token: "i3", Data: map[string]string{"title": "t"}},
	}
	for _, it := range items {
		msg, err := c.Compose(it, []string{"ok@x.test", "bad@x\r\nBcc: victim@example.test"}, fixedNow)
		if err != nil {
			continue // refusing the row is also safe
		}
		head, _, _ := bytes.Cut(msg.Bytes, []byte("\r\n\r\n"))
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.HasPrefix(strings.ToLower(line), "bcc:") {
				t.Errorf("%s: injected header line %q", it.Token, line)
			}
		}
		p := parse(t, msg.Bytes)
		subjects := 0
		for _, line := range strings.Split(string(head), "\r\n") {
			if strings.HasPrefix(line, "Subject:") {
				subjects++
			}
		}
		if p.h.Has("Bcc") || subjects != 1 {
			t.Errorf("%s: injected header:\n%s", it.Token, head)
		}
		if len(msg.To) != 1 || msg.To[0] != "alice@customer.test" {
			t.Errorf("%s: envelope recipients %v", it.Token, msg.To)
		}
		if subj, _ := p.h.Subject(); strings.ContainsAny(subj, "\r\n") {
			t.Errorf("%s: subject with a line break: %q", it.Token, subj)
		}
	}
}

func TestComposeRefusesBadRows(t *testing.T) {
	c := testComposer(t, testConfig())
	for _, it := range []casebook.OutboxItem{
		{Template: "comment_added", To: "not an address", Token: "ok"},
		{Template: "comment_added", To: "a@b.test", Token: "bad token"},
		{Template: "../x", To: "a@b.test", Token: "ok"},
	} {
		if _, err := c.Compose(it, nil, fixedNow); !IsPermanent(err) {
			t.Errorf("%+v: err %v, want a permanent error", it, err)
		}
	}
}

// References keep the first and the latest Message-IDs (RFC 5322 3.6.4).
func TestReferencesCapped(t *testing.T) {
	c := testComposer(t, testConfig())
	var thread []string
	for i := 0; i < 100; i++ {
		thread = append(thread, fmt.Sprintf("m%d@x.test", i))
	}
	msg, err := c.Compose(casebook.OutboxItem{Template: "comment_added", To: "a@b.test", CaseID: ptr(1), Token: "cap"}, thread, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msg.Bytes)
	refs, _ := p.h.MsgIDList("References")
	if len(refs) != MaxReferences || refs[0] != thread[0] || refs[len(refs)-1] != thread[99] {
		t.Errorf("References %d: %v", len(refs), refs)
	}
}

// BenchmarkCompose: render and compose one watcher notification.
func BenchmarkCompose(b *testing.B) {
	c := testComposer(b, testConfig())
	it := goldenItem("comment_added", "fr")
	thread := []string{"a@x.test", "b@x.test", "c@x.test"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Compose(it, thread, fixedNow); err != nil {
			b.Fatal(err)
		}
	}
}

// I5: casemail's own parser reads every notification as automatic mail (so a notification that
// loops back is never answered), and a case's notifications chain their threading headers.
func TestOwnParserSeesAutomaticThreadedMail(t *testing.T) {
	c := testComposer(t, testConfig())
	var thread []string
	for i, tmpl := range []string{"case_opened", "comment_added", "case_closed", "notice_closed_case"} {
		it := goldenItem(tmpl, "en")
		it.Token = fmt.Sprintf("chain%d", i)
		delete(it.Data, "in_reply_to")
		delete(it.Data, "references")
		msg, err := c.Compose(it, thread, fixedNow)
		if err != nil {
			t.Fatal(err)
		}
		p, err := message.Parse(msg.Bytes, message.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != message.KindAutoReply {
			t.Errorf("%s: our parser reads kind %q, want auto_reply", tmpl, p.Kind)
		}
		if len(thread) > 0 {
			if p.InReplyTo == "" || !slices.Contains(thread, p.InReplyTo) {
				t.Errorf("%s: In-Reply-To %q is not in the thread %v", tmpl, p.InReplyTo, thread)
			}
			for _, ref := range thread {
				if !slices.Contains(p.References, ref) {
					t.Errorf("%s: References %v lack %s", tmpl, p.References, ref)
				}
			}
		}
		thread = append(thread, p.MessageID)
	}
}

// Agent mail (issue 11): a reply token bound to the agent, the internal
// note address beside it, no unsubscribe header (agents do not watch), and
// the new case's attachments attached within policy.agent_attachment_bytes,
// every one listed.
func TestAgentMail(t *testing.T) {
	cfg := testConfig()
	cfg.Policy.AgentAttachmentBytes = 100
	c := testComposer(t, cfg)
	it := goldenItem("agent_case_opened", "en")
	atts := []message.Attachment{
		{Filename: "small.txt", ContentType: "text/plain", Size: 60, Content: bytes.Repeat([]byte("a"), 60)},
		{Filename: "too-big.bin", ContentType: "application/octet-stream", Size: 2048, Content: bytes.Repeat([]byte("b"), 2048)},
		{Filename: "over-cap.iso", ContentType: "application/octet-stream", Size: 1 << 30}, // content dropped at ingest
	}
	msg, err := c.ComposeAttachments(it, nil, atts, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msg.Bytes)
	signer := replytoken.New(testSecret)
	replyTo := p.h.Get("Reply-To")
	_, tok := address.Parse(strings.Trim(replyTo[strings.LastIndex(replyTo, "<"):], "<>"), "support", "support.example.test")
	if id, err := signer.Verify(tok, "agnes@support.example.test", fixedNow); err != nil || id != 42 { // I6
		t.Fatalf("Reply-To %q: case %d, %v", replyTo, id, err)
	}
	note := address.ForNote("support", tok, "support.example.test")
	if !strings.Contains(p.text, note) || !strings.Contains(p.html, "mailto:"+strings.ReplaceAll(note, "+", "&#43;")) {
		t.Errorf("the note address %s is not offered:\n%s\n%s", note, p.text, p.html)
	}
	if p.h.Get("List-Unsubscribe") != "" {
		t.Error("agent mail has a List-Unsubscribe header")
	}
	for _, w := range []string{"small.txt (60 B)", "too-big.bin (2.0 KiB)", "over-cap.iso (1.0 GiB)"} {
		if !strings.Contains(p.text, w) {
			t.Errorf("text does not list %q:\n%s", w, p.text)
		}
	}
	if got := p.attachments; !slices.Equal(got, []string{"small.txt"}) {
		t.Errorf("attached %v, want only small.txt (the cap is 100 bytes)", got)
	}
}

// An agent's answer reaches the customer from the support identity under
// the agent's name, never from the agent's own address (issue 11).
func TestAgentAnswerFromSupportIdentity(t *testing.T) {
	c := testComposer(t, testConfig())
	it := goldenItem("comment_added", "fr")
	it.Data["from_name"] = "Agnès Durand"
	msg, err := c.Compose(it, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, msg.Bytes)
	from, err := p.h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "support@support.example.test" || from[0].Name != "Agnès Durand" {
		t.Fatalf("From = %v, %v", from, err)
	}
}
