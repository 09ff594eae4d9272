package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
)

// FuzzDomainOf: the domain check never panics, and an address is only in
// our domains when its text after the last "@" is one of them.
func FuzzDomainOf(f *testing.F) {
	for _, s := range []string{"a@support.example.test", "\"a@b\"@Support.Example.Test.", "postmaster", "@", "a@", "a@@b", "é@ÉXAMPLE.test"} {
		f.Add(s)
	}
	s := &Server{domains: map[string]bool{"support.example.test": true}}
	f.Fuzz(func(t *testing.T, addr string) {
		d := domainOf(addr)
		if d != "" && !strings.Contains(strings.ToLower(addr), d) {
			t.Errorf("domainOf(%q) = %q, not part of the address", addr, d)
		}
		if s.inDomains(addr) {
			i := strings.LastIndexByte(addr, '@')
			if normDomain(addr[i+1:]) != "support.example.test" {
				t.Errorf("inDomains(%q) accepted a foreign domain", addr)
			}
		}
	})
}

// FuzzSpool: whatever the memory threshold and however short the reads
// into reads, the receiver gets the exact bytes that were sent (I1).
func FuzzSpool(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"), uint16(4))
	f.Add(bytes.Repeat([]byte("abc\r\n"), 1000), uint16(0))
	files, _ := filepath.Glob(filepath.Join("testdata", "enmime", "*.raw"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, uint16(512))
		}
	}
	f.Add([]byte{}, uint16(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, msg []byte, mem uint16) {
		sp := &spool{dir: dir, memLimit: int(mem % 2048)}
		defer sp.close()
		if err := sp.fill(iotest.HalfReader(bytes.NewReader(msg))); err != nil {
			t.Fatal(err)
		}
		r, err := sp.reader()
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, msg) || sp.size != int64(len(msg)) {
			t.Errorf("spool returned %d bytes (size %d), sent %d", len(back), sp.size, len(msg))
		}
	})
}

type checkReceiver struct {
	t *testing.T
	s *Server
	n *int
}

func (c checkReceiver) Receive(_ context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	if len(env.Recipients) == 0 {
		c.t.Errorf("Receive called without recipients")
	}
	for _, r := range env.Recipients {
		if !c.s.inDomains(r) {
			c.t.Errorf("Receive called for %q, outside our domains", r)
		}
	}
	io.Copy(io.Discard, raw)
	*c.n++
	return ingest.Outcome{Result: "ignored"}, nil
}

var seedDelivers = []byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<s@support.example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n")

// FuzzSession feeds arbitrary client input to a whole session: it must not
// crash or hang the server, and the receiver only ever sees messages with
// accepted recipients inside smtp.domains.
func FuzzSession(f *testing.F) {
	f.Add(seedDelivers)
	f.Add([]byte("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<s@elsewhere.test>\r\nRCPT TO:<\"a@b\"@support.example.test>\r\nDATA\r\n..dot\r\n.\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b.c> SIZE=10\r\nRCPT TO:<s@support.example.test>\r\nBDAT 5 LAST\r\nhello"))
	f.Add([]byte("HELO x\r\nRSET\r\nMAIL FROM:<a@b.c>\r\nDATA\r\nSTARTTLS\r\nAUTH PLAIN AGFAYg==\r\n"))
	// Issue 10: lines and header fields over the limits, by DATA and BDAT.
	long := strings.Repeat("a", MaxLineLength+1)
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<s@support.example.test>\r\nDATA\r\nSubject: " + long + "\r\n\r\nx\r\n.\r\nQUIT\r\n"))
	f.Add([]byte(fmt.Sprintf("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<s@support.example.test>\r\nBDAT %d LAST\r\nSubject: %s\r\n\r\nQUIT\r\n", len(long)+13, long)))
	// Real messages from testdata as DATA bodies.
	files, _ := filepath.Glob(filepath.Join("testdata", "enmime", "*.raw"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			body := bytes.ReplaceAll(crlf(b), []byte("\r\n."), []byte("\r\n.."))
			f.Add(append(append([]byte("EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<s@support.example.test>\r\nDATA\r\n"), body...), "\r\n.\r\nQUIT\r\n"...))
		}
	}
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := New(cfg, discardReceiver{}, fakePolicy{refuse: map[string]string{"bad@support.example.test": "no"}}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var delivered int
		s.rcv = checkReceiver{t: t, s: s, n: &delivered}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve(l) }()
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		client := nc.(*net.TCPConn)
		replies := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, client); replies <- err }()
		client.Write(in)
		client.CloseWrite() // EOF after the input: the session must end by itself
		select {
		case <-replies:
		case <-time.After(10 * time.Second):
			t.Fatalf("session still open 10s after the client finished sending")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if err := testenv.Recv(t, served, patience, "Serve to return after Shutdown"); err != nil {
			t.Fatalf("serve: %v", err)
		}
		if bytes.Equal(in, seedDelivers) && delivered != 1 {
			t.Errorf("the well-formed seed delivered %d messages, want 1: the harness is broken", delivered)
		}
	})
}

// FuzzLimitReader: the content limits refuse exactly the messages with a
// line over MaxLineLength or a header field over MaxHeaderFieldBytes, the
// same whatever the read sizes (DATA and BDAT deliver different chunks),
// and pass everything else through unchanged.
func FuzzLimitReader(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nbody\r\n"))
	f.Add([]byte("Subject: " + strings.Repeat("a", MaxLineLength) + "\r\n\r\n"))
	f.Add([]byte("Subject: x\n\n" + strings.Repeat("b", MaxLineLength+1)))
	f.Add([]byte("X: " + strings.Repeat("w\r\n ", MaxHeaderFieldBytes/3) + "\r\n\r\nbody"))
	f.Add([]byte("\r\n" + strings.Repeat("w\r\n ", MaxHeaderFieldBytes/3)))
	f.Add([]byte("A: 1\r\n\r \r" + strings.Repeat("w\r\n ", MaxHeaderFieldBytes/3)))
	f.Fuzz(func(t *testing.T, msg []byte) {
		want := refusedByReference(msg)
		for _, r := range []io.Reader{bytes.NewReader(msg), iotest.OneByteReader(bytes.NewReader(msg)), iotest.HalfReader(bytes.NewReader(msg))} {
			got, err := io.ReadAll(newLimitReader(r))
			if (err != nil) != want {
				t.Fatalf("refused = %v (%v), want %v", err != nil, err, want)
			}
			if err == nil && !bytes.Equal(got, msg) {
				t.Fatalf("passed %d bytes, sent %d", len(got), len(msg))
			}
		}
	})
}

// refusedByReference is the rule written plainly, line by line.
func refusedByReference(msg []byte) bool {
	lines := bytes.Split(msg, []byte("\n"))
	field, body := 0, false
	for _, l := range lines {
		l = bytes.ReplaceAll(l, []byte("\r"), nil) // CR is never counted
		n := len(l)
		if n > MaxLineLength {
			return true
		}
		if body {
			continue
		}
		if n == 0 {
			body = true
			continue
		}
		if l[0] != ' ' && l[0] != '\t' {
			field = 0
		}
		field += n
		if field > MaxHeaderFieldBytes {
			return true
		}
	}
	return false
}
