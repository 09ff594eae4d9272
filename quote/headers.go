package quote

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reply headers ("attribution lines") and Outlook header blocks written
// above quoted history. Every pattern is matched on fold(line): Unicode
// spaces (French Outlook's no-break space before ":", U+202F, ...) are
// spaces and format characters (zero-width, bidi marks of right-to-left
// mailers, BOM) are ignored, so the vocabulary of vocab.go is written once.

// fold returns s with every Unicode space turned into ' ', the full-width
// colon into ':' and format characters (category Cf) removed. ASCII input is
// returned as is (no allocation).
func fold(s string) string {
	i := 0
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if foldRune(r) != r {
			break
		}
		i += n
	}
	if i == len(s) {
		return s // nothing to change (and no allocation)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if f := foldRune(r); f >= 0 {
			b.WriteRune(f)
		}
	}
	return b.String()
}

// foldRune returns what fold makes of r: ' ' for a space, ':' and '>' for
// their full-width forms, -1 for a format character to drop, else r.
func foldRune(r rune) rune {
	switch {
	case r < 0x80:
		return r
	case r == '：' || r == '﹕':
		return ':'
	case r == '＞':
		return '>'
	case r < 0x2000 && r != 0x85 && r != 0xa0 && r != 0xad && r != 0x1680 && r != 0x180e && (r < 0x600 || r > 0x70f):
		return r // letters of the Latin, Greek, Cyrillic... blocks
	case unicode.Is(unicode.Cf, r):
		return -1 // U+200B..U+200F, U+202A..U+202E, U+2066..U+2069, U+FEFF, U+061C
	case unicode.IsSpace(r) || unicode.Is(unicode.Zs, r):
		return ' '
	}
	return r
}

// alternation joins words into an RE2 alternation, longest first (so that
// "a écrit" wins over "écrit"), with each space matching any run of spaces.
func alternation(words []string) string {
	uniq := map[string]bool{}
	var ws []string
	for _, w := range words {
		if w != "" && !uniq[w] {
			uniq[w] = true
			ws = append(ws, w)
		}
	}
	sort.Slice(ws, func(i, j int) bool {
		if len(ws[i]) != len(ws[j]) {
			return len(ws[i]) > len(ws[j])
		}
		return ws[i] < ws[j]
	})
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = strings.ReplaceAll(regexp.QuoteMeta(w), " ", `\s+`)
	}
	return strings.Join(q, "|")
}

func collect(get func(language) []string) []string {
	var out []string
	for _, l := range languages {
		out = append(out, get(l)...)
	}
	return out
}

