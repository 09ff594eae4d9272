package quote

import (
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// mobileFooter matches the one-line footers mail apps append, in every
// language of vocab.go ("Sent from my iPhone", "Von meinem iPhone gesendet",
// "Envoyé de mon iPhone", "Skickat från min iPhone", "iPhoneから送信", "Get
// Outlook for iOS", "Sent from Mail for Windows"), with an optional link
// ("Get Outlook for iOS<https://aka.ms/o0ukef>"). Where the footer names no
// known app, only "my <device>" forms count ("%d", one to five words without
// commas), so that sentences ("Sent from a magnificent torch of pixels",
// "Sent from my desk, is much easier...") stay text.
var mobileFooters = func() map[string][]*lazyRegexp {
	m := map[string][]*lazyRegexp{}
	for _, l := range languages {
		for _, f := range l.footers {
			k := footerKey(f)
			m[k] = append(m[k], &lazyRegexp{
				expr:     `(?i)^\s*` + footerPattern(f) + `\s*[.!]?\s*(?:<[^<>\s]+>|\(?https?://\S+\)?)?\s*$`,
				literals: footerLiterals(f),
			})
		}
	}
	return m
}()

// lazyRegexp is compiled on first use: most footers are never needed, and
// compiling them all would slow every start of the program.
type lazyRegexp struct {
	expr string
	// literals, lower-case, must all be in a line the pattern can match:
	// testing them first spares most runs of the pattern.
	literals []string
	once     sync.Once
	re       *regexp.Regexp
}

func (l *lazyRegexp) MatchString(s string) bool {
	if len(l.literals) > 0 {
		low := strings.ToLower(s)
		for _, lit := range l.literals {
			if !strings.Contains(low, lit) {
				return false
			}
		}
	}
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re.MatchString(s)
}

// footerLiterals returns the words of a footer outside its "%d" and "%a",
// lower-case.
func footerLiterals(f string) []string {
	var lits []string
	for _, w := range strings.Fields(strings.NewReplacer("%d", " ", "%a", " ").Replace(f)) {
		lits = append(lits, strings.ToLower(w))
	}
	return lits
}

// footerCJKKeys are the keys of mobileFooters written without spaces
// around them ("から送信"): they are looked for inside the line.
var footerCJKKeys = func() []string {
	var ks []string
	for k := range mobileFooters {
		if isCJKWord(k) {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}()

// maxFooterLen bounds the length of a footer line.
const maxFooterLen = 160

// isMobileFooter reports a footer line. Each footer pattern is filed under
// the longest literal word of its footer: only the patterns of the words
// of the line run, so that a line costs a few map lookups, not hundreds of
// patterns.
func isMobileFooter(line string) bool {
	if len(line) > maxFooterLen {
		return false
	}
	l := fold(line)
	if t := strings.TrimLeft(l, " \t"); t == "" || t[0] == '>' {
		return false // blank or quoted
	}
	try := func(k string) bool {
		for _, re := range mobileFooters[k] {
			if re.MatchString(l) {
				return true
			}
		}
		return false
	}
	// A footer starts or ends with its key (fold made every space ' ').
	words := strings.Fields(l)
	if len(words) == 0 {
		return false
	}
	for _, w := range []string{words[0], words[len(words)-1]} {
		if i := strings.IndexAny(w, "<("); i > 0 {
			w = w[:i] // "Android<https://aka.ms/ghei36>"
		}
		w = strings.TrimRight(w, ".,;:!")
		if !footerKeyLens[len(w)] {
			continue
		}
		if k := strings.ToLower(w); mobileFooters[k] != nil && try(k) {
			return true
		}
	}
	if !hasWideRune(l) {
		return false
	}
	for _, k := range footerCJKKeys {
		if strings.Contains(l, k) && try(k) {
			return true
		}
	}
	return false
}

// footerKeyLens are the lengths in bytes of the keys of mobileFooters: a
// word of another length is no key (and is not lower-cased).
var footerKeyLens = func() map[int]bool {
	m := map[int]bool{}
	for k := range mobileFooters {
		m[len(k)] = true
		m[len(strings.ToUpper(k))] = true
	}
	return m
}()

// hasWideRune reports a rune of three bytes or more in UTF-8 (the CJK and
// Hangul blocks among them).
func hasWideRune(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0xe0 {
			return true
		}
	}
	return false
}

// footerKey returns the word a footer line is filed under, lower-case: its
// first word when it starts with a literal ("Sent from my %d" -> "sent"),
// else its last ("%d'umdan gönderildi" -> "gönderildi"), else its longest.
// CJK footers are filed under their literal run ("%dから送信" -> "から送信").
func footerKey(f string) string {
	words := strings.Fields(f)
	first, last := words[0], words[len(words)-1]
	switch {
	case isCJKWord(f):
		key := ""
		for _, w := range strings.Fields(strings.NewReplacer("%d", " ", "%a", " ").Replace(f)) {
			if len(w) > len(key) {
				key = w
			}
		}
		return strings.ToLower(key)
	case !strings.Contains(first, "%"):
		return strings.ToLower(first)
	case !strings.Contains(last, "%"):
		return strings.ToLower(last)
	}
	panic("quote: footer without a literal first or last word: " + f)
}

func isCJKWord(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return isCJK(string(r)) }) >= 0
}

