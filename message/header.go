package message

// Header fields as mailers really write them: RFC 2047 encoded words
// (also inside quoted strings, without surrounding spaces, and with a
// multi-byte character or an ISO-2022-JP escape sequence split across
// adjacent words), RFC 2231 parameter values (continuations, a charset and
// language per segment, percent-encoded UTF-8 or Latin-1) and undeclared
// 8-bit field values (UTF-8, else Windows-1252).

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2/mediatype"
	"golang.org/x/text/encoding/charmap"
)

// encodedWord is an RFC 2047 encoded word; the charset may carry an RFC
// 2231 language ("utf-8*fr"). The text excludes '?' and white space, and
// is found anywhere, not only between spaces (mailers glue words to
// punctuation and quotes).
var encodedWord = regexp.MustCompile(`=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=`)

// maxDecodedHeader bounds what decodeWords builds from one field value:
// decoding never grows text much, but a hostile field may hold megabytes.
const maxDecodedHeader = 1 << 20

// decodeWords decodes the RFC 2047 encoded words in a header value.
// Adjacent words of the same charset, separated only by white space, are
// joined before their charset is decoded (RFC 2047 6.2 forbids splitting a
// character across words, but mailers do it for GB2312, Shift_JIS, UTF-8
// and ISO-2022-JP escape sequences). White space between adjacent encoded
// words is dropped (RFC 2047 6.2). A word whose charset is unknown or
// whose encoding is broken is kept as it is.
func decodeWords(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	locs := encodedWord.FindAllStringSubmatchIndex(v, -1)
	if locs == nil {
		return v
	}
	var out strings.Builder
	prev, lastDecoded := 0, false
	for i := 0; i < len(locs); {
		// A run of adjacent words of one known charset (an unknown one is
		// no run: trying each long run again from its next word would be
		// quadratic).
		cs := charsetOf(v[locs[i][2]:locs[i][3]])
		raw, ok := wordBytes(v[locs[i][4]:locs[i][5]], v[locs[i][6]:locs[i][7]])
		ok = ok && lookupCharset(cs) != nil
		j := i + 1
		for ok && j < len(locs) && isBlank(v[locs[j-1][1]:locs[j][0]]) &&
			strings.EqualFold(charsetOf(v[locs[j][2]:locs[j][3]]), cs) {
			b, ok2 := wordBytes(v[locs[j][4]:locs[j][5]], v[locs[j][6]:locs[j][7]])
			if !ok2 {
				break
			}
			raw = append(raw, b...)
			j++
		}
		text, decoded := "", false
		if ok {
			text, decoded = decodeCharsetBytes(raw, cs)
		}
		// White space between two decoded words is no text.
		if gap := v[prev:locs[i][0]]; !(lastDecoded && decoded && isBlank(gap)) {
			out.WriteString(gap)
		}
		if decoded {
			out.WriteString(text)
		} else {
			out.WriteString(v[locs[i][0]:locs[j-1][1]]) // kept as written
		}
		prev, lastDecoded = locs[j-1][1], decoded
		if out.Len() > maxDecodedHeader {
			return out.String()
		}
		i = j
	}
	out.WriteString(v[prev:])
	return out.String()
}

func isBlank(s string) bool { return strings.Trim(s, " \t\r\n") == "" }

// charsetOf cuts an RFC 2231 language from an encoded word's charset.
func charsetOf(cs string) string {
	if i := strings.IndexByte(cs, '*'); i >= 0 {
		cs = cs[:i]
	}
	return cs
}

// wordBytes decodes the B or Q encoding of one encoded word (RFC 2047 4).
func wordBytes(enc, text string) ([]byte, bool) {
	if enc == "B" || enc == "b" {
		// Padding is often missing or wrong; decode what is there.
		t := strings.TrimRight(text, "=")
		b, err := base64.RawStdEncoding.DecodeString(t)
		if err != nil {
			return nil, false
		}
		return b, true
	}
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(text):
			n, err := strconv.ParseUint(text[i+1:i+3], 16, 8)
			if err != nil {
				b = append(b, c) // a stray '=' is kept
				continue
			}
			b = append(b, byte(n))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b, true
}

// decodeCharsetBytes converts b from charset cs to UTF-8; ok is false when
// the charset is unknown.
func decodeCharsetBytes(b []byte, cs string) (string, bool) {
	e := lookupCharset(cs)
	if e == nil {
		return "", false
	}
	out, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return "", false
	}
	if !utf8.Valid(out) {
		// Declared UTF-8 (or ASCII) that is not: the sender's charset was
		// wrong; read it as an undeclared value.
		s, _ := decodeUndeclared(out, false)
		return s, true
	}
	return string(out), true
}

