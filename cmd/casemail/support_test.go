package main

import (
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
)

// supportCLI is a desk with two teams and a route for cloud mail:
// agnes@support.test in l1 (the default team), bruno@support.test in l2.
func supportCLI(t *testing.T, routes string) *cli {
	t.Helper()
	c := newCLI(t)
	extra := `
[[team]]
name = "l1"
members = ["agnes@support.test"]
[[team]]
name = "l2"
members = ["bruno@support.test"]
[policy]
default_team = "l1"
` + routes
	f, err := os.OpenFile(c.config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()
	c.setup()
	c.ok("account", "add", "agnes@support.test", "--verified", "--agent", "--name", "Agnès")
	c.ok("account", "add", "bruno@support.test", "--verified", "--agent")
	return c
}

const cloudRoute = "[[route]]\naddress = \"cloud@support.test\"\nproduct = \"cloud\"\n"

func ids(t *testing.T, out string) []int {
	t.Helper()
	var got []int
	for _, c := range decode[[]map[string]any](t, out) {
		got = append(got, int(c["id"].(float64)))
	}
	return got
}

// Issue 11: "case open" for a phone call; the queue across organisations
// with its filters; assign and set, each in the history; --json prints the
// changed case.
func TestSupportQueue(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := supportCLI(t, "")
		// R1-R3 apply to the requester of a case opened by an agent.
		c.fail("not entitled", "case", "open", "--org", "globex", "--product", "storage", "--requester", "bob@globex.test", "--title", "x", "--by", "agnes@support.test")
		c.fail("has no account", "case", "open", "--org", "acme", "--product", "cloud", "--requester", "who@else.test", "--title", "x")
		c.fail("not an agent", "case", "open", "--org", "acme", "--product", "cloud", "--requester", "ann@acme.test", "--title", "x", "--by", "carl@acme.test")
		c.fail("needs --org, --product", "case", "open", "--requester", "ann@acme.test", "--title", "x")

		body := filepath.Join(c.dir, "call.txt")
		os.WriteFile(body, []byte("Called at 9:05: the VM is down.\n"), 0o644)
		opened := decode[map[string]any](t, c.ok("case", "open", "--org", "acme", "--product", "cloud", "--requester", "ann@acme.test",
			"--title", "VM down (phone)", "--body-file", body, "--priority", "P2", "--watcher", "carl@acme.test", "--by", "agnes@support.test", "--json"))
		hasKeys(t, "case open --json", opened, "id", "assignee", "team", "priority", "watchers")
		if opened["team"] != "l1" || opened["description"] != "Called at 9:05: the VM is down." || opened["priority"] != "P2" {
			t.Errorf("opened = %v", opened)
		}
		// The customer is told as if they had written.
		b := c.book(nil)
		pending, err := b.Outbox(t.Context(), casebook.OutboxPending)
		if err != nil {
			t.Fatal(err)
		}
		var told []string
		for _, it := range pending {
			told = append(told, it.To+" "+string(it.Template))
		}
		if !slices.Equal(told, []string{"ann@acme.test case_opened", "carl@acme.test case_opened_watcher"}) {
			t.Errorf("told %v", told)
		}
		g1 := c.ok("case", "open", "--org", "globex", "--product", "cloud", "--requester", "bob@globex.test", "--title", "Disk slow")
		if !strings.Contains(g1, "case 2 opened for bob@globex.test") {
			t.Errorf("case open said %q", g1)
		}
		c.ok("case", "open", "--org", "globex", "--product", "cloud", "--requester", "bob@globex.test", "--title", "Outage", "--priority", "P1")

		assigned := decode[map[string]any](t, c.ok("case", "assign", "2", "--to", "bruno@support.test", "--by", "agnes@support.test", "--json"))
		if assigned["assignee"] != "bruno@support.test" {
			t.Errorf("assign --json = %v", assigned)
		}
		c.fail("not an active agent", "case", "assign", "2", "--to", "ann@acme.test")
		set := decode[map[string]any](t, c.ok("case", "set", "2", "--team", "l2", "--priority", "P2", "--by", "bruno@support.test", "--json"))
		if set["team"] != "l2" || set["priority"] != "P2" {
			t.Errorf("set --json = %v", set)
		}
		c.fail("no team \"l9\"", "case", "set", "2", "--team", "l9")
		c.fail("P1..P4", "case", "set", "2", "--priority", "urgent")

		tests := []struct {
			args []string
			want []int
		}{
			{[]string{}, []int{3, 1, 2}}, // P1, then the P2s oldest first
			{[]string{"--org", "globex"}, []int{3, 2}},
			{[]string{"--team", "l2"}, []int{2}},
			{[]string{"--assignee", "none"}, []int{3, 1}},
			{[]string{"--assignee", "bruno@support.test"}, []int{2}},
			{[]string{"--assignee", "me", "--as", "bruno@support.test"}, []int{2}},
			{[]string{"--priority", "P2", "--limit", "1"}, []int{1}},
			{[]string{"--status", "closed"}, nil},
			{[]string{"--older-than", "1h"}, nil},
			{[]string{"--as", "agnes@support.test"}, []int{3, 1}}, // l1 holds the cases opened without a route team
			{[]string{"--as", "bruno@support.test"}, []int{2}},
			{[]string{"--as", "bob@globex.test"}, []int{3, 2}}, // R7: a customer sees their organisation only
			{[]string{"--as", "carl@acme.test"}, []int{1}},
		}
		for _, tc := range tests {
			t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
				if got := ids(t, c.ok(append([]string{"case", "list", "--json"}, tc.args...)...)); !slices.Equal(got, tc.want) {
					t.Errorf("ids = %v, want %v", got, tc.want)
				}
			})
		}
		c.fail("--assignee me needs --as", "case", "list", "--assignee", "me")
		table := c.ok("case", "list")
		for _, col := range []string{"ID", "AGE", "PRIO", "ORG", "TEAM", "ASSIGNEE", "LAST ACTIVITY", "TITLE", "bruno@support.test", "VM down (phone)"} {
			if !strings.Contains(table, col) {
				t.Errorf("case list lacks %q:\n%s", col, table)
			}
		}

		// History: who did what, and when.
		show := c.ok("case", "show", "2")
		for _, want := range []string{"History:", "assigned", "bruno@support.test", "priority", "P3 -> P2", "team", "-> l2", "Assignee:  bruno@support.test"} {
			if !strings.Contains(show, want) {
				t.Errorf("case show lacks %q:\n%s", want, show)
			}
		}
		c.ok("case", "assign", "2", "--to", "none")
		if got := decode[map[string]any](t, c.ok("case", "show", "2", "--json")); got["assignee"] != "" {
			t.Errorf("assign --to none left %v", got["assignee"])
		}
	})
}

