package casebook

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/templates"
)

// queuedTo counts the outbox rows to addr (any plus tag, any case).
func (f *fixture) queuedTo(t *testing.T, addr string) int {
	t.Helper()
	items, err := f.Outbox(f.ctx, "")
	f.must(t, err)
	n := 0
	for _, it := range items {
		if LimitKey(it.To) == LimitKey(addr) {
			n++
		}
	}
	return n
}

// stored keeps a raw message and returns its record fields.
func (f *fixture) stored(t *testing.T, fp, from string) Message {
	t.Helper()
	ref, err := f.StoreRaw(f.ctx, strings.NewReader("From: "+from+"\r\nSubject: "+fp+"\r\n\r\nx\r\n"))
	f.must(t, err)
	return Message{Fingerprint: fp, From: from, RawSHA256: ref.SHA256, Size: ref.Size}
}

// I5: a limit counts an address whatever its case and plus tag.
func TestLimitKey(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		for _, tt := range []struct{ in, want string }{
			{"Target@Example.test", "target@example.test"},
			{"target+1@example.test", "target@example.test"},
			{" TARGET+a+b@example.test ", "target@example.test"},
			{"ta_r%get+x@example.test", "ta_r%get@example.test"},
		} {
			if got := LimitKey(tt.in); got != tt.want {
				t.Errorf("LimitKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		}
		// LIKE wildcards in the address are literal: ta_get@ is not tagget@.
		if got := taggedLike("ta_r%get@x.test"); got != `ta\_r\%get+%@x.test` {
			t.Errorf("taggedLike = %q", got)
		}
	})
}

// I5: refusal notices to one address are limited per hour whatever the
// plus tag or case of the address, and a redirect route's own template
// counts like any notice.
func TestNoticeQuotaIsPerPerson(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t) // notices_per_hour = 3
		for i := range 10 {
			to := fmt.Sprintf("victim+%d@else.test", i)
			tmpl := templates.NoticeUnknownSender
			switch i % 3 {
			case 1:
				to = "VICTIM@else.test"
			case 2:
				tmpl = "redirect-marketplace" // a route's own template (R5), not named notice_*
			}
			rec, err := f.Record(f.ctx, Delivery{Message: f.stored(t, fmt.Sprint("fp", i), to), Action: ActRefuse,
				Reason: "refused", Notice: &Notice{Template: tmpl, To: to}})
			f.must(t, err)
			if i >= 3 && !strings.Contains(rec.Message.Reason, "notice not sent") {
				t.Fatalf("notice %d was sent: %q", i, rec.Message.Reason)
			}
		}
		if n := f.queuedTo(t, "victim@else.test"); n != 3 {
			t.Fatalf("%d notices to the victim, want 3", n)
		}
	})
}

// I5: at most max_case_notifications notifications to one recipient about
// one case in loop_window; the window slides.
func TestNotificationsPerRecipientAndCase(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.opt.LoopWindow, f.opt.MaxCaseNotifications = 10*time.Minute, 3
		c := f.open(t, "acme", "ann@acme.test", "VPN", "carl@acme.test")
		for i := range 6 {
			_, err := f.AddComment(f.ctx, c.ID, "agent@support.test", fmt.Sprint("update ", i))
			f.must(t, err)
		}
		if n := f.queuedTo(t, "carl@acme.test"); n != 3 { // case_opened_watcher and two comments
			t.Fatalf("%d mails to carl, want 3", n)
		}
		// "casemail route test" says the same as Record does.
		who, err := f.Audience(f.ctx, Delivery{Action: ActComment, CaseID: c.ID, Author: "agent@support.test"})
		f.must(t, err)
		if slices.Contains(who, "carl@acme.test") {
			t.Fatalf("Audience = %v: carl is past the limit", who)
		}
		other := f.open(t, "acme", "ann@acme.test", "Other", "carl@acme.test")
		if n := f.queuedTo(t, "carl@acme.test"); n != 4 {
			t.Fatalf("another case shares the quota: %d mails to carl", n)
		}
		f.clock.Advance(11 * time.Minute)
		_, err = f.AddComment(f.ctx, c.ID, "agent@support.test", "later")
		f.must(t, err)
		if n := f.queuedTo(t, "carl@acme.test"); n != 5 {
			t.Fatalf("the window did not slide: %d mails to carl", n)
		}
		_ = other
	})
}

