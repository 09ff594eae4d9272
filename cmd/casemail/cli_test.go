package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
)

// cli runs casemail commands in-process against one data directory.
type cli struct {
	t      *testing.T
	dir    string
	config string
	// store is the [store] line of the config: path = "DIR/cm.db", or under
	// stores.Each's postgres subtest dsn = "postgres://…" (a new database).
	// Tests that write their own config reuse it.
	store string
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "casemail.toml")
	store := stores.TOML(t, dir, "cm.db")
	body := fmt.Sprintf("[store]\n%s\n[outbound]\ntransport = \"maildir:%s\"\nreply_domain = \"support.test\"\nfrom = \"Support <support@support.test>\"\n",
		store, filepath.Join(dir, "sent"))
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return &cli{t: t, dir: dir, config: cfg, store: store}
}

// run returns stdout, stderr and the exit code.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "CASEMAIL_CONFIG" {
			return c.config
		}
		return ""
	}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, getenv)
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run("", args...)
	if code != 0 {
		c.t.Fatalf("casemail %s: exit %d: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

// fail runs a command that must fail with one sentence on stderr containing want.
func (c *cli) fail(want string, args ...string) {
	c.t.Helper()
	out, errs, code := c.run("", args...)
	if code == 0 {
		c.t.Fatalf("casemail %s succeeded: %s", strings.Join(args, " "), out)
	}
	if !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		c.t.Fatalf("casemail %s: stderr %q, want one line containing %q", strings.Join(args, " "), errs, want)
	}
}

// book opens the same store, to do what only mail does (open a case) or to move time.
func (c *cli) book(now func() time.Time) *casebook.Book {
	cfg, err := config.Load(c.config)
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := casebook.Open(cfg.Store.Location(), casebook.Options{Now: now, MessageIDDomain: "support.test"})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { b.Close() })
	return b
}

func (c *cli) setup() {
	c.ok("account", "add", "ann@acme.test", "--verified", "--locale", "en", "--name", "Ann")
	c.ok("account", "add", "carl@acme.test", "--verified")
	c.ok("account", "add", "bob@globex.test", "--verified")
	c.ok("account", "add", "agent@support.test", "--verified", "--agent")
	c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud", "--entitle", "storage")
	c.ok("--config", c.config, "org", "create", "globex", "--owner", "bob@globex.test", "--entitle", "cloud")
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: JSON lacks %q: %v", what, k, m)
		}
	}
}

