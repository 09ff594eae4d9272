package message

import "strings"

// Bounce is what a non-delivery report says about the mail it returns.
type Bounce struct {
	// Permanent is true for a failure (RFC 3464 Action: failed, RFC 3463
	// status 5.x.x) and false for a delay warning (Action: delayed, 4.x.x).
	Permanent  bool     `json:"permanent"`
	Recipients []string `json:"recipients"`
	// OriginalMessageID is the Message-ID (without <>) of the mail that
	// bounced, from the returned message or headers, "" if not returned.
	// casemail matches it against the notifications it sent.
	OriginalMessageID string `json:"original_message_id,omitempty"`
	// Status is the RFC 3463 status code of the first failed recipient
	// ("5.1.1"), "" when the report gives none.
	Status string `json:"status,omitempty"`
	// Complaint is true for a feedback-loop report (RFC 5965 ARF, a
	// provider's complaint notification): Recipients marked our mail as
	// spam. A complaint is always Permanent: the address gets no more mail.
	Complaint bool `json:"complaint,omitempty"`
	// FeedbackType is the ARF Feedback-Type of a complaint ("abuse",
	// "fraud"...), "" for a delivery report.
	FeedbackType string `json:"feedback_type,omitempty"`
	// OriginalMailFrom is the envelope sender of the mail complained
	// about (ARF Original-Mail-From, else the returned mail's
	// Return-Path), "" when not given: casemail's bounce+TOKEN address,
	// which finds the notification as a bounce's recipient does.
	// Complaints arrive at the feedback address, not at that one.
	OriginalMailFrom string `json:"original_mail_from,omitempty"`
}

// Suppress reports whether the recipients should get no more mail: a
// permanent failure or a complaint. A delay (Action: delayed, 4.x.x, a
// provider's transient bounce) never suppresses.
func (b *Bounce) Suppress() bool { return b != nil && (b.Permanent || b.Complaint) }

// Reason is why the recipients are suppressed, for the suppression record:
// "complaint" or "hard bounce"; "" when Suppress is false.
func (b *Bounce) Reason() string {
	switch {
	case !b.Suppress():
		return ""
	case b.Complaint:
		return "complaint"
	default:
		return "hard bounce"
	}
}

// detectBounce returns the bounce report in p, nil when p is no bounce.
// RFC 3464 DSNs are read field by field; the older and proprietary formats
// (Exim, qmail, old Postfix, Exchange, GroupWise, AOL, Yahoo...) are
// recognised by their sender, subject or wording and their recipients read
// from the diagnostic text.
func detectBounce(d *diag, nullSender bool) *Bounce {
	p := d.p
	if b, ok := dsnFromFields(d, d.status()); ok {
		return b
	}
	if v := p.HeaderValues("X-Failed-Recipients"); len(v) > 0 {
		// Exim's header (also sent by Gmail and others) lists the failures.
		b := &Bounce{Permanent: !isWarning(p, d.text())}
		for _, l := range v {
			for _, a := range addrSpec.FindAllString(l, -1) {
				b.Recipients = appendAddr(b.Recipients, a)
			}
		}
		if len(b.Recipients) == 0 {
			b.Recipients = heuristicRecipients(p, d.text())
		}
		b.OriginalMessageID = originalMessageID(p, d.text())
		return b
	}
	if !looksLikeBounce(d, nullSender) {
		return nil
	}
	// A filter or gateway sometimes wraps the whole DSN in a
	// message/rfc822 part of its own notice; read the wrapped report.
	if st, rest := nestedDeliveryStatus(p); st != nil {
		if b, ok := dsnFromFields(d, st); ok {
			// The first Message-ID of the wrapper part is the wrapped
			// report's own; the returned mail follows the report.
			if id := messageIDIn(rest); id != "" {
				b.OriginalMessageID = id
			}
			return b
		}
	}
	b := &Bounce{Permanent: !isWarning(p, d.text()), Recipients: heuristicRecipients(p, d.text())}
	if b.Recipients == nil {
		b.Recipients = []string{}
	}
	b.OriginalMessageID = originalMessageID(p, d.text())
	return b
}

// diag computes a bounce's diagnostic text once, when first needed: the
// rules below read it several times, and most mail never needs it.
type diag struct {
	p    *Parsed
	t    string
	done bool
	// st is the delivery-status part, read once (stDone).
	st     *dsnFields
	stDone bool
}

// status is deliveryStatus(d.p), read once.
func (d *diag) status() *dsnFields {
	if !d.stDone {
		d.st, d.stDone = deliveryStatus(d.p), true
	}
	return d.st
}

func (d *diag) text() string {
	if !d.done {
		d.t, d.done = diagnosticText(d.p), true
	}
	return d.t
}

func appendAddr(list []string, a string) []string {
	a = strings.Trim(a, ".<>")
	for _, x := range list {
		if strings.EqualFold(x, a) {
			return list
		}
	}
	return append(list, a)
}
