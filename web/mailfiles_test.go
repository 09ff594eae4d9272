package web

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/replytoken"
)

// Files attached to the mail that opened a case are the case's: listed on
// its page and downloadable by those who may see it (R7), through that case
// only.
func TestMailAttachments(t *testing.T) {
	e := newEnv(t)
	cfg := config.Default()
	cfg.SMTP.Domains = []string{"support.test"}
	cfg.Outbound.ReplyDomain = "support.test"
	cfg.Routes = []config.Route{{Address: "support@support.test", Product: "cloud"}}
	gw, err := ingest.New(e.book, cfg, replytoken.New(e.book.Secret()), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: ann@acme.test\r\nTo: support@support.test\r\nSubject: Crash report\r\nMessage-ID: <m1@acme.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the trace.\r\n" +
		"--b\r\nContent-Type: text/plain; name=trace.txt\r\nContent-Disposition: attachment; filename=trace.txt\r\n\r\nsegfault at 0x0\r\n--b--\r\n"
	out, err := gw.Receive(e.ctx, ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "ann@acme.test", Recipients: []string{"support@support.test"}}, strings.NewReader(raw))
	if err != nil || out.CaseID == 0 {
		t.Fatalf("mail not a case: %+v %v", out, err)
	}
	other := e.open("ann@acme.test", "Another case")
	ann := e.as("ann@acme.test")
	page := ann.get("/case/1", http.StatusOK).body
	if !strings.Contains(page, `href="/case/1/mail/1/1"`) || !strings.Contains(page, "trace.txt") {
		t.Fatalf("case page lacks the mail's attachment:\n%s", page)
	}
	if r := ann.get("/case/1/mail/1/1", http.StatusOK); !strings.Contains(r.body, "segfault at 0x0") || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %q %v", r.body, r.header)
	}
	ann.get("/case/1/mail/1/9", http.StatusNotFound)
	ann.get("/case/"+strconv.FormatInt(other.ID, 10)+"/mail/1/1", http.StatusNotFound) // the mail is not that case's
	e.as("bob@globex.test").get("/case/1/mail/1/1", http.StatusNotFound)
	e.as("carl@acme.test").get("/case/1/mail/1/1", http.StatusOK) // view permission (R19)
}