// The command-line contract: the --json shapes, flags after positional arguments, errors as one sentence.
func TestCaseCommands(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		b := c.book(nil)
		ctx := context.Background()
		acme, err := b.OpenCase(ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: "Disk full", Description: "the disk is full", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}})
		if err != nil {
			t.Fatal(err)
		}
		globex, err := b.OpenCase(ctx, casebook.NewCase{Org: "globex", Product: "cloud", Title: "Disk slow", Requester: "bob@globex.test"})
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint(acme.ID)

		// R9: an agent's comment notifies (an outbox row per recipient) and shows newest first.
		out, errs, code := c.run("first answer\n", "case", "comment", id, "--by", "agent@support.test")
		if code != 0 {
			t.Fatalf("comment: %s", errs)
		}
		if !strings.Contains(out, "added to case "+id) {
			t.Fatalf("comment output %q", out)
		}
		body := filepath.Join(c.dir, "body.txt")
		os.WriteFile(body, []byte("second answer"), 0o644)
		c.ok("case", "comment", "--body-file", body, id, "--by", "ann@acme.test")

		show := decode[map[string]any](t, c.ok("case", "show", id, "--json"))
		hasKeys(t, "case show", show, "id", "status", "org", "product", "priority", "title", "requester", "watchers", "comments", "created_at", "closed_at", "follow_up_of")
		comments := show["comments"].([]any)
		if len(comments) != 2 {
			t.Fatalf("comments = %v", comments)
		}
		newest := comments[0].(map[string]any)
		hasKeys(t, "comment", newest, "id", "author", "by_support", "body", "created_at")
		if newest["body"] != "second answer" || newest["by_support"] != false || comments[1].(map[string]any)["by_support"] != true {
			t.Fatalf("comments not newest first or by_support wrong: %v", comments)
		}
		if fmt.Sprint(show["watchers"]) != "[carl@acme.test]" || show["status"] != "open" {
			t.Fatalf("show = %v", show)
		}

		outbox := decode[[]map[string]any](t, c.ok("outbox", "list", "--json", "--status", "pending"))
		hasKeys(t, "outbox list", outbox[0], "id", "to", "subject", "template", "case_id", "status", "attempts", "last_error")
		var commentMail []string
		for _, o := range outbox {
			if o["template"] == "comment_added" {
				commentMail = append(commentMail, o["to"].(string))
			}
		}
		slices.Sort(commentMail)
		// agent's comment → ann and carl; ann's comment → carl.
		if strings.Join(commentMail, " ") != "ann@acme.test carl@acme.test carl@acme.test" {
			t.Fatalf("comment notifications to %v", commentMail)
		}

		// R7, R10: scoped listing and search; --as narrows to what a user may see.
		list := decode[[]map[string]any](t, c.ok("case", "list", "--org", "acme", "--json"))
		if len(list) != 1 || list[0]["id"].(float64) != float64(acme.ID) {
			t.Fatalf("acme list = %v", list)
		}
		// Issue 11: without --org, an administrator's list is the queue across organisations.
		if got := decode[[]map[string]any](t, c.ok("case", "list", "--json")); len(got) != 2 {
			t.Fatalf("queue across organisations = %v", got)
		}
		if got := decode[[]map[string]any](t, c.ok("case", "search", "disk", "--org", "globex", "--as", "ann@acme.test", "--json")); len(got) != 0 {
			t.Fatalf("ann found globex cases: %v", got)
		}
		if got := decode[[]map[string]any](t, c.ok("case", "search", "full", "--as", "ann@acme.test", "--json")); len(got) != 1 {
			t.Fatalf("ann's search = %v", got)
		}
		c.fail("may not see case", "case", "show", fmt.Sprint(globex.ID), "--as", "ann@acme.test")
		c.fail("may not see case", "case", "comment", fmt.Sprint(globex.ID), "--by", "ann@acme.test", "--body-file", body)

		// R11, R12: close and reopen; the reopen window is enforced with an actionable sentence.
		c.ok("case", "close", id, "--by", "ann@acme.test")
		c.fail("already closed", "case", "close", id)
		c.ok("case", "reopen", id)
		c.ok("case", "close", id)
		later := c.book(func() time.Time { return time.Now().Add(15*24*time.Hour + time.Minute) })
		err = later.ReopenCase(ctx, acme.ID, "")
		want := fmt.Sprintf("case %d was closed 15 days ago; the reopen window is 14 days: open a follow-up with \"casemail case followup %d\"", acme.ID, acme.ID)
		if err == nil || err.Error() != want {
			t.Fatalf("late reopen: %v\nwant %s", err, want)
		}

		// R14: follow-up linked to its original.
		out = c.ok("case", "followup", id, "--by", "ann@acme.test", "--title", "Disk full again")
		if !strings.Contains(out, "follow-up of case "+id) {
			t.Fatalf("followup output %q", out)
		}
		all := decode[[]map[string]any](t, c.ok("case", "list", "--org", "acme", "--status", "open", "--json"))
		if len(all) != 1 || all[0]["follow_up_of"].(float64) != float64(acme.ID) || all[0]["title"] != "Disk full again" {
			t.Fatalf("follow-up = %v", all)
		}

		// R15 reasons are checked; R8 watchers add/remove.
		c.fail("not an escalation reason", "case", "escalate", id, "--reason", "angry")
		c.ok("case", "watchers", id, "add", "dave@acme.test")
		c.fail("already watches", "case", "watchers", id, "add", "dave@acme.test")
		c.ok("case", "watchers", id, "remove", "dave@acme.test")
		c.fail("there is no case 999", "case", "show", "999")
		c.fail("not a case number", "case", "show", "abc")
	})
}

