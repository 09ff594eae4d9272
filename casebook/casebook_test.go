package casebook

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injectable time for the 14-day and response-time rules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	*Book
	clock *clock
	ctx   context.Context
}

// newFixture opens a fresh book with two organisations:
// acme (owner ann@acme.test, entitled to "cloud") and globex (owner bob@globex.test, "cloud").
func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	b, err := Open(storeLocation(t, "cb.db"), Options{
		Now:             clk.Now,
		InitialResponse: map[string]time.Duration{"P1": time.Hour, "P3": 24 * time.Hour},
		NoticesPerHour:  3,
		MessageIDDomain: "support.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f := &fixture{Book: b, clock: clk, ctx: context.Background()}
	for _, a := range []Account{
		{Address: "ann@acme.test", Verified: true, Locale: "en"},
		{Address: "carl@acme.test", Verified: true},
		{Address: "bob@globex.test", Verified: true},
		{Address: "agent@support.test", Verified: true, Agent: true},
		{Address: "new@acme.test"},
	} {
		f.must(t, b.AddAccount(f.ctx, a))
	}
	f.must(t, b.CreateOrg(f.ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	f.must(t, b.CreateOrg(f.ctx, Org{Slug: "globex", Owner: "bob@globex.test", Products: []string{"cloud"}}))
	return f
}

func (f *fixture) must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) open(t *testing.T, org, requester, title string, watchers ...string) Case {
	t.Helper()
	c, err := f.OpenCase(f.ctx, NewCase{Org: org, Product: "cloud", Title: title, Description: "body of " + title, Requester: requester, Watchers: watchers})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantRule(t *testing.T, err error, rule string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want a refusal by %s, got none", rule)
	}
	if got := RuleOf(err); got != rule {
		t.Fatalf("want a refusal by %s, got %q: %v", rule, got, err)
	}
}

// R1, R2, R3, R19: who may open a case for an organisation; each refusal
// names its rule and creates nothing.
func TestWhoMayOpen(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.must(t, f.AddAccount(f.ctx, Account{Address: "viewer@acme.test", Verified: true}))
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "viewer@acme.test", []Perm{PermView}))
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "carl@acme.test", []Perm{PermOpen, PermView}))
		tests := []struct {
			name, sender, org, product, rule string
		}{
			{"R1 unknown sender", "stranger@else.test", "acme", "cloud", "R1"},
			{"R2 unverified address", "new@acme.test", "acme", "cloud", "R2"},
			{"R3 product not entitled", "ann@acme.test", "acme", "marketplace", "R3"},
			{"R19 neither member nor grantee", "bob@globex.test", "acme", "cloud", "R19"},
			{"R19 shared access without open", "viewer@acme.test", "acme", "cloud", "R19"},
			{"R19 shared access with open", "carl@acme.test", "acme", "cloud", ""},
			{"owner", "ann@acme.test", "acme", "cloud", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.CheckOpen(f.ctx, tt.sender, tt.org, tt.product)
				if tt.rule == "" {
					if err != nil {
						t.Fatalf("want allowed, got %v", err)
					}
					return
				}
				wantRule(t, err, tt.rule)
				// The same rule holds when opening for real: nothing is created.
				_, err = f.OpenCase(f.ctx, NewCase{Org: tt.org, Product: tt.product, Title: "x", Requester: tt.sender})
				wantRule(t, err, tt.rule)
			})
		}
		cases, err := f.List(f.ctx, ListFilter{Org: "acme"})
		f.must(t, err)
		if len(cases) != 0 {
			t.Fatalf("refused opens created %d cases", len(cases))
		}
	})
}

