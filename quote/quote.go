// Package quote extracts the new text of a reply mail: the quoted history
// and the signature are removed, so that only what the customer wrote
// becomes the case comment (rule R9; the full text is kept by the caller).
//
// Plain text (RFC 5322 / RFC 2046 text/plain bodies, already decoded) is
// handled by Reply, StripQuotes and Fragments; HTML bodies by ReplyHTML.
// Quoting conventions understood, in the 23 languages of vocab.go (English,
// French, German, Dutch, Italian, Spanish, Portuguese, Polish, Russian,
// Ukrainian, Swedish, Norwegian, Danish, Finnish, Czech, Hungarian,
// Romanian, Greek, Turkish, Arabic, Japanese, Chinese, Korean; Vietnamese):
//   - ">" quoting (RFC 3676 section 4.5) with the attribution line above it:
//     "On <date>, <name> wrote:" (Gmail, Apple Mail, Thunderbird, Outlook
//     mobile) and its translations ("Le <date>, <name> a écrit :", "Am
//     <date> schrieb <name>:", "<date> <name> <addr>:"), wrapped over up to
//     four lines;
//   - unquoted history: "-----Original Message-----" and its translations,
//     Outlook header blocks "From: / Sent: / To: / Subject:" in each
//     language (bold "*From:*" too), with or without the "_____" separator,
//     and attribution lines with nothing quoted below them;
//   - forwards ("---------- Forwarded message ---------", "Begin forwarded
//     message:", Outlook blocks with a "Fwd:" subject), which are kept;
//   - signatures: the "-- " delimiter (RFC 3676 section 4.3) and its sloppy
//     forms, "-Name", mailing-list footers, and mobile footers in every
//     language ("Sent from my iPhone", "Von meinem iPhone gesendet",
//     "Get Outlook for iOS").
//
// Patterns are matched with Unicode spaces as spaces (French Outlook's
// "De\u00a0:") and zero-width and bidi marks ignored (see fold).
//
// The fragment model (and its results on GitHub's test corpus) is that of
// GitHub's email_reply_parser; unquoted history, non-English headers and
// HTML follow the cases of Mailgun's talon, crisp's email-reply-parser and
// mail-parser-reply. The code is a new Go
// implementation: every step is a single pass over the lines, with RE2
// regular expressions applied to single lines, so the time is linear in the
// size of the body.
//
// When unsure, text is kept: what is removed is recognised quoted history
// (below the new text, or above it in a bottom-posted reply; quotes
// interleaved with answers are kept) and a signature after the last new
// text. A body that is entirely quoted is kept whole by Reply.
package quote

import "strings"

// Reply returns the new text of a plain-text mail body: quoted history ("On
// ... wrote:" and its translations, "> " lines, "-----Original Message-----"
// and Outlook "From: ... Sent: ..." blocks in every language of vocab.go),
// signatures ("-- ", mobile footers such as "Sent from my iPhone", "Von
// meinem iPhone gesendet", "Get Outlook for iOS") removed, trimmed (leading
// blank lines and trailing white space).
//
// Answers written between quoted passages (inline replies) are kept together
// with the passages they answer. A quoted block above the new text is
// dropped when nothing else is quoted (bottom posting).
//
// Nothing the customer sent is lost: a body with no new text at all (only a
// quote, only a signature) is returned whole, trimmed; a forward (a
// "Forwarded message" block, or an Outlook header block whose subject is
// "Fwd:"/"TR:"/"WG:"...) under a short or empty note keeps the forwarded
// mail. Reply returns "" only for a blank body.
func Reply(text string) string {
	return reply(text, scanOptions{signatures: true})
}

// StripQuotes is Reply without signature removal: only quoted history is
// removed, and the spacing of the kept lines is untouched (talon's
// extract_from_plain). Use it when the signature should stay in the comment.
// Unlike Reply, it returns "" for a body that is entirely quoted.
func StripQuotes(text string) string {
	lines := prepare(text)
	q := quoteFlags(lines)
	cut, _ := cutUnquotedHistory(lines, q)
	return visibleText(scan(lines[:cut], q[:cut], scanOptions{keepSpace: true}), true)
}

// maxForwardNote is how many non-blank lines of new text a forward may
// carry and still be a forward (the note "FYI, see below"): under a longer
// text the forwarded block is history like a reply's.
const maxForwardNote = 3