// R16–R18 on the command line.
func TestAccessCommands(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		c.fail("only the account owner", "access", "grant", "--org", "acme", "--by", "agent@support.test", "carl@acme.test", "--perm", "open")
		c.ok("access", "grant", "carl@acme.test", "--org", "acme", "--by", "ann@acme.test", "--perm", "open,view")
		c.fail("only the account owner", "access", "grant", "--org", "acme", "--by", "carl@acme.test", "bob@globex.test", "--perm", "view")
		c.fail("unknown permission", "access", "grant", "--org", "acme", "--by", "ann@acme.test", "bob@globex.test", "--perm", "admin")
		c.ok("access", "revoke", "carl@acme.test", "--org", "acme", "--by", "ann@acme.test")
		grants := decode[[]map[string]any](t, c.ok("access", "list", "--org", "acme", "--json"))
		if len(grants) != 1 || grants[0]["revoked"] != true {
			t.Fatalf("grants = %v", grants)
		}
		c.fail("already exists", "account", "add", "ANN@acme.test")
		c.fail("is not an email address", "account", "add", "not-an-address")
	})
}

// I4: every inbound message is listed with its outcome; the raw bytes come back exactly.
func TestMessageCommands(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		b := c.book(nil)
		ctx := context.Background()
		raw := "From: x@else.test\r\nSubject: hi\r\nMessage-ID: <1@else.test>\r\n\r\nhello\r\n"
		ref, err := b.StoreRaw(ctx, strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Record(ctx, casebook.Delivery{Action: casebook.ActRefuse, Reason: "unknown sender (R1)",
			Message: casebook.Message{MessageID: "1@else.test", Fingerprint: "fp", From: "x@else.test", Transport: "smtp", RawSHA256: ref.SHA256, Size: ref.Size}})
		if err != nil {
			t.Fatal(err)
		}
		msgs := decode[[]map[string]any](t, c.ok("message", "list", "--json", "--outcome", "refused"))
		if len(msgs) != 1 {
			t.Fatalf("messages = %v", msgs)
		}
		hasKeys(t, "message list", msgs[0], "id", "message_id", "from", "received_at", "transport", "outcome", "reason", "case_id")
		if msgs[0]["outcome"] != "refused" || msgs[0]["transport"] != "smtp" {
			t.Fatalf("message = %v", msgs[0])
		}
		if got := c.ok("message", "show", "1", "--raw"); got != raw {
			t.Fatalf("raw = %q", got)
		}
		if got := decode[[]map[string]any](t, c.ok("message", "list", "--json", "--outcome", "case_opened")); len(got) != 0 {
			t.Fatalf("filter by outcome: %v", got)
		}
		c.fail("--outcome must be", "message", "list", "--outcome", "lost")
		c.fail("there is no message 7", "message", "show", "7")
	})
}

func TestConfigCommands(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		out := c.ok("config", "example")
		if !strings.Contains(out, "[[route]]") || !strings.Contains(out, "closed_reply") {
			t.Fatalf("example = %s", out)
		}
		c.ok("config", "check")
		bad := filepath.Join(c.dir, "bad.toml")
		os.WriteFile(bad, []byte("[smtp]\nlisen = \"x\"\n"), 0o644)
		if _, errs, code := c.run("", "config", "check", "--config", bad); code != exConfig || !strings.Contains(errs, "bad.toml:2: unknown key \"smtp.lisen\"") {
			t.Fatalf("config check: exit %d, stderr %q", code, errs)
		}
		_, _, code := c.run("", "no-such-command")
		if code != 2 {
			t.Fatalf("unknown command exit %d, want 2", code)
		}
	})
}

