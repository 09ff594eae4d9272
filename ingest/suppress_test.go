package ingest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/internal/testenv/stores"
	"github.com/casemail/casemail/replytoken"
)

// returnPath is the signed return path (bounce+TOKEN-MAC@support.test) of
// the pending notification to rcpt, as outbound sent it.
func (h *harness) returnPath(rcpt string) string {
	h.t.Helper()
	items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
	h.must(err)
	for _, it := range items {
		if it.To == rcpt {
			return "bounce+" + replytoken.New(h.book.Secret()).ReturnPath(it.Token) + "@support.test"
		}
	}
	h.t.Fatalf("no pending notification to %s", rcpt)
	return ""
}

// report builds a multipart/report (RFC 6522) of reportType whose second
// part is ctype with fields, then the given extra parts.
func report(from, reportType, ctype, fields string, parts ...string) string {
	s := "From: " + from + "\r\nTo: support@support.test\r\nSubject: report\r\nMessage-ID: <r" + reportType + "@mx.isp.test>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=" + reportType + "; boundary=\"r\"\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nThis is a report.\r\n--r\r\nContent-Type: " + ctype + "\r\n\r\n" + fields + "\r\n"
	for _, p := range parts {
		s += "--r\r\n" + p + "\r\n"
	}
	return s + "--r--\r\n"
}

// returned is a notification of ours as a report returns it.
func returned(returnPath, to string) string {
	return "Return-Path: <" + returnPath + ">\r\nFrom: Support <support@support.test>\r\nTo: " + to +
		"\r\nSubject: [Case #1] Server down\r\nMessage-ID: <n1@support.test>\r\n\r\nA new case.\r\n"
}

func (h *harness) suppressed(addr string) (casebook.Suppression, bool) {
	h.t.Helper()
	s, err := h.book.Suppression(h.ctx, addr)
	if errors.Is(err, casebook.ErrNotFound) {
		return s, false
	}
	h.must(err)
	return s, true
}

// Issue 12: a feedback-loop complaint (RFC 5965) about one of our
// notifications finds its outbox row through the signed return path of the
// complained-about mail and suppresses that address, reason "complaint";
// a complaint naming someone else, or with a forged return path, silences
// nobody. I5: never a case, never answered.
func TestComplaintSuppressesAddress(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		arf := func(mailFrom, rcpt string) string {
			return "Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <" + mailFrom + ">\r\nOriginal-Rcpt-To: <" + rcpt + ">"
		}
		tests := []struct {
			name     string
			raw      func(rp string) string
			suppress bool
			why      string
		}{
			{"ARF (multipart/report)", func(rp string) string {
				return report("fbl@isp.test", "feedback-report", "message/feedback-report", arf(rp, "gone@else.test"),
					"Content-Type: message/rfc822\r\n\r\n"+returned(rp, "gone@else.test"))
			}, true, "complaint (abuse)"},
			{"ARF, complaining address redacted", func(rp string) string {
				return report("fbl@isp.test", "feedback-report", "message/feedback-report", "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 0.1",
					"Content-Type: text/rfc822-headers\r\n\r\n"+strings.TrimSuffix(returned(rp, "[redacted]@else.test"), "A new case.\r\n"))
			}, true, "complaint"},
			{"ARF fields without the MIME type", func(rp string) string {
				return "From: feedback@isp.test\r\nTo: support@support.test\r\nSubject: Abuse report\r\nMessage-ID: <fbl2@isp.test>\r\n\r\n" +
					"This is an email abuse report.\r\n\r\n" + arf(rp, "gone@else.test") + "\r\n\r\n" + returned(rp, "gone@else.test")
			}, true, "complaint"},
			{"names another address", func(rp string) string {
				return report("fbl@isp.test", "feedback-report", "message/feedback-report", arf(rp, "ann@acme.test"))
			}, false, "not its recipient"},
			{"forged return path", func(rp string) string {
				forged := rp[:strings.LastIndexByte(rp, '-')] + "-aaaaaaaaaaaaaaaa@support.test"
				return report("fbl@isp.test", "feedback-report", "message/feedback-report", arf(forged, "gone@else.test"))
			}, false, "no notification of ours"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, "")
				_, c := h.open("ann@acme.test", "support@support.test", "gone@else.test")
				rp := h.returnPath("gone@else.test")
				h.notices()
				h.want(h.receive(tt.raw(rp), "support@support.test"), "ignored", tt.why)
				if n := h.notices(); len(n) != 0 {
					t.Fatalf("a complaint was answered: %v", n)
				}
				s, ok := h.suppressed("gone@else.test")
				if ok != tt.suppress {
					t.Fatalf("suppressed = %v, want %v", ok, tt.suppress)
				}
				if ok && s.Reason != casebook.SuppressedComplaint {
					t.Fatalf("reason %q, want %q", s.Reason, casebook.SuppressedComplaint)
				}
				if got, _ := h.book.Case(h.ctx, c.ID); len(got.Comments) != 0 {
					t.Fatal("a complaint became a comment")
				}
				if _, ok := h.suppressed("ann@acme.test"); ok {
					t.Fatal("the requester was suppressed by a complaint about a watcher")
				}
			})
		}
	})
}

