package message

// Feedback-loop complaints (RFC 5965 Abuse Reporting Format): a mailbox
// provider tells the sender that a recipient marked its mail as spam.
// casemail reads them like bounces, so that ingest finds the notification
// complained about (by the original Message-ID or the bounce token) and
// suppresses the address: a complaint is never a case, never answered
// (I5), and always suppresses.

import (
	"bufio"
	"bytes"
	"net/textproto"
	"regexp"
	"strings"
)

// detectComplaint returns the complaint in p, nil when p is none. It reads
// an RFC 5965 message/feedback-report part; the same fields written into a
// text part or the body (providers that send ARF without the MIME type);
// or Microsoft's JMRP header X-HmXmrOriginalRecipient.
func detectComplaint(p *Parsed) *Bounce {
	var fields textproto.MIMEHeader
	for _, a := range p.Attachments {
		if strings.EqualFold(a.ContentType, "message/feedback-report") && a.Content != nil {
			fields = readFields(a.Content)
			if fields == nil {
				fields = textproto.MIMEHeader{}
			}
			break
		}
	}
	if fields == nil && !replyPrefix.MatchString(p.Subject) {
		// Inline fields count unless a person forwards a report ("Fwd:").
		fields = inlineFeedback(p)
	}
	jmrp := p.Header("X-Hmxmroriginalrecipient")
	if fields == nil && jmrp == "" {
		return nil
	}
	b := &Bounce{Permanent: true, Complaint: true, Recipients: []string{}}
	b.FeedbackType = strings.ToLower(strings.TrimSpace(fields.Get("Feedback-Type")))
	if b.FeedbackType == "" {
		b.FeedbackType = "abuse"
	}
	// Original-Rcpt-To is the complaining address (RFC 5965 3.2); many
	// providers redact it, and then the returned mail's To says who got it.
	for _, v := range append(fields.Values("Original-Rcpt-To"), jmrp) {
		if a := dsnAddress(v); a != "" {
			b.Recipients = appendAddr(b.Recipients, a)
		}
	}
	if len(b.Recipients) == 0 {
		for _, a := range returnedRecipients(p) {
			b.Recipients = appendAddr(b.Recipients, a)
		}
	}
	b.OriginalMessageID = originalMessageID(p, "")
	b.OriginalMailFrom = dsnAddress(fields.Get("Original-Mail-From"))
	if b.OriginalMailFrom == "" {
		b.OriginalMailFrom = returnedField(p, "return-path")
	}
	return b
}

// returnedField is the address in a header field of the mail a report
// returns (a message/rfc822 or text/rfc822-headers part, else the text
// after the report's own fields), "" when absent.
func returnedField(p *Parsed, name string) string {
	var found string
	look := func(b []byte) {
		eachField(b, name, func(v []byte, _ int) bool {
			found = dsnAddress(string(v))
			return found == ""
		})
	}
	for _, a := range p.Attachments {
		ct := strings.ToLower(a.ContentType)
		if found == "" && (ct == "message/rfc822" || ct == "text/rfc822-headers" || ct == "message/global" || ct == "message/global-headers") {
			look(a.Content[:headerEnd(a.Content)])
		}
	}
	if found == "" {
		look([]byte(p.Text[:min(len(p.Text), 64<<10)]))
	}
	return found
}

// readFields parses a block of header-like fields; nil when there is none.
func readFields(content []byte) textproto.MIMEHeader {
	for _, g := range splitGroups(content) {
		r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(g, '\r', '\n'))))
		if h, _ := r.ReadMIMEHeader(); len(h) > 0 {
			return h
		}
	}
	return nil
}

// arfInline finds the ARF fields where a provider wrote them as text: a
// Feedback-Type line together with another RFC 5965 field.
var arfInline = regexp.MustCompile(`(?im)^feedback-type:[ \t]*[a-z-]+[ \t]*\r?$`)

var arfOther = regexp.MustCompile(`(?im)^(?:user-agent|version|original-rcpt-to|original-mail-from|arrival-date|reported-domain|source-ip):`)

// inlineFeedback reads ARF fields from the body or a text attachment,
// nil when there are none.
func inlineFeedback(p *Parsed) textproto.MIMEHeader {
	for i := -1; i < len(p.Attachments); i++ {
		t := p.Text
		if i >= 0 {
			a := p.Attachments[i]
			if !strings.HasPrefix(strings.ToLower(a.ContentType), "text/plain") || a.Content == nil || len(a.Content) >= 64<<10 {
				continue
			}
			t = string(a.Content)
		}
		t = t[:min(len(t), 64<<10)]
		if !strings.Contains(t, "eedback-Type") && !strings.Contains(t, "eedback-type") && !strings.Contains(t, "EEDBACK-TYPE") {
			continue
		}
		loc := arfInline.FindStringIndex(t)
		if loc == nil {
			continue
		}
		// The field block around the Feedback-Type line.
		start := strings.LastIndex(t[:loc[0]], "\n\n")
		if j := strings.LastIndex(t[:loc[0]], "\n\r\n"); j > start {
			start = j
		}
		block := t[max(start, 0):]
		if !arfOther.MatchString(block[:min(len(block), 4096)]) {
			continue
		}
		if h := readFields([]byte(strings.TrimLeft(block, "\r\n"))); h != nil && h.Get("Feedback-Type") != "" {
			return h
		}
	}
	return nil
}

// returnedRecipients lists the To addresses of the mail a report returns
// (a message/rfc822 or text/rfc822-headers part).
func returnedRecipients(p *Parsed) []string {
	var out []string
	for _, a := range p.Attachments {
		ct := strings.ToLower(a.ContentType)
		if ct != "message/rfc822" && ct != "text/rfc822-headers" && ct != "message/global" && ct != "message/global-headers" {
			continue
		}
		h := a.Content[:headerEnd(a.Content)]
		eachField(h, "to", func(v []byte, _ int) bool {
			for _, m := range addrSpec.FindAll(v, -1) {
				out = appendAddr(out, string(m))
			}
			return false
		})
		if len(out) > 0 {
			return out
		}
	}
	return out
}
