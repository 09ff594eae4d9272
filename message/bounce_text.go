package message

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// The diagnostic text of a non-standard bounce and the failed recipients
// named in it.

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
