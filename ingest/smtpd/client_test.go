package smtpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"

	"github.com/emersion/go-smtp"
)

// dialClient opens a go-smtp client session that has said EHLO.
func dialClient(t testing.TB, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	// go-smtp waits 5 and 12 minutes by default: a server that stops
	// answering must fail the test, not outlast it.
	c.CommandTimeout, c.SubmissionTimeout = patience, patience
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// TestTooLargeNotBuffered sends 30 MB to a 25 MB listener without declaring
// SIZE: the sender gets 552, the receiver is never called (no partial
// message is recorded, I4), and the listener never holds the message in
// memory.
func TestTooLargeNotBuffered(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 25 << 20
	spoolDir := t.TempDir()
	rcv := &fakeReceiver{}
	_, addr := startServer(t, cfg, rcv, nil, WithSpool(spoolDir, DefaultSpoolMemory))

	c := dialClient(t, addr)
	if err := c.Mail("alice@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("support@support.example.test", nil); err != nil {
		t.Fatal(err)
	}

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 1022) + "\r\n")
	fmt.Fprintf(w, "Subject: huge\r\n\r\n")
	for sent := 0; sent < 30<<20; sent += len(line) {
		if _, err := w.Write(line); err != nil {
			t.Fatalf("write body: %v", err)
		}
	}
	err = w.Close()
	runtime.ReadMemStats(&after)

	if code := smtpCode(err); code != 552 {
		t.Fatalf("DATA reply: %v (code %d), want 552", err, code)
	}
	if n := len(rcv.got()); n != 0 {
		t.Errorf("receiver called %d times for an oversized message, want 0", n)
	}
	// Everything allocated during the transfer, client and server together,
	// is an upper bound on what was held at once.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("allocated %d MB during a 30 MB transfer: the message is being buffered in memory", grew>>20)
	}
	left, _ := os.ReadDir(spoolDir)
	if len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
	// The session survives: the next message goes through.
	if err := c.SendMail("alice@customer.test", []string{"support@support.example.test"}, strings.NewReader("Subject: small\r\n\r\nhi\r\n")); err != nil {
		t.Errorf("next message after 552: %v", err)
	}
	if n := len(rcv.got()); n != 1 {
		t.Errorf("receiver called %d times, want 1 (the small message)", n)
	}
}

// TestSpooledToDisk checks that a message larger than the memory part of the
// spool reaches the receiver byte for byte (I1: what is acknowledged is
// what was sent).
func TestSpooledToDisk(t *testing.T) {
	spoolDir := t.TempDir()
	rcv := &fakeReceiver{}
	_, addr := startServer(t, testConfig(), rcv, nil, WithSpool(spoolDir, 4096))
	var body strings.Builder
	body.WriteString("Subject: spooled\r\n\r\n")
	for i := 0; body.Len() < 100_000; i++ {
		fmt.Fprintf(&body, "line %d\r\n.starts with a dot\r\n", i)
	}
	c := dialClient(t, addr)
	if err := c.SendMail("alice@customer.test", []string{"support@support.example.test"}, strings.NewReader(body.String())); err != nil {
		t.Fatal(err)
	}
	calls := rcv.got()
	if len(calls) != 1 || string(calls[0].raw) != body.String() {
		t.Fatalf("receiver got %d calls; message intact = %v", len(calls), len(calls) == 1 && string(calls[0].raw) == body.String())
	}
	if left, _ := os.ReadDir(spoolDir); len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
	// RFC 5321 4.4: the listener adds a Received field naming the client and the recipient.
	if tr := calls[0].received; !strings.Contains(tr, "from ") || !strings.Contains(tr, "by ") || !strings.Contains(tr, "for <support@support.example.test>") {
		t.Errorf("trace field = %q", tr)
	}
}