const (
	footerWord  = `(?:[\p{L}\p{M}\p{N}\p{S}_.'’()&+-]+|\(https?://[^()\s]+\))`
	footerWords = `(?:` + footerWord + `\s*){1,5}?`
)

// footerPattern turns a footer of vocab.go into a regular expression: "%d"
// is a device (one to five words), "%a" a known app, a space any run of
// spaces (none between CJK words).
func footerPattern(f string) string {
	apps := `(?:` + alternation(footerApps) + `)(?:\s+` + footerWord + `){0,4}?`
	var b strings.Builder
	for i, part := range strings.Split(f, "%") {
		if i > 0 && part != "" {
			switch part[0] {
			case 'd':
				b.WriteString(footerWords)
			case 'a':
				b.WriteString(apps)
			}
			part = part[1:]
		}
		for _, w := range strings.SplitAfter(part, " ") {
			t := strings.TrimSuffix(w, " ")
			b.WriteString(regexp.QuoteMeta(t))
			if len(t) < len(w) {
				b.WriteString(`\s*`)
			}
		}
	}
	return b.String()
}

// isSignatureLine reports whether line starts a signature when an empty line
// precedes it. The first three rules are email_reply_parser's: a line
// starting with "--" or "__" (RFC 3676 section 4.3 "-- " delimiter and its
// sloppy variants, mailing-list footers), a "-Name" line, and "Sent from my
// <1-3 words>".
func isSignatureLine(line string) bool {
	l := strings.TrimLeft(line, " \t\r\n\v\f")
	if strings.HasPrefix(l, "--") || strings.HasPrefix(l, "__") {
		return true
	}
	if len(line) > 1 && line[0] == '-' && isWordByte(line[1]) {
		return true
	}
	return isMobileFooter(line)
}

func isWordByte(b byte) bool {
	return b == '_' || ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}

// sigSearchLines is how many lines from the bottom Signature looks at.
const sigSearchLines = 15

// sigMaxLineLen is the longest line that still looks like a signature line.
const sigMaxLineLen = 70

