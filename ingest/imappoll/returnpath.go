package imappoll

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"
)

// maxHeaderPeek bounds how much of a message's header is buffered to look
// for Return-Path; past it the rest streams through unexamined.
const maxHeaderPeek = 256 << 10

// peekHeader reads the header block (up to and including the empty line that
// ends it, RFC 5322 section 2.1) from br, at most maxHeaderPeek bytes. The
// bytes read are returned and must be put back in front of the stream.
func peekHeader(br *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	partial := false // the previous read ended mid-line
	for buf.Len() < maxHeaderPeek {
		line, err := br.ReadSlice('\n')
		buf.Write(line)
		if err == bufio.ErrBufferFull {
			partial = true // a very long line: keep reading it
			continue
		}
		wasPartial := partial
		partial = false
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf.Bytes(), nil
			}
			return buf.Bytes(), err
		}
		if !wasPartial && len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			break
		}
	}
	return buf.Bytes(), nil
}

// returnPath returns the address in the topmost Return-Path header field
// (RFC 5322 section 3.6.7, added at final delivery per RFC 5321 section
// 4.4), "" for the null path "<>" or when there is none. It never fails: a
// malformed field gives "" rather than a refused message.
func returnPath(header []byte) string {
	for len(header) > 0 {
		var line []byte
		line, header = cutLine(header)
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return "" // end of header block
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
	return ""
}

func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1], b[i+1:]
	}
	return b, nil
}

func parsePath(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if v == "" || v == "<>" {
		return ""
	}
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Address
	}
	// Bare or sloppy forms seen in the wild: "<a@b>" with comments, "a@b".
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			v = v[i+1 : i+j]
		}
	}
	v = strings.TrimSpace(v)
	if strings.ContainsAny(v, " \t<>\r\n") || !strings.Contains(v, "@") {
		return ""
	}
	return v
}
