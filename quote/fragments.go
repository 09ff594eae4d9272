package quote

import (
	"strings"
	"unicode"
)

// Fragment is one run of lines of a plain-text body, in the sense of GitHub's
// email_reply_parser: either new text, a quoted block (with the reply header
// above it), or a signature.
type Fragment struct {
	// Content is the text of the fragment, lines joined with "\n".
	Content string
	// Quoted is set for ">"-quoted blocks and the reply header just above them.
	Quoted bool
	// Signature is set for a block that starts with a signature marker
	// ("-- ", "__", "-Name", "Sent from my iPhone", ...) after an empty line.
	Signature bool
	// Hidden is set for quoted, signature and blank fragments that come after
	// the last fragment of new text: they are not part of the reply.
	Hidden bool
}

// Fragments splits a plain-text body into fragments the way GitHub's
// email_reply_parser does (same fragment boundaries and flags), with the
// reply-header and signature patterns extended to the languages and
// footers of vocab.go. History that is not ">"-quoted (an Outlook header
// block, "-----Original Message-----", a forward) is one last quoted
// fragment, hidden unless it is a forward. The visible text of a body is
// the non-hidden fragments joined with "\n"; Reply goes further (see Reply).
func Fragments(text string) []Fragment {
	lines := prepare(text)
	q := quoteFlags(lines)
	cut, forward := cutUnquotedHistory(lines, q)
	frags := scan(lines[:cut], q[:cut], scanOptions{signatures: true})
	if cut < len(lines) {
		// Unquoted history (Outlook, forwards): one quoted fragment,
		// hidden unless it is a forward that Reply keeps.
		h := Fragment{Content: joinLines(lines[cut:]), Quoted: true, Hidden: !forward}
		if h.Content != "" || len(frags) == 0 {
			frags = append(frags, h)
		}
	}
	return frags
}

type scanOptions struct {
	// signatures enables signature detection (off for StripQuotes).
	signatures bool
	// keepSpace keeps trailing spaces of lines (email_reply_parser strips them).
	keepSpace bool
}

// scan walks the lines from the bottom up, as email_reply_parser does on the
// reversed text: hidden fragments can only be recognised once we know nothing
// visible follows them. It is a single pass over the lines (linear time).
func scan(lines []string, quotedLine []bool, opt scanOptions) []Fragment {
	var (
		frags        []Fragment
		cur          []string // lines of the current fragment, bottom-up
		curQuoted    bool
		curSig       bool
		foundVisible bool
	)
	finish := func() {
		if cur == nil {
			return
		}
		// Reverse back to top-down order.
		for i, j := 0, len(cur)-1; i < j; i, j = i+1, j-1 {
			cur[i], cur[j] = cur[j], cur[i]
		}
		kept := cur[:0]
		for _, l := range cur {
			if l != syntheticBlank {
				kept = append(kept, l)
			}
		}
		if len(kept) == 0 {
			// Only the synthetic blank: no fragment, or joining the
			// fragments would add a line break the input does not have.
			cur, curQuoted, curSig = nil, false, false
			return
		}
		f := Fragment{Content: strings.Join(kept, "\n"), Quoted: curQuoted, Signature: curSig}
		if !foundVisible {
			if f.Quoted || f.Signature || trimSpace(f.Content) == "" {
				f.Hidden = true
			} else {
				foundVisible = true
			}
		}
		frags = append(frags, f)
		cur, curQuoted, curSig = nil, false, false
	}
	for i := len(lines) - 1; i >= 0; i-- {
		line := lines[i]
		// email_reply_parser never scans an empty first line (it is the
		// empty remainder of its reversed scan).
		if i == 0 && line == "" {
			continue
		}
		sig := opt.signatures && isSignatureLine(line)
		trimmed := trimRight(line)
		stored := trimmed
		if sig || opt.keepSpace || line == syntheticBlank {
			stored = line // the synthetic blank stays recognisable, to be left out
		}
		quoted := quotedLine[i]
		empty := trimmed == "" // a signature marker line is never blank

		// A signature marker line with an empty line above it starts a
		// signature that runs to the end of the current fragment.
		if cur != nil && empty && opt.signatures && isSignatureLine(cur[len(cur)-1]) {
			curSig = true
			finish()
		}
		// The RFC 3676 delimiter "-- " (or "--") starts a signature even
		// without an empty line above it.
		if opt.signatures && !quoted && trimmed == "--" && (cur == nil || !curQuoted) {
			cur = append(cur, stored)
			curSig = true
			finish()
			continue
		}
		// A reply header ("On ... wrote:", "From: ...") or an empty line
		// directly above a quoted block belongs to that block.
		if cur != nil && (curQuoted == quoted || (curQuoted && (empty || isQuoteHeader(trimmed)))) {
			cur = append(cur, stored)
			continue
		}
		finish()
		cur = []string{stored}
		curQuoted = quoted
	}
	finish()
	for i, j := 0, len(frags)-1; i < j; i, j = i+1, j-1 {
		frags[i], frags[j] = frags[j], frags[i]
	}
	return frags
}

// visibleText joins the non-hidden fragments. With dropLeadingQuote, a
// quoted block that comes before all the new text is dropped too when the
// quotes are not interleaved with answers (a bottom-posted reply): then the
// quote is history, not context for inline answers.
func visibleText(frags []Fragment, dropLeadingQuote bool) string {
	var vis []Fragment
	for _, f := range frags {
		if !f.Hidden {
			vis = append(vis, f)
		}
	}
	if dropLeadingQuote && bottomPosted(frags) {
		for len(vis) > 0 && (vis[0].Quoted || trimSpace(vis[0].Content) == "") {
			vis = vis[1:]
		}
	}
	parts := make([]string, len(vis))
	for i, f := range vis {
		parts[i] = f.Content
	}
	return tidy(strings.Join(parts, "\n"))
}

// bottomPosted reports a quote followed by new text with no quote after it
// (hidden or not). A quote after the new text means answers are interleaved
// with quotes (inline replies, talon's "m t m"), and the quotes are kept.
func bottomPosted(frags []Fragment) bool {
	i := 0
	for i < len(frags) && (frags[i].Quoted || trimSpace(frags[i].Content) == "") {
		i++
	}
	if i == 0 {
		return false
	}
	for _, f := range frags[i:] {
		if f.Quoted {
			return false
		}
	}
	return true
}

// tidy removes leading blank lines and trailing white space; indentation of
// the first line of text is kept.
func tidy(s string) string {
	s = trimRight(s)
	for {
		nl := strings.IndexByte(s, '\n')
		if nl < 0 || trimSpace(s[:nl]) != "" {
			break
		}
		s = s[nl+1:]
	}
	if trimSpace(s) == "" {
		return ""
	}
	return s
}

const asciiSpace = " \t\r\n\v\f\x00"

// isBlankRune reports white space in the Unicode sense (a line holding only
// no-break spaces, as Outlook writes them, is blank), format characters
// (zero-width space, bidi marks, BOM) and NUL.
func isBlankRune(r rune) bool {
	return r == 0 || unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Cf, r)
}

func trimRight(s string) string { return strings.TrimRightFunc(s, isBlankRune) }
func trimSpace(s string) string { return strings.TrimFunc(s, isBlankRune) }
