package message

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Bounds on the work one mail may cost (issue 10: 10,000 nested multiparts
// in 707 KB took 143 s of CPU in enmime, 100,000 parts 278 s and 504 MB).
// Whatever a mail holds up to smtp.max_message_bytes, Parse and ParseLarge
// stay within them; what a bound cuts is listed in Problems, and the raw
// mail, kept by the caller, still holds all of it.
const (
	// MaxParts is the number of MIME parts read in one mail; the parts
	// after it are kept in the raw message only.
	MaxParts = 1000
	// MaxDepth bounds multipart nesting (RFC 2046 5.1 sets no limit;
	// real mailers nest 3 or 4 levels).
	MaxDepth = 32
	// MaxHeaderFields is the number of fields read in one header section;
	// the fields after it are dropped (real mail has under 200).
	MaxHeaderFields = 1000
	// MaxPartHeaderBytes bounds one part's header section on the
	// streaming path (the top-level one is bounded by LargeHeaderMax).
	MaxPartHeaderBytes = 64 << 10
	// maxMIMEParams and maxMIMEFieldBytes bound a Content-Type or
	// Content-Disposition value: enmime's parameter parser is quadratic in
	// RFC 2231 continuations (50,000 of them took 4 minutes). A long file
	// name split in 2231 sections needs a few dozen.
	maxMIMEParams     = 64
	maxMIMEFieldBytes = 8 << 10
	// MaxInMemoryParse is the largest mail Parse hands to enmime, which
	// holds the mail several times over (decoded parts, header copies); a
	// larger one is read by ParseLarge from the bytes given, as ingest
	// does above the same size.
	MaxInMemoryParse = 4 << 20
)

// Parse hands a mail to enmime only when a cheap scan shows its structure
// is small enough; enmime's cost grows with parts times depth times size.
// These bounds are conservative counts, not a parse: whatever enmime would
// find, it finds at most this much. A mail over them is read by the
// streaming parser (ParseLarge), whose cost grows only with the size.
const (
	enmimeMaxDelimLines    = 256     // lines containing "--": bounds the parts
	enmimeMaxNested        = 16      // "boundary" in part headers: bounds the depth
	enmimeMaxHeaderLines   = 4096    // part header lines, all parts together
	enmimeMaxHeaderBytes   = 1 << 20 // part header bytes, all parts together
	enmimeMaxContinuations = 256     // RFC 2231 sections ("name*0=") in part headers
)

// overBudget says why enmime may not read body (the part after the
// top-level header), "" when it may. enmime starts a part at any line that
// contains "--boundary" and reads its header up to the next blank line; so
// every part follows a line containing "--", and its header lies in the
// lines after it up to a blank line. Counting there bounds what enmime can
// find, whatever the boundaries are.
func overBudget(body []byte) string {
	delims, nests, lines, size, conts := 0, 0, 0, 0, 0
	inHeader := false
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		dashes := bytes.Contains(line, []byte("--"))
		if dashes {
			if delims++; delims > enmimeMaxDelimLines {
				return fmt.Sprintf("over %d boundary lines", enmimeMaxDelimLines)
			}
		}
		if !inHeader && !dashes {
			continue
		}
		if !dashes && len(bytes.TrimRight(line, "\r")) == 0 {
			inHeader = false
			continue
		}
		inHeader = true
		// A line with "--" may be a boundary or a header line: counted as both.
		lines++
		size += len(line)
		// Any part whose Content-Type has a boundary parameter is read as
		// a multipart by enmime, whatever its type.
		nests += countFold(line, "boundary")
		conts += continuations(line)
		switch {
		case lines > enmimeMaxHeaderLines || size > enmimeMaxHeaderBytes:
			return "part headers over their bounds"
		case nests > enmimeMaxNested:
			return fmt.Sprintf("over %d nested multiparts", enmimeMaxNested)
		case conts > enmimeMaxContinuations:
			return fmt.Sprintf("over %d RFC 2231 parameter sections", enmimeMaxContinuations)
		}
	}
	return ""
}

// countFold counts the ASCII case-insensitive occurrences of word (lower
// case) in b.
func countFold(b []byte, word string) int {
	n := 0
	for i := 0; i+len(word) <= len(b); i++ {
		if b[i]|0x20 != word[0] {
			continue
		}
		j := 1
		for j < len(word) && b[i+j]|0x20 == word[j] {
			j++
		}
		if j == len(word) {
			n++
			i += j - 1
		}
	}
	return n
}

// continuations counts "*" followed by a digit or "=": RFC 2231 parameter
// sections and encoded values.
func continuations(b []byte) int {
	n := 0
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '*' && (b[i+1] == '=' || b[i+1] >= '0' && b[i+1] <= '9') {
			n++
		}
	}
	return n
}

// boundMIMEField cuts a Content-Type or Content-Disposition value to
// maxMIMEParams parameters and maxMIMEFieldBytes bytes, at a ';'.
func boundMIMEField(v string) (string, bool) {
	cut := false
	if len(v) > maxMIMEFieldBytes {
		v, cut = v[:maxMIMEFieldBytes], true
		if i := strings.LastIndexByte(v, ';'); i > 0 {
			v = v[:i]
		}
	}
	if strings.Count(v, ";") > maxMIMEParams {
		i, n := 0, 0
		for ; i < len(v); i++ {
			if v[i] == ';' {
				if n++; n > maxMIMEParams {
					break
				}
			}
		}
		v, cut = v[:i], true
	}
	return v, cut
}

