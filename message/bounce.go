package message

import (
	"bufio"
	"bytes"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

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
}

// detectBounce returns the bounce report in p, nil when p is no bounce.
// RFC 3464 DSNs are read field by field; the older and proprietary formats
// (Exim, qmail, old Postfix, Exchange, GroupWise, AOL, Yahoo...) are
// recognised by their sender, subject or wording and their recipients read
// from the diagnostic text.
func detectBounce(p *Parsed, nullSender bool) *Bounce {
	d := &diag{p: p}
	if b, ok := dsnFromFields(d, deliveryStatus(p)); ok {
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
}

func (d *diag) text() string {
	if !d.done {
		d.t, d.done = diagnosticText(d.p), true
	}
	return d.t
}

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
func successDSN(p *Parsed) bool {
	st := deliveryStatus(p)
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
	return ""
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

// daemonFrom matches the local parts (and display names) bounces come
// from; MDaemon is the mail server that signs its reports with its name.
var daemonFrom = regexp.MustCompile(`(?i)^(?:mailer-daemon|mailer_daemon|postmaster|mail-daemon|maildaemon|mail delivery (?:system|subsystem)|mailerdaemon|mdaemon|nobody|bounces?)$`)

var bounceSubject = regexp.MustCompile(`(?i)undeliver|undelivered mail|returned mail|mail (?:delivery )?(?:failed|failure|problem)|not (?:yet )?been delivered|delivery (?:status notification|failure|failed|problem|notification|warning)|non-?delivery|failed mail|failure notice|non[- ]?remis|non distribuable|unzustellbar|nondeliverable|could not (?:be )?deliver|message not delivered|delivery has failed|warning: could not send|delayed mail|returned to sender|mail system error|rejected:|error sending message|nicht zugestellt`)

var bounceBody = regexp.MustCompile(`(?i)could not be delivered|undeliverable|delivery to the following recipient|permanent (?:error|fatal)|user unknown|no such user|unknown user|mailbox (?:unavailable|not found|is full|full)|recipient address rejected|this is a permanent error|message could not be delivered|delivery has failed|not be delivered to|host unknown|unknown host|returned mail|address rejected|did not reach the following recipient|failed recipient|delivery failed|unable to deliver|non-delivery|cannot be delivered|is not a valid mailbox|account (?:is )?(?:disabled|suspended|inactive|not available)|` +
	// Exim's opening line and its delay warning; a full mailbox.
	`mail delivery software|has not (?:yet )?been delivered|full mailbox`)

// qmailList is qmail's failure list: each failed recipient as
// "<user@host>:" on a line of its own, in any language. A person may quote
// such a line, so it counts only in mail from a daemon.
var qmailList = regexp.MustCompile(`(?m)^<[^<>\s@]+@[^<>\s]+>:[ \t]*\r?$`)

// looksLikeBounce uses the non-standard signs: a daemon sender, a bounce
// subject, or the null envelope sender with bounce wording.
func looksLikeBounce(d *diag, nullSender bool) bool {
	p := d.p
	local := p.From
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	daemon := daemonFrom.MatchString(local) || daemonFrom.MatchString(strings.TrimSpace(p.FromName))
	// A customer forwarding a bounce to support is a normal mail; but a
	// reply prefix is kept by bounces that quote the original subject, and
	// mail to a return path (a list's -bounces address, casemail's own
	// bounce+TOKEN) is never written by a person.
	subj := bounceSubject.MatchString(p.Subject) && (!replyPrefix.MatchString(p.Subject) || toReturnPath(p))
	auto := headerToken(p.Header("Auto-Submitted"))
	if subj && (p.From == "" || (auto != "" && auto != "no")) {
		return true
	}
	if daemon && p.Subject == "" {
		return true
	}
	// The body scan is the costly part: only for mail with another sign.
	if !daemon && !subj && !nullSender {
		return false
	}
	if daemon && subj {
		return true
	}
	text := d.text()
	return bounceBody.MatchString(text) || daemon && qmailList.MatchString(text)
}

// returnPathLocal matches local parts that name a return path: "bounces",
// "list-bounces", "bounce+token", "bounce-123-user=host" (VERP).
var returnPathLocal = regexp.MustCompile(`(?i)(?:^|[-+_.])bounces?(?:$|[-+_.=])`)

// toReturnPath reports mail whose every To address is a return path.
func toReturnPath(p *Parsed) bool {
	if len(p.To) == 0 {
		return false
	}
	for _, a := range p.To {
		i := strings.LastIndexByte(a, '@')
		if i < 0 || !returnPathLocal.MatchString(a[:i]) {
			return false
		}
	}
	return true
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*(?:re|fwd?|tr|aw|wg|sv|vs|antw|r[ée]f)\s*(?:\[\d+\])?\s*:`)

var warningRe = regexp.MustCompile(`(?i)\bdelay(?:ed)?\b|warning:|has not (?:yet )?been delivered|not yet been delivered|temporar(?:y|ily)|delivery status notification \(delay\)`)

// retryRe is a promise to keep trying: a delay warning even when it also
// says the mail "could not be delivered" (yet).
var retryRe = regexp.MustCompile(`(?i)will (?:continue to |keep )?(?:try|retry)|still trying|will be retried|retry timeout not yet|attempts will continue|will continue to (?:try|attempt|be made)`)

// permanentRe is failure wording; strongPermanentRe the part of it that a
// delay warning never says.
var permanentRe = regexp.MustCompile(`(?i)permanent(?:ly)?|user unknown|no such|unknown user|does not exist|giving up|retry time(?:out)? exceeded|could not be delivered|failed permanently|has been rejected|was rejected|undeliverable|undelivered`)

var strongPermanentRe = regexp.MustCompile(`(?i)permanent(?:ly)?|user unknown|no such|unknown user|does not exist|giving up|retry time(?:out)? exceeded|failed permanently`)

var warningSubject = regexp.MustCompile(`(?i)warning|delay|not yet delivered|still being retried`)

// isWarning tells a delay warning from a failure in a non-DSN bounce whose
// diagnostic text is text.
func isWarning(p *Parsed, text string) bool {
	subj := p.Subject
	// "Warning: user@host - User unknown!" (MDaemon) is a failure.
	if warningSubject.MatchString(subj) && !strongPermanentRe.MatchString(subj) {
		return true
	}
	if retryRe.MatchString(text) {
		return !strongPermanentRe.MatchString(text)
	}
	return warningRe.MatchString(text) && !permanentRe.MatchString(text)
}

// returnedMarker is where the returned copy of the original mail starts in
// a non-MIME bounce; addresses after it are the original's, not failures.
// Sendmail's opening "The original message was received at" is no marker.
var returnedMarker = regexp.MustCompile(`(?im)^[ \t>]*(?:-+[ \t]*)?(?:original message|this is a copy of|below this line is a copy|returned message|unsent message below|message text follows|original message follows|the original message (?:follows|is |headers?|below)|copy of (?:the )?(?:original )?message|forwarded message|rfc822 headers? follow|headers of (?:the )?(?:original|returned) message|your message reads|the header of the original|message headers follow|the first \d+ lines of (?:your|the) (?:original )?message)`)

var headerLineRe = regexp.MustCompile(`(?im)^(?:received|return-path|message-id|date|from|subject|reply-to|x-[a-z-]+|mime-version|content-[a-z-]+|references|in-reply-to|sender|delivered-to|errors-to):`)

// boundaryLine is a MIME boundary delimiter line (RFC 2046 5.1.1).
var boundaryLine = regexp.MustCompile(`^--[!-~]+$`)

var textPartHeader = regexp.MustCompile(`(?i)^content-type:[ \t]*text/`)

// bodyText is the bounce's readable text: the text part, else the first
// text/plain attachment, else the first unnamed part without a type (RFC
// 2045 5.2 makes such a part text/plain; qmail writes one).
func bodyText(p *Parsed) string {
	if p.Text != "" {
		return p.Text
	}
	for _, a := range p.Attachments {
		if strings.HasPrefix(a.ContentType, "text/plain") && a.Content != nil {
			return string(a.Content)
		}
	}
	for _, a := range p.Attachments {
		if a.ContentType == "application/octet-stream" && a.Filename == "" && a.Content != nil &&
			len(a.Content) < 64<<10 && utf8.Valid(a.Content) && bytes.IndexByte(a.Content, 0) < 0 {
			return string(a.Content)
		}
	}
	return ""
}

// diagnosticText is the human-readable part of a bounce, without the
// returned original. It ends at the returned-message marker or at the
// first header field of the returned copy; two header-like blocks are
// skipped instead: Exchange's echo of the original ("Your message / To: /
// Subject: / Sent:") and the header of a text part in a multipart body that
// was read as plain text (a bounce without a MIME Content-Type).
func diagnosticText(p *Parsed) string {
	t := bodyText(p)
	if len(t) > 64<<10 {
		t = t[:64<<10]
	}
	if loc := returnedMarker.FindStringIndex(t); loc != nil {
		t = t[:loc[0]]
	}
	var out strings.Builder
	for {
		loc := headerLineRe.FindStringIndex(t)
		if loc == nil {
			out.WriteString(t)
			return out.String()
		}
		before := t[:loc[0]]
		prev := lastLine(before, true)
		switch {
		case prev >= 0 && boundaryLine.MatchString(firstLine(before[prev:])) && textPartHeader.MatchString(t[loc[0]:]):
			out.WriteString(before[:prev])
		case echoIntro.MatchString(firstLine(before[max(lastLine(before, false), 0):])):
			out.WriteString(before)
		default:
			out.WriteString(before)
			return out.String()
		}
		t = t[blockEnd(t, loc[0]):]
	}
}

var echoIntro = regexp.MustCompile(`(?i)^your message:?$`)

var echoField = regexp.MustCompile(`(?i)^[a-z-]+:`)

// firstLine is the first line of s without surrounding white space.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// lastLine returns where the last non-blank line of s starts, -1 when there
// is none within 30 lines. With fields false, lines that look like header
// fields ("To: x") are skipped too: it finds the line that introduces an
// echo of the original's fields.
func lastLine(s string, fields bool) int {
	end := len(s)
	for range 30 {
		i := strings.LastIndexByte(s[:end], '\n')
		if l := strings.TrimSpace(s[i+1 : end]); l != "" && (fields || !echoField.MatchString(l)) {
			return i + 1
		}
		if i < 0 {
			return -1
		}
		end = i
	}
	return -1
}

// blockEnd is the index just after the header block starting at i: after
// its first blank (or white space only) line, else len(t).
func blockEnd(t string, i int) int {
	for i < len(t) {
		j := strings.IndexByte(t[i:], '\n')
		if j < 0 {
			return len(t)
		}
		line := t[i : i+j]
		i += j + 1
		if strings.TrimSpace(line) == "" {
			return i
		}
	}
	return len(t)
}

// failedListMarker introduces the list of failed recipients in the
// common non-standard formats: Exchange's "did not reach the following
// recipient(s):", Sendmail's "The following addresses had permanent fatal
// errors", qmail's "to the following addresses", Exim's "The following
// address(es) failed:", Yale's "Message not delivered to the following:". The
// rest of its line is part of the marker.
var failedListMarker = regexp.MustCompile(`(?i)\bfollowing (?:e-?mail |destination )?(?:recipients?|addresses|address(?:\(es\))?|users?)\b[^\n]*|\b(?:delivered|sent) to the following\b[^\n]*`)

// sectionEnd closes the list: a divider line such as Sendmail's "-----
// Transcript of session follows -----".
var sectionEnd = regexp.MustCompile(`(?m)^[ \t]*-{3,}`)

// failedInline names one failed recipient inside a sentence: "could not
// be delivered to user@host", LLNL's "The address to which your message
// was addressed, user@host, did not...".
var failedInline = regexp.MustCompile(`(?i)(?:could not (?:be )?deliver(?:ed)? to|address to\s+which your message was addressed)[\s,:;"'<]*([A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)`)

// expandedFrom follows an address Sendmail reached through an alias:
// "user@internal (expanded from: alias@host)". The alias is the address
// the sender used, and it is listed on its own.
var expandedFrom = regexp.MustCompile(`(?i)^>?[ \t]*\r?\n?[ \t]*\(expanded from:?`)

// bareLocal is a line holding only a local part: AOL lists the screen names
// that refused mail without their domain.
var bareLocal = regexp.MustCompile(`(?m)^[ \t]*([A-Za-z0-9][A-Za-z0-9._%+-]*)[ \t]*\r?$`)

// heuristicRecipients picks the failed addresses out of the diagnostic text
// of a non-standard bounce. When the text introduces a list of failures,
// only that list is read (the rest names the sender, the list, examples);
// else addresses named as failing in a sentence; else every address. The
// bounce's own sender and recipients and daemons are never failures.
func heuristicRecipients(p *Parsed, text string) []string {
	if loc := failedListMarker.FindStringIndex(text); loc != nil {
		section := text[loc[1]:]
		if d := sectionEnd.FindStringIndex(section); d != nil {
			section = section[:d[0]]
		}
		if out := addressesIn(p, section); len(out) > 0 {
			return out
		}
		// A list whose entries are no addresses (Yale's directory names a
		// bare name and a reason): the rest of the text holds examples and
		// advice, not failures.
		return bareRecipients(p, section)
	}
	var out []string
	for _, m := range failedInline.FindAllStringSubmatch(text, -1) {
		out = append(out, addressesIn(p, m[1])...)
	}
	if len(out) > 0 {
		return out
	}
	return addressesIn(p, text)
}

// addressesIn lists the addresses in text that may be failed recipients.
func addressesIn(p *Parsed, text string) []string {
	own := map[string]bool{strings.ToLower(p.From): true}
	for _, a := range append(append([]string{}, p.To...), p.Cc...) {
		own[strings.ToLower(a)] = true
	}
	var out []string
	for _, loc := range addrSpec.FindAllStringIndex(text, -1) {
		if expandedFrom.MatchString(text[loc[1]:min(loc[1]+40, len(text))]) {
			continue
		}
		a := strings.Trim(text[loc[0]:loc[1]], ".'")
		if i := strings.LastIndexAny(a[:strings.IndexByte(a, '@')], "=:"); i >= 0 {
			a = a[i+1:] // Exchange's "SMTP=user@host", "smtp:user@host"
		}
		la := strings.ToLower(a)
		local := la[:strings.IndexByte(la, '@')]
		if own[la] || daemonFrom.MatchString(local) || !strings.Contains(la[len(local):], ".") {
			continue
		}
		out = appendAddr(out, a)
	}
	return out
}

// bareRecipients completes the bare local parts of a failure list with the
// domain of the daemon that sent the bounce: it reports for its own users.
func bareRecipients(p *Parsed, section string) []string {
	at := strings.LastIndexByte(p.From, '@')
	if at < 0 || !daemonFrom.MatchString(p.From[:at]) {
		return nil
	}
	var out []string
	for _, m := range bareLocal.FindAllStringSubmatch(section, 10) {
		out = appendAddr(out, m[1]+p.From[at:])
	}
	return out
}

// originalMessageID finds the Message-ID of the returned mail: in a
// message/rfc822 or text/rfc822-headers part (RFC 3462), else in the
// returned copy after the diagnostic text.
func originalMessageID(p *Parsed, diagText string) string {
	for _, a := range p.Attachments {
		ct := strings.ToLower(a.ContentType)
		if ct == "message/rfc822" || ct == "text/rfc822-headers" || ct == "message/global" || ct == "message/global-headers" {
			if id := messageIDIn(a.Content); id != "" {
				return id
			}
		}
	}
	t := p.Text
	start := len(diagText)
	if start < len(t) {
		if id := messageIDIn([]byte(t[start:])); id != "" && id != p.MessageID {
			return id
		}
	}
	return ""
}

// messageIDIn returns the msg-id (without <>) of the first Message-ID field
// in b that holds one, "" when none does. Quoted (">") and indented fields
// count: bounces quote the returned header.
func messageIDIn(b []byte) string {
	id := ""
	eachField(b, "message-id", func(v []byte, _ int) bool {
		if len(v) > 2 && v[0] == '<' {
			if j := bytes.IndexByte(v, '>'); j > 1 && !bytes.ContainsAny(v[1:j], "< \t") {
				id = string(v[1:j])
				return false
			}
		}
		return true
	})
	return id
}

// eachField calls fn with the value of every line of b that is the field
// name (case-insensitively, after white space and ">" quoting), unfolding
// one continuation line (RFC 5322 2.2.3), and the offset just after the
// field, until fn returns false. A line scan, not a regular expression:
// it runs over whole returned messages, where a case-insensitive
// multi-line pattern costs ten times more.
func eachField(b []byte, name string, fn func(value []byte, end int) bool) {
	off := 0
	for off < len(b) {
		line := b[off:]
		end := len(b)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line, end = line[:i], off+i+1
		}
		l := bytes.TrimLeft(line, " \t>")
		if len(l) > len(name) && l[len(name)] == ':' && bytes.EqualFold(l[:len(name)], []byte(name)) {
			v := bytes.TrimSpace(l[len(name)+1:])
			if len(v) == 0 && end < len(b) && (b[end] == ' ' || b[end] == '\t') {
				next := b[end:]
				if i := bytes.IndexByte(next, '\n'); i >= 0 {
					next = next[:i]
				}
				v = bytes.TrimSpace(next)
			}
			if !fn(v, end) {
				return
			}
		}
		off = end
	}
}
