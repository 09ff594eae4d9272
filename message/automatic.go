package message

// Automatic mail that is neither a bounce nor an RFC 3834 auto-reply but
// is written by a machine all the same: challenge-response requests
// (Boxbe, Bluebottle, SpamArrest and the like: "click to be added to my
// allowed list"), read receipts (RFC 8098 message disposition
// notifications) and calendar replies (RFC 6047 iMIP METHOD:REPLY, sent
// when an invitee clicks Accept). Answering any of them starts a loop or
// opens a case nobody wrote (I5).

import (
	"regexp"
	"strings"
)

// challengeHeaders names the headers challenge-response systems add.
var challengeHeaders = []string{"X-Bluebottle-Request", "X-Boxbe-Notice", "X-Spamarrest-Challenge", "X-Choicemail-Registration", "X-Sendio-Challenge"}

// challengeText is what a challenge asks of the sender: approve itself,
// be added to a list, prove it is a person. Customers may write such words
// too, so it counts only in mail that also bears a machine's sign. It is
// matched on lower-cased text, after challengeWords found one of its words.
var challengeText = regexp.MustCompile(`sender (?:is )?not pre-?approved|requires? (?:your )?confirmation|` +
	`(?:guest|allowed|approved|safe|accepted)[- ]senders?[- ]list|(?:guest|allowed|approved) list|waitlisted|` +
	`verify (?:that )?you are (?:a )?(?:real )?(?:person|human)|(?:complete|finish) (?:the|this) (?:sender )?verification|` +
	`challenge[- ]response|have your (?:e-?mail )?address added|to be added to (?:my|the|our)|prove (?:that )?you are (?:a )?(?:person|human)`)

// challengeWords are the literal words of challengeText, one of which
// every match contains: a cheap test before the expression (bounces run
// this on every diagnostic text).
var challengeWords = []string{"approved", "confirmation", "list", "verif", "challenge", "added", "prove"}

// noReplyLocal matches the local parts of addresses nobody reads.
var noReplyLocal = regexp.MustCompile(`(?i)^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|notifications?|auto(?:mated)?[-_.]?(?:mail|responder|reply)?)$`)

// challenge reports a challenge-response request.
func challenge(d *diag, nullSender bool) bool {
	p := d.p
	for _, h := range challengeHeaders {
		if p.Header(h) != "" {
			return true
		}
	}
	local := p.From
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	auto := headerToken(p.Header("Auto-Submitted"))
	machine := nullSender || p.From == "" || noReplyLocal.MatchString(local) || daemonFrom.MatchString(local) ||
		(auto != "" && auto != "no") || d.status() != nil
	if !machine {
		return false
	}
	// The challenge, not the returned mail (a list digest may say
	// anything).
	t := strings.ToLower(d.text()[:min(len(d.text()), 16<<10)])
	for _, w := range challengeWords {
		if strings.Contains(t, w) {
			return challengeText.MatchString(t)
		}
	}
	return false
}

// readReceipt reports an RFC 8098 message disposition notification.
func readReceipt(p *Parsed) bool {
	if reportType(p) == "disposition-notification" {
		return true
	}
	for _, a := range p.Attachments {
		if strings.EqualFold(a.ContentType, "message/disposition-notification") {
			return true
		}
	}
	return false
}

// reportType is the report-type parameter of a multipart/report mail
// (RFC 6522), lower-cased, "" for other mail.
func reportType(p *Parsed) string {
	ct := p.Header("Content-Type")
	if !containsFold(ct, "report") {
		return "" // most mail: no media type to parse
	}
	mt, params, _, err := parseMediaType(ct)
	if err != nil || mt != "multipart/report" {
		return ""
	}
	return strings.ToLower(params["report-type"])
}

// calendarReply reports an iMIP reply (RFC 6047 2.3, RFC 5546 3.2.3):
// the attendee's calendar answered an invitation.
func calendarReply(p *Parsed) bool {
	if ct := p.Header("Content-Type"); containsFold(ct, "calendar") {
		if mt, params, _, err := parseMediaType(ct); err == nil && mt == "text/calendar" && strings.EqualFold(params["method"], "reply") {
			return true
		}
	}
	for _, a := range p.Attachments {
		if !strings.HasPrefix(strings.ToLower(a.ContentType), "text/calendar") && !strings.HasSuffix(strings.ToLower(a.Filename), ".ics") {
			continue
		}
		if icalMethod(string(a.Content[:min(len(a.Content), 8<<10)])) == "REPLY" {
			return true
		}
	}
	// A mail that is only a calendar object is read as its text.
	if strings.HasPrefix(strings.TrimSpace(p.Text), "BEGIN:VCALENDAR") {
		return icalMethod(p.Text[:min(len(p.Text), 8<<10)]) == "REPLY"
	}
	return false
}

// icalMethod returns the METHOD property of an iCalendar object (RFC 5545
// 3.7.2), upper-cased.
func icalMethod(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if len(l) > 7 && strings.EqualFold(l[:7], "METHOD:") {
			return strings.ToUpper(strings.TrimSpace(l[7:]))
		}
	}
	return ""
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// in any case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
