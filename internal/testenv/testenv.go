// Package testenv holds what the tests of several packages share to run
// against real servers and real clients: finding a tool (required when
// CI=true), a free loopback address, waiting with a deadline for a
// condition or a value, and logs that show only for failing tests. Dovecot has its own package, testenv/dovecot.
package testenv

import (
	"bytes"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// NeedTool finds a real client or server binary (also in /usr/sbin, which
// is not on every PATH). When it is missing the test skips, except under
// CI=true where it fails: CI must run every real-server test.
func NeedTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + filepath.Base(name), "/usr/bin/" + filepath.Base(name)} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required when CI=true (apt-get install %s; test.sh does it)", name, debianPackage)
	}
	t.Skipf("%s is not installed (apt-get install %s): skipping this real-server test", name, debianPackage)
	return ""
}

// FreeAddr returns a loopback address with a port free at the time of the call.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitFor polls cond until it holds, failing the test after within. It is a
// liveness check with a generous bound, not a timing assertion.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Recv waits for one value from ch, failing the test after within instead
// of hanging until the whole test binary times out when a regression means
// the value never comes. Like WaitFor it bounds liveness, not speed.
func Recv[T any](t testing.TB, ch <-chan T, within time.Duration, what string) T {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %s for %s", within, what)
		var zero T
		return zero
	}
}

// LogBuffer is a goroutine-safe sink for logs a test reads back.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger logs at debug level through t.Log, so the lines show only when the
// test fails.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