// TestEnvelopeLimits covers refusals a go-smtp client sees before DATA.
func TestEnvelopeLimits(t *testing.T) {
	tests := []struct {
		name     string
		size     int64 // declared SIZE (RFC 1870), 0 = none
		rcpts    int
		wantMail int // expected code at MAIL, 0 = accepted
		wantRcpt int // expected code for the last RCPT, 0 = accepted
	}{
		{name: "declared size too large refused at MAIL", size: 2 << 20, rcpts: 1, wantMail: 552},
		{name: "declared size within limit", size: 1000, rcpts: 1},
		{name: "recipients up to the cap", rcpts: 3},
		{name: "one recipient over the cap", rcpts: 4, wantRcpt: 452},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := &fakeReceiver{}
			_, addr := startServer(t, testConfig(), rcv, nil, WithMaxRecipients(3))
			c := dialClient(t, addr)
			err := c.Mail("alice@customer.test", &smtp.MailOptions{Size: tc.size})
			if smtpCode(err) != tc.wantMail || (tc.wantMail == 0 && err != nil) {
				t.Fatalf("MAIL: %v, want code %d", err, tc.wantMail)
			}
			if tc.wantMail != 0 {
				return
			}
			for i := 1; i <= tc.rcpts; i++ {
				err = c.Rcpt(fmt.Sprintf("r%d@support.example.test", i), nil)
				if i < tc.rcpts && err != nil {
					t.Fatalf("RCPT %d: %v", i, err)
				}
			}
			if smtpCode(err) != tc.wantRcpt || (tc.wantRcpt == 0 && err != nil) {
				t.Errorf("last RCPT: %v, want code %d", err, tc.wantRcpt)
			}
		})
	}
}

// patience bounds every wait in these tests: a regression fails the test
// with what it waited for instead of hanging until the binary's timeout.
const patience = 10 * time.Second

// readReply reads one (possibly multi-line) reply from a raw connection.
func readReply(br *bufio.Reader) (string, error) {
	var all strings.Builder
	for {
		line, err := br.ReadString('\n')
		all.WriteString(line)
		if err != nil {
			return all.String(), err
		}
		if len(line) < 4 || line[3] != '-' {
			return all.String(), nil
		}
	}
}

