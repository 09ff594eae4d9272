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
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/message"
)

// sentMail is one notification found in the outgoing Maildir.
type sentMail struct {
	to, subject, replyTo, messageID, autoSubmitted, body string
}

func readMaildir(t *testing.T, dir string) []sentMail {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	var out []sentMail
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
		rt, _ := mail.ParseAddress(m.Header.Get("Reply-To"))
		subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		p, err := message.Parse(b, message.Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		sm := sentMail{to: to.Address, subject: subject, messageID: strings.Trim(m.Header.Get("Message-Id"), "<>"), autoSubmitted: m.Header.Get("Auto-Submitted"), body: p.Text}
		if rt != nil {
			sm.replyTo = rt.Address
		}
		out = append(out, sm)
	}
	return out
}

// The whole story of issue 6, on real sockets: swaks talks SMTP to "casemail serve",
// notifications land in the Maildir, replies use what the notifications say.
func TestStoryEndToEnd(t *testing.T) {
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
[log]
level = "debug"
`, c.store, smtpAddr, sent)
		if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		c.ok("account", "add", "ann@acme.test", "--verified", "--locale", "en")
		c.ok("account", "add", "carl@acme.test", "--verified")
		c.ok("account", "add", "agent@support.test", "--verified", "--agent")
		c.ok("org", "create", "acme", "--owner", "ann@acme.test", "--entitle", "cloud")

		c.serve(t, smtpAddr)
		host, port, _ := net.SplitHostPort(smtpAddr)
		swaks := func(args ...string) string {
			t.Helper()
			full := append([]string{"--server", host, "--port", port, "--helo", "client.test"}, args...)
			out, err := exec.Command(swaksPath, full...).CombinedOutput()
			if err != nil {
				t.Fatalf("swaks %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		notifications := func(to, template string) []sentMail {
			var out []sentMail
			for _, m := range readMaildir(t, sent) {
				if m.to == to && strings.Contains(m.subject, template) {
					out = append(out, m)
				}
			}
			return out
		}
		caseJSON := func() map[string]any { return decode[map[string]any](t, c.ok("case", "show", "1", "--json")) }

		// 1. A registered customer mails support with a colleague on Cc: a case opens, both are notified (R6, R8).
		swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Cc: Carl <carl@acme.test>",
			"--header", "Subject: Database is slow", "--header", "Message-Id: <story-1@acme.test>", "--body", "Queries take 30 seconds since this morning.")
		testenv.WaitFor(t, 20*time.Second, "two notifications", func() bool { return len(readMaildir(t, sent)) == 2 })
		ack := notifications("ann@acme.test", "[Case #1]")
		if len(ack) != 1 || len(notifications("carl@acme.test", "[Case #1]")) != 1 {
			t.Fatalf("notifications: %+v", readMaildir(t, sent))
		}
		if ack[0].autoSubmitted != "auto-generated" || !strings.HasPrefix(ack[0].replyTo, "support+") { // I5, I6
			t.Fatalf("acknowledgement headers: Auto-Submitted %q, Reply-To %q", ack[0].autoSubmitted, ack[0].replyTo)
		}

		// 2. The customer replies to the notification: the reply is a comment with only the new text (R9).
		swaks("--from", "ann@acme.test", "--to", ack[0].replyTo, "--header", "Subject: Re: [Case #1] Database is slow",
			"--header", "In-Reply-To: <"+ack[0].messageID+">",
			"--body", "It is the reporting job, we stopped it.\n\nOn Mon, Support <support@support.test> wrote:\n> We are looking into it.\n")
		testenv.WaitFor(t, 20*time.Second, "the comment", func() bool { return len(caseJSON()["comments"].([]any)) == 1 })
		comment := caseJSON()["comments"].([]any)[0].(map[string]any)
		if comment["body"] != "It is the reporting job, we stopped it." || comment["author"] != "ann@acme.test" {
			t.Fatalf("comment = %v", comment)
		}
		testenv.WaitFor(t, 20*time.Second, "carl told of the comment", func() bool { return len(notifications("carl@acme.test", "[Case #1]")) == 2 })

		// 3. An agent closes the case; the customer replies again: nothing reopens, the customer gets the notice (R13).
		c.ok("case", "close", "1", "--by", "agent@support.test")
		// The case_closed mail to ann is sent concurrently: wait for the notice itself, the auto-reply.
		notice := func() *sentMail {
			for _, m := range notifications("ann@acme.test", "[Case #1]") {
				if m.autoSubmitted == "auto-replied" {
					return &m
				}
			}
			return nil
		}
		swaks("--from", "ann@acme.test", "--to", ack[0].replyTo, "--header", "Subject: Re: [Case #1] Database is slow", "--body", "Slow again!")
		testenv.WaitFor(t, 20*time.Second, "the closed-case notice", func() bool { return notice() != nil })
		if cs := caseJSON(); cs["status"] != "closed" || len(cs["comments"].([]any)) != 1 {
			t.Fatalf("the reply changed the closed case: %v", cs)
		}
		refused := decode[[]map[string]any](t, c.ok("message", "list", "--outcome", "refused", "--json"))
		if len(refused) != 1 || !strings.Contains(refused[0]["reason"].(string), "R13") {
			t.Fatalf("refused = %v", refused)
		}
		if last := notice(); !strings.Contains(last.body, "reopen the request within 14 days") || !strings.Contains(last.body, "follow-up") ||
			strings.Contains(last.body, "casemail") { // a customer mail never names a command (issue 15)
			t.Fatalf("notice: %s", last.body)
		}

		// 4. Reopening within 14 days works (R12).
		c.ok("case", "reopen", "1", "--by", "ann@acme.test")
		if caseJSON()["status"] != "open" {
			t.Fatal("reopen did not reopen")
		}

		// 5. An outsider using the case's subject tag is quarantined, never a comment (I6).
		swaks("--from", "mallory@evil.test", "--to", "support@support.test", "--header", "Subject: Re: [Case #1] Database is slow", "--body", "Send me the data.")
		// 6. An out-of-office reply is ignored without an answer (I5).
		swaks("--from", "ann@acme.test", "--to", ack[0].replyTo, "--header", "Subject: Automatic reply: [Case #1] Database is slow",
			"--header", "Auto-Submitted: auto-replied", "--body", "I am out of the office until Monday.")
		// 7. The same mail delivered twice opens one case (I2).
		for range 2 {
			swaks("--from", "ann@acme.test", "--to", "support@support.test", "--header", "Subject: Disk alert",
				"--header", "Message-Id: <story-dup@acme.test>", "--body", "Disk 90% full.")
		}
		msgs := decode[[]map[string]any](t, c.ok("message", "list", "--json"))
		outcomes := map[string]int{}
		for _, m := range msgs {
			outcomes[m["outcome"].(string)]++
		}
		want := map[string]int{"case_opened": 2, "comment_added": 1, "refused": 1, "quarantined": 1, "ignored": 1}
		if fmt.Sprint(outcomes) != fmt.Sprint(want) {
			t.Fatalf("outcomes = %v, want %v", outcomes, want)
		}
		if cs := caseJSON(); len(cs["comments"].([]any)) != 1 {
			t.Fatalf("the outsider or the auto-reply became a comment: %v", cs["comments"])
		}
		cases := decode[[]map[string]any](t, c.ok("case", "list", "--org", "acme", "--json"))
		if len(cases) != 2 {
			t.Fatalf("%d cases, want 2 (the duplicate opens nothing)", len(cases))
		}
		// Nobody answered the auto-reply or the outsider: the outbox (written in the same
		// transaction as each outcome, I3) holds nothing for mallory and no second notice for ann.
		var annNotices int
		for _, o := range decode[[]map[string]any](t, c.ok("outbox", "list", "--json")) {
			if o["to"] == "mallory@evil.test" {
				t.Fatalf("the outsider is answered: %v", o)
			}
			if o["to"] == "ann@acme.test" && strings.HasPrefix(o["template"].(string), "notice_") {
				annNotices++
			}
		}
		if annNotices != 1 {
			t.Fatalf("ann got %d notices, want only the closed-case one", annNotices)
		}
	})
}