// I5: mail to people who never wrote to us is capped per hour, all
// together; what is held back is named in the message's reason.
func TestNewRecipientsPerHour(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.opt.MaxNewRecipientsPerHour = 5
		var cc []string
		for i := range 8 {
			cc = append(cc, fmt.Sprintf("stranger%d@else.test", i))
		}
		cc = append(cc, "carl@acme.test") // has an account: not new
		rec, err := f.Record(f.ctx, Delivery{Message: f.stored(t, "fp1", "ann@acme.test"), Action: ActOpen, Reason: "new case",
			Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Description: "d", Requester: "ann@acme.test", Watchers: cc}})
		f.must(t, err)
		items, _ := f.Outbox(f.ctx, "")
		var strangers, known int
		for _, it := range items {
			if strings.HasPrefix(it.To, "stranger") {
				strangers++
			} else {
				known++
			}
		}
		if strangers != 5 || known != 2 { // ann and carl are always mailed
			t.Fatalf("mailed %d strangers and %d known, want 5 and 2", strangers, known)
		}
		if !strings.Contains(rec.Message.Reason, "not mailed:") || !strings.Contains(rec.Message.Reason, "policy.max_new_recipients_per_hour") {
			t.Fatalf("reason = %q", rec.Message.Reason)
		}
		f.clock.Advance(61 * time.Minute)
		f.must(t, f.AddWatcher(f.ctx, 1, "late@else.test"))
		if f.queuedTo(t, "late@else.test") != 1 {
			t.Fatal("the hourly cap did not reset")
		}
	})
}

// I1, I4: rule refusals and missing things are permanent; storage errors are not.
func TestIsPermanent(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		for _, tt := range []struct {
			err  error
			want bool
		}{
			{refuse(I6, "x"), true},
			{fmt.Errorf("record: %w", refuse(R13, "closed")), true},
			{&WhichOrgError{Sender: "a", Orgs: []string{"x", "y"}}, true},
			{notFound("no case %d", 1), true},
			{errors.New("database is locked"), false},
		} {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		}
	})
}

// I5: a suspected loop tells the team once per case and window: the agent
// accounts, or policy.team_addresses when set; with nobody to tell, the
// reason says so.
func TestAlertTellsTheTeamOnce(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t) // agent@support.test is an agent
		f.opt.LoopWindow = 10 * time.Minute
		c := f.open(t, "acme", "ann@acme.test", "VPN")
		alert := &Alert{Template: templates.LoopSuspected, Data: map[string]string{"author": "ann@acme.test", "reason": "r"}}
		quarantine := func(fp string) Recorded {
			rec, err := f.Record(f.ctx, Delivery{Message: f.stored(t, fp, "ann@acme.test"), Action: ActQuarantine, CaseID: c.ID, Reason: "suspected mail loop", Alert: alert})
			f.must(t, err)
			return rec
		}
		if rec := quarantine("a1"); !strings.Contains(rec.Message.Reason, "the team was told: agent@support.test") || f.queuedTo(t, "agent@support.test") != 1 {
			t.Fatalf("reason %q, %d mails to the agent", rec.Message.Reason, f.queuedTo(t, "agent@support.test"))
		}
		if rec := quarantine("a2"); !strings.Contains(rec.Message.Reason, "told already") || f.queuedTo(t, "agent@support.test") != 1 {
			t.Fatalf("told twice: %q", rec.Message.Reason)
		}
		f.clock.Advance(11 * time.Minute)
		f.opt.TeamAddresses = []string{"team@support.test"}
		quarantine("a3")
		if f.queuedTo(t, "team@support.test") != 1 || f.queuedTo(t, "agent@support.test") != 1 {
			t.Fatal("policy.team_addresses was not used")
		}

		// Nobody to tell.
		g := newFixture(t)
		g.opt.LoopWindow, g.opt.TeamAddresses = 10*time.Minute, nil
		_, err := g.db.Exec("UPDATE accounts SET agent = 0")
		g.must(t, err)
		c2 := g.open(t, "acme", "ann@acme.test", "VPN")
		rec, err := g.Record(g.ctx, Delivery{Message: g.stored(t, "b1", "ann@acme.test"), Action: ActQuarantine, CaseID: c2.ID, Reason: "suspected mail loop", Alert: alert})
		g.must(t, err)
		if !strings.Contains(rec.Message.Reason, NoAgentToTell) {
			t.Fatalf("reason %q", rec.Message.Reason)
		}
	})
}

