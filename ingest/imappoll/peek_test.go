package imappoll

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

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