// R6, R8: a case has its fields, watchers are notified, the requester gets the acknowledgement in their locale.
func TestOpenCaseNotifiesRequesterAndWatchers(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test", "ext@partner.test")
		if c.Status != StatusOpen || c.Org != "acme" || c.Product != "cloud" || c.Priority != "P3" || c.Requester != "ann@acme.test" {
			t.Fatalf("case fields: %+v", c)
		}
		if strings.Join(c.Watchers, ",") != "carl@acme.test,ext@partner.test" {
			t.Fatalf("watchers = %v", c.Watchers)
		}
		items, err := f.Outbox(f.ctx, OutboxPending)
		f.must(t, err)
		got := map[string]string{}
		for _, it := range items {
			got[it.To] = string(it.Template) + "/" + it.Locale
		}
		want := map[string]string{"ann@acme.test": "case_opened/en", "carl@acme.test": "case_opened_watcher/fr", "ext@partner.test": "case_opened_watcher/fr"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("notifications = %v, want %v", got, want)
		}
	})
}

// R7: listing is scoped to one organisation; a user of acme never sees, searches or comments on globex's cases.
func TestCrossOrganisationIsolation(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		a := f.open(t, "acme", "ann@acme.test", "acme database latency")
		g := f.open(t, "globex", "bob@globex.test", "globex database latency")

		list, err := f.List(f.ctx, ListFilter{Org: "globex", Viewer: "ann@acme.test"})
		f.must(t, err)
		if len(list) != 0 {
			t.Fatalf("ann sees globex cases: %v", list)
		}
		found, err := f.Search(f.ctx, ListFilter{Org: "globex", Viewer: "ann@acme.test"}, "database")
		f.must(t, err)
		if len(found) != 0 {
			t.Fatalf("ann finds globex cases: %v", found)
		}
		found, err = f.Search(f.ctx, ListFilter{Org: "acme", Viewer: "ann@acme.test"}, "database")
		f.must(t, err)
		if len(found) != 1 || found[0].ID != a.ID {
			t.Fatalf("search in acme = %v, want only case %d", found, a.ID)
		}
		_, err = f.AddComment(f.ctx, g.ID, "ann@acme.test", "let me in")
		wantRule(t, err, "R7")
		err = f.CloseCase(f.ctx, g.ID, "ann@acme.test")
		wantRule(t, err, "R7")
		if ok, _ := f.CanView(f.ctx, "ann@acme.test", g); ok {
			t.Fatal("ann can view a globex case")
		}
		if _, err := f.List(f.ctx, ListFilter{}); err == nil {
			t.Fatal("a listing without an organisation was allowed")
		}
	})
}

// R7: a member without view permission sees only the cases they submitted or watch.
func TestMyCasesVersusOrganisationCases(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		f.must(t, f.AddAccount(f.ctx, Account{Address: "opener@acme.test", Verified: true}))
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "opener@acme.test", []Perm{PermOpen}))
		mine := f.open(t, "acme", "opener@acme.test", "mine")
		watched := f.open(t, "acme", "ann@acme.test", "watched", "opener@acme.test")
		f.open(t, "acme", "ann@acme.test", "not mine")

		list, err := f.List(f.ctx, ListFilter{Org: "acme", Viewer: "opener@acme.test"})
		f.must(t, err)
		var ids []int64
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]int64{watched.ID, mine.ID}) {
			t.Fatalf("opener sees %v, want %v", ids, []int64{watched.ID, mine.ID})
		}
		all, err := f.List(f.ctx, ListFilter{Org: "acme", Viewer: "ann@acme.test"})
		f.must(t, err)
		if len(all) != 3 {
			t.Fatalf("owner sees %d cases, want 3", len(all))
		}
	})
}

// R9: comments newest first; the author is not notified, everyone else is; agents' comments are support comments.
func TestCommentsNewestFirstAndNotify(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "slow", "carl@acme.test")
		f.clearOutbox(t)
		_, err := f.AddComment(f.ctx, c.ID, "agent@support.test", "first")
		f.must(t, err)
		f.clock.Advance(time.Minute)
		_, err = f.AddComment(f.ctx, c.ID, "ann@acme.test", "second")
		f.must(t, err)
		got, err := f.Case(f.ctx, c.ID)
		f.must(t, err)
		if len(got.Comments) != 2 || got.Comments[0].Body != "second" || got.Comments[1].Body != "first" {
			t.Fatalf("comments = %+v", got.Comments)
		}
		if !got.Comments[1].BySupport || got.Comments[0].BySupport {
			t.Fatalf("by_support wrong: %+v", got.Comments)
		}
		items, _ := f.Outbox(f.ctx, OutboxPending)
		var to []string
		for _, it := range items {
			to = append(to, it.To+":"+it.Data["body"])
		}
		want := []string{"ann@acme.test:first", "carl@acme.test:first", "carl@acme.test:second"}
		if strings.Join(to, " ") != strings.Join(want, " ") {
			t.Fatalf("notified %v, want %v", to, want)
		}
	})
}

