package testenv

import (
	"fmt"
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
