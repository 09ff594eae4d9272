package message

import (
	"bytes"
	"net/mail"
	"strings"
)

// ReturnPath reads the topmost Return-Path field of header (RFC 5322 section
// 3.6.7, written at final delivery per RFC 5321 section 4.4). header may be
// the header block alone or the whole message: reading stops at the blank
// line that ends the header.
//
// null is true for the null reverse-path "<>" (RFC 5321 section 4.5.5),
// which only delivery reports and auto-replies use: such mail is never
// answered (I5). addr is the sender's address otherwise, "" when there is
// no Return-Path or it is not an address: the envelope sender is then
// unknown, which is not the same as null. It never fails: a malformed field
// must not cost the mail (I4).
//
// Every door that has no SMTP envelope of its own (the IMAP poller,
// "casemail deliver") reads the sender with this one function, so that a
// bounce is treated alike whichever way it came in.
func ReturnPath(header []byte) (addr string, null bool) {
	for len(header) > 0 {
		var line []byte
		line, header = cutLine(header)
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return "", false // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !strings.EqualFold(string(bytes.TrimSpace(name)), "Return-Path") {
			continue
		}
		// Unfold continuation lines (RFC 5322 section 2.2.3).
		v := string(value)
		for len(header) > 0 && (header[0] == ' ' || header[0] == '\t') {
			line, header = cutLine(header)
			v += string(line)
		}
		return parsePath(v)
	}
	return "", false
}

func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

// parsePath reads a reverse-path: "<>", "<a@b>", with or without a trailing
// comment, or the bare and sloppy forms some MTAs write.
func parsePath(v string) (string, bool) {
	v = stripComment(strings.Join(strings.Fields(v), " "))
	if v == "<>" {
		return "", true
	}
	if v == "" {
		return "", false
	}
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Address, false
	}
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \t<>\r\n") || !strings.Contains(v, "@") {
		return "", false
	}
	return v, false
}

// stripComment drops a trailing "(comment)", as in "<> (bounce)".
func stripComment(v string) string {
	if strings.HasSuffix(v, ")") {
		if i := strings.LastIndexByte(v, '('); i >= 0 {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}
