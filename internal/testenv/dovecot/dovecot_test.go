package dovecot

import (
	"fmt"
	"testing"
	"time"
)

// The harness itself: append, list, restart keeps the mail, wrong users are refused.
func TestStartAppendRestart(t *testing.T) {
	s := Start(t)
	for i := 0; i < 3; i++ {
		s.Append("INBOX", []byte(fmt.Sprintf("Message-ID: <m%d@example.test>\r\nSubject: hi\r\n\r\nbody\r\n", i)))
	}
	s.Append("Other", []byte("Message-ID: <o@example.test>\r\n\r\nx\r\n"))
	if got := s.List("INBOX"); len(got) != 3 || got[0].MessageID != "m0@example.test" || got[0].Seen() {
		t.Fatalf("INBOX = %+v, want 3 unseen messages starting with m0@example.test", got)
	}
	c := s.Dial("")
	s.Restart()
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("a client connection survived Restart")
	}
	if got := s.List("INBOX"); len(got) != 3 {
		t.Fatalf("after restart INBOX has %d messages, want 3", len(got))
	}
	if got := s.List("Missing"); len(got) != 0 {
		t.Fatalf("missing mailbox lists %d messages", len(got))
	}
	if _, n := s.Status("Other"); n != 1 {
		t.Fatalf("Other has %d messages, want 1", n)
	}
	if out, err := s.Doveadm("mailbox", "status", "-u", User, "messages", "INBOX"); err != nil || out != "INBOX messages=3\n" {
		t.Fatalf("doveadm = %q, %v", out, err)
	}
}
