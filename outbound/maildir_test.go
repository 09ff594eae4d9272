package outbound

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A crash between writing a notification to tmp/ and renaming it into new/
// left the file in tmp/ forever. At start, the Maildir removes its own
// leftovers older than a minute, and nothing else (issue 10).
func TestMaildirCleansTmpAtStart(t *testing.T) {
	dir := t.TempDir()
	m, err := NewMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), "bounce@x.test", []string{"a@x.test"}, []byte("Subject: kept\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	files := []struct {
		name    string
		age     time.Time
		removed bool
	}{
		{"1700000000.M1P42Q1." + m.host, old, true},             // ours, from a crash
		{"1700000000.M2P42Q2." + m.host, time.Now(), false},     // ours, may still be in progress
		{"1700000000.M3P42Q3.otherhost", old, false},            // another host sharing the folder
		{"1700000000.V801I2ab.mailserver", old, false},          // another program's name
		{"notes.txt", old, false},                               // not a Maildir name at all
		{"1700000000.M4P42Q4." + m.host + ".extra", old, false}, // not exactly our form
	}
	for _, f := range files {
		p := filepath.Join(dir, "tmp", f.name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, f.age, f.age)
	}
	if _, err := NewMaildir(dir); err != nil { // the next start
		t.Fatal(err)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	for _, f := range files {
		if got := !slices.Contains(names, f.name); got != f.removed {
			t.Errorf("%s: removed = %v, want %v", f.name, got, f.removed)
		}
	}
	if sent, _ := os.ReadDir(filepath.Join(dir, "new")); len(sent) != 1 {
		t.Errorf("new/ has %d files, want the 1 sent", len(sent))
	}
	for _, sub := range []string{"", "tmp", "new", "cur"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || (sub != "" && st.Mode().Perm() != 0o700) {
			t.Errorf("%s/: %v %v, want drwx------", sub, st.Mode(), err)
		}
	}
}