func (f *fixture) clearOutbox(t *testing.T) {
	t.Helper()
	items, err := f.Outbox(f.ctx, OutboxPending)
	f.must(t, err)
	for _, it := range items {
		f.must(t, f.MarkSent(f.ctx, it.ID, "s", f.clock.Now()))
	}
}

// R11, R12: close, reopen within 14 days, refused after with a sentence that says what to do.
func TestReopenWindow(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x")
		f.must(t, f.CloseCase(f.ctx, c.ID, "ann@acme.test"))
		f.clock.Advance(13 * 24 * time.Hour)
		f.must(t, f.ReopenCase(f.ctx, c.ID, "ann@acme.test"))
		got, _ := f.Case(f.ctx, c.ID)
		if got.Status != StatusOpen || got.ReopenedAt == nil {
			t.Fatalf("not reopened: %+v", got)
		}
		f.must(t, f.CloseCase(f.ctx, c.ID, ""))
		f.clock.Advance(15 * 24 * time.Hour)
		err := f.ReopenCase(f.ctx, c.ID, "ann@acme.test")
		wantRule(t, err, "R12")
		want := fmt.Sprintf("case %d was closed 15 days ago; the reopen window is 14 days: open a follow-up with \"casemail case followup %d\"", c.ID, c.ID)
		if err.Error() != want {
			t.Fatalf("error = %q\nwant    %q", err, want)
		}
		got, _ = f.Case(f.ctx, c.ID)
		if got.Status != StatusClosed {
			t.Fatal("case reopened after the window")
		}
	})
}

func (f *fixture) inbound(fp string) Message {
	return Message{MessageID: fp + "@mail.test", Fingerprint: fp, From: "ann@acme.test", Transport: "smtp", RawSHA256: f.raw(fp), Subject: "s"}
}

func (f *fixture) raw(s string) string {
	ref, err := f.StoreRaw(f.ctx, strings.NewReader("Subject: "+s+"\r\n\r\nbody\r\n"))
	if err != nil {
		panic(err)
	}
	return ref.SHA256
}

// R13: a comment by mail on a closed case is refused by the casebook itself:
// nothing is written, the case stays closed, the caller records a refusal instead.
func TestNoReopeningByMail(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x")
		f.must(t, f.CloseCase(f.ctx, c.ID, ""))
		f.clearOutbox(t)
		_, err := f.Record(f.ctx, Delivery{Message: f.inbound("m1"), Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "please reopen"})
		wantRule(t, err, "R13")
		msgs, _ := f.Messages(f.ctx, "")
		if len(msgs) != 0 {
			t.Fatalf("a refused decision left a message record: %+v", msgs)
		}
		rec, err := f.Record(f.ctx, Delivery{Message: f.inbound("m1"), Action: ActRefuse, CaseID: c.ID, Reason: "case closed",
			Notice: &Notice{Template: "notice_closed_case", To: "ann@acme.test"}})
		f.must(t, err)
		if rec.Message.Outcome != OutcomeRefused || *rec.Message.CaseID != c.ID {
			t.Fatalf("record = %+v", rec.Message)
		}
		got, _ := f.Case(f.ctx, c.ID)
		if got.Status != StatusClosed || len(got.Comments) != 0 {
			t.Fatalf("case changed by a mail: %+v", got)
		}
		items, _ := f.Outbox(f.ctx, OutboxPending)
		if len(items) != 1 || items[0].Template != "notice_closed_case" || items[0].Locale != "en" {
			t.Fatalf("outbox = %+v", items)
		}
	})
}

