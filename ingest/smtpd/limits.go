package smtpd

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-smtp"
)

// Refusals of a message's content. They are permanent (5xx): the same
// message would be refused again, and a 4xx has the sender retry for days.
var errLineTooLong = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
	Message: fmt.Sprintf("message refused: a line is longer than %d characters (RFC 5322 2.1.1 allows 998); encode long lines (quoted-printable or base64)", MaxLineLength)}

func errHeaderTooLong(name string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
		Message: fmt.Sprintf("message refused: header field %q is longer than %d bytes", name, MaxHeaderFieldBytes)}
}

// limitReader checks a message as it streams past, the same for DATA and
// BDAT (go-smtp lifts its own line limit for BDAT chunks): no line longer
// than MaxLineLength octets (CR and LF not counted), no header field, with
// its folded continuation lines, longer than MaxHeaderFieldBytes. It
// returns the refusal as an *smtp.SMTPError the moment a limit is passed,
// so nothing past it is read or kept.
type limitReader struct {
	r io.Reader

	line      int  // octets of the current line so far
	lineStart bool // the next octet starts a line
	body      bool // the header section has ended
	field     int  // octets of the current header field
	name      []byte
	err       error
}

func newLimitReader(r io.Reader) *limitReader {
	return &limitReader{r: r, lineStart: true}
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(b)
	if cerr := l.check(b[:n]); cerr != nil {
		l.err = cerr
		return 0, cerr
	}
	return n, err
}

func (l *limitReader) check(p []byte) error {
	for len(p) > 0 {
		if l.body {
			// The body: only line lengths matter; skip to each LF.
			i := bytes.IndexByte(p, '\n')
			seg := p
			if i >= 0 {
				seg = p[:i]
			}
			l.line += len(seg) - bytes.Count(seg, []byte{'\r'})
			if l.line > MaxLineLength {
				return errLineTooLong
			}
			if i < 0 {
				return nil
			}
			l.line = 0
			p = p[i+1:]
			continue
		}
		c := p[0]
		p = p[1:]
		if c == '\r' { // not counted, wherever it is
			continue
		}
		if l.lineStart {
			l.lineStart = false
			switch c {
			case ' ', '\t': // a folded continuation of the current field
			case '\n':
			default:
				l.field, l.name = 0, l.name[:0]
			}
		}
		switch c {
		case '\n':
			if l.line == 0 { // the empty line that ends the header section
				l.body = true
			}
			l.line, l.lineStart = 0, true
			continue
		}
		l.line++
		l.field++
		if l.field == len(l.name)+1 && c != ':' && len(l.name) < 64 {
			l.name = append(l.name, c)
		}
		if l.line > MaxLineLength {
			return errLineTooLong
		}
		if l.field > MaxHeaderFieldBytes {
			name := "(unnamed)"
			if len(l.name) > 0 {
				name = strings.ToValidUTF8(oneLine(string(l.name)), "?")
			}
			return errHeaderTooLong(name)
		}
	}
	return nil
}