func reply(text string, opt scanOptions) string {
	lines := prepare(text)
	q := quoteFlags(lines)
	cut, forward := cutUnquotedHistory(lines, q)
	got := visibleText(scan(lines[:cut], q[:cut], opt), true)
	forward = forward || quotedForward(lines[:cut], q)
	if forward && countLines(got) <= maxForwardNote {
		// The customer forwards a mail on purpose: the forwarded mail is
		// what they send, keep it (its own quotes included).
		got = tidy(normalizeNewlines(text))
	}
	if got == "" {
		// Only quoted history (or only a signature): an empty comment would
		// lose what the customer sent, so the whole text is kept.
		got = tidy(normalizeNewlines(text))
	}
	return got
}

// quotedForward reports a forward written as a quote (Gmail's HTML puts
// the forwarded message in its "gmail_quote", Outlook's after its
// "divRplyFwdMsg"): the first quoted block, with no attribution above it,
// opens with a "Forwarded message" title or holds a header block whose
// subject is a forward's ("Fwd:", "TR:"). A forward quoted under "On ...
// wrote:" is the history of a reply.
func quotedForward(lines []string, q []bool) bool {
	start := -1
	for i, l := range lines {
		if q[i] {
			start = i
			break
		}
		if trimSpace(l) != "" && l != syntheticBlank && isQuoteHeader(l) {
			return false
		}
	}
	if start < 0 {
		return false
	}
	var block []string
	for i := start; i < len(lines) && q[i] && len(block) < maxBlockLines; i++ {
		if len(lines[i]) > maxHeaderLen {
			block = append(block, "text") // too long for a title or a field
			continue
		}
		l := strings.TrimLeft(lines[i], "> \t")
		if trimSpace(l) == "" {
			if len(block) == 0 {
				continue
			}
		}
		block = append(block, l)
	}
	for i, l := range block {
		if trimSpace(l) == "" {
			continue
		}
		if isForwardMarker(l) {
			return true
		}
		if isHeaderBlock(block, i) {
			return headerBlockIsForward(block, i)
		}
		return false
	}
	return false
}

// countLines counts the non-blank lines of s.
func countLines(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if trimSpace(l) != "" {
			n++
		}
	}
	return n
}

// joinLines joins lines with "\n", leaving out the synthetic blanks.
func joinLines(lines []string) string {
	kept := make([]string, 0, len(lines))
	for _, l := range lines {
		if l != syntheticBlank {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// prepare splits the body into lines, applying email_reply_parser's
// preparation: a line of underscores (Outlook's separator) always gets an
// empty line above it, and wrapped reply headers are joined.
func prepare(text string) []string {
	lines := splitLines(text)
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		out = append(out, l)
		if l != "" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "________") {
			out = append(out, syntheticBlank)
		}
	}
	return joinHeaders(out)
}

// minWrapped is the shortest quoted line after which an unquoted line may be
// its wrapped end: mailers that wrap a quote at 72-78 columns leave the end
// of a long quoted line without its ">".
const minWrapped = 60

// quoteFlags tells which lines are quoted: those starting with ">", and the
// wrapped ends of long quoted lines (an unquoted line between a long quoted
// line and another quoted line).
func quoteFlags(lines []string) []bool {
	q := make([]bool, len(lines))
	for i, l := range lines {
		q[i] = isQuotedLine(l)
	}
	for i := 1; i+1 < len(lines); i++ {
		if !q[i] && isQuotedLine(lines[i-1]) && isQuotedLine(lines[i+1]) &&
			trimSpace(lines[i]) != "" && lines[i] != syntheticBlank &&
			runeLen(lines[i-1]) >= minWrapped {
			q[i] = true
		}
	}
	return q
}

// syntheticBlank is the empty line prepare inserts above a line of
// underscores. It can never come from the input (lines hold no "\n"), counts
// as blank for the scan and is left out of the fragments' content, so that
// the output never holds more than the input.
const syntheticBlank = "\n"

// splitLines splits text at its line ends: LF or CRLF. A CR alone ends a
// line only in a body that has no LF at all (classic Mac mail); elsewhere it
// is a character of the line, so that no line break is invented.
func splitLines(text string) []string {
	if !strings.Contains(text, "\n") {
		return strings.Split(text, "\r")
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// normalizeNewlines turns CRLF line ends into LF, and lone CRs too in a
// body without LF (the line ends splitLines recognises).
func normalizeNewlines(s string) string {
	return strings.Join(splitLines(s), "\n")
}
