package ingest

import (
	"cmp"
	"slices"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/message"
)

// Feedback-loop complaints (RFC 5965 ARF, and providers' own formats that
// the message package reads as a Bounce with Complaint set): a recipient
// marked one of our notifications as spam. They arrive at the address the
// provider's feedback loop is registered for, not at the notification's
// return path, so the notification is found from the envelope sender of
// the complained-about mail (ARF Original-Mail-From, else the returned
// mail's Return-Path): our signed bounce+TOKEN-MAC address. Only the
// person who got that notification saw it, so a forged complaint cannot
// silence anyone else.

// complaintTokens returns the outbox token of b's original envelope sender
// when b is a complaint about a notification of ours (its MAC checked).
func (g *Gateway) complaintTokens(b *message.Bounce) []string {
	if b == nil || !b.Complaint || b.OriginalMailFrom == "" {
		return nil
	}
	kind, detail := address.Parse(b.OriginalMailFrom, g.local, g.cfg.Outbound.ReplyDomain)
	if kind != address.Bounce {
		return nil
	}
	if tok, ok := g.signer.CheckReturnPath(detail); ok {
		return []string{tok}
	}
	return nil
}

// complaint suppresses the recipient of notification it (reason
// "complaint"): no notification of any case goes to that address until an
// administrator lifts it. Providers often redact the complaining address;
// the signed return path names the notification, and so its recipient,
// alone. A complaint that names someone else suppresses nobody.
func (g *Gateway) complaint(d *Decision, b *message.Bounce, it casebook.OutboxItem) Decision {
	if len(b.Recipients) > 0 && !slices.ContainsFunc(b.Recipients, func(r string) bool { return strings.EqualFold(strings.TrimSpace(r), it.To) }) {
		return d.set(casebook.ActIgnore, reason(RComplaintOther, it.ID, strings.Join(b.Recipients, ", "), it.To))
	}
	d.suppress, d.suppressAs = append(d.suppress, it.To), casebook.SuppressedComplaint
	return d.set(casebook.ActIgnore, reason(RComplaint, cmp.Or(b.FeedbackType, "abuse"), it.ID, it.To))
}
