package testenv

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// fatalTB records Fatalf and stops the helper the way t.Fatalf does (by
// unwinding), so the tests can check that a wait that never ends fails
// with a message instead of hanging.
type fatalTB struct {
	testing.TB
	msg string
}

type stopped struct{}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(stopped{})
}

// run calls fn with a fatalTB and returns the Fatalf message, "" if none.
func run(fn func(tb testing.TB)) (msg string) {
	f := &fatalTB{}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stopped); !ok {
				panic(r)
			}
		}
		msg = f.msg
	}()
	fn(f)
	return ""
}

// A wait whose condition never comes fails loudly, naming what it waited
// for; one whose condition comes returns it.
func TestWaitsAreBounded(t *testing.T) {
	ready := make(chan int, 1)
	ready <- 7
	never := make(chan int)
	tests := []struct {
		name    string
		fn      func(tb testing.TB)
		wantMsg string
	}{
		{"Recv gets the value", func(tb testing.TB) {
			if v := Recv(tb, ready, time.Second, "seven"); v != 7 {
				t.Errorf("Recv = %d, want 7", v)
			}
		}, ""},
		{"Recv gives up", func(tb testing.TB) { Recv(tb, never, 20*time.Millisecond, "the reply") }, "waited 20ms for the reply"},
		{"WaitFor holds", func(tb testing.TB) { WaitFor(tb, time.Second, "true", func() bool { return true }) }, ""},
		{"WaitFor gives up", func(tb testing.TB) {
			WaitFor(tb, 20*time.Millisecond, "shutdown to begin", func() bool { return false })
		}, "waited 20ms for shutdown to begin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(tc.fn)
			if tc.wantMsg == "" && got != "" || !strings.Contains(got, tc.wantMsg) {
				t.Errorf("failure message %q, want %q", got, tc.wantMsg)
			}
		})
	}
}

// recorder is a TB that keeps what Golden reports; Fatalf unwinds.
type recorder struct{ errs, logs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
}
func (r *recorder) Fatalf(f string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
	panic(stopped{})
}
func (r *recorder) Logf(f string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(f, a...)) }

func (r *recorder) golden(path string, got []byte, update bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stopped); !ok {
				panic(v)
			}
		}
	}()
	Golden(r, path, got, update)
}

// A golden mismatch fails with the lines that changed; -update rewrites the
// file, says what changed and reads it back; a missing file without
// -update is an error that says how to create it.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/sub/mail.eml"
	tests := []struct {
		name     string
		got      string
		update   bool
		wantErr  string // "" for none
		wantLog  string // "" for none
		wantFile string
	}{
		{"missing without -update", "Subject: a\n", false, "run the test with -update", "", ""},
		{"-update creates", "Subject: a\nbody\n", true, "", "written (new)", "Subject: a\nbody\n"},
		{"same bytes pass", "Subject: a\nbody\n", false, "", "", "Subject: a\nbody\n"},
		{"a change fails with its diff", "Subject: b\nbody\n", false, "- Subject: a\n+ Subject: b\n  body\n", "", "Subject: a\nbody\n"},
		{"-update logs the diff", "Subject: b\nbody\n", true, "", "- Subject: a\n+ Subject: b\n", "Subject: b\nbody\n"},
		{"-update with no change is quiet", "Subject: b\nbody\n", true, "", "", "Subject: b\nbody\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{}
			r.golden(path, []byte(tc.got), tc.update)
			errs, logs := strings.Join(r.errs, "\n"), strings.Join(r.logs, "\n")
			if (tc.wantErr == "") != (errs == "") || !strings.Contains(errs, tc.wantErr) {
				t.Errorf("errors %q, want %q", errs, tc.wantErr)
			}
			if (tc.wantLog == "") != (logs == "") || !strings.Contains(logs, tc.wantLog) {
				t.Errorf("logs %q, want %q", logs, tc.wantLog)
			}
			if tc.wantFile != "" {
				if b, _ := os.ReadFile(path); string(b) != tc.wantFile {
					t.Errorf("file holds %q, want %q", b, tc.wantFile)
				}
			}
		})
	}
}

func TestLineDiff(t *testing.T) {
	tests := []struct{ name, a, b, want string }{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", "  a\n- b\n+ B\n  c\n"},
		{"far context left out", "1\n2\n3\n4\n5\n6\nx\n", "1\n2\n3\n4\n5\n6\ny\n", "…\n  5\n  6\n- x\n+ y\n"},
		{"added at the end", "a\n", "a\nb\n", "  a\n+ b\n"},
		{"missing final newline", "a\n", "a", "- a\n+ a (no newline at end)\n"},
		{"from nothing", "", "a\n", "+ a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LineDiff(tc.a, tc.b); got != tc.want {
				t.Errorf("LineDiff =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
