package imappoll

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// MailFrom comes from the topmost Return-Path (RFC 5321 section 4.4); the
// null path and malformed fields give "" instead of a refused mail (I4).
func TestReturnPath(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"angle addr", "Return-Path: <bounce@example.test>\r\nFrom: a@b\r\n\r\n", "bounce@example.test"},
		{"null path", "Return-Path: <>\r\n\r\n", ""},
		{"none", "From: a@b\r\nSubject: x\r\n\r\n", ""},
		{"lower case name", "return-path:<x@y.test>\r\n\r\n", "x@y.test"},
		{"topmost wins", "Return-Path: <first@a.test>\r\nReturn-Path: <second@a.test>\r\n\r\n", "first@a.test"},
		{"folded", "Return-Path:\r\n <folded@a.test>\r\n\r\n", "folded@a.test"},
		{"bare addr", "Return-Path: bare@a.test\n\n", "bare@a.test"},
		{"in body only", "From: a@b\r\n\r\nReturn-Path: <body@a.test>\r\n", ""},
		{"garbage", "Return-Path: <<not an address\r\n\r\n", ""},
		{"no at sign", "Return-Path: <MAILER-DAEMON>\r\n\r\n", ""},
		{"comment", "Return-Path: <c@a.test> (via relay)\r\n\r\n", "c@a.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := returnPath([]byte(tc.header)); got != tc.want {
				t.Errorf("returnPath(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}

// peekHeader stops at the blank line and hands back exactly what it read,
// so that header + rest is the message byte for byte (the receiver
// fingerprints raw bytes, I2).
func TestPeekHeaderKeepsBytes(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", 100000) + "\r\n"
	tests := []struct {
		name, msg, wantHead string
	}{
		{"crlf", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n\r\n"},
		{"lf", "A: 1\n\nbody\n", "A: 1\n\n"},
		{"no body", "A: 1\r\n", "A: 1\r\n"},
		{"empty", "", ""},
		{"long line is not a blank line", long + "\r\nbody", long + "\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.msg), 16)
			head, err := peekHeader(br)
			if err != nil {
				t.Fatal(err)
			}
			if string(head) != tc.wantHead {
				t.Errorf("head = %.60q, want %.60q", head, tc.wantHead)
			}
			var rest bytes.Buffer
			rest.ReadFrom(br)
			if string(head)+rest.String() != tc.msg {
				t.Errorf("head+rest differs from the message")
			}
		})
	}
}