// isCJK reports words written without spaces between words (no word
// boundaries around them).
func isCJK(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

var (
	// leads are the words an attribution starts with: "On", "Le", "Am",
	// "W dniu", ... They are case-sensitive, so that a sentence starting
	// with a lower-case "on" is not taken for a header.
	leads = collect(func(l language) []string { return l.lead })
	// endColon: the attribution ends with ":" (after folding, "：" too), or
	// with the verb itself ("... wrote", "... wrote ----").
	endColon = regexp.MustCompile(`:\s*(?:-{2,}\s*)?$`)
	// verbs, lower-case, for endsWithVerb.
	verbs = func() []string {
		var vs []string
		for _, w := range collect(func(l language) []string { return l.wrote }) {
			vs = append(vs, strings.ToLower(w))
		}
		return vs
	}()
)

// hasLead reports an attribution's lead word at the start of s (folded);
// "----" (Zoho) may precede it.
func hasLead(s string) bool {
	t := strings.TrimLeft(s, " \t-")
	for _, w := range leads {
		if strings.HasPrefix(t, w) && len(t) > len(w) && (t[len(w)] == ' ' || t[len(w)] == '\t') {
			return true
		}
	}
	return false
}

// hasVerb finds the verb of an attribution in s (folded): "wrote", "a
// écrit", "schrieb", "napisał(a)", "写道", ... Words of spaced scripts must
// stand alone (not inside "rewrote" or a URL path "someone-wrote-about").
func hasVerb(s string) bool {
	l := strings.ToLower(s)
	for _, v := range verbs {
		for off := 0; off < len(l); {
			i := strings.Index(l[off:], v)
			if i < 0 {
				break
			}
			i += off
			off = i + 1
			if isCJK(v) {
				return true
			}
			before, after := byte(' '), byte(' ')
			if i > 0 {
				before = l[i-1]
			}
			if j := i + len(v); j < len(l) {
				after = l[j]
			}
			if strings.IndexByte(" \t,;\"')>", before) >= 0 && strings.IndexByte(" \t:,(-", after) >= 0 {
				return true
			}
		}
	}
	return false
}

// endsWithVerb reports a line ending with an attribution verb ("... wrote",
// Zoho's "... wrote ----"), s already folded.
func endsWithVerb(s string) bool {
	t := strings.TrimRight(s, " \t-")
	if t == "" || !verbLastBytes[t[len(t)-1]] {
		return false
	}
	if len(t) > maxVerbTail {
		t = t[len(t)-maxVerbTail:] // the verb is at the end: lower-case only the tail
	}
	t = strings.ToLower(t)
	for _, v := range verbs {
		if strings.HasSuffix(t, v) {
			return true
		}
	}
	return false
}

// verbLastBytes are the last bytes of the verbs, in either case: a line
// ending with another byte ends with no verb.
var verbLastBytes = func() [256]bool {
	var set [256]bool
	for _, v := range verbs {
		set[v[len(v)-1]] = true
		u := strings.ToUpper(v)
		set[u[len(u)-1]] = true
	}
	return set
}()

// maxVerbTail is more bytes than the longest verb of vocab.go.
const maxVerbTail = 48

// mayEndHeader is the cheap test every line goes through before the
// patterns: an attribution ends with ":" or with its verb.
func mayEndHeader(s string) bool {
	t := strings.TrimRight(s, " \t-\u00a0\u202f\u200e\u200f")
	return strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：") || endsWithVerb(fold(t))
}

// Dates, times and addresses in attribution lines.
var (
	dsStart = regexp.MustCompile(`^\s*(?:\d|\p{L}{1,12}\.?,?\s+\d|\p{L}{2,12}\.?,\s*\d)`)
	dsDate  = regexp.MustCompile(`\d{1,4}\s?[./-]\s?\d{1,2}\s?[./-]\s?\d{1,4}|\d{1,2}\.?\s+(?:de\s+)?\p{L}{3,}\.?,?\s+(?:de\s+)?\d{4}|\p{L}{3,}\.?\s+\d{1,2},?\s+\d{4}|\d{2,4}\s*[年년]\s*\d{1,2}\s*[月월]|(?:^|\D)(?:19|20)\d{2}(?:\D|$)`)
	dsTime  = regexp.MustCompile(`\d{1,2}[:.]\d{2}`)
	dsAddr  = regexp.MustCompile(`\S@\S`)
	// dsAddrEnd: "<addr>:" ends the line.
	dsAddrEnd = regexp.MustCompile(`<[^<>\s]+@[^<>\s]+>\s*:\s*$`)
)

// hasDate and hasTime test for digits before running their patterns.
func hasDate(s string) bool { return hasDigit(s) && dsDate.MatchString(s) }
func hasTime(s string) bool { return hasDigit(s) && dsTime.MatchString(s) }
func hasAddr(s string) bool { return strings.Contains(s, "@") && dsAddr.MatchString(s) }

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// maxHeaderLen bounds the length of an attribution line; longer lines are text.
const maxHeaderLen = 300

// isAttribution reports whether s (one line, or several joined) is a reply
// header. Weaker forms are only accepted when quoted lines follow
// (aboveQuote); the forms accepted without quotes below carry a date.
//
//	On <date>, <name> wrote:           lead word + verb (+ a date or time without quote)
//	<date> <name> <addr> napisał(a):   verb + date (+ address, time or a date first
//	                                   without quote), any order (Gmail's localisations)
//	<name> <addr> wrote:               verb + address, above a quote only
//	<date> <time>, <name> <addr>:      date + time + address (Android, Yandex, Gmail ru)
func isAttribution(s string, aboveQuote bool) bool {
	if len(s) > maxHeaderLen || !mayEndHeader(s) {
		return false
	}
	s = fold(s)
	colon := endColon.MatchString(s)
	verb := hasVerb(s)
	if verb && (colon || endsWithVerb(s)) && hasLead(s) {
		return aboveQuote || hasDate(s) || hasTime(s)
	}
	if !colon {
		return false
	}
	if verb && !strings.HasPrefix(trimSpace(s), ">") {
		if aboveQuote {
			return hasDate(s) || hasAddr(s)
		}
		// Without quotes below, a date and more of a header: an address,
		// a time, or a header's start ("As I wrote on 12.03.2024:" is text).
		return hasDate(s) && (hasAddr(s) || hasTime(s) || startsLikeHeader(s))
	}
	if hasAddr(s) && hasTime(s) && dsStart.MatchString(s) && hasDate(s) {
		// Without quotes below, the address must close the line as
		// mailers write it: "... Name <addr>:".
		return aboveQuote || dsAddrEnd.MatchString(s)
	}
	return false
}

// Header fields of an Outlook-style quoted message (not ">"-prefixed):
//
//	From: Jean <j@x.fr>          De : Jean <j@x.fr>
//	Sent: Monday, ...            Envoyé : lundi 3 février 2025 10:12
//	To: Support                  À : Support
//	Subject: RE: ...             Objet : RE: ...
//
// Bold labels as webmails render them: "*From:* ...", "** De : … **".
type fieldKind int

const (
	fieldNone fieldKind = iota
	fieldFrom
	fieldDate
	fieldTo
	fieldSubject
	fieldCc
)

var (
	fieldKinds = func() map[string]fieldKind {
		m := map[string]fieldKind{}
		for _, l := range languages {
			for k, ws := range map[fieldKind][]string{fieldFrom: l.from, fieldDate: l.date, fieldTo: l.to, fieldSubject: l.subject, fieldCc: l.cc} {
				for _, w := range ws {
					if _, ok := m[w]; !ok {
						m[w] = k
					}
				}
			}
		}
		return m
	}()
	// weakFields are labels that are also common words opening a line of
	// text ("A: my answer"); alone above a quote they are text.
	weakFields = map[string]bool{"A": true, "An": true, "Do": true, "Da": true, "Til": true, "Para": true, "Pour": true, "Od": true, "Ngày": true}
	// forwardSubject: a Subject field of a forwarded message ("Fwd:", "TR:").
	forwardSubject = regexp.MustCompile(`(?i)^\s*(?:\*+\s*)?\S+(?:\s\S+)?\s*(?:\*+\s*)?:\s*(?:\*+\s*)?(?:fwd?|tr|wg|rv|i|doorst|vb|pd|fw|enc|ilt|πρθ|转发|轉寄|전달|転送)\s?:`)
)

// maxLabelLen bounds where the colon of a header field may be.
const maxLabelLen = 48

// headerFieldOf returns the kind and label of a header field line: a label
// of vocab.go, maybe in bold ("*From:*", "** De : … **"), then ":". The
// label is looked up in a map (no pattern over every line).
func headerFieldOf(line string) (fieldKind, string) {
	head := line
	if len(head) > maxLabelLen {
		head = head[:maxLabelLen]
	}
	i := strings.IndexByte(head, ':')
	if j := strings.Index(head, "："); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	if i <= 0 {
		return fieldNone, ""
	}
	label := strings.Join(strings.Fields(strings.Trim(fold(line[:i]), " \t*")), " ")
	if k, ok := fieldKinds[label]; ok {
		return k, label
	}
	return fieldNone, ""
}

func headerFieldKind(line string) fieldKind {
	k, _ := headerFieldOf(line)
	return k
}

// Separators above unquoted history ("-----Original Message-----",
// "-------- Message d'origine --------", "---------- Forwarded message
// ---------", "Begin forwarded message:") in every language of vocab.go.
var (
	// Tobit David writes "Original Message processed by david®".
	originalMessage = lazy(`(?i)^\s*(?:[-_=*]{2,}\s*(?:` + alternation(collect(func(l language) []string { return l.original })) + `)\s*[-_=*]*|(?:` + alternation(collect(func(l language) []string { return l.original })) + `)\s*(?::?\s*[-_=*]{2,}|processed\s+by\s+\S+))\s*$`)
	forwardMarker   = lazy(`(?i)^\s*(?:[-_=*>]{2,}\s*(?:` + alternation(collect(func(l language) []string { return l.forward })) + `)\s*:?\s*[-_=*<]*|(?:` + alternation(collect(func(l language) []string { return l.forward })) + `)\s*:?\s*[-_=*<]*)\s*$`)
)

// lazy returns a pattern compiled on first use.
func lazy(expr string) *lazyRegexp { return &lazyRegexp{expr: expr} }

func isOriginalMessage(line string) bool {
	return len(line) <= maxHeaderLen && maySeparate(line) && originalMessage.MatchString(fold(line))
}

func isForwardMarker(line string) bool {
	return len(line) <= maxHeaderLen && maySeparate(line) && forwardMarker.MatchString(fold(line))
}

// maxTitleLen bounds a title without dashes ("Begin forwarded message:").
const maxTitleLen = 64

// maySeparate is the cheap test before the separator patterns: a separator
// title has dashes (or the like) around it, ends with ":", or is David's.
func maySeparate(line string) bool {
	t := trimSpace(line)
	if len(t) < 4 || strings.IndexFunc(t, unicode.IsLetter) < 0 {
		return false // a separator line without a title ("_____") is no title
	}
	sep := func(b byte) bool { return b == '-' || b == '_' || b == '=' || b == '*' || b == '>' || b == '<' }
	return sep(t[0]) && sep(t[1]) || sep(t[len(t)-1]) && sep(t[len(t)-2]) ||
		len(t) <= maxTitleLen && (strings.HasSuffix(t, ":") || strings.HasSuffix(t, "：")) ||
		strings.Contains(t, "processed by")
}

// isQuoteHeader reports whether a non-quoted line directly above a quoted
// block belongs to it: email_reply_parser's "On ... wrote:" and
// "From:/Sent:/To:/Subject:" lines, plus the other attribution forms.
//
// Field names that are also common words ("A:", "An:") only count inside a
// whole header block (cutUnquotedHistory), not alone: "A: my answer" above
// a quoted question is text.
func isQuoteHeader(line string) bool {
	if k, label := headerFieldOf(line); k != fieldNone && !weakFields[label] {
		return true
	}
	return isAttribution(line, true) || isOriginalMessage(line)
}

func isQuotedLine(line string) bool { return strings.HasPrefix(line, ">") }

// nextIsQuoted reports whether the first non-blank line after index i is a
// quoted line (q: the flags of quoteFlags, or nil for a ">" prefix).
func nextIsQuoted(lines []string, q []bool, i int) bool {
	for j := i + 1; j < len(lines); j++ {
		if trimSpace(lines[j]) == "" {
			continue
		}
		if q != nil {
			return q[j]
		}
		return isQuotedLine(lines[j])
	}
	return false
}

// maxHeaderLines is how many lines a wrapped attribution may span (Gmail
// wraps at 78 columns, so "On ..., Name <\naddr>\nwrote:" happens).
const maxHeaderLines = 4

// wrappedEnd matches the last piece of a wrapped address: ">:" starts with
// ">" but is not a quoted line (Gmail's "Name <addr\n>:").
var wrappedEnd = regexp.MustCompile(`^>\s*:\s*$`)

// joinHeaders puts wrapped attribution lines back on one line (like
// email_reply_parser does for "On ... wrote:"), so that later steps see
// them whole. The shortest span ending at a line ending with ":" (or with
// the verb) wins.
func joinHeaders(lines []string) []string {
	out := make([]string, 0, len(lines))
	for j, line := range lines {
		out = append(out, line)
		end := wrappedEnd.MatchString(line)
		if !end && (isQuotedLine(line) || len(line) > maxHeaderLen) {
			continue
		}
		if !end {
			t := fold(trimRight(line))
			if !strings.HasSuffix(t, ":") && !strings.HasSuffix(t, "-") && !endsWithVerb(t) {
				continue
			}
		}
		above := nextIsQuoted(lines, nil, j)
		// The shortest span that starts like a header ("On ...", a date)
		// wins, else the shortest span that is a header ("<addr> wrote:"
		// alone): a line of text above that happens to start with "On"
		// or "Am" ("Am heutigen Tage") stays text.
		best := 0
		for k := 0; k < maxHeaderLines && k < len(out); k++ {
			span := out[len(out)-1-k:]
			if k > 0 {
				l := span[0]
				if isQuotedLine(l) || trimSpace(l) == "" || l == syntheticBlank {
					break
				}
			}
			joined := strings.Join(span, " ")
			if !isAttribution(joined, above) {
				continue
			}
			if best == 0 {
				best = k + 1
			}
			if startsLikeHeader(span[0]) {
				best = k + 1
				break
			}
		}
		if best > 0 && best < len(out) && strings.HasPrefix(trimSpace(out[len(out)-best]), "<") &&
			isDisplayName(out[len(out)-best-1]) {
			best++ // "Jean Dupont\n<jean@example.com> kirjoitti ...:": the name above
		}
		if best > 1 {
			joined := strings.Join(out[len(out)-best:], " ")
			out = append(out[:len(out)-best], joined)
		}
	}
	return out
}

// isDisplayName reports a line that can be the display name of an address
// wrapped onto the next line: short, not quoted, not ending a sentence.
func isDisplayName(l string) bool {
	t := trimSpace(l)
	return t != "" && l != syntheticBlank && !isQuotedLine(l) && runeLen(t) <= 60 &&
		!strings.ContainsAny(t[len(t)-1:], ".!?:;,")
}

// startsLikeHeader reports a line that can be the first of an attribution:
// it starts with a lead word ("On", "Am") or a date.
func startsLikeHeader(l string) bool {
	l = fold(l)
	return hasLead(l) || dsStart.MatchString(l)
}

// cutUnquotedHistory drops history that is not ">"-quoted (Outlook, AOL,
// Yahoo, Thunderbird in some settings): everything from the first
// "-----Original Message-----" line, Outlook header block (From/Sent/To/
// Subject and their translations, with the "____" separator above it) or
// dated "On ... wrote:" header not followed by quoted lines. Headers above
// ">"-quoted lines are left to the fragment scan, which handles inline
// answers. It returns where the history starts (len(lines) if none) and
// whether it is a forwarded message.
func cutUnquotedHistory(lines []string, q []bool) (cut int, forward bool) {
	text := false // a line of text above i
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if q[i] || trimSpace(line) == "" || line == syntheticBlank {
			continue
		}
		if isForwardMarker(line) {
			return i, true
		}
		if isOriginalMessage(line) {
			return i, false
		}
		if isHeaderBlock(lines, i) {
			if !text {
				// A header block on top is this mail's own (a pasted
				// or forwarded header), not history below new text.
				i, _ = headerBlock(lines, i)
				i--
				continue
			}
			return separatorAbove(lines, i), headerBlockIsForward(lines, i)
		}
		if !isSeparatorLine(trimSpace(line)) {
			text = true
		}
		if !nextIsQuoted(lines, q, i) && isAttribution(line, false) && hasTextAfter(lines, i) {
			return i, false
		}
	}
	return len(lines), false
}

