package quote

import (
	"regexp"
	"strings"
)

// Reply headers ("attribution lines") written above quoted history.

// leadWrote matches "On <date>, <name> wrote:" and its translations
// (Gmail, Apple Mail, Thunderbird): "Le <date>, <name> a écrit :", ...
// The leading word is case-sensitive so that a sentence starting with a
// lower-case "on" is not taken for a header.
var leadWrote = regexp.MustCompile(`^\s*(?:On|Le|Am|Op|El|Em|Il|W dniu|På|Den|Vào)\s.*(?i:wrote|a\s+écrit|écrit|napisał|написал|написала|schreef|schrieb|escribió|escreveu|skrev|scrisse|ha\s+scritto|kirjoitti|đã\s+viết)\s*:\s*$`)

// dateSender matches headers without a leading word that carry a date, a
// time and an address and end with ":" (Android, Yandex, mail.ru):
// "02.04.2012 14:20 пользователь "bob@x.org" <bob@x.org> написал:",
// "Thu, 26 Jun 2014 14:00:51 +0400 от Alexander <a@x.com>:".
var (
	dsStart = regexp.MustCompile(`^\s*(?:\d|\p{L}{2,9}\.?,\s*\d)`)
	dsDate  = regexp.MustCompile(`\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\s+\p{L}{3,}\.?\s+\d{4}|\p{L}{3,}\.?\s+\d{1,2},?\s+\d{4}`)
	dsTime  = regexp.MustCompile(`\d{1,2}:\d{2}`)
	dsAddr  = regexp.MustCompile(`\S@\S`)
	dsEnd   = regexp.MustCompile(`:\s*$`)
)

// maxHeaderLen bounds the length of an attribution line; longer lines are text.
const maxHeaderLen = 300

// isAttribution reports whether s (one line, possibly several joined) is a
// reply header. Headers without a leading word are only accepted when
// quoted lines follow (aboveQuote), as they are less distinctive.
func isAttribution(s string, aboveQuote bool) bool {
	if len(s) > maxHeaderLen {
		return false
	}
	if leadWrote.MatchString(s) {
		return true
	}
	return aboveQuote && dsEnd.MatchString(s) && dsStart.MatchString(s) &&
		dsDate.MatchString(s) && dsTime.MatchString(s) && dsAddr.MatchString(s)
}

// Header fields of an Outlook-style quoted message (not ">"-prefixed):
//
//	From: Jean <j@x.fr>          De : Jean <j@x.fr>
//	Sent: Monday, ...            Envoyé : lundi 3 février 2025 10:12
//	To: Support                  À : Support
//	Subject: RE: ...             Objet : RE: ...
//
// Gmail's text rendering of bold labels gives "*From:* ...".
var headerField = regexp.MustCompile(`^\s*\*?\s*(From|Sent|To|Subject|Date|Cc|CC|De|Envoyé|À|A|Objet|Von|Gesendet|An|Betreff|От|Отправлено|Кому|Тема|Дата|Копия)\s?\*?\s?:`)

type fieldKind int

const (
	fieldNone fieldKind = iota
	fieldFrom
	fieldDate
	fieldTo
	fieldSubject
	fieldCc
)

func headerFieldKind(line string) fieldKind {
	m := headerField.FindStringSubmatch(line)
	if m == nil {
		return fieldNone
	}
	switch m[1] {
	case "From", "De", "Von", "От":
		return fieldFrom
	case "Sent", "Date", "Envoyé", "Gesendet", "Отправлено", "Дата":
		return fieldDate
	case "To", "À", "A", "An", "Кому":
		return fieldTo
	case "Subject", "Objet", "Betreff", "Тема":
		return fieldSubject
	default:
		return fieldCc
	}
}

// originalMessage matches the separator Outlook, AOL, Yahoo and Zimbra put
// above unquoted history: "-----Original Message-----",
// "----- Message d'origine -----", "-------- Message original --------".
var originalMessage = regexp.MustCompile(`(?i)^\s*-{2,}\s*(?:original\s+message|message\s+d['’]origine|message\s+original|ursprüngliche\s+nachricht|mensaje\s+original|messaggio\s+originale|исходное\s+сообщение)\s*-*\s*$`)

