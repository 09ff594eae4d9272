package outbound

import (
	"bytes"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/templates"
)

// allowedHeaders is every header field the composer may write; anything
// else in the output was injected.
var allowedHeaders = map[string]bool{
	"Mime-Version": true, "Date": true, "From": true, "To": true, "Subject": true,
	"Message-Id": true, "In-Reply-To": true, "References": true, "Auto-Submitted": true,
	"X-Auto-Response-Suppress": true, "Precedence": true, "List-Id": true, "Reply-To": true,
	"List-Unsubscribe": true, "List-Unsubscribe-Post": true, "Content-Type": true,
}

// FuzzCompose: whatever a customer puts in a subject, name or stored
// Message-ID, the composed mail has only our header fields, reads back with
// go-message, and its subject is one line.
func FuzzCompose(f *testing.F) {
	f.Add("comment_added", "alice@customer.test", "Subject: x\r\nBcc: victim@example.test", "a@b", "c@d e@f", true)
	f.Add("notice_unknown_sender", "\"A\r\nB\" <a@b.test>", "Paiement refusé \x00", "<x@y>\r\nX: y", "", false)
	f.Add("redirect-marketplace", "a@b.test", strings.Repeat("é", 200), "", "", false)
	cfg := testConfig()
	cfg.HTTP.PublicURL = "https://desk.example.test"
	c := testComposer(f, cfg)
	f.Fuzz(func(t *testing.T, tmpl, to, title, irt, refs string, withCase bool) {
		it := casebook.OutboxItem{Template: templates.Name(tmpl), To: to, Token: "fuzz", Locale: "en",
			Data: map[string]string{"title": title, "subject": title, "body": title, "in_reply_to": irt, "references": refs, "requester": "x@y.test"}}
		if withCase {
			it.CaseID = ptr(5)
		}
		msg, err := c.Compose(it, []string{irt, "ok@x.test"}, fixedNow)
		if err != nil {
			if !IsPermanent(err) {
				t.Fatalf("compose error not permanent: %v", err)
			}
			return
		}
		head, _, ok := bytes.Cut(msg.Bytes, []byte("\r\n\r\n"))
		if !ok {
			t.Fatal("no end of header")
		}
		for _, line := range strings.Split(string(head), "\r\n") {
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue // folded continuation
			}
			k, _, _ := strings.Cut(line, ":")
			if !allowedHeaders[k] {
				t.Fatalf("unexpected header line %q in\n%s", line, head)
			}
		}
		p := parse(t, msg.Bytes)
		if s, _ := p.h.Subject(); strings.ContainsAny(s, "\r\n") {
			t.Fatalf("subject with a line break %q", s)
		}
		if len(msg.To) != 1 || strings.ContainsAny(msg.To[0], "\r\n <>") {
			t.Fatalf("envelope recipient %q", msg.To)
		}
	})
}