// R14: a follow-up is linked to its closed original; imported cases cannot be reopened, only followed up.
func TestFollowUp(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x", "carl@acme.test")
		_, err := f.FollowUp(f.ctx, c.ID, "ann@acme.test", "")
		if err == nil {
			t.Fatal("follow-up of an open case allowed")
		}
		f.must(t, f.CloseCase(f.ctx, c.ID, ""))
		fu, err := f.FollowUp(f.ctx, c.ID, "ann@acme.test", "")
		f.must(t, err)
		if fu.FollowUpOf == nil || *fu.FollowUpOf != c.ID || fu.Org != "acme" || fu.Status != StatusOpen {
			t.Fatalf("follow-up = %+v", fu)
		}
		if strings.Join(fu.Watchers, ",") != "carl@acme.test" {
			t.Fatalf("follow-up watchers = %v", fu.Watchers)
		}
		_, err = f.FollowUp(f.ctx, c.ID, "bob@globex.test", "")
		wantRule(t, err, "R7") // someone who may not see the case cannot follow it up

		imp, err := f.OpenCase(f.ctx, NewCase{Org: "acme", Product: "cloud", Title: "old", Requester: "ann@acme.test", Imported: true})
		f.must(t, err)
		wantRule(t, f.ReopenCase(f.ctx, imp.ID, "ann@acme.test"), "R14")
		_, err = f.Record(f.ctx, Delivery{Message: f.inbound("m2"), Action: ActComment, CaseID: imp.ID, Author: "ann@acme.test", Body: "hi"})
		wantRule(t, err, "R13") // R14: an imported case is treated as closed, so a reply by mail is refused as R13 says
		if _, err := f.FollowUp(f.ctx, imp.ID, "ann@acme.test", ""); err != nil {
			t.Fatalf("follow-up of an imported case: %v", err)
		}
	})
}

// R15: escalation only after the initial response time, with one of six reasons, once.
func TestEscalation(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x")
		wantRule(t, f.Escalate(f.ctx, c.ID, "communication", "ann@acme.test"), "R15")
		f.clock.Advance(24*time.Hour + time.Second)
		wantRule(t, f.Escalate(f.ctx, c.ID, "because", "ann@acme.test"), "R15")
		f.must(t, f.Escalate(f.ctx, c.ID, "time_to_resolution", "ann@acme.test"))
		got, _ := f.Case(f.ctx, c.ID)
		if got.EscalatedAt == nil || got.EscalationReason != "time_to_resolution" {
			t.Fatalf("not escalated: %+v", got)
		}
		if err := f.Escalate(f.ctx, c.ID, "knowledge", "ann@acme.test"); err == nil {
			t.Fatal("escalated twice")
		}
	})
}

// R16, R17, R18: only the owner grants and revokes; a grantee cannot pass access on;
// external grants are stripped, not deleted, and neither lets its grantee open
// cases any more (R19). TestNoRegranting covers R17 case by case.
func TestSharedAccess(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		wantRule(t, f.Grant(f.ctx, "acme", "agent@support.test", "carl@acme.test", []Perm{PermOpen}), "R16")
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "carl@acme.test", []Perm{PermOpen, PermView}))
		f.must(t, f.AddAccount(f.ctx, Account{Address: "dan@acme.test", Verified: true}))
		wantRule(t, f.Grant(f.ctx, "acme", "carl@acme.test", "dan@acme.test", []Perm{PermView}), "R17")
		f.must(t, f.GrantExternal(f.ctx, "acme", "dan@acme.test", []Perm{PermView, PermOpen}, "cloud_project"))
		wantRule(t, f.Revoke(f.ctx, "acme", "carl@acme.test", "dan@acme.test"), "R18")
		f.must(t, f.Revoke(f.ctx, "acme", "ann@acme.test", "dan@acme.test"))
		f.must(t, f.Revoke(f.ctx, "acme", "ann@acme.test", "carl@acme.test"))
		gs, err := f.Grants(f.ctx, "acme")
		f.must(t, err)
		if len(gs) != 2 {
			t.Fatalf("grants = %+v, want both kept for audit", gs)
		}
		for _, g := range gs {
			if len(g.Perms) != 0 {
				t.Fatalf("grant %s keeps permissions %v", g.Grantee, g.Perms)
			}
			if g.Grantee == "dan@acme.test" && (g.Revoked || g.Source != "cloud_project") {
				t.Fatalf("external grant deleted instead of stripped: %+v", g)
			}
		}
		wantRule(t, f.CheckOpen(f.ctx, "carl@acme.test", "acme", "cloud"), "R19")
		wantRule(t, f.CheckOpen(f.ctx, "dan@acme.test", "acme", "cloud"), "R19")
	})
}