// isQuoteHeader reports whether a non-quoted line directly above a quoted
// block belongs to it: email_reply_parser's "On ... wrote:" and
// "From:/Sent:/To:/Subject:" lines, plus the other attribution forms.
//
// Field names that are also common words ("A:", "An:") only count inside a
// whole header block (cutUnquotedHistory), not alone: "A: my answer" above
// a quoted question is text.
func isQuoteHeader(line string) bool {
	if m := headerField.FindStringSubmatch(line); m != nil && m[1] != "A" && m[1] != "An" {
		return true
	}
	return isAttribution(line, true) || originalMessage.MatchString(line)
}

func isQuotedLine(line string) bool { return strings.HasPrefix(line, ">") }

// nextIsQuoted reports whether the first non-blank line after index i is a
// quoted line.
func nextIsQuoted(lines []string, i int) bool {
	for j := i + 1; j < len(lines); j++ {
		if trimSpace(lines[j]) == "" {
			continue
		}
		return isQuotedLine(lines[j])
	}
	return false
}

// maxHeaderLines is how many lines a wrapped attribution may span (Gmail
// wraps at 78 columns, so "On ..., Name\n<addr>\nwrote:" happens).
const maxHeaderLines = 3

// joinHeaders puts wrapped attribution lines back on one line (like
// email_reply_parser does for "On ... wrote:"), so that later steps see
// them whole. The shortest span ending at a line ending with ":" wins.
func joinHeaders(lines []string) []string {
	out := make([]string, 0, len(lines))
	for j, line := range lines {
		out = append(out, line)
		if isQuotedLine(line) || !strings.HasSuffix(trimRight(line), ":") {
			continue
		}
		above := nextIsQuoted(lines, j)
		for k := 0; k < maxHeaderLines && k < len(out); k++ {
			span := out[len(out)-1-k:]
			if k > 0 {
				l := span[0]
				if isQuotedLine(l) || trimSpace(l) == "" {
					break
				}
			}
			if !isAttribution(strings.Join(span, " "), above) {
				continue
			}
			if k > 0 {
				joined := strings.Join(span, " ")
				out = append(out[:len(out)-1-k], joined)
			}
			break
		}
	}
	return out
}

// cutUnquotedHistory drops history that is not ">"-quoted (Outlook, AOL,
// Yahoo, Thunderbird in some settings): everything from the first
// "-----Original Message-----" line, Outlook header block (From/Sent/To/
// Subject and their French forms, with the "____" separator above it) or
// dated "On ... wrote:" header not followed by quoted lines. Headers above
// ">"-quoted lines are left to the fragment scan, which handles inline
// answers.
func cutUnquotedHistory(lines []string) []string {
	for i, line := range lines {
		if isQuotedLine(line) || trimSpace(line) == "" {
			continue
		}
		if originalMessage.MatchString(line) {
			return lines[:i]
		}
		if isHeaderBlock(lines, i) {
			return lines[:separatorAbove(lines, i)]
		}
		if len(line) <= maxHeaderLen && leadWrote.MatchString(line) &&
			strings.ContainsAny(line, "0123456789") && !nextIsQuoted(lines, i) {
			return lines[:i]
		}
	}
	return lines
}

// isHeaderBlock reports whether lines[i] starts a block of at least three
// distinct header fields, one of them From, with no blank line between them.
func isHeaderBlock(lines []string, i int) bool {
	k := headerFieldKind(lines[i])
	if k != fieldFrom && k != fieldDate {
		return false
	}
	seen := map[fieldKind]bool{}
	for j := i; j < len(lines) && j < i+8; j++ {
		if trimSpace(lines[j]) == "" {
			break
		}
		if k := headerFieldKind(lines[j]); k != fieldNone {
			seen[k] = true
		}
	}
	return seen[fieldFrom] && len(seen) >= 3
}

// separatorAbove returns the index of a separator line ("_____", "-----")
// just above line i (blank lines allowed between), or i.
func separatorAbove(lines []string, i int) int {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		l := trimSpace(lines[j])
		if l == "" {
			continue
		}
		if isSeparatorLine(l) && len(l) >= 8 {
			return j
		}
		break
	}
	return i
}