// capHeader bounds a top-level header section: at most MaxHeaderFields
// fields, Content-Type and Content-Disposition cut by boundMIMEField. It
// returns nil when h is within bounds (no copy), else the bounded header
// and what was cut.
func capHeader(h []byte) ([]byte, []string) {
	fields, mimeLong := 0, false
	rest := h
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if line[0] != ' ' && line[0] != '\t' {
			fields++ // at least as many as the fields enmime finds
		}
		if len(line) > maxMIMEFieldBytes || bytes.Count(line, []byte(";")) > maxMIMEParams {
			mimeLong = true // possibly: checked below, field by field
		}
	}
	if fields <= MaxHeaderFields && !mimeLong {
		return nil, nil
	}
	var out bytes.Buffer
	var problems []string
	kept, dropped, cutMIME := 0, 0, 0
	for _, f := range splitFields(h) {
		if kept++; kept > MaxHeaderFields {
			if len(bytes.TrimRight(f, "\r\n")) > 0 {
				dropped++
				continue
			}
		}
		if name, value, ok := bytes.Cut(f, []byte(":")); ok && isMIMEParamField(name) {
			v := strings.Join(strings.Fields(string(value)), " ")
			if b, cut := boundMIMEField(v); cut {
				cutMIME++
				f = []byte(string(name) + ": " + b + "\r\n")
			}
		}
		out.Write(f)
	}
	if dropped > 0 {
		problems = append(problems, fmt.Sprintf("header over %d fields: %d more dropped", MaxHeaderFields, dropped))
	}
	if cutMIME > 0 {
		problems = append(problems, fmt.Sprintf("%d Content-Type/Disposition field(s) over %d parameters or %d bytes: cut", cutMIME, maxMIMEParams, maxMIMEFieldBytes))
	}
	if dropped == 0 && cutMIME == 0 {
		return nil, nil
	}
	return out.Bytes(), problems
}

// splitFields splits a header section into fields, each with its
// continuation lines (and the final blank line as a field of its own).
func splitFields(h []byte) [][]byte {
	var out [][]byte
	start := 0
	for i := 0; i < len(h); {
		j := bytes.IndexByte(h[i:], '\n')
		if j < 0 {
			break
		}
		next := i + j + 1
		if next < len(h) && h[next] != ' ' && h[next] != '\t' {
			out = append(out, h[start:next])
			start = next
		}
		i = next
	}
	if start < len(h) {
		out = append(out, h[start:])
	}
	return out
}

func isMIMEParamField(name []byte) bool {
	n := strings.TrimSpace(string(name))
	return strings.EqualFold(n, "Content-Type") || strings.EqualFold(n, "Content-Disposition")
}

// partHeaderGuard passes a MIME body through to the streaming parser and
// ends it when a part header grows past MaxHeaderFields lines or
// MaxPartHeaderBytes: go-message reads a part header whole into memory
// (3 million fields in one part took 1.4 GB). Like overBudget it takes
// every line containing "--" as a possible boundary; the header-like lines
// after it (a field or a continuation) are the part header.
type partHeaderGuard struct {
	r        io.Reader
	cut      bool
	head     []byte // the first bytes of the current line
	lineLen  int
	dashes   bool // the line contains "--"
	lastDash bool
	like     int8 // the line is header-like: 0 unknown, 1 yes, -1 no
	inHeader bool
	lines    int
	size     int
}

func newPartHeaderGuard(r io.Reader) *partHeaderGuard {
	return &partHeaderGuard{r: r}
}

const guardHead = 128

func (g *partHeaderGuard) Read(p []byte) (int, error) {
	if g.cut {
		return 0, io.EOF
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		if c == '\n' {
			g.endLine()
		} else {
			g.lineLen++
			if len(g.head) < guardHead {
				g.head = append(g.head, c)
			}
			if c == '-' && g.lastDash {
				g.dashes = true
			}
			g.lastDash = c == '-'
			// A long header line counts before it ends.
			if g.inHeader && g.lineLen > guardHead && g.size+g.lineLen > MaxPartHeaderBytes && g.headerLike() {
				g.cut = true
			}
		}
		if g.cut {
			return i, io.EOF
		}
	}
	return n, err
}

// headerLike: a field ("Name: value") or a continuation line, judged by the
// first bytes of the line.
func (g *partHeaderGuard) headerLike() bool {
	if g.like == 0 {
		line := bytes.TrimRight(g.head, "\r")
		g.like = -1
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t' || fieldLine.Match(line)) {
			g.like = 1
		}
	}
	return g.like == 1
}

// endLine classifies the line just read.
func (g *partHeaderGuard) endLine() {
	switch {
	case g.inHeader && g.headerLike():
		g.lines++
		g.size += g.lineLen
		if g.lines > MaxHeaderFields || g.size > MaxPartHeaderBytes {
			g.cut = true
		}
	case g.dashes:
		g.inHeader, g.lines, g.size = true, 0, 0
	default:
		g.inHeader = false
	}
	g.head, g.lineLen, g.dashes, g.lastDash, g.like = g.head[:0], 0, false, false, 0
}

// parseBounded reads with the streaming parser a mail whose structure is
// over enmime's budget: its cost grows with the size only, and it stops at
// MaxParts and MaxDepth.
func parseBounded(raw []byte, opt Options, why string) (*Parsed, error) {
	p, err := ParseLarge(bytes.NewReader(raw), opt)
	if err != nil {
		return nil, err
	}
	p.problemf("MIME structure with %s: read by the streaming parser (at most %d parts, %d levels)", why, MaxParts, MaxDepth)
	return p, nil
}

// bodyOf returns the body of a mail as prepare split it.
func bodyOf(hdr, body []byte) []byte {
	if body != nil {
		return body
	}
	return hdr[headerEnd(hdr):]
}
