package main

import (
	"bytes"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"mime"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/message"
)

// agentMail is one mail found in the outgoing Maildir, as an agent's or a
// customer's client shows it.
type agentMail struct {
	file                      string
	to, fromName, fromAddr    string
	subject, replyTo, text    string
	attachments, attachedText []string
}

func readSent(t *testing.T, dir string) []agentMail {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	var out []agentMail
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a mail: %v", f, err)
		}
		to, _ := mail.ParseAddress(m.Header.Get("To"))
		from, _ := mail.ParseAddress(m.Header.Get("From"))
		rt, _ := mail.ParseAddress(m.Header.Get("Reply-To"))
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		p, err := message.Parse(b, message.Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		am := agentMail{file: f, to: to.Address, fromName: from.Name, fromAddr: from.Address, subject: subject, text: p.Text}
		if rt != nil {
			am.replyTo = rt.Address
		}
		for _, a := range p.Attachments {
			am.attachments = append(am.attachments, a.Filename)
			am.attachedText = append(am.attachedText, string(a.Content))
		}
		out = append(out, am)
	}
	return out
}

var noteAddress = regexp.MustCompile(`support\+note-[a-z0-9]+@support\.test`)

// The support story of issue 11 on real sockets: swaks talks SMTP to
// "casemail serve", every mail lands in the Maildir, and agents answer
// from the addresses their mail gives them.
func TestSupportStoryEndToEnd(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		swaksPath := testenv.NeedTool(t, "swaks", "swaks")
		c := newCLI(t)
		smtpAddr := testenv.FreeAddr(t)
		sent := filepath.Join(c.dir, "sent")
		cfg := fmt.Sprintf(`[store]
%s
[smtp]
listen = %q
domains = ["support.test"]
[outbound]
transport = "maildir:%s"
from = "Support <support@support.test>"
reply_domain = "support.test"
[http]
listen = ""
[[route]]
address = "support@support.test"
product = "cloud"
[[route]]
address = "sales@support.test"
action = "redirect"
template = "redirect-sales"
[[team]]
name = "l1"
members = ["agnes@support.test", "bruno@support.test"]
locale = "en"
[policy]
default_team = "l1"
assign_on_first_reply = true
[log]
level = "debug"
`, c.store, smtpAddr, sent)
		if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		c.ok("account", "add", "ann@acme.test", "--verified", "--locale", "en", "--name", "Ann Lee")
		c.ok("account", "add", "carl@acme.test", "--verified")
		c.ok("account", "add", "agnes@support.test", "--verified", "--agent", "--name", "Agnès Durand")
		c.ok("account", "add", "bruno@support.test", "--verified", "--agent", "--name", "Bruno Petit")
		c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")
		c.ok("config", "check") // the members are agent accounts

		c.serve(t, smtpAddr)
		host, port, _ := net.SplitHostPort(smtpAddr)
		swaks := func(args ...string) {
			t.Helper()
			full := append([]string{"--server", host, "--port", port, "--helo", "client.test"}, args...)
			if out, err := exec.Command(swaksPath, full...).CombinedOutput(); err != nil {
				t.Fatalf("swaks %v: %v\n%s", args, err, out)
			}
		}
		// mailTo waits for the n-th mail to addr whose subject has part, and returns them all.
		mailTo := func(addr, part string, n int) []agentMail {
			t.Helper()
			var got []agentMail
			testenv.WaitFor(t, 20*time.Second, fmt.Sprintf("%d mail(s) to %s about %q", n, addr, part), func() bool {
				got = got[:0]
				for _, m := range readSent(t, sent) {
					if m.to == addr && strings.Contains(m.subject, part) {
						got = append(got, m)
					}
				}
				return len(got) >= n
			})
			return got
		}
		queued := func() map[string][]string { // template -> recipients, from the outbox (I3)
			out := map[string][]string{}
			for _, o := range decode[[]map[string]any](t, c.ok("outbox", "list", "--json")) {
				out[o["template"].(string)] = append(out[o["template"].(string)], o["to"].(string))
			}
			return out
		}
		caseJSON := func() map[string]any { return decode[map[string]any](t, c.ok("case", "show", "1", "--json")) }

		// 1. A customer mails support with a colleague on Cc and a log attached:
		// both customers hear as before, and the team's agents get
		// agent_case_opened with the attachment, their reply token and their note address.
		log := filepath.Join(c.dir, "slow-queries.log")
		if err := os.WriteFile(log, []byte("SELECT * FROM orders; -- 31.2 s\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Cc: Carl <carl@acme.test>",
			"--header", "Subject: Database is slow", "--body", "Queries take 30 seconds since this morning.", "--attach", log)
		opened := map[string]agentMail{}
		for _, agent := range []string{"agnes@support.test", "bruno@support.test"} {
			m := mailTo(agent, "New request from Ann Lee", 1)[0]
			if !slices.Equal(m.attachments, []string{"slow-queries.log"}) || !strings.Contains(m.attachedText[0], "31.2 s") {
				t.Fatalf("%s: attachments %v", agent, m.attachments)
			}
			if !strings.Contains(m.text, "Queries take 30 seconds") || !strings.Contains(m.text, "Watchers:\n  - carl@acme.test") ||
				!strings.Contains(m.text, "slow-queries.log (32 B)") || !noteAddress.MatchString(m.text) || !strings.HasPrefix(m.replyTo, "support+") {
				t.Fatalf("%s: agent_case_opened reads:\n%s", agent, m.text)
			}
			opened[agent] = m
		}
		ack := mailTo("ann@acme.test", "[Case #1]", 1)[0]
		mailTo("carl@acme.test", "[Case #1]", 1)
		if q := queued(); len(q["agent_case_opened"]) != 2 || slices.Contains(q["agent_case_opened"], "ann@acme.test") {
			t.Fatalf("agent mail went to %v", q["agent_case_opened"])
		}

		// 2. Agnès answers from her mail client: a public comment by support with
		// the new text only, mailed to the customer and the watcher from the
		// support identity under her name; answering first, she takes the case.
		fix := filepath.Join(c.dir, "schedule.txt")
		if err := os.WriteFile(fix, []byte("report: 04:00\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		swaks("--from", "agnes@support.test", "--to", opened["agnes@support.test"].replyTo,
			"--header", "Subject: Re: [Case #1] Database is slow",
			"--body", "The reporting job locks the orders table: we moved it to the night.\n\nOn Mon, Support wrote:\n> Queries take 30 seconds\n",
			"--attach", fix)
		for to, subject := range map[string]string{"ann@acme.test": "New comment", "carl@acme.test": "Nouveau commentaire"} {
			got := mailTo(to, subject, 1)[0]
			if got.fromAddr != "support@support.test" || got.fromName != "Agnès Durand" || strings.Contains(got.text, "agnes@support.test") {
				t.Fatalf("%s got the answer from %q <%s>:\n%s", to, got.fromName, got.fromAddr, got.text)
			}
			if !strings.Contains(got.text, "we moved it to the night") || strings.Contains(got.text, "> Queries") {
				t.Fatalf("%s: the answer reads:\n%s", to, got.text)
			}
			if !slices.Equal(got.attachments, []string{"schedule.txt"}) { // the agent's attachment is kept
				t.Fatalf("%s: the answer carries %v", to, got.attachments)
			}
		}
		cs := caseJSON()
		cm := cs["comments"].([]any)[0].(map[string]any)
		if cm["by_support"] != true || cm["internal"] != false || cs["assignee"] != "agnes@support.test" {
			t.Fatalf("after the answer: assignee %v, comment %v", cs["assignee"], cm)
		}

		// 3. Bruno writes to his note address: an internal note, told to the
		// assignee only, marked internal in case show, never mailed to a customer.
		before := queued()
		note := noteAddress.FindString(opened["bruno@support.test"].text)
		swaks("--from", "bruno@support.test", "--to", note, "--header", "Subject: Re: [Case #1] Database is slow",
			"--body", "Note interne : client VIP, appeler avant 18 h.")
		told := mailTo("agnes@support.test", "Internal note from", 1)[0]
		if !strings.Contains(told.text, "client VIP") {
			t.Fatalf("agnes is told:\n%s", told.text)
		}
		cm = caseJSON()["comments"].([]any)[0].(map[string]any)
		if cm["internal"] != true || cm["author"] != "bruno@support.test" {
			t.Fatalf("the note is %v", cm)
		}
		if show := c.ok("case", "show", "1"); !strings.Contains(strings.ToLower(show), "internal") {
			t.Fatalf("case show does not mark the note:\n%s", show)
		}
		after := queued()
		for _, to := range []string{"ann@acme.test", "carl@acme.test"} {
			if len(after["comment_added"]) != len(before["comment_added"]) || slices.Contains(after["agent_comment_added"], to) {
				t.Fatalf("the note was mailed to a customer: %v", after)
			}
		}

		// 4. The customer replies, "#close" on top: only the assignee is told,
		// and a customer's "#close" is text, not a command.
		swaks("--from", "ann@acme.test", "--to", ack.replyTo, "--header", "Subject: Re: [Case #1] Database is slow",
			"--body", "#close\nIs the night run safe for the backups?")
		mailTo("agnes@support.test", "New comment from", 1)
		if q := queued(); slices.Contains(q["agent_comment_added"], "bruno@support.test") {
			t.Fatalf("bruno is told though agnes has the case: %v", q["agent_comment_added"])
		}
		if cs := caseJSON(); cs["status"] != "open" || !strings.HasPrefix(cs["comments"].([]any)[0].(map[string]any)["body"].(string), "#close") {
			t.Fatalf("a customer's #close acted: %v", cs)
		}

		// 5. Agnès answers with commands: #priority P2 and #close apply, the
		// comment is the rest, and the customers are told.
		swaks("--from", "agnes@support.test", "--to", opened["agnes@support.test"].replyTo, "--header", "Subject: Re: [Case #1] Database is slow",
			"--body", "#priority P2\n#close\n\nYes: backups run at 2 am, the report at 4 am.")
		mailTo("ann@acme.test", "closed", 1)
		cs = caseJSON()
		cm = cs["comments"].([]any)[0].(map[string]any)
		if cs["status"] != "closed" || cs["priority"] != "P2" || cm["body"] != "Yes: backups run at 2 am, the report at 4 am." {
			t.Fatalf("after the commands: status %v, priority %v, comment %q", cs["status"], cs["priority"], cm["body"])
		}

		// 6. The customer answers the closed case: refused (R13), and the
		// assignee is told who wrote and why.
		swaks("--from", "ann@acme.test", "--to", ack.replyTo, "--header", "Subject: Re: [Case #1] Database is slow", "--body", "Thanks!")
		if refused := mailTo("agnes@support.test", "Mail refused", 1)[0]; !strings.Contains(refused.text, "ann@acme.test") || !strings.Contains(refused.text, "R13") {
			t.Fatalf("agent_refused reads:\n%s", refused.text)
		}
		if q := queued(); slices.Contains(q["agent_refused"], "bruno@support.test") || slices.Contains(q["agent_refused"], "ann@acme.test") {
			t.Fatalf("agent_refused went to %v", q["agent_refused"])
		}

		// 7. The customer reopens (R12); a mail from a colleague without the
		// right to the case claims it by its tag and is quarantined (I6); an
		// agent checks it and releases it as a comment.
		c.ok("case", "reopen", "1", "--by", "ann@acme.test")
		swaks("--from", "dora@partner.test", "--to", "support@support.test", "--header", "Subject: Re: [Case #1] Database is slow",
			"--header", "Message-Id: <dora-logs@partner.test>", "--body", "The partner's logs show the same slow query.")
		msgID := func(mid string) string {
			for _, m := range decode[[]map[string]any](t, c.ok("message", "list", "--json")) {
				if m["message_id"] == mid {
					return fmt.Sprint(m["id"])
				}
			}
			t.Fatalf("no message %s", mid)
			return ""
		}
		quarantined := decode[map[string]any](t, c.ok("message", "show", msgID("dora-logs@partner.test"), "--json"))
		if quarantined["outcome"] != "quarantined" {
			t.Fatalf("the claim of an outsider: %v", quarantined)
		}
		rel := decode[map[string]any](t, c.ok("message", "release", msgID("dora-logs@partner.test"), "--case", "1", "--by", "agnes@support.test", "--json"))
		if rel["outcome"] != "comment_added" {
			t.Fatalf("release = %v", rel)
		}
		if cm := caseJSON()["comments"].([]any)[0].(map[string]any); !strings.Contains(cm["body"].(string), "partner's logs") {
			t.Fatalf("the released mail is not the newest comment: %v", cm)
		}

		// 8. A mail to a redirecting route is refused (R5); the admin routes
		// that address to the desk, and a replay opens the case on the new
		// route, recorded beside the first outcome (I4), once.
		swaks("--from", "ann@acme.test", "--to", "sales@support.test", "--header", "Subject: Licence renewal",
			"--header", "Message-Id: <renewal@acme.test>", "--body", "We need 20 more seats.")
		renewal := msgID("renewal@acme.test")
		if m := decode[map[string]any](t, c.ok("message", "show", renewal, "--json")); m["outcome"] != "refused" {
			t.Fatalf("the mail to the redirecting route: %v", m)
		}
		routed := strings.Replace(cfg, "action = \"redirect\"\ntemplate = \"redirect-sales\"", "product = \"cloud\"", 1)
		if routed == cfg {
			t.Fatal("the test could not change the route")
		}
		if err := os.WriteFile(c.config, []byte(routed), 0o644); err != nil {
			t.Fatal(err)
		}
		replayed := decode[map[string]any](t, c.ok("message", "replay", renewal, "--json"))
		if replayed["outcome"] != "case_opened" || replayed["message"].(map[string]any)["outcome"] != "refused" {
			t.Fatalf("replay = %v", replayed)
		}
		if out := c.ok("message", "replay", renewal); !strings.Contains(out, "changes nothing") {
			t.Fatalf("a second replay: %q", out)
		}
		cases := decode[[]map[string]any](t, c.ok("case", "list", "--json"))
		if len(cases) != 2 {
			t.Fatalf("cases after the replay: %v", cases)
		}
	})
}
