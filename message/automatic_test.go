package message

import (
	"slices"
	"strings"
	"testing"
)

// TestAutomaticMail: every kind of automatic mail is never a case and never
// answered (I5): complaints and provider notifications are read as
// bounces that name the address and our original Message-ID (ingest
// suppresses it with reason "complaint"); success DSNs, read receipts,
// calendar replies and challenge-response requests are automatic; delays
// never suppress. Human mail with the same words stays normal.
func TestAutomaticMail(t *testing.T) {
	const ourID = "n42.abc@casemail.test"
	returned := "Return-Path: <bounce+tok42@casemail.test>\r\nFrom: support@casemail.test\r\nTo: client@example.org\r\nSubject: [#42] Votre demande\r\nMessage-ID: <" + ourID + ">\r\n\r\nBonjour\r\n"
	report := func(reportType, ctype, fields string, rest ...string) string {
		s := hdrs("From: fbl@mx.example.net", "To: bounce+tok@casemail.test", "Subject: report", "MIME-Version: 1.0",
			`Content-Type: multipart/report; report-type=`+reportType+`; boundary="r"`, "") +
			"--r\r\nContent-Type: text/plain\r\n\r\nThis is a report.\r\n" +
			"--r\r\nContent-Type: " + ctype + "\r\n\r\n" + fields + "\r\n"
		for _, x := range rest {
			s += "--r\r\n" + x + "\r\n"
		}
		return s + "--r--\r\n"
	}
	rfc822 := "Content-Type: message/rfc822\r\n\r\n" + returned
	headersOnly := "Content-Type: text/rfc822-headers\r\n\r\n" + returned[:strings.Index(returned, "\r\n\r\n")+2]
	sns := func(msg string) string {
		return hdrs("From: no-reply@sns.amazonaws.com", "To: ses@casemail.test", "Subject: AWS Notification Message", "Content-Type: text/plain; charset=UTF-8", "") +
			`{"Type" : "Notification", "MessageId" : "1", "TopicArn" : "arn:aws:sns:eu-west-1:1:ses", "Message" : "` +
			strings.ReplaceAll(msg, `"`, `\"`) + `"}`
	}
	sesMail := `"mail":{"messageId":"0102-ses-id","source":"support@casemail.test","destination":["client@example.org"],"commonHeaders":{"messageId":"<` + ourID + `>"}}`
	dsn := func(action, status string) string {
		return report("delivery-status", "message/delivery-status",
			"Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; client@example.org\r\nAction: "+action+"\r\nStatus: "+status, headersOnly)
	}
	cases := []struct {
		name       string
		raw        string
		kind       Kind
		complaint  bool
		suppress   bool
		recipients []string // nil: not checked
		originalID string
		mailFrom   string // the original's envelope sender, complaints only
	}{
		{name: "ARF complaint", raw: report("feedback-report", "message/feedback-report",
			"Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <bounce+tok@casemail.test>\r\nOriginal-Rcpt-To: <client@example.org>", rfc822),
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID, mailFrom: "bounce+tok@casemail.test"},
		{name: "ARF complaint, recipient redacted", raw: report("feedback-report", "message/feedback-report",
			"Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 0.1", headersOnly),
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "ARF fields without the MIME type", raw: hdrs("From: feedback@isp.example.net", "To: abuse@casemail.test", "Subject: Abuse report", "") +
			"This is an email abuse report.\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\nOriginal-Rcpt-To: client@example.org\r\n\r\n" + returned,
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID, mailFrom: "bounce+tok42@casemail.test"},
		{name: "Microsoft JMRP", raw: hdrs("From: staff@hotmail.com", "To: fbl@casemail.test", "Subject: complaint about message from 192.0.2.1",
			"X-HmXmrOriginalRecipient: <client@example.org>", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="r"`, "") +
			"--r\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report\r\n--r\r\n" + rfc822 + "\r\n--r--\r\n",
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "SES permanent bounce", raw: sns(`{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"client@example.org","status":"5.1.1"}]},` + sesMail + `}`),
			kind: KindBounce, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "SES transient bounce", raw: sns(`{"notificationType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"client@example.org"}]},` + sesMail + `}`),
			kind: KindBounce, suppress: false, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "SES complaint", raw: sns(`{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"client@example.org"}],"complaintFeedbackType":"abuse"},` + sesMail + `}`),
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "SES delivery", raw: sns(`{"notificationType":"Delivery","delivery":{"recipients":["client@example.org"]},` + sesMail + `}`), kind: KindAutoReply},
		{name: "Postmark spam complaint", raw: hdrs("From: support@postmarkapp.example", "Subject: Spam complaint", "") +
			`{"RecordType":"SpamComplaint","Email":"client@example.org","MessageID":"` + ourID + `"}`,
			kind: KindBounce, complaint: true, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "DSN delivered", raw: dsn("delivered", "2.0.0"), kind: KindAutoReply},
		{name: "DSN relayed", raw: dsn("relayed", "2.0.0"), kind: KindAutoReply},
		{name: "DSN expanded", raw: dsn("expanded", "2.0.0"), kind: KindAutoReply},
		{name: "DSN delayed", raw: dsn("delayed", "4.4.7"), kind: KindBounce, suppress: false, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "DSN failed", raw: dsn("failed", "5.1.1"), kind: KindBounce, suppress: true, recipients: []string{"client@example.org"}, originalID: ourID},
		{name: "read receipt (RFC 8098)", raw: report("disposition-notification", "message/disposition-notification",
			"Reporting-UA: client.example.org; Thunderbird\r\nFinal-Recipient: rfc822; client@example.org\r\nOriginal-Message-ID: <"+ourID+">\r\nDisposition: manual-action/MDN-sent-manually; displayed"),
			kind: KindAutoReply},
		{name: "calendar reply (iMIP)", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: Accepted: Call about case 42", "MIME-Version: 1.0",
			`Content-Type: text/calendar; charset=utf-8; method=REPLY`, "") + "BEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:client@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			kind: KindAutoReply},
		{name: "calendar reply as a part", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: Accepted: Call", "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="c"`, "") +
			"--c\r\nContent-Type: text/plain\r\n\r\nclient has accepted.\r\n--c\r\nContent-Type: text/calendar; method=REPLY\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n--c--\r\n",
			kind: KindAutoReply},
		{name: "calendar invitation from a customer", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: Call about my problem?", "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="c"`, "") +
			"--c\r\nContent-Type: text/plain\r\n\r\nCan we talk tomorrow?\r\n--c\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n--c--\r\n",
			kind: KindNormal},
		{name: "challenge-response", raw: hdrs("From: noreply@screening.example", "To: support@casemail.test", "Subject: Re: [#42] Votre demande", "") +
			"Your message has been waitlisted. Please click the link below to be added to my Guest List.\r\n",
			kind: KindAutoReply},
		{name: "customer asking to be allow-listed", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: spam filter", "") +
			"Your notifications land in spam. How do I get your address on our approved senders list? It requires confirmation from IT.\r\n",
			kind: KindNormal},
		{name: "customer forwarding an abuse report", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: Fwd: Abuse report", "") +
			"What is this?\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: ISP-FBL/1.0\r\nVersion: 1\r\n",
			kind: KindNormal},
		{name: "customer pasting JSON", raw: hdrs("From: client@example.org", "To: support@casemail.test", "Subject: API error", "") +
			`{"error":"bounce","email":"me@example.org","detail":"why?"}`,
			kind: KindNormal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse([]byte(c.raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != c.kind {
				t.Fatalf("kind %q, want %q (text %.80q)", p.Kind, c.kind, p.Text)
			}
			b := p.Bounce
			if c.kind != KindBounce {
				return
			}
			if b.Complaint != c.complaint || b.Suppress() != c.suppress {
				t.Errorf("complaint %v suppress %v, want %v %v", b.Complaint, b.Suppress(), c.complaint, c.suppress)
			}
			if c.complaint && b.Reason() != "complaint" {
				t.Errorf("reason %q, want complaint", b.Reason())
			}
			if c.recipients != nil && !slices.Equal(b.Recipients, c.recipients) {
				t.Errorf("recipients %q, want %q", b.Recipients, c.recipients)
			}
			if c.mailFrom != "" && b.OriginalMailFrom != c.mailFrom {
				t.Errorf("original mail from %q, want %q", b.OriginalMailFrom, c.mailFrom)
			}
			if b.OriginalMessageID != c.originalID {
				t.Errorf("original message id %q, want %q", b.OriginalMessageID, c.originalID)
			}
		})
	}
}