// I3 (the "Note interne" defect): a note typed with --internal is mailed to
// nobody, marked in case show, and hidden from the customer's view.
func TestInternalNoteCommand(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := supportCLI(t, cloudRoute)
		mail := "From: Ann <ann@acme.test>\r\nTo: cloud@support.test\r\nCc: carl@acme.test\r\nSubject: VM down\r\nMessage-ID: <vm1@acme.test>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe VM is down.\r\n" +
			"--b\r\nContent-Type: text/plain; name=log.txt\r\nContent-Disposition: attachment; filename=log.txt\r\n\r\nkernel panic\r\n--b--\r\n"
		if _, errs, code := c.run(mail, "deliver", "--recipient", "cloud@support.test"); code != 0 {
			t.Fatalf("deliver: %s", errs)
		}
		b := c.book(nil)
		before, _ := b.Outbox(t.Context(), "")
		out, errs, code := c.run("Note interne : client VIP", "case", "comment", "1", "--by", "agnes@support.test", "--internal", "--json")
		if code != 0 {
			t.Fatalf("comment --internal: %s", errs)
		}
		if note := decode[map[string]any](t, out); note["internal"] != true {
			t.Errorf("comment --json = %v", note)
		}
		after, _ := b.Outbox(t.Context(), "")
		if len(after) != len(before) {
			t.Errorf("an internal note queued %d mails", len(after)-len(before))
		}
		if _, errs, code := c.run("psst", "case", "comment", "1", "--by", "ann@acme.test", "--internal"); code == 0 || !strings.Contains(errs, "not an agent") {
			t.Errorf("a customer's internal note: exit %d %s", code, errs)
		}

		show := decode[map[string]any](t, c.ok("case", "show", "1", "--json"))
		hasKeys(t, "case show --json", show, "events", "assignee", "team", "attachments")
		atts := show["attachments"].([]any)
		if len(atts) != 1 {
			t.Fatalf("attachments = %v", atts)
		}
		hasKeys(t, "attachment", atts[0].(map[string]any), "filename", "content_type", "size", "comment_id")
		if a := atts[0].(map[string]any); a["filename"] != "log.txt" || a["comment_id"].(float64) != 0 {
			t.Errorf("attachment = %v", a)
		}
		comments := show["comments"].([]any)
		if len(comments) != 1 || comments[0].(map[string]any)["internal"] != true {
			t.Errorf("comments = %v", comments)
		}
		var kinds []string
		for _, ev := range show["events"].([]any) {
			e := ev.(map[string]any)
			hasKeys(t, "event", e, "at", "by", "kind", "detail")
			kinds = append(kinds, fmt.Sprint(e["kind"], " ", e["detail"]))
		}
		if len(kinds) < 3 || kinds[0] != "opened mail" || !strings.HasPrefix(kinds[len(kinds)-1], "comment internal") {
			t.Errorf("events = %v", kinds)
		}
		if text := c.ok("case", "show", "1"); !strings.Contains(text, "INTERNAL NOTE") || !strings.Contains(text, "log.txt") {
			t.Errorf("case show does not mark the note or list the attachment:\n%s", text)
		}
		customer := c.ok("case", "show", "1", "--as", "carl@acme.test", "--json")
		if strings.Contains(customer, "client VIP") || strings.Contains(customer, "internal comment") {
			t.Errorf("a watcher sees the internal note:\n%s", customer)
		}
	})
}