// Issue 12: suppression is per address, not per watcher row: after a hard
// bounce on one case, a new case copying the address does not mail it,
// nor does a case the address opens itself, until an admin lifts it.
func TestSuppressionIsPerAddress(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		h.open("ann@acme.test", "support@support.test", "gone@else.test")
		rp := h.returnPath("gone@else.test")
		h.notices()
		dsn := "From: MAILER-DAEMON@mx.else.test\r\nTo: " + rp + "\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn9@mx.else.test>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n" +
			"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.else.test\r\n\r\nFinal-Recipient: rfc822; gone@else.test\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n"
		h.want(h.receive(dsn, rp), "ignored", "hard bounce")
		if s, ok := h.suppressed("gone@else.test"); !ok || s.Reason != casebook.SuppressedBounce {
			t.Fatalf("not suppressed after a hard bounce: %+v", s)
		}

		// A new case copying the address: a watcher, but not mailed; the
		// decision says so (route test prints Notify).
		raw := h.mail("ann@acme.test", "support@support.test", "Another problem", "Disk full.\n", "Cc: Gone@Else.test")
		d, _, err := h.gw.Decide(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "ann@acme.test", Recipients: []string{"support@support.test"}}, []byte(raw))
		h.must(err)
		if slices.Contains(d.Notify, "gone@else.test") {
			t.Fatalf("Audience still names the suppressed address: %v", d.Notify)
		}
		out := h.receive(raw, "support@support.test")
		h.want(out, "case_opened", "")
		c2, err := h.book.Case(h.ctx, out.CaseID)
		h.must(err)
		if len(c2.WatcherDetails) != 1 || !c2.WatcherDetails[0].Suppressed || !strings.HasPrefix(c2.WatcherDetails[0].Reason, "hard bounce") {
			t.Fatalf("new case's watcher not shown suppressed: %+v", c2.WatcherDetails)
		}
		n := h.notices()
		if slices.ContainsFunc(n, func(s string) bool { return strings.HasPrefix(s, "gone@") }) || !slices.Contains(n, "ann@acme.test:case_opened") {
			t.Fatalf("notices of a new case %v: want ann's, none to gone@", n)
		}

		// An admin lifts it: the next change mails the address again.
		h.must(h.book.Unsuppress(h.ctx, "GONE@else.test"))
		if _, ok := h.suppressed("gone@else.test"); ok {
			t.Fatal("still suppressed after Unsuppress")
		}
		_, err = h.book.AddComment(h.ctx, c2.ID, "agent@support.test", "Fixed?")
		h.must(err)
		if n := h.notices(); !slices.Contains(n, "gone@else.test:comment_added") {
			t.Fatalf("unsuppressed address not mailed: %v", n)
		}
		if err := h.book.Unsuppress(h.ctx, "gone@else.test"); !errors.Is(err, casebook.ErrNotFound) {
			t.Fatalf("lifting twice: %v, want ErrNotFound", err)
		}
	})
}

// Issue 12: a requester whose address hard-bounced still opens cases by
// mail, but hears about none of them.
func TestSuppressedRequesterIsNotMailed(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		h := newHarness(t, "")
		h.must(h.book.SuppressAddress(h.ctx, "ann@acme.test", casebook.SuppressedComplaint, "test"))
		out := h.receive(h.mail("ann@acme.test", "support@support.test", "Help", "Broken.\n"), "support@support.test")
		h.want(out, "case_opened", "suppressed")
		if n := h.notices(); slices.ContainsFunc(n, func(s string) bool { return strings.HasPrefix(s, "ann@") }) {
			t.Fatalf("suppressed requester mailed: %v", n)
		}
	})
}

// Issue 12, I5: delay warnings and success DSNs about one of our
// notifications never suppress and are never answered.
func TestDelaysAndSuccessNeverSuppress(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		for _, action := range []string{"delayed", "delivered", "relayed", "expanded"} {
			t.Run(action, func(t *testing.T) {
				h := newHarness(t, "")
				h.open("ann@acme.test", "support@support.test", "slow@else.test")
				rp := h.returnPath("slow@else.test")
				h.notices()
				status := map[string]string{"delayed": "4.4.7"}[action]
				if status == "" {
					status = "2.0.0"
				}
				raw := report("MAILER-DAEMON@mx.else.test", "delivery-status", "message/delivery-status",
					"Reporting-MTA: dns; mx.else.test\r\n\r\nFinal-Recipient: rfc822; slow@else.test\r\nAction: "+action+"\r\nStatus: "+status,
					"Content-Type: text/rfc822-headers\r\n\r\n"+strings.TrimSuffix(returned(rp, "slow@else.test"), "A new case.\r\n"))
				out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "", Recipients: []string{rp}}, strings.NewReader(raw))
				h.must(err)
				h.want(out, "ignored", "")
				if _, ok := h.suppressed("slow@else.test"); ok {
					t.Fatalf("Action: %s suppressed the address (%s)", action, out.Reason)
				}
				if n := h.notices(); len(n) != 0 {
					t.Fatalf("answered: %v", n)
				}
			})
		}
	})
}