// I5: Record checks max_mail_comments again in its transaction, so mails
// decided at the same time cannot all pass; the refusal is a rule's, which
// the gateway answers by deciding again (IsPermanent).
func TestRecordRefusesCommentsPastTheLoopLimit(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.opt.LoopWindow, f.opt.MaxMailComments = 10*time.Minute, 2
		c := f.open(t, "acme", "ann@acme.test", "VPN")
		for i := range 3 {
			_, err := f.Record(f.ctx, Delivery{Message: f.stored(t, fmt.Sprint("c", i), "ann+x@acme.test"), Action: ActComment, CaseID: c.ID,
				Author: "ann@acme.test", Body: fmt.Sprint("comment ", i), Reason: "comment"})
			if i < 2 {
				f.must(t, err)
				continue
			}
			if RuleOf(err) != string(I5) || !IsPermanent(err) {
				t.Fatalf("third comment: %v, want an I5 refusal", err)
			}
		}
		// An agent answering by mail is not limited.
		for i := range 3 {
			_, err := f.Record(f.ctx, Delivery{Message: f.stored(t, fmt.Sprint("a", i), "agent@support.test"), Action: ActComment, CaseID: c.ID,
				Author: "agent@support.test", Body: fmt.Sprint("answer ", i), Reason: "comment"})
			f.must(t, err)
		}
		got, err := f.Case(f.ctx, c.ID)
		f.must(t, err)
		if len(got.Comments) != 5 {
			t.Fatalf("%d comments, want 5", len(got.Comments))
		}
	})
}

// Issue 13: a registered customer's mail quarantined for failed sender
// authentication tells the team of its route (else the default team), in
// each agent's language, with the stored message's id; once an hour per
// claimed address, so a forger repeating it cannot flood the
// team; a stranger's address tells nobody. The notices are not held as
// backscatter (I5): they go to our own team.
func TestQuarantineAlertOncePerSenderAndHour(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := supportFixture(t) // l1: agent, agnes (fr), the default team; l2: l2@support.test
		f.opt.MaxNewRecipientsPerHour = 1
		quarantine := func(fp, from, team string) Recorded {
			t.Helper()
			a := &Alert{Template: templates.MailQuarantined, About: from, Team: team,
				Data: map[string]string{"author": from, "subject": "VPN", "reason": "not authenticated", "reason@fr": "non authentifié"}}
			rec, err := f.Record(f.ctx, Delivery{Message: f.stored(t, fp, from), Action: ActQuarantine, Reason: "not authenticated", Alert: a})
			f.must(t, err)
			return rec
		}
		rec := quarantine("q1", "ann@acme.test", "")
		items, err := f.Outbox(f.ctx, OutboxPending)
		f.must(t, err)
		got := map[string]string{}
		for _, it := range items {
			if it.Template != templates.MailQuarantined || it.CaseID != nil || it.Data["message_id"] != fmt.Sprint(rec.Message.ID) {
				t.Errorf("queued %s to %s, case %v, data %v", it.Template, it.To, it.CaseID, it.Data)
			}
			got[it.To] = it.Locale + " " + it.Data["reason"]
		}
		want := map[string]string{"agent@support.test": "fr non authentifié", "agnes@support.test": "fr non authentifié"}
		if !maps.Equal(got, want) || !strings.Contains(rec.Message.Reason, "the team was told") {
			t.Fatalf("queued %v, want %v (reason %q)", got, want, rec.Message.Reason)
		}
		f.clearOutbox(t)

		// A second mail in the hour, however the address is written: no second notice.
		if rec := quarantine("q2", "Ann@ACME.test", ""); !strings.Contains(rec.Message.Reason, "told already") || len(f.sent(t)) != 0 {
			t.Fatalf("told twice: %q", rec.Message.Reason)
		}
		// Another customer's address is another notice, to its route's team.
		quarantine("q3", "carl@acme.test", "l2")
		if got := f.sent(t); !slices.Equal(got, []string{"agent_mail_quarantined l2@support.test"}) {
			t.Fatalf("route team l2: queued %v", got)
		}
		// Forging an unknown address needs no human.
		if rec := quarantine("q4", "stranger@else.test", ""); len(f.sent(t)) != 0 || strings.Contains(rec.Message.Reason, "team") {
			t.Fatalf("a stranger's forgery told the team: %q", rec.Message.Reason)
		}
		// An hour later Ann's address may be told of again.
		f.clock.Advance(61 * time.Minute)
		quarantine("q5", "ann@acme.test", "")
		if got := f.sent(t); len(got) != 2 {
			t.Fatalf("after the hour: queued %v", got)
		}
	})
}