// deliver: exit 0 once recorded (a refusal too), 65 for input that is not a mail, 75 when the store fails (I1).
func TestDeliverExitCodes(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		good := "From: ann@acme.test\r\nTo: support@localhost\r\nSubject: Printer on fire\r\nMessage-ID: <p1@acme.test>\r\n\r\nHelp.\r\n"
		if _, errs, code := c.run(good, "deliver", "--recipient", "support@localhost"); code != 0 {
			t.Fatalf("deliver exit %d: %s", code, errs)
		}
		// Recipient from Delivered-To when no --recipient is given.
		stranger := "Delivered-To: support@localhost\r\nFrom: who@else.test\r\nTo: someone@else.test\r\nSubject: hi\r\nMessage-ID: <p2@else.test>\r\n\r\nhi\r\n"
		if _, errs, code := c.run(stranger, "deliver"); code != 0 {
			t.Fatalf("refusal exit %d: %s", code, errs)
		}
		if _, _, code := c.run("\x00\x01garbage", "deliver"); code != exDataErr {
			t.Fatalf("garbage exit %d, want 65", code)
		}
		msgs := decode[[]map[string]any](t, c.ok("message", "list", "--json"))
		if len(msgs) != 3 || msgs[0]["outcome"] != "refused" && msgs[0]["outcome"] != "case_opened" || msgs[0]["transport"] != "pipe" {
			t.Fatalf("messages = %v", msgs)
		}
		if msgs[1]["outcome"] != "refused" || msgs[2]["outcome"] != "quarantined" {
			t.Fatalf("outcomes = %v %v", msgs[1]["outcome"], msgs[2]["outcome"])
		}
		broken := filepath.Join(c.dir, "broken.toml")
		os.WriteFile(broken, []byte("[store]\npath = \"/nonexistent/dir/x.db\"\n"), 0o644)
		if _, _, code := c.run(good, "deliver", "--config", broken); code != exTempFail {
			t.Fatalf("store failure exit %d, want 75", code)
		}
	})
}

// route test prints the decision and applies nothing; parse needs no config.
func TestRouteTestAndParse(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := newCLI(t)
		c.setup()
		eml := filepath.Join(c.dir, "m.eml")
		os.WriteFile(eml, []byte("From: stranger@else.test\r\nTo: support@localhost\r\nSubject: hi\r\nMessage-ID: <r1@else.test>\r\n\r\nhello\r\n\r\nOn Mon, Bob wrote:\r\n> old\r\n"), 0o644)
		d := decode[map[string]any](t, c.ok("route", "test", "--json", eml))
		hasKeys(t, "route test", d, "action", "case_id", "org", "product", "reasons", "notify")
		if d["action"] != "refuse" || !strings.Contains(fmt.Sprint(d["reasons"]), "R1") || fmt.Sprint(d["notify"]) != "[stranger@else.test]" {
			t.Fatalf("decision = %v", d)
		}
		if msgs := decode[[]map[string]any](t, c.ok("message", "list", "--json")); len(msgs) != 0 {
			t.Fatal("route test applied something")
		}
		p := decode[map[string]any](t, c.ok("parse", eml, "--json"))
		hasKeys(t, "parse", p, "from", "to", "cc", "subject", "message_id", "in_reply_to", "references", "date", "text", "reply_text", "html", "attachments", "kind", "problems")
		if p["reply_text"] != "hello" || p["kind"] != "normal" {
			t.Fatalf("parse = %v", p)
		}
		empty := filepath.Join(c.dir, "empty.eml")
		os.WriteFile(empty, nil, 0o644)
		if _, _, code := c.run("", "parse", empty); code != exDataErr {
			t.Fatalf("parse of an empty file: exit %d", code)
		}
	})
}
