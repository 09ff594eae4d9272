package message

import (
	"bytes"
	"strings"
)

// The returned mail's Message-ID, which casemail matches against the
// notifications it sent.

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