// Quarantine and replay: a mail to an address with no route is
// quarantined; after the route is added a replay opens the case, once; a
// quarantined mail an agent checked is released as a comment.
func TestReleaseAndReplay(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := supportCLI(t, "")
		lost := "From: ann@acme.test\r\nTo: cloud@support.test\r\nSubject: Backup failed\r\nMessage-ID: <lost@acme.test>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nLast night's backup failed.\r\n" +
			"--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=backup.log\r\n\r\nerror 28\r\n--b--\r\n"
		if _, errs, code := c.run(lost, "deliver", "--recipient", "cloud@support.test"); code != 0 {
			t.Fatal(errs)
		}
		if m := decode[map[string]any](t, c.ok("message", "show", "1", "--json")); m["outcome"] != "quarantined" {
			t.Fatalf("message 1 = %v", m)
		}
		if out := c.ok("message", "replay", "1"); !strings.Contains(out, "still quarantined") {
			t.Errorf("replay without a change: %q", out)
		}
		// Re-delivering the same bytes stays a duplicate and says so (I2).
		if _, errs, code := c.run(lost, "deliver", "--recipient", "cloud@support.test"); code != 0 || !strings.Contains(errs, "already recorded as message 1") {
			t.Errorf("re-delivery: exit %d, stderr %q", code, errs)
		}

		f, _ := os.OpenFile(c.config, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("\n" + cloudRoute + "team = \"l2\"\n")
		f.Close()
		dry := decode[map[string]any](t, c.ok("message", "replay", "1", "--dry-run", "--json"))
		if dry["outcome"] != "case_opened" || dry["dry_run"] != true {
			t.Errorf("dry run = %v", dry)
		}
		if got := ids(t, c.ok("case", "list", "--json")); len(got) != 0 {
			t.Fatalf("a dry run opened %v", got)
		}
		replayed := decode[map[string]any](t, c.ok("message", "replay", "1", "--json"))
		hasKeys(t, "replay --json", replayed, "message", "replays", "outcome", "case_id")
		if replayed["outcome"] != "case_opened" || replayed["message"].(map[string]any)["outcome"] != "quarantined" {
			t.Errorf("replay = %v", replayed)
		}
		if out := c.ok("message", "replay", "1"); !strings.Contains(out, "changes nothing") {
			t.Errorf("second replay: %q", out)
		}
		cases := decode[[]map[string]any](t, c.ok("case", "list", "--json"))
		if len(cases) != 1 || cases[0]["team"] != "l2" || cases[0]["title"] != "Backup failed" {
			t.Fatalf("after two replays: %v", cases)
		}
		// The replayed mail's attachment is the case's, from the mail that opened it.
		if atts := decode[map[string]any](t, c.ok("case", "show", "1", "--json"))["attachments"].([]any); len(atts) != 1 ||
			atts[0].(map[string]any)["filename"] != "backup.log" || atts[0].(map[string]any)["comment_id"].(float64) != 0 {
			t.Errorf("attachments of the case the replay opened: %v", atts)
		}

		// A mail claiming a case with a forged tag is quarantined, then released after a check.
		forged := "From: ann@acme.test\r\nTo: nowhere@support.test\r\nSubject: logs\r\nMessage-ID: <logs@acme.test>\r\n\r\nHere are the logs.\r\n"
		if _, errs, code := c.run(forged, "deliver", "--recipient", "nowhere@support.test"); code != 0 {
			t.Fatal(errs)
		}
		c.fail("needs --case N or --new-case", "message", "release", "2")
		c.fail("not an agent", "message", "release", "2", "--case", "1", "--by", "carl@acme.test")
		rel := decode[map[string]any](t, c.ok("message", "release", "2", "--case", "1", "--by", "bruno@support.test", "--json"))
		if rel["outcome"] != "comment_added" {
			t.Errorf("release = %v", rel)
		}
		c.fail("already added", "message", "release", "2", "--case", "1")
		show := decode[map[string]any](t, c.ok("case", "show", "1", "--json"))
		cm := show["comments"].([]any)[0].(map[string]any)
		if cm["author"] != "ann@acme.test" || cm["body"] != "Here are the logs." || cm["internal"] != false {
			t.Errorf("released comment = %v", cm)
		}
		c.fail("already added (case_opened)", "message", "release", "1", "--case", "1")
	})
}