// R17: whoever holds shared access, from the owner or from elsewhere, cannot
// pass it on; the refusal says so (not just "only the owner"), and the
// would-be grantee gets nothing (R19: still may not open). Without access
// left, the answer is R16.
func TestNoRegranting(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		for _, a := range []string{"dan@acme.test", "eve@acme.test", "fay@acme.test"} {
			f.must(t, f.AddAccount(f.ctx, Account{Address: a, Verified: true}))
		}
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "carl@acme.test", []Perm{PermOpen, PermView}))
		f.must(t, f.GrantExternal(f.ctx, "acme", "eve@acme.test", []Perm{PermView}, "cloud_project"))
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "fay@acme.test", []Perm{PermView}))
		f.must(t, f.Revoke(f.ctx, "acme", "ann@acme.test", "fay@acme.test"))
		tests := []struct {
			name, by, rule string
		}{
			{"grantee of the owner", "carl@acme.test", "R17"},
			{"grantee in another case of address", "CARL@Acme.Test", "R17"},
			{"grantee through a cloud project", "eve@acme.test", "R17"},
			{"revoked grantee has nothing to pass on", "fay@acme.test", "R16"},
			{"support staff", "agent@support.test", "R16"},
			{"owner of another organisation", "bob@globex.test", "R16"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := f.Grant(f.ctx, "acme", tt.by, "dan@acme.test", []Perm{PermOpen, PermView})
				wantRule(t, err, tt.rule)
				if tt.rule == "R17" && !strings.Contains(err.Error(), "cannot pass it on") {
					t.Errorf("R17 refusal does not say why: %v", err)
				}
				wantRule(t, f.CheckOpen(f.ctx, "dan@acme.test", "acme", "cloud"), "R19")
			})
		}
		gs, err := f.Grants(f.ctx, "acme")
		f.must(t, err)
		for _, g := range gs {
			if g.Grantee == "dan@acme.test" {
				t.Fatalf("a refused grant was recorded: %+v", g)
			}
		}
		// The owner still can.
		f.must(t, f.Grant(f.ctx, "acme", "ann@acme.test", "dan@acme.test", []Perm{PermOpen}))
	})
}

// I2: the same fingerprint twice has one effect; I3/I4: the message record, the case and the outbox rows commit together.
func TestRecordExactlyOnce(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		d := Delivery{Message: f.inbound("fp1"), Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Description: "d", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}}}
		first, err := f.Record(f.ctx, d)
		f.must(t, err)
		if first.Duplicate || first.Message.Outcome != OutcomeCaseOpened || first.Message.CaseID == nil {
			t.Fatalf("first = %+v", first)
		}
		again, err := f.Record(f.ctx, d)
		f.must(t, err)
		if !again.Duplicate || *again.Message.CaseID != *first.Message.CaseID {
			t.Fatalf("second = %+v", again)
		}
		list, _ := f.List(f.ctx, ListFilter{Org: "acme"})
		items, _ := f.Outbox(f.ctx, "")
		msgs, _ := f.Messages(f.ctx, "")
		if len(list) != 1 || len(items) != 2 || len(msgs) != 1 {
			t.Fatalf("after a duplicate: %d cases, %d outbox rows, %d messages; want 1, 2, 1", len(list), len(items), len(msgs))
		}
	})
}

