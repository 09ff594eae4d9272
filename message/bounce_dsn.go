package message

import (
	"bufio"
	"bytes"
	"net/textproto"
	"slices"
	"strings"
)

// RFC 3464 delivery status notifications: the message/delivery-status
// part, read field by field, also when a filter wraps the whole report.

// dsnFromFields reads the fields of an RFC 3464 message/delivery-status
// part. ok is false when there is none or it reports no failed or delayed
// recipient.
func dsnFromFields(d *diag, st *dsnFields) (*Bounce, bool) {
	p := d.p
	if st == nil {
		return nil, false
	}
	if len(st.recipients) == 0 {
		// A report without per-recipient fields is malformed but still a
		// bounce; read its text like a non-standard one.
		b := &Bounce{Permanent: !isWarning(p, d.text()), Recipients: heuristicRecipients(p, d.text()), OriginalMessageID: originalMessageID(p, d.text())}
		if b.Recipients == nil {
			b.Recipients = []string{}
		}
		return b, true
	}
	b := &Bounce{Recipients: []string{}}
	delayedOnly := true
	for _, r := range st.recipients {
		action := headerToken(r.Get("Action"))
		if action == "failure" {
			action = "failed"
		}
		status := strings.TrimSpace(r.Get("Status"))
		if i := strings.IndexAny(status, " \t("); i >= 0 {
			status = status[:i]
		}
		failed := action == "failed" || (action == "" && strings.HasPrefix(status, "5"))
		delayed := action == "delayed" || (action == "" && strings.HasPrefix(status, "4"))
		if !failed && !delayed {
			continue // delivered, relayed, expanded: RFC 3464 2.3.3
		}
		if failed {
			delayedOnly = false
		}
		// Original-Recipient is the address as we sent it (RFC 3464
		// 2.3.1); Final-Recipient may be a rewritten internal one.
		// Each group is one recipient: when two groups name the same
		// Original-Recipient (seen in the wild), Final-Recipient tells them
		// apart.
		addr := dsnAddress(r.Get("Original-Recipient"))
		if addr == "" || slices.ContainsFunc(b.Recipients, func(x string) bool { return strings.EqualFold(x, addr) }) {
			addr = dsnAddress(r.Get("Final-Recipient"))
		}
		if addr != "" {
			b.Recipients = appendAddr(b.Recipients, addr)
		}
		if status != "" && (b.Status == "" || failed && !strings.HasPrefix(b.Status, "5")) {
			b.Status = status // the first failure's, else the first delay's
		}
	}
	if len(b.Recipients) == 0 && delayedOnly {
		return nil, false
	}
	if len(b.Recipients) == 0 {
		b.Recipients = heuristicRecipients(p, d.text())
		if b.Recipients == nil {
			b.Recipients = []string{}
		}
	}
	b.Permanent = !delayedOnly
	b.OriginalMessageID = originalMessageID(p, d.text())
	return b, true
}

// successDSN reports a DSN that announces only successful delivery: no
// bounce, but machine-generated, never answered (I5).
func successDSN(d *diag) bool {
	st := d.status()
	return st != nil && len(st.recipients) > 0
}

type dsnFields struct {
	message    textproto.MIMEHeader
	recipients []textproto.MIMEHeader
}

// deliveryStatus finds and parses the first message/delivery-status part
// (RFC 3464 2.1: per-message fields, then blank-line separated
// per-recipient groups).
func deliveryStatus(p *Parsed) *dsnFields {
	for _, a := range p.Attachments {
		ct := strings.ToLower(a.ContentType)
		if ct != "message/delivery-status" && ct != "message/global-delivery-status" {
			continue
		}
		if st := parseDeliveryStatus(a.Content); st != nil {
			return st
		}
	}
	return nil
}

// parseDeliveryStatus reads the body of a message/delivery-status part, nil
// when it holds no field group.
func parseDeliveryStatus(content []byte) *dsnFields {
	if content == nil {
		return nil
	}
	var groups []textproto.MIMEHeader
	for _, g := range splitGroups(content) {
		r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(g, '\r', '\n', '\r', '\n'))))
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 {
			groups = append(groups, h)
		} else if err != nil {
			continue
		}
	}
	if len(groups) == 0 {
		return nil
	}
	st := &dsnFields{}
	for _, g := range groups {
		if g.Get("Final-Recipient") != "" || g.Get("Original-Recipient") != "" || g.Get("Action") != "" {
			st.recipients = append(st.recipients, g)
		} else if st.message == nil {
			st.message = g
		}
	}
	return st
}

// nestedDeliveryStatus finds a delivery-status part inside a message/rfc822
// attachment (a DSN forwarded whole by a filter). The part is located in
// the raw text, not parsed again with Parse, so that a mail nesting
// messages cannot make classification recurse. Only the first wrapped
// report that names recipients counts; rest is what follows it (the
// returned mail, when the report carries it).
func nestedDeliveryStatus(p *Parsed) (st *dsnFields, rest []byte) {
	for _, a := range p.Attachments {
		if !strings.EqualFold(a.ContentType, "message/rfc822") || a.Content == nil {
			continue
		}
		c := a.Content
		at := -1
		eachField(c, "content-type", func(v []byte, end int) bool {
			v = bytes.ToLower(v)
			if bytes.HasPrefix(v, []byte("message/delivery-status")) || bytes.HasPrefix(v, []byte("message/global-delivery-status")) {
				at = end
				return false
			}
			return true
		})
		if at <= 0 {
			continue
		}
		c = c[at-1:] // from the newline ending the field: the blank line may follow
		// The part body starts after the blank line ending its header
		// (RFC 2045) and ends at the next boundary line.
		i := bytes.Index(c, []byte("\n\n"))
		if j := bytes.Index(c, []byte("\n\r\n")); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			continue
		}
		c, rest = c[i+1:], nil
		if j := bytes.Index(c, []byte("\n--")); j >= 0 {
			c, rest = c[:j], c[j:]
		}
		if st := parseDeliveryStatus(c); st != nil && len(st.recipients) > 0 {
			return st, rest
		}
	}
	return nil, nil
}

// splitGroups splits on blank lines, tolerating CRLF and lines holding only
// white space.
func splitGroups(b []byte) [][]byte {
	var out [][]byte
	var cur []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimRight(l, "\r")
		if len(bytes.TrimSpace(l)) == 0 {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(append(cur, l...), '\r', '\n')
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// dsnAddress reads "rfc822; user@host" (RFC 3464 2.3.2).
func dsnAddress(v string) string {
	v = strings.TrimSpace(v)
	// The address type (rfc822, x400, unknown) is cut; any type that
	// holds an addr-spec is read.
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = strings.TrimSpace(v[i+1:])
	}
	v = strings.Trim(v, "<> \t")
	if m := addrSpec.FindString(v); m != "" {
		return m
	}
	// An address whose domain is no host name ("user@#example.net", a
	// typing error the MTA reports): the report still names it as sent.
	if strings.Count(v, "@") == 1 && !strings.ContainsAny(v, " \t<>,;\"") && !strings.HasPrefix(v, "@") && !strings.HasSuffix(v, "@") {
		return v
	}
	return ""
}