// Signature splits a signature that names its sender off the end of a reply
// (the text should already be without quoted history, see Reply). sender is
// the sender's display name or address. The signature is the last short block
// that mentions the sender (or the address's local part), extended up to a
// closing line ("Thank you,") in the same block or up to a separator line
// ("----") a few short lines above. With an empty sender, or when nothing
// mentions the sender, the whole text is returned and sig is "": a guess is
// never made without evidence. Lines are compared with trailing spaces
// removed.
func Signature(text, sender string) (body, sig string) {
	text = normalizeNewlines(text)
	keys := senderKeys(sender)
	if len(keys) == 0 {
		return text, ""
	}
	trimmed := strings.TrimRight(text, asciiSpace)
	lines := strings.Split(trimmed, "\n")
	last := -1
	for i := len(lines) - 1; i >= 0 && i >= len(lines)-sigSearchLines; i-- {
		if mentionsSender(lines[i], keys) {
			last = i
			break
		}
	}
	if last < 0 || runeLen(lines[last]) > sigMaxLineLen {
		return text, ""
	}
	// Start of the block (paragraph) holding the mention, short lines only.
	start := last
	for start > 0 && trimSpace(lines[start-1]) != "" && runeLen(lines[start-1]) <= sigMaxLineLen {
		start--
	}
	// A closing ("Regards,") one blank line above opens the signature.
	for i := start - 1; i >= 0 && i >= start-2; i-- {
		if trimSpace(lines[i]) == "" {
			continue
		}
		if isClosing(lines[i]) {
			start = i
		}
		break
	}
	// A separator line a few short lines above opens the signature.
	for i, short := start-1, 0; i >= 0 && short <= 6; i-- {
		l := trimSpace(lines[i])
		if l == "" {
			continue
		}
		if isSeparatorLine(l) {
			start = i
			break
		}
		if runeLen(l) > sigMaxLineLen {
			break
		}
		short++
	}
	if start == 0 {
		// Never return an empty body: a mail that is only a name is text.
		return text, ""
	}
	body = strings.TrimRight(strings.Join(lines[:start], "\n"), asciiSpace)
	sig = strings.Join(lines[start:], "\n")
	return body, sig
}

// senderKeys returns the strings whose presence in a line marks a mention of
// the sender: the display name, the address, and the address's local part
// when it is long enough to be distinctive. sender may be a bare name, a bare
// address or an RFC 5322 mailbox ("Jean Dupont <j@x.fr>").
func senderKeys(sender string) []string {
	s := trimSpace(sender)
	if s == "" {
		return nil
	}
	var keys []string
	add := func(k string) {
		k = strings.ToLower(trimSpace(k))
		if len(k) >= 2 {
			keys = append(keys, k)
		}
	}
	addr := s
	name := ""
	if a, err := mail.ParseAddress(s); err == nil {
		name = a.Name
		addr = a.Address
	} else if !strings.Contains(s, "@") {
		name = s
	}
	add(name)
	if f := strings.Fields(name); len(f) > 1 && runeLen(f[0]) >= 2 {
		keys = append(keys, wholeLine+strings.ToLower(strings.TrimFunc(f[0], notLetter)))
	}
	if at := strings.IndexByte(addr, '@'); at >= 0 {
		add(addr)
		if at >= 3 {
			add(addr[:at])
		}
	}
	return keys
}

func mentionsSender(line string, keys []string) bool {
	l := strings.ToLower(line)
	for _, k := range keys {
		if strings.HasPrefix(k, wholeLine) {
			// A first name alone on its line ("Jan", "/John", "-- Tim").
			if strings.TrimFunc(fold(l), notLetter) == k[len(wholeLine):] {
				return true
			}
			continue
		}
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

// wholeLine marks a key that only counts as a whole line (a first name is
// too common a word to count inside a sentence).
const wholeLine = "\x00"

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// closingLine matches a valediction of vocab.go alone on its line, with its
// comma or exclamation mark ("Regards,", "Mit freundlichen Grüßen").
var closingLine = sync.OnceValue(func() *regexp.Regexp {
	var all []string
	for _, c := range closings {
		all = append(all, c...)
	}
	return regexp.MustCompile(`(?i)^\s*(?:` + alternation(all) + `)\s*[,.!;:]*\s*$`)
})

func isClosing(line string) bool {
	return runeLen(line) <= sigMaxLineLen && closingLine().MatchString(fold(line))
}

// isSeparatorLine reports a line made only of 2+ '-', '_', '=' or '*'.
func isSeparatorLine(l string) bool {
	if len(l) < 2 {
		return false
	}
	c := l[0]
	if c != '-' && c != '_' && c != '=' && c != '*' {
		return false
	}
	return strings.Count(l, string(c)) == len(l)
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