// outbox retry, account and org administration, each with --json.
func TestAdminCommands(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := supportCLI(t, "")
		c.ok("case", "open", "--org", "acme", "--product", "cloud", "--requester", "ann@acme.test", "--title", "x")
		b := c.book(nil)
		items, _ := b.Outbox(t.Context(), casebook.OutboxPending)
		if err := b.MarkFailed(t.Context(), items[0].ID, "550 mailbox unavailable"); err != nil {
			t.Fatal(err)
		}
		retried := decode[[]map[string]any](t, c.ok("outbox", "retry", "--failed", "--json"))
		if len(retried) != 1 || retried[0]["status"] != "pending" || retried[0]["last_error"] != "" {
			t.Errorf("retry --failed = %v", retried)
		}
		if out := c.ok("outbox", "retry", fmt.Sprint(items[0].ID)); !strings.Contains(out, "will be sent again") {
			t.Errorf("retry ID said %q", out)
		}
		c.fail("needs one notification ID or --failed", "outbox", "retry")
		c.fail("no notification 99", "outbox", "retry", "99")

		accts := decode[[]map[string]any](t, c.ok("account", "list", "--json"))
		if len(accts) != 6 {
			t.Errorf("account list = %v", accts)
		}
		a := decode[map[string]any](t, c.ok("account", "set", "carl@acme.test", "--name", "Carl Dupont", "--locale", "fr", "--json"))
		if a["name"] != "Carl Dupont" || a["locale"] != "fr" {
			t.Errorf("account set = %v", a)
		}
		show := decode[map[string]any](t, c.ok("account", "show", "ann@acme.test", "--json"))
		hasKeys(t, "account show", show, "address", "name", "agent", "disabled", "orgs")
		if orgs := show["orgs"].([]any); len(orgs) != 1 || orgs[0].(map[string]any)["owner"] != true {
			t.Errorf("account show orgs = %v", orgs)
		}
		c.fail("needs --name, --locale or --agent", "account", "set", "carl@acme.test")
		if d := decode[map[string]any](t, c.ok("account", "disable", "carl@acme.test", "--json")); d["disabled"] != true {
			t.Errorf("disable = %v", d)
		}
		c.fail("disabled", "case", "open", "--org", "acme", "--product", "cloud", "--requester", "carl@acme.test", "--title", "x")
		c.fail("no account nobody@x.test", "account", "show", "nobody@x.test")

		o := decode[map[string]any](t, c.ok("org", "set", "acme", "--name", "ACME Corp", "--entitle", "mail", "--owner", "ann@acme.test", "--json"))
		if o["name"] != "ACME Corp" || fmt.Sprint(o["products"]) != "[cloud mail storage]" {
			t.Errorf("org set = %v", o)
		}
		if orgs := decode[[]map[string]any](t, c.ok("org", "list", "--json")); len(orgs) != 2 || orgs[0]["name"] != "ACME Corp" {
			t.Errorf("org list = %v", orgs)
		}
		if out := c.ok("org", "show", "globex"); !strings.Contains(out, "bob@globex.test") {
			t.Errorf("org show = %q", out)
		}
		c.fail("no organisation nowhere", "org", "show", "nowhere")

		// The older commands that change something print what they changed too.
		if a := decode[map[string]any](t, c.ok("account", "add", "dave@acme.test", "--verified", "--json")); a["address"] != "dave@acme.test" || a["verified"] != true {
			t.Errorf("account add --json = %v", a)
		}
		if o := decode[map[string]any](t, c.ok("org", "create", "initech", "--owner", "dave@acme.test", "--entitle", "cloud", "--json")); o["slug"] != "initech" {
			t.Errorf("org create --json = %v", o)
		}
		g := decode[map[string]any](t, c.ok("access", "grant", "bob@globex.test", "--org", "initech", "--by", "dave@acme.test", "--perm", "view", "--json"))
		if g["grantee"] != "bob@globex.test" || fmt.Sprint(g["perms"]) != "[view]" {
			t.Errorf("access grant --json = %v", g)
		}
		if g := decode[map[string]any](t, c.ok("access", "revoke", "bob@globex.test", "--org", "initech", "--by", "dave@acme.test", "--json")); g["revoked"] != true {
			t.Errorf("access revoke --json = %v", g)
		}
		id := decode[map[string]any](t, c.ok("case", "open", "--org", "initech", "--product", "cloud", "--requester", "dave@acme.test", "--title", "t", "--json"))["id"]
		for _, args := range [][]string{
			{"case", "close", fmt.Sprint(id)}, {"case", "reopen", fmt.Sprint(id)}, {"case", "watchers", fmt.Sprint(id), "add", "eve@acme.test"},
		} {
			if got := decode[map[string]any](t, c.ok(append(args, "--json")...)); got["id"] != id {
				t.Errorf("%v --json printed %v", args, got)
			}
		}
	})
}