// parseMediaType is enmime's media type parser (Content-Type and
// Content-Disposition) with what it lacks: RFC 2231 values whose segments
// each name a charset or mix extended and plain segments, encoded words in
// parameter values, and the undeclared charset marker for text parts
// (see charset.go).
func parseMediaType(v string) (string, map[string]string, []string, error) {
	mtype, params, invalid, err := mediatype.Parse(v)
	if err != nil {
		return mtype, params, invalid, err
	}
	if params == nil {
		params = map[string]string{} // mediatype.Parse returns nil for some garbage
	}
	if strings.Contains(v, "*") {
		for name, val := range rfc2231Params(v) {
			params[name] = val
		}
	}
	if strings.Contains(v, "=?") {
		// From the raw value: mediatype.Parse decodes encoded words one
		// by one, which garbles a character split across two.
		for _, m := range paramRe.FindAllStringSubmatch(v, -1) {
			if m[2] == "" && m[3] == "" && strings.Contains(m[4], "=?") {
				params[strings.ToLower(m[1])] = decodeWords(unquote(m[4]))
			}
		}
	}
	if strings.HasPrefix(mtype, "text/") {
		switch strings.ToLower(strings.TrimSpace(params["charset"])) {
		case "", "us-ascii", "ascii", "us_ascii", "ansi_x3.4-1968":
			params["charset"] = undeclaredCharset
		}
	}
	return mtype, params, invalid, nil
}

// paramRe is one parameter of a header value: name, optional RFC 2231
// section and '*', then a quoted or plain value.
var paramRe = regexp.MustCompile(`;\s*([A-Za-z0-9!#$%&'+.^_` + "`" + `|~-]+?)(?:\*(\d+))?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)`)

// rfc2231Params reads the RFC 2231 parameters (name*=, name*0=, name*0*=)
// of a header value. Each extended segment is percent-decoded; its
// charset is the one it names (mailers repeat it per segment) or the
// first segment's; consecutive bytes of one charset are joined before
// decoding, so a character split across segments survives.
func rfc2231Params(v string) map[string]string {
	type seg struct {
		n   int
		ext bool
		val string
	}
	segs := map[string][]seg{}
	for _, m := range paramRe.FindAllStringSubmatch(v, -1) {
		name := strings.ToLower(m[1])
		if m[2] == "" && m[3] == "" {
			continue // a plain parameter: enmime's reading stands
		}
		n := 0
		if m[2] != "" {
			var err error
			if n, err = strconv.Atoi(m[2]); err != nil {
				n = -1 // out of range: no segment
			}
		}
		val := unquote(m[4])
		segs[name] = append(segs[name], seg{n: n, ext: m[3] != "", val: val})
	}
	out := map[string]string{}
	for name, ss := range segs {
		// Segments 0, 1, 2... in order, up to the first gap (RFC 2231 3);
		// a repeated number counts once.
		slices.SortStableFunc(ss, func(a, b seg) int { return cmp.Compare(a.n, b.n) })
		ordered := make([]seg, 0, len(ss))
		for _, s := range ss {
			if s.n == len(ordered) {
				ordered = append(ordered, s)
			}
		}
		if len(ordered) == 0 {
			continue
		}
		var text strings.Builder
		cs := ""
		var run []byte
		runCS := ""
		flush := func() {
			if len(run) == 0 {
				return
			}
			s, ok := decodeCharsetBytes(run, runCS)
			if !ok {
				s, _ = decodeUndeclared(run, false)
			}
			text.WriteString(s)
			run = run[:0]
		}
		for i, s := range ordered {
			if !s.ext {
				flush()
				text.WriteString(s.val)
				continue
			}
			val := s.val
			// charset'language'value: in the first segment by the RFC,
			// in any segment in practice.
			if a := strings.IndexByte(val, '\''); a >= 0 {
				if b := strings.IndexByte(val[a+1:], '\''); b >= 0 && (i == 0 || validCharsetName(val[:a])) {
					if c := val[:a]; c != "" {
						cs = c
					}
					val = val[a+1+b+1:]
				}
			}
			segCS := cs
			if segCS == "" {
				segCS = "us-ascii"
			}
			if segCS != runCS {
				flush()
				runCS = segCS
			}
			run = append(run, percentDecode(val)...)
		}
		flush()
		out[name] = text.String()
	}
	return out
}

// unquote removes the quotes of an RFC 2045 quoted-string.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`)
	}
	return v
}

var charsetName = regexp.MustCompile(`^[A-Za-z0-9_.:+-]{1,40}$`)

func validCharsetName(s string) bool { return s == "" || charsetName.MatchString(s) }

// percentDecode reads RFC 2231 %XX escapes; a stray '%' is kept.
func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(n))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

// decodeHeader8bit reads a header section holding raw 8-bit bytes line by
// line: a line that is valid UTF-8 stays as it is, any other is decoded
// from cs (the body's charset when the mail names one, else
// Windows-1252). Line by line, because one mailer writes a UTF-8 Subject
// and a relay adds a Latin-1 field to the same header.
func decodeHeader8bit(h []byte, cs string) []byte {
	enc := lookupCharset(cs)
	if enc == nil {
		enc = charmap.Windows1252
	}
	var out bytes.Buffer
	out.Grow(len(h) + len(h)/8)
	for len(h) > 0 {
		line := h
		if i := bytes.IndexByte(h, '\n'); i >= 0 {
			line = h[:i+1]
		}
		h = h[len(line):]
		if isASCII(line) || utf8.Valid(line) {
			out.Write(line)
			continue
		}
		d, err := enc.NewDecoder().Bytes(line)
		if err != nil || !utf8.Valid(d) {
			d, _ = charmap.Windows1252.NewDecoder().Bytes(line)
		}
		out.Write(d)
	}
	return out.Bytes()
}

