package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Golden compares got with the golden file at path. On a mismatch the test
// fails with a line diff of what changed, so the failure says what broke
// without rerunning anything.
//
// With update (the package's -update flag) it rewrites the file instead,
// logs the diff of what changed (t.Log: shown with -v or on failure) and
// reads the file back, failing if the bytes on disk are not got: a write
// that silently fails or is mangled never turns into a passing golden test.
func Golden(t TB, path string, got []byte, update bool) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil && !(update && errors.Is(err, fs.ErrNotExist)) {
		t.Fatalf("golden file: %v (run the test with -update to write it)", err)
	}
	if !update {
		if !bytes.Equal(old, got) {
			t.Errorf("%s differs from the golden file (- golden, + got; -update rewrites it):\n%s", path, LineDiff(string(old), string(got)))
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("golden file: %v", err)
	}
	if err := os.WriteFile(path, got, 0o644); err != nil {
		t.Fatalf("golden file: %v", err)
	}
	back, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: reading back what -update wrote: %v", err)
	}
	if !bytes.Equal(back, got) {
		t.Fatalf("%s: -update wrote %d bytes but %d came back", path, len(got), len(back))
	}
	switch {
	case old == nil:
		t.Logf("%s: written (new)", path)
	case !bytes.Equal(old, got):
		t.Logf("%s: updated (- old, + new):\n%s", path, LineDiff(string(old), string(got)))
	}
}

// TB is the part of testing.TB Golden uses (so its own test can stand in
// for a *testing.T).
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// LineDiff is a minimal line diff of a and b: changed lines prefixed "-" and
// "+", with up to two unchanged lines of context around each change and
// "…" where unchanged lines are left out. It is for test failures of small
// files (golden mails), so a plain longest-common-subsequence table is enough.
func LineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	// lcs[i][j] is the length of the longest common subsequence of x[i:], y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var ops []line
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, line{' ', x[i]})
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, line{'-', x[i]}) // deletions first, as diff -u shows them
			i++
		default:
			ops = append(ops, line{'+', y[j]})
			j++
		}
	}
	const context = 2
	near := func(k int) bool {
		for d := max(0, k-context); d <= min(len(ops)-1, k+context); d++ {
			if ops[d].op != ' ' {
				return true
			}
		}
		return false
	}
	var out strings.Builder
	skipped := false
	for k, l := range ops {
		if l.op == ' ' && !near(k) {
			skipped = true
			continue
		}
		if skipped {
			out.WriteString("…\n")
			skipped = false
		}
		text, ok := strings.CutSuffix(l.text, "\n")
		if !ok {
			text += " (no newline at end)"
		}
		fmt.Fprintf(&out, "%c %s\n", l.op, text)
	}
	if skipped {
		out.WriteString("…\n")
	}
	return out.String()
}

// splitLines splits s after each newline; a last line without one is kept.
func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
