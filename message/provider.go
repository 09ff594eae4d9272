package message

// Notifications that mail services send as mail with a JSON body: Amazon
// SES through SNS (notificationType / eventType Bounce, Complaint,
// Delivery...), and the event formats of Postmark (RecordType), SendGrid
// and Mailgun (event) when they are relayed by mail. They are reports
// about mail we sent, never a customer's words (I5).

import (
	"encoding/json"
	"strings"
)

// providerEvent reads a provider's JSON notification in the body. It
// returns the bounce or complaint it reports, or automatic true for the
// other events (delivery, send, open...). Both are zero when the body is
// no such notification.
func providerEvent(p *Parsed) (b *Bounce, automatic bool) {
	t := strings.TrimSpace(p.Text)
	if len(t) < 2 || t[0] != '{' || len(t) > 256<<10 {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(t), &m); err != nil {
		return nil, false
	}
	// SNS wraps the SES notification in a JSON string.
	if s, ok := m["Message"].(string); ok && strings.HasPrefix(strings.TrimSpace(s), "{") {
		var inner map[string]any
		if json.Unmarshal([]byte(s), &inner) == nil {
			m = inner
		}
	}
	switch {
	case str(m, "notificationType") != "" || str(m, "eventType") != "":
		return sesEvent(m)
	case str(m, "RecordType") != "" && (str(m, "Email") != "" || str(m, "Recipient") != ""):
		return postmarkEvent(m)
	case str(m, "event") != "" && (str(m, "email") != "" || str(m, "recipient") != ""):
		return webhookEvent(m)
	case obj(m, "event-data") != nil:
		return webhookEvent(obj(m, "event-data"))
	}
	return nil, false
}

// sesEvent reads an Amazon SES notification (bounceType Permanent is a
// failure, Transient and Undetermined are not).
func sesEvent(m map[string]any) (*Bounce, bool) {
	kind := str(m, "notificationType")
	if kind == "" {
		kind = str(m, "eventType")
	}
	mail := obj(m, "mail")
	if mail == nil {
		return nil, false // no SES notification without its mail object
	}
	b := &Bounce{Recipients: []string{}, OriginalMessageID: sesMessageID(mail), OriginalMailFrom: dsnAddress(str(mail, "source"))}
	switch strings.ToLower(kind) {
	case "bounce":
		bo := obj(m, "bounce")
		b.Permanent = strings.EqualFold(str(bo, "bounceType"), "Permanent")
		for _, r := range list(bo, "bouncedRecipients") {
			if r, ok := r.(map[string]any); ok {
				b.Recipients = appendAddr(b.Recipients, dsnAddress(str(r, "emailAddress")))
				if b.Status == "" {
					b.Status = str(r, "status")
				}
			}
		}
	case "complaint":
		c := obj(m, "complaint")
		b.Permanent, b.Complaint = true, true
		b.FeedbackType = str(c, "complaintFeedbackType")
		if b.FeedbackType == "" {
			b.FeedbackType = "abuse"
		}
		for _, r := range list(c, "complainedRecipients") {
			if r, ok := r.(map[string]any); ok {
				b.Recipients = appendAddr(b.Recipients, dsnAddress(str(r, "emailAddress")))
			}
		}
	case "deliverydelay":
		for _, r := range list(obj(m, "deliveryDelay"), "delayedRecipients") {
			if r, ok := r.(map[string]any); ok {
				b.Recipients = appendAddr(b.Recipients, dsnAddress(str(r, "emailAddress")))
			}
		}
	default:
		return nil, true // delivery, send, open, click, reject...
	}
	b.Recipients = dropEmpty(b.Recipients)
	return b, true
}

// sesMessageID is the Message-ID our mail carried (SES's own messageId is
// not ours).
func sesMessageID(mail map[string]any) string {
	if id := msgIDs(str(obj(mail, "commonHeaders"), "messageId")); len(id) > 0 {
		return id[0]
	}
	for _, h := range list(mail, "headers") {
		if h, ok := h.(map[string]any); ok && strings.EqualFold(str(h, "name"), "Message-ID") {
			if id := msgIDs(str(h, "value")); len(id) > 0 {
				return id[0]
			}
		}
	}
	return ""
}

// postmarkEvent reads Postmark's Bounce / SpamComplaint / Delivery record.
func postmarkEvent(m map[string]any) (*Bounce, bool) {
	addr := str(m, "Email")
	if addr == "" {
		addr = str(m, "Recipient")
	}
	b := &Bounce{Recipients: dropEmpty([]string{dsnAddress(addr)}), OriginalMessageID: strings.Trim(str(m, "MessageID"), "<>")}
	switch strings.ToLower(str(m, "RecordType")) {
	case "bounce":
		// Postmark's soft types name a delay or a transient failure.
		t := strings.ToLower(str(m, "Type"))
		b.Permanent = !strings.Contains(t, "soft") && !strings.Contains(t, "transient") && !strings.Contains(t, "delay")
	case "spamcomplaint":
		b.Permanent, b.Complaint, b.FeedbackType = true, true, "abuse"
	default:
		return nil, true
	}
	return b, true
}

// webhookEvent reads SendGrid's (event bounce/dropped/spamreport) and
// Mailgun's (event failed with severity, complained) event objects.
func webhookEvent(m map[string]any) (*Bounce, bool) {
	addr := str(m, "email")
	if addr == "" {
		addr = str(m, "recipient")
	}
	b := &Bounce{Recipients: dropEmpty([]string{dsnAddress(addr)})}
	if id := msgIDs(str(m, "smtp-id")); len(id) > 0 {
		b.OriginalMessageID = id[0]
	} else if h := obj(obj(m, "message"), "headers"); h != nil {
		b.OriginalMessageID = strings.Trim(str(h, "message-id"), "<>")
	}
	switch strings.ToLower(str(m, "event")) {
	case "bounce", "dropped":
		b.Permanent = !strings.EqualFold(str(m, "type"), "blocked")
	case "failed":
		b.Permanent = strings.EqualFold(str(m, "severity"), "permanent")
	case "spamreport", "complained":
		b.Permanent, b.Complaint, b.FeedbackType = true, true, "abuse"
	case "deferred":
		b.Permanent = false
	default:
		return nil, true
	}
	return b, true
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	return l
}

func dropEmpty(l []string) []string {
	out := l[:0]
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	if out == nil {
		return []string{}
	}
	return out
}