// I5: every kind of automatic mail the message package recognises is
// ignored: never a case, never a comment, never answered, whoever sends it
// (a registered customer's client sends read receipts and calendar replies).
func TestAutomaticMailIsNeverACase(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		const ourID = "n1@support.test"
		ret := returned("bounce+x@support.test", "ann@acme.test")
		sns := func(msg string) string {
			return "From: no-reply@sns.amazonaws.com\r\nTo: support@support.test\r\nSubject: AWS Notification Message\r\nMessage-ID: <sns1@amazonses.test>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" +
				`{"Type" : "Notification", "MessageId" : "1", "TopicArn" : "arn:aws:sns:eu-west-1:1:ses", "Message" : "` + strings.ReplaceAll(msg, `"`, `\"`) + `"}`
		}
		sesMail := `"mail":{"messageId":"0102","source":"support@support.test","destination":["ann@acme.test"],"commonHeaders":{"messageId":"<` + ourID + `>"}}`
		dsn := func(action, status string) string {
			return report("MAILER-DAEMON@mx.acme.test", "delivery-status", "message/delivery-status",
				"Reporting-MTA: dns; mx.acme.test\r\n\r\nFinal-Recipient: rfc822; ann@acme.test\r\nAction: "+action+"\r\nStatus: "+status,
				"Content-Type: text/rfc822-headers\r\n\r\n"+strings.TrimSuffix(ret, "A new case.\r\n"))
		}
		hdr := func(from, subject string, more ...string) string {
			return "From: " + from + "\r\nTo: support@support.test\r\nSubject: " + subject + "\r\nMessage-ID: <" + subject[:3] + "@x.test>\r\n" + strings.Join(more, "\r\n") + "\r\n\r\n"
		}
		tests := []struct{ name, raw string }{
			{"ARF complaint", report("fbl@isp.test", "feedback-report", "message/feedback-report",
				"Feedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1\r\nOriginal-Rcpt-To: ann@acme.test", "Content-Type: message/rfc822\r\n\r\n"+ret)},
			{"ARF without the MIME type", hdr("feedback@isp.test", "Abuse report") + "This is an email abuse report.\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: x/1\r\nVersion: 1\r\n\r\n" + ret},
			{"Microsoft JMRP", hdr("staff@hotmail.com", "complaint about message from 192.0.2.1", "X-HmXmrOriginalRecipient: <ann@acme.test>", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="r"`) +
				"--r\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report\r\n--r\r\nContent-Type: message/rfc822\r\n\r\n" + ret + "\r\n--r--\r\n"},
			{"SES bounce notification", sns(`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"ann@acme.test"}]},` + sesMail + `}`)},
			{"SES complaint notification", sns(`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"ann@acme.test"}]},` + sesMail + `}`)},
			{"SES delivery notification", sns(`{"notificationType":"Delivery","delivery":{"recipients":["ann@acme.test"]},` + sesMail + `}`)},
			{"Postmark complaint", hdr("support@postmarkapp.test", "Spam complaint") + `{"RecordType":"SpamComplaint","Email":"ann@acme.test","MessageID":"` + ourID + `"}`},
			{"DSN delivered", dsn("delivered", "2.0.0")},
			{"DSN relayed", dsn("relayed", "2.0.0")},
			{"DSN expanded", dsn("expanded", "2.0.0")},
			{"DSN delayed", dsn("delayed", "4.4.7")},
			{"challenge-response", hdr("noreply@screening.test", "Re: [Case #1] Server down") +
				"Your message has been waitlisted. Please click the link below to be added to my Guest List.\r\n"},
			{"read receipt (RFC 8098)", report("ann@acme.test", "disposition-notification", "message/disposition-notification",
				"Reporting-UA: acme.test; Thunderbird\r\nFinal-Recipient: rfc822; ann@acme.test\r\nOriginal-Message-ID: <"+ourID+">\r\nDisposition: manual-action/MDN-sent-manually; displayed")},
			{"calendar reply (iMIP)", hdr("ann@acme.test", "Accepted: Call about case 1", "MIME-Version: 1.0", "Content-Type: text/calendar; charset=utf-8; method=REPLY") +
				"BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@acme.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"},
			{"calendar reply as a part", hdr("ann@acme.test", "Accepted: Call", "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="c"`) +
				"--c\r\nContent-Type: text/plain\r\n\r\nAnn has accepted.\r\n--c\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n--c--\r\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, "")
				out, err := h.gw.Receive(h.ctx, Envelope{Transport: TransportSMTP, MailFrom: "", Recipients: []string{"support@support.test"}}, strings.NewReader(tt.raw))
				h.must(err)
				h.want(out, "ignored", "")
				if out.CaseID != 0 {
					t.Fatalf("automatic mail touched case %d: %s", out.CaseID, out.Reason)
				}
				if n := h.notices(); len(n) != 0 {
					t.Fatalf("automatic mail answered: %v", n)
				}
				if _, ok := h.suppressed("ann@acme.test"); ok {
					t.Fatal("automatic mail without our signed return path suppressed an address")
				}
			})
		}
	})
}
