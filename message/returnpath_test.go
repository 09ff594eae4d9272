package message

import "testing"

// The envelope sender of mail without an SMTP envelope comes from the
// topmost Return-Path (RFC 5321 section 4.4). The null path must read as
// null, whatever its spelling, or a bounce is answered (I5); a malformed
// field reads as unknown rather than refusing the mail (I4).
func TestReturnPath(t *testing.T) {
	tests := []struct {
		name, header string
		addr         string
		null         bool
	}{
		{"angle addr", "Return-Path: <bounce@example.test>\r\nFrom: a@b\r\n\r\n", "bounce@example.test", false},
		{"null path", "Return-Path: <>\r\n\r\n", "", true},
		{"null path with comment", "Return-Path: <> (mailer-daemon)\r\n\r\n", "", true},
		{"null path folded", "Return-Path:\r\n <>\r\n\r\n", "", true},
		{"null path LF and no space", "return-path:<>\nFrom: x@y\n\nbody", "", true},
		{"none", "From: a@b\r\nSubject: x\r\n\r\n", "", false},
		{"lower case name", "return-path:<x@y.test>\r\n\r\n", "x@y.test", false},
		{"topmost wins", "Return-Path: <>\r\nReturn-Path: <second@a.test>\r\n\r\n", "", true},
		{"folded", "Return-Path:\r\n <folded@a.test>\r\n\r\n", "folded@a.test", false},
		{"bare addr", "Return-Path: bare@a.test\n\n", "bare@a.test", false},
		{"in body only", "From: a@b\r\n\r\nReturn-Path: <>\r\n", "", false},
		{"garbage", "Return-Path: <<not an address\r\n\r\n", "", false},
		{"no at sign", "Return-Path: <MAILER-DAEMON>\r\n\r\n", "", false},
		{"empty value", "Return-Path: \r\n\r\n", "", false},
		{"comment", "Return-Path: <c@a.test> (via relay)\r\n\r\n", "c@a.test", false},
		{"non-ASCII local part", "Return-Path: <jürgen@bücher.test>\r\n\r\n", "jürgen@bücher.test", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, null := ReturnPath([]byte(tc.header))
			if addr != tc.addr || null != tc.null {
				t.Errorf("ReturnPath(%q) = %q, %v; want %q, %v", tc.header, addr, null, tc.addr, tc.null)
			}
		})
	}
}