// loneCRHeader reports whether the header section uses a bare CR as a
// line end (classic Mac OS mailers, or a relay that mixed line ends):
// without repair the whole mail reads as one header line.
func loneCRHeader(b []byte) bool {
	lineLen := 0
	for i := 0; i < len(b) && i < LargeHeaderMax; i++ {
		switch b[i] {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			return true
		case '\n':
			if lineLen == 0 {
				return false // the blank line: end of the header
			}
			lineLen = 0
		default:
			lineLen++
		}
	}
	return false
}

// crToCRLF turns every bare CR into CRLF, leaving CRLF and LF as they are.
func crToCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte{'\r'}))
	for i, c := range b {
		out = append(out, c)
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			out = append(out, '\n')
		}
	}
	return out
}

// knownField matches the fields every mailer writes; a stray line followed
// by one of them is inside the header, not the start of the body.
var knownField = regexp.MustCompile(`(?i)^(?:from|to|cc|bcc|date|subject|message-id|in-reply-to|references|reply-to|sender|received|return-path|mime-version|content-[a-z-]+|x-[a-z0-9-]+|dkim-signature|list-[a-z-]+|delivered-to|auto-submitted|precedence)[ \t]*:`)

// repairStrayLines handles header lines that are neither a field nor a
// continuation (RFC 5322 2.2): a line a mailer wrapped without indenting
// it is joined to the field before it when known fields follow; otherwise
// the header ended without its blank line and the stray line starts the
// body. Either way its text is kept (enmime would drop it). h is the
// header section without its blank line; n counts the lines repaired.
func repairStrayLines(h []byte) ([]byte, int) {
	stray := func(l []byte) bool {
		t := bytes.TrimRight(l, "\r\n")
		return len(t) > 0 && t[0] != ' ' && t[0] != '\t' && !isFieldLine(t)
	}
	// Most headers have none: find out without splitting.
	found := false
	for rest, first := h, true; len(rest) > 0 && !found; first = false {
		l := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l = rest[:i+1]
		}
		rest = rest[len(l):]
		found = !first && stray(l)
	}
	if !found {
		return h, 0
	}
	lines := bytes.SplitAfter(h, []byte("\n"))
	n := 0
	lastKnown := -1 // the last line that is a known field
	for i, l := range lines {
		if knownField.Match(l) {
			lastKnown = i
		}
	}
	out := make([]byte, 0, len(h)+n+2)
	for i, l := range lines {
		if i == 0 || !stray(l) {
			out = append(out, l...)
			continue
		}
		n++
		if lastKnown < i {
			out = append(out, '\r', '\n') // the body starts here
			for _, m := range lines[i:] {
				out = append(out, m...)
			}
			return out, n
		}
		out = append(append(out, ' '), l...)
	}
	return out, n
}

// isFieldLine is fieldLine.Match without the regular expression: it runs
// on every header line of every mail.
func isFieldLine(l []byte) bool {
	i := 0
	for i < len(l) && l[i] >= '!' && l[i] <= '~' && l[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	return i < len(l) && l[i] == ':'
}

// mergeWords rewrites each run of adjacent encoded words of one charset
// into a single B-encoded word holding their joined bytes, so that a
// decoder that takes words one by one (the address parser) gets whole
// characters. Everything else is left as written.
func mergeWords(v string) string {
	if !strings.Contains(v, "?=") {
		return v
	}
	locs := encodedWord.FindAllStringSubmatchIndex(v, -1)
	if len(locs) < 2 {
		return v
	}
	var out strings.Builder
	prev := 0
	for i := 0; i < len(locs); {
		cs := v[locs[i][2]:locs[i][3]]
		raw, ok := wordBytes(v[locs[i][4]:locs[i][5]], v[locs[i][6]:locs[i][7]])
		// A word with a language but no charset name ("=?*fr?B?...?=") is
		// left alone: joined, it would read as no encoded word at all.
		ok = ok && charsetOf(cs) != "" && lookupCharset(charsetOf(cs)) != nil
		j := i + 1
		for ok && j < len(locs) && isBlank(v[locs[j-1][1]:locs[j][0]]) &&
			strings.EqualFold(charsetOf(v[locs[j][2]:locs[j][3]]), charsetOf(cs)) {
			b, ok2 := wordBytes(v[locs[j][4]:locs[j][5]], v[locs[j][6]:locs[j][7]])
			if !ok2 {
				break
			}
			raw = append(raw, b...)
			j++
		}
		out.WriteString(v[prev:locs[i][0]])
		if j-i > 1 {
			out.WriteString("=?" + charsetOf(cs) + "?B?" + base64.StdEncoding.EncodeToString(raw) + "?=")
		} else {
			out.WriteString(v[locs[i][0]:locs[i][1]])
		}
		prev = locs[j-1][1]
		i = j
	}
	out.WriteString(v[prev:])
	return out.String()
}
