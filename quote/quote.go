// Package quote extracts the new text of a reply mail: the quoted history
// and the signature are removed, so that only what the customer wrote
// becomes the case comment (rule R9; the full text is kept by the caller).
//
// Plain text (RFC 5322 / RFC 2046 text/plain bodies, already decoded) is
// handled by Reply, StripQuotes and Fragments; HTML bodies by ReplyHTML.
// Quoting conventions understood:
//   - ">" quoting (RFC 3676 section 4.5) with the attribution line above it:
//     "On <date>, <name> wrote:" (Gmail, Apple Mail, Thunderbird) and its
//     French form "Le <date>, <name> a écrit :", including headers wrapped
//     over up to three lines, and a few other languages;
//   - unquoted history: "-----Original Message-----" and Outlook header
//     blocks "From: / Sent: / To: / Subject:" or "De : / Envoyé : / À : /
//     Objet :", with the "________________________________" separator;
//   - signatures: the "-- " delimiter (RFC 3676 section 4.3) and its sloppy
//     forms, "-Name", mailing-list footers, and mobile footers such as
//     "Sent from my iPhone", "Envoyé de mon iPhone", "Envoyé depuis mon
//     appareil mobile", "Get Outlook for iOS".
//
// The fragment model (and its results on GitHub's test corpus) is that of
// GitHub's email_reply_parser; unquoted history, non-English headers and
// HTML follow the cases of Mailgun's talon. The code is a new Go
// implementation: every step is a single pass over the lines, with RE2
// regular expressions applied to single lines, so the time is linear in the
// size of the body.
//
// When unsure, text is kept: what is removed is recognised quoted history
// (below the new text, or above it in a bottom-posted reply; quotes
// interleaved with answers are kept) and a signature after the last new
// text. A body that is entirely
// quoted yields "" — the caller then keeps the full text.
package quote

import "strings"

// Reply returns the new text of a plain-text mail body: quoted history ("On
// ... wrote:", "> " lines, Outlook "-----Original Message-----" / "From: ...
// Sent: ..." blocks and their French forms "De : ... Envoyé : ... À : ...
// Objet :", "Le ... a écrit :"), signatures ("-- ", "Sent from my iPhone",
// "Envoyé de mon iPhone", common mobile footers) removed, trimmed (leading
// blank lines and trailing white space).
//
// Answers written between quoted passages (inline replies) are kept together
// with the passages they answer. A quoted block above the new text is
// dropped when nothing else is quoted (bottom posting). Reply returns "" when
// the body has no new text at all (it is entirely quoted, or empty); the
// caller should then keep the full text.
func Reply(text string) string {
	lines := cutUnquotedHistory(prepare(text))
	return visibleText(scan(lines, scanOptions{signatures: true}), true)
}

// StripQuotes is Reply without signature removal: only quoted history is
// removed, and the spacing of the kept lines is untouched (talon's
// extract_from_plain). Use it when the signature should stay in the comment.
func StripQuotes(text string) string {
	lines := cutUnquotedHistory(prepare(text))
	return visibleText(scan(lines, scanOptions{keepSpace: true}), true)
}

// prepare normalises line ends and splits the body into lines, applying
// email_reply_parser's preparation: a line of underscores (Outlook's
// separator) always gets an empty line above it, and wrapped reply headers
// are joined.
func prepare(text string) []string {
	lines := strings.Split(normalizeNewlines(text), "\n")
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		out = append(out, l)
		if l != "" && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "________") {
			out = append(out, syntheticBlank)
		}
	}
	return joinHeaders(out)
}

// syntheticBlank is the empty line prepare inserts above a line of
// underscores. It can never come from the input (lines hold no "\n"), counts
// as blank for the scan and is left out of the fragments' content, so that
// the output never holds more than the input.
const syntheticBlank = "\n"

// normalizeNewlines turns CRLF and lone CR line ends into LF.
func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}
