package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/replytoken"
)

// serveHTTP runs the real HTTP server (handler, limits, headers) on a
// loopback port until the test ends.
func serveHTTP(t *testing.T, b *casebook.Book, lim httpLimits) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, ll := newHTTPServer(newHTTPHandler(b, replytoken.New(b.Secret()), nil, newMetrics(b), slog.New(slog.NewTextHandler(io.Discard, nil))), l, lim)
	go srv.Serve(ll)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// Every page, the unsubscribe button first, refuses to be framed
// (clickjacking), whatever the path.
func TestHTTPSecurityHeaders(t *testing.T) {
	b, _, _ := httpFixture(t, nil)
	base := serveHTTP(t, b, defaultHTTPLimits)
	for _, path := range []string{"/unsubscribe?t=x&a=y", "/healthz", "/metrics", "/nothing-here"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "frame-ancestors 'none'" {
			t.Errorf("%s: Content-Security-Policy %q, want frame-ancestors 'none'", path, got)
		}
	}
}

// Clients that send their request a byte at a time held a connection for
// as long as they liked (only the headers had a timeout), and there was no
// cap on connections. Now each is cut at the read timeout, and past the
// cap new clients wait for a slot rather than the server taking on more;
// once the slow ones are cut, a normal request is served.
func TestHTTPSlowClientsCut(t *testing.T) {
	b, _, _ := httpFixture(t, nil)
	lim := httpLimits{ReadHeader: 300 * time.Millisecond, Read: 500 * time.Millisecond, Write: time.Second, Idle: time.Second, MaxConns: 2, MaxHeader: 4096}
	base := serveHTTP(t, b, lim)
	addr := strings.TrimPrefix(base, "http://")
	requests := []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", // headers that never end
		"POST /unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nt=", // a body that never ends
	}
	var slow []net.Conn
	for _, req := range requests {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		io.WriteString(nc, req)
		go func() {
			for range 300 { // 30 s at most, 60 read timeouts
				time.Sleep(100 * time.Millisecond)
				if _, err := nc.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
		slow = append(slow, nc)
	}
	// Both slots are taken; this request is served once one is freed.
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("normal request while slow clients hold the slots: %v", err)
	}
	resp.Body.Close()
	for i, nc := range slow {
		nc.SetReadDeadline(time.Now().Add(time.Minute))
		_, err := io.Copy(io.Discard, nc)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("slow client %d still connected", i)
		}
	}
}

// /healthz said "ok" with the disk full while every mail got 451. Now the
// last write's failure makes it answer 503 until a write succeeds. The
// disk is filled for real: a file size limit on this process (Go ignores
// SIGXFSZ, so the write fails with EFBIG as on a full disk).
func TestHealthzFailsAfterFailedWrite(t *testing.T) {
	b, _, _ := httpFixture(t, nil)
	base := serveHTTP(t, b, defaultHTTPLimits)
	health := func() (int, health) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h health
		json.NewDecoder(resp.Body).Decode(&h)
		return resp.StatusCode, h
	}
	if code, h := health(); code != http.StatusOK {
		t.Fatalf("healthy store: %d %+v", code, h)
	}

	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("no file size limit here: %v", err)
	}
	var largest int64
	for _, f := range []string{b.Path(), b.Path() + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			largest = max(largest, st.Size())
		}
	}
	full := lim
	full.Cur = uint64(largest + 64<<10)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Skipf("cannot limit file sizes: %v", err)
	}
	_, werr := b.StoreRaw(context.Background(), bytes.NewReader(bytes.Repeat([]byte("x"), 4<<20)))
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
	if werr == nil {
		t.Fatal("a 4 MB write succeeded on a full disk")
	}

	code, h := health()
	if code != http.StatusServiceUnavailable || h.Status != "stuck" || len(h.Problems) == 0 || !strings.Contains(h.Problems[0], "store: the last write failed") {
		t.Fatalf("healthz after a failed write: %d %+v", code, h)
	}
	if _, err := b.StoreRaw(context.Background(), strings.NewReader("Subject: x\r\n\r\nsmall\r\n")); err != nil {
		t.Fatal(err)
	}
	if code, h := health(); code != http.StatusOK {
		t.Fatalf("healthz after a successful write: %d %+v", code, h)
	}
}