// I3: a decision that fails half-way writes nothing, not even its outbox rows.
func TestRecordIsAtomic(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		// Watcher address that breaks the insert part-way (the case row is written first).
		d := Delivery{Message: f.inbound("fp2"), Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Requester: "ann@acme.test", Priority: "P9"}}
		if _, err := f.Record(f.ctx, d); err == nil {
			t.Fatal("invalid priority accepted")
		}
		list, _ := f.List(f.ctx, ListFilter{Org: "acme"})
		items, _ := f.Outbox(f.ctx, "")
		msgs, _ := f.Messages(f.ctx, "")
		if len(list)+len(items)+len(msgs) != 0 {
			t.Fatalf("half-written: %d cases, %d outbox, %d messages", len(list), len(items), len(msgs))
		}
	})
}

// I6: a comment by mail from someone who may not see the case is refused by the casebook.
func TestMailCommentFromOutsider(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x")
		_, err := f.Record(f.ctx, Delivery{Message: f.inbound("fp3"), Action: ActComment, CaseID: c.ID, Author: "bob@globex.test", Body: "mine now"})
		wantRule(t, err, "I6")
		rec, err := f.Record(f.ctx, Delivery{Message: f.inbound("fp4"), Action: ActComment, CaseID: c.ID, Author: "ann@acme.test",
			Body: "new text", FullText: "new text\n> old", AddWatchers: []string{"dave@acme.test"}})
		f.must(t, err)
		got, _ := f.Case(f.ctx, c.ID)
		if rec.Message.Outcome != OutcomeCommentAdded || got.Comments[0].Body != "new text" || got.Comments[0].FullText != "new text\n> old" {
			t.Fatalf("comment = %+v", got.Comments)
		}
		if strings.Join(got.Watchers, ",") != "dave@acme.test" { // R8: Cc on a reply
			t.Fatalf("watchers = %v", got.Watchers)
		}
	})
}

// I5: refusal notices to one sender are rate-limited; the message is still recorded.
func TestNoticeRateLimit(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		for i := range 5 {
			rec, err := f.Record(f.ctx, Delivery{Message: f.inbound(fmt.Sprint("n", i)), Action: ActRefuse, Reason: "unknown sender",
				Notice: &Notice{Template: "notice_unknown_sender", To: "x@else.test"}})
			f.must(t, err)
			if limited := strings.Contains(rec.Message.Reason, "notice not sent"); limited != (i >= 3) {
				t.Fatalf("message %d: reason %q", i, rec.Message.Reason)
			}
		}
		items, _ := f.Outbox(f.ctx, "")
		if len(items) != 3 {
			t.Fatalf("%d notices queued, want 3", len(items))
		}
		f.clock.Advance(time.Hour + time.Minute)
		_, err := f.Record(f.ctx, Delivery{Message: f.inbound("later"), Action: ActRefuse, Notice: &Notice{Template: "notice_unknown_sender", To: "x@else.test"}})
		f.must(t, err)
		if items, _ = f.Outbox(f.ctx, ""); len(items) != 4 {
			t.Fatalf("no notice an hour later: %d", len(items))
		}
	})
}

// I4: the raw bytes are kept, whatever their size, and come back identical.
func TestRawRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		big := make([]byte, 3*rawChunk+12345)
		rand.Read(big)
		ref, err := f.StoreRaw(f.ctx, bytes.NewReader(big))
		f.must(t, err)
		again, err := f.StoreRaw(f.ctx, bytes.NewReader(big))
		f.must(t, err)
		if ref != again || ref.Size != int64(len(big)) {
			t.Fatalf("refs %+v %+v", ref, again)
		}
		var out bytes.Buffer
		f.must(t, f.WriteRaw(f.ctx, ref.SHA256, &out))
		if !bytes.Equal(out.Bytes(), big) {
			t.Fatal("raw message changed in storage")
		}
		small, err := f.StoreRaw(f.ctx, bytes.NewReader(big[:100]))
		f.must(t, err)
		if again, _ := f.StoreRaw(f.ctx, bytes.NewReader(big[:100])); again != small || small.Size != 100 {
			t.Fatalf("small refs %+v %+v", small, again)
		}
		out.Reset()
		f.must(t, f.WriteRaw(f.ctx, small.SHA256, &out))
		if !bytes.Equal(out.Bytes(), big[:100]) {
			t.Fatal("small raw message changed in storage")
		}
		if err := f.WriteRaw(f.ctx, "nope", &out); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing raw: %v", err)
		}
	})
}