// "casemail help COMMAND" and "casemail COMMAND --help": synopsis, flags and
// an example for every command; "casemail version".
func TestHelpAndVersion(t *testing.T) {
	c := newCLI(t)
	for _, cmd := range commands() {
		t.Run(cmd.name, func(t *testing.T) {
			out := c.ok(append(strings.Fields(cmd.name), "--help")...)
			if !strings.HasPrefix(out, "Usage: casemail "+cmd.name) || !strings.Contains(out, "Example:\n  ") || !strings.Contains(out[strings.Index(out, "Example:"):], "casemail "+cmd.name) {
				t.Errorf("help of %s:\n%s", cmd.name, out)
			}
			if again := c.ok(append([]string{"help"}, strings.Fields(cmd.name)...)...); again != out {
				t.Errorf("casemail help %s differs from --help", cmd.name)
			}
		})
	}
	for cmd, flag := range map[string]string{"deliver": "--sender", "route test": "--recipient", "case list": "--older-than DURATION"} {
		if out := c.ok("help", cmd); !strings.Contains(out, flag) {
			t.Errorf("help %s lacks %s:\n%s", cmd, flag, out)
		}
	}
	if out := c.ok("version"); !strings.HasPrefix(out, "casemail ") {
		t.Errorf("version = %q", out)
	}
}