// hasTextAfter reports a non-blank line after i.
func hasTextAfter(lines []string, i int) bool {
	for _, l := range lines[i+1:] {
		if trimSpace(l) != "" && l != syntheticBlank {
			return true
		}
	}
	return false
}

// fieldSet is a set of field kinds.
type fieldSet uint8

func (s fieldSet) has(k fieldKind) bool { return s&(1<<k) != 0 }

// size counts the kinds in the set.
func (s fieldSet) size() int {
	n := 0
	for k := fieldFrom; k <= fieldCc; k++ {
		if s.has(k) {
			n++
		}
	}
	return n
}

// maxBlockLines bounds how far a header block is looked for.
const maxBlockLines = 12

// headerBlock returns the index after the last field of a header block
// starting at i, and the kinds seen. Wrapped field values and single blank
// lines between fields (some webmails render the block that way) are part
// of the block.
func headerBlock(lines []string, i int) (end int, seen fieldSet) {
	end = i
	for j := i; j < len(lines) && j < i+maxBlockLines; j++ {
		l := lines[j]
		if trimSpace(l) == "" || l == syntheticBlank {
			if j+1 < len(lines) && headerFieldKind(lines[j+1]) != fieldNone {
				continue
			}
			break
		}
		if k := headerFieldKind(l); k != fieldNone {
			seen |= 1 << k
			end = j + 1
		}
	}
	return end, seen
}

// isHeaderBlock reports whether lines[i] starts a block of at least three
// distinct header fields, one of them From.
func isHeaderBlock(lines []string, i int) bool {
	if headerFieldKind(lines[i]) == fieldNone {
		return false
	}
	_, seen := headerBlock(lines, i)
	return seen.has(fieldFrom) && seen.size() >= 3
}

// headerBlockIsForward reports a header block whose Subject says it is a
// forward ("Subject: Fwd: ...", "Objet : TR : ...", "Betreff: WG: ...").
func headerBlockIsForward(lines []string, i int) bool {
	end, _ := headerBlock(lines, i)
	for _, l := range lines[i:end] {
		if headerFieldKind(l) == fieldSubject && forwardSubject.MatchString(fold(l)) {
			return true
		}
	}
	return false
}

// separatorAbove returns the index of a separator line ("_____", "-----")
// just above line i (blank lines allowed between), or i.
func separatorAbove(lines []string, i int) int {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		l := trimSpace(lines[j])
		if l == "" || lines[j] == syntheticBlank {
			continue
		}
		if isSeparatorLine(l) && len(l) >= 4 {
			return j
		}
		break
	}
	return i
}