// I3: the worker's view: claim leases rows, retry moves them, sent and failed are final; the thread chains.
func TestOutboxQueue(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x", "carl@acme.test")
		now := f.clock.Now()
		items, err := f.ClaimOutbox(f.ctx, now, 10, time.Minute)
		f.must(t, err)
		if len(items) != 2 {
			t.Fatalf("claimed %d", len(items))
		}
		if again, _ := f.ClaimOutbox(f.ctx, now, 10, time.Minute); len(again) != 0 {
			t.Fatalf("leased rows claimed twice: %d", len(again))
		}
		f.must(t, f.MarkSent(f.ctx, items[0].ID, "[Case #1] x", now))
		f.must(t, f.MarkRetry(f.ctx, items[1].ID, "451 try later", now.Add(30*time.Second)))
		if again, _ := f.ClaimOutbox(f.ctx, now.Add(31*time.Second), 10, time.Minute); len(again) != 1 || again[0].Attempts != 1 || again[0].LastError != "451 try later" {
			t.Fatalf("retry = %+v", again)
		}
		f.must(t, f.MarkFailed(f.ctx, items[1].ID, "550 no such user"))
		failed, _ := f.Outbox(f.ctx, OutboxFailed)
		if len(failed) != 1 || failed[0].LastError != "550 no such user" {
			t.Fatalf("failed = %+v", failed)
		}
		thread, err := f.CaseThread(f.ctx, c.ID)
		f.must(t, err)
		if len(thread) != 1 || thread[0] != items[0].Token+"@support.test" {
			t.Fatalf("thread = %v", thread)
		}
		id, ok, err := f.CaseOfMessageID(f.ctx, thread[0])
		if err != nil || !ok || id != c.ID {
			t.Fatalf("case of our Message-ID = %d %v %v", id, ok, err)
		}
		if _, ok, _ := f.CaseOfMessageID(f.ctx, "forged@support.test"); ok {
			t.Fatal("a forged Message-ID found a case")
		}
	})
}

// A hard bounce suppresses a watcher: no more mail, visible on the case.
func TestSuppressedWatcherGetsNoMail(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "x", "gone@else.test")
		f.clearOutbox(t)
		f.must(t, f.SuppressAddress(f.ctx, "gone@else.test", SuppressedBounce, "550 5.1.1 user unknown"))
		_, err := f.AddComment(f.ctx, c.ID, "agent@support.test", "hello")
		f.must(t, err)
		items, _ := f.Outbox(f.ctx, OutboxPending)
		for _, it := range items {
			if it.To == "gone@else.test" {
				t.Fatal("suppressed watcher notified")
			}
		}
		got, _ := f.Case(f.ctx, c.ID)
		if !got.WatcherDetails[0].Suppressed || got.WatcherDetails[0].Reason == "" {
			t.Fatalf("watcher = %+v", got.WatcherDetails)
		}
	})
}

func TestCheckpoints(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		v, u, err := f.Checkpoint(f.ctx, "main")
		if err != nil || v != 0 || u != 0 {
			t.Fatalf("new checkpoint = %d %d %v", v, u, err)
		}
		f.must(t, f.SaveCheckpoint(f.ctx, "main", 1700000000, 42))
		if v, u, _ = f.Checkpoint(f.ctx, "main"); v != 1700000000 || u != 42 {
			t.Fatalf("checkpoint = %d %d", v, u)
		}
	})
}

// The reply-token secret is generated once and survives reopening the store.
func TestSecretIsKept(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		path := storeLocation(t, "s.db")
		b1, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		s1 := b1.Secret()
		b1.Close()
		b2, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b2.Close()
		if len(s1) != 32 || !bytes.Equal(s1, b2.Secret()) {
			t.Fatal("secret changed across opens")
		}
	})
}