// TestConnectionCap: beyond max_connections a new peer is greeted with
// 421 4.7.0 and closed; once a session ends, a new one is served again.
func TestConnectionCap(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 2
	_, addr := startServer(t, cfg, &fakeReceiver{}, nil)

	first := dialClient(t, addr)
	dialClient(t, addr)

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	greeting, _ := readReply(br)
	if !strings.HasPrefix(greeting, "421 4.7.0 too many connections") {
		t.Fatalf("third connection greeted %q, want 421 4.7.0 too many connections", greeting)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("connection over the cap left open")
	}

	if err := first.Quit(); err != nil {
		t.Fatal(err)
	}
	// The server closes its side just after sending 221; retry until the
	// slot is free (bounded, this asserts state, not speed).
	var last string
	for range 200 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		last, _ = readReply(bufio.NewReader(nc))
		nc.Close()
		if strings.HasPrefix(last, "220 ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("after a session ended, new connections still get %q", last)
}

// TestShutdownCompletesInFlightData: Shutdown waits for a message whose
// Receive is running, its 250 is sent (I1), idle sessions are told 421,
// and new connections are not served.
func TestShutdownCompletesInFlightData(t *testing.T) {
	rcv := &fakeReceiver{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, err := New(testConfig(), rcv, fakePolicy{}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	idle := dialClient(t, addr)
	busy := dialClient(t, addr)
	dataDone := make(chan error, 1)
	go func() {
		dataDone <- busy.SendMail("alice@customer.test", []string{"support@support.example.test"},
			strings.NewReader("Subject: in flight\r\n\r\nplease keep me\r\n"))
	}()
	testenv.Recv(t, rcv.entered, patience, "the message to enter Receive")

	shutDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutDone <- s.Shutdown(ctx)
	}()
	testenv.WaitFor(t, patience, "Shutdown to begin", s.isClosing)

	// The idle session is ended with a 421 (RFC 5321 3.8).
	if err := idle.Noop(); smtpCode(err) != 421 {
		t.Errorf("idle session during shutdown: %v, want 421", err)
	}
	// New connections are refused or told 421, never served.
	if nc, err := net.Dial("tcp", addr); err == nil {
		g, _ := readReply(bufio.NewReader(nc))
		nc.Close()
		if strings.HasPrefix(g, "220") {
			t.Errorf("new connection served during shutdown: %q", g)
		}
	}
	select {
	case err := <-shutDone:
		t.Fatalf("Shutdown returned (%v) while a message was still inside Receive", err)
	case err := <-dataDone:
		t.Fatalf("client got a DATA reply (%v) before Receive returned", err)
	default:
	}

	close(rcv.block)
	if err := testenv.Recv(t, dataDone, patience, "the in-flight DATA reply"); err != nil {
		t.Errorf("in-flight message: %v, want 250", err)
	}
	if err := testenv.Recv(t, shutDone, patience, "Shutdown to return"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := testenv.Recv(t, served, patience, "Serve to return"); err != nil {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if n := len(rcv.got()); n != 1 {
		t.Errorf("receiver committed %d messages, want 1", n)
	}
}

// TestShutdownMidBody: Shutdown begins while the client is still sending
// the message body; the transfer continues, Receive runs and the client
// gets its 250 (I1), then the server closes.
func TestShutdownMidBody(t *testing.T) {
	rcv := &fakeReceiver{}
	s, err := New(testConfig(), rcv, fakePolicy{}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()

	c := dialClient(t, l.Addr().String())
	if err := c.Mail("alice@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("support@support.example.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Subject: half\r\n\r\nfirst half\r\n")
	testenv.WaitFor(t, patience, "the server to be inside DATA", func() bool { return anyBusy(s) })
	shutDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutDone <- s.Shutdown(ctx)
	}()
	testenv.WaitFor(t, patience, "Shutdown to begin", s.isClosing)
	fmt.Fprintf(w, "second half\r\n")
	if err := w.Close(); err != nil {
		t.Fatalf("message in transfer during shutdown: %v, want 250", err)
	}
	if err := testenv.Recv(t, shutDone, patience, "Shutdown to return"); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := testenv.Recv(t, served, patience, "Serve to return"); err != nil {
		t.Errorf("Serve: %v", err)
	}
	calls := rcv.got()
	if len(calls) != 1 || !strings.HasSuffix(string(calls[0].raw), "first half\r\nsecond half\r\n") {
		t.Errorf("receiver got %d messages; want the whole message once", len(calls))
	}
}

func anyBusy(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.isBusy() {
			return true
		}
	}
	return false
}

// TestShutdownDeadline: when Shutdown's context ends before a Receive
// finishes, the Receive is cancelled, the connection is closed and the
// client never gets a 250 for it (I1: it will retry).
func TestShutdownDeadline(t *testing.T) {
	rcv := &fakeReceiver{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, err := New(testConfig(), rcv, fakePolicy{}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	c := dialClient(t, l.Addr().String())
	dataDone := make(chan error, 1)
	go func() {
		dataDone <- c.SendMail("alice@customer.test", []string{"support@support.example.test"}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	}()
	testenv.Recv(t, rcv.entered, patience, "the message to enter Receive")

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with an expired context: %v, want context.Canceled", err)
	}
	if err := testenv.Recv(t, dataDone, patience, "the DATA reply"); err == nil {
		t.Errorf("client got 250 for a message whose Receive was cancelled")
	}
	if n := len(rcv.got()); n != 0 {
		t.Errorf("receiver committed %d messages, want 0", n)
	}
	if err := testenv.Recv(t, served, patience, "Serve to return"); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestListenAndServe: the listener binds smtp.listen, reports its address,
// serves, and stops cleanly when its context ends.
func TestListenAndServe(t *testing.T) {
	rcv := &fakeReceiver{}
	s, err := New(testConfig(), rcv, fakePolicy{}, testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, 10*time.Second) }()
	testenv.WaitFor(t, patience, "the listener to bind", func() bool { return s.Addr() != nil })
	c := dialClient(t, s.Addr().String())
	if err := c.SendMail("alice@customer.test", []string{"support@support.example.test", "support@support.example.test"}, strings.NewReader("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := testenv.Recv(t, done, patience, "ListenAndServe to return"); err != nil {
		t.Errorf("ListenAndServe after cancel: %v", err)
	}
	calls := rcv.got()
	if len(calls) != 1 || len(calls[0].env.Recipients) != 1 {
		t.Errorf("got %d messages (%+v), want one with the repeated recipient once", len(calls), calls)
	}
}
