package casebook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// The store holds the reply-token secret and every raw mail: under the
// usual umask 022 its files were created 0644, readable by every local
// user. Now the database, -wal and -shm are 0600, and an existing store
// left readable is reported (issue 10).
func TestStoreFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "cb.db")
	b, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.AddAccount(context.Background(), Account{Address: "ann@acme.test"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %s, want -rw-------", filepath.Base(p), st.Mode().Perm())
		}
	}
	if open := b.ReadableByOthers(); len(open) != 0 {
		t.Errorf("ReadableByOthers = %v on a fresh store", open)
	}
	os.Chmod(path, 0o644)
	if open := b.ReadableByOthers(); len(open) != 1 || !strings.Contains(open[0], "cb.db (-rw-r--r--)") {
		t.Errorf("ReadableByOthers = %v, want the database file named with its mode", open)
	}
}

// /healthz must see a full disk: the last write's failure is kept until a
// write succeeds again. Refusals by the rules are not store failures.
// SQLite only: the full disk is simulated with PRAGMA max_page_count.
func TestLastWriteError(t *testing.T) {
	func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		if err, _ := f.LastWriteError(); err != nil {
			t.Fatalf("fresh store: %v", err)
		}
		var pages int
		if err := f.db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
			t.Fatal(err)
		}
		// The one writer connection: a full disk, as SQLite reports it.
		if _, err := f.db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
			t.Fatal(err)
		}
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		if _, err := f.StoreRaw(ctx, bytes.NewReader(big)); err == nil {
			t.Fatal("StoreRaw succeeded on a full store")
		}
		err, at := f.LastWriteError()
		if err == nil || !strings.Contains(err.Error(), "full") || at.IsZero() {
			t.Fatalf("LastWriteError = %v at %v, want the disk-full error", err, at)
		}
		// A rule refusal (R3) neither hides nor clears it.
		if _, rerr := f.OpenCase(ctx, NewCase{Org: "acme", Product: "marketplace", Title: "x", Requester: "ann@acme.test"}); RuleOf(rerr) != "R3" {
			t.Fatalf("OpenCase: %v, want R3", rerr)
		}
		if err, _ := f.LastWriteError(); err == nil {
			t.Fatal("a rule refusal cleared the store failure")
		}
		if _, err := f.db.Exec("PRAGMA max_page_count = 1073741823"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.StoreRaw(ctx, bytes.NewReader(big)); err != nil {
			t.Fatal(err)
		}
		if err, _ := f.LastWriteError(); err != nil {
			t.Fatalf("after a successful write: %v", err)
		}
	}(t)
}

// After a crash, the rows the dead process had claimed were left for the
// whole lease (5 minutes). ReclaimOutbox makes them due at once; rows
// waiting for their retry keep their time.
func TestReclaimOutbox(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		ctx := context.Background()
		f.open(t, "acme", "ann@acme.test", "VPN down", "carl@acme.test")
		now := f.clock.Now()
		claimed, err := f.ClaimOutbox(ctx, now, 100, 5*time.Minute)
		if err != nil || len(claimed) < 2 {
			t.Fatalf("claim: %d rows, %v; want at least 2", len(claimed), err)
		}
		// One row failed and waits for its retry in 10 minutes.
		retry := claimed[0]
		if err := f.MarkRetry(ctx, retry.ID, "relay down", now.Add(10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if again, _ := f.ClaimOutbox(ctx, now, 100, 5*time.Minute); len(again) != 0 {
			t.Fatalf("leased rows claimed twice: %d", len(again))
		}
		// The process dies; the next one starts.
		n, err := f.ReclaimOutbox(ctx, now)
		if err != nil || n != int64(len(claimed)-1) {
			t.Fatalf("reclaimed %d rows (%v), want %d", n, err, len(claimed)-1)
		}
		again, err := f.ClaimOutbox(ctx, now, 100, 5*time.Minute)
		if err != nil || len(again) != len(claimed)-1 {
			t.Fatalf("after reclaim, claimed %d rows (%v), want %d", len(again), err, len(claimed)-1)
		}
		for _, it := range again {
			if it.ID == retry.ID {
				t.Errorf("row %d waiting for its retry was reclaimed", it.ID)
			}
		}
	})
}

// A title from a mail subject is capped at MaxTitleRunes runes, cut on a
// rune boundary whatever the script.
func TestTitleCapped(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		tests := []struct{ title string }{
			{"short"},
			{strings.Repeat("é", MaxTitleRunes)},
			{strings.Repeat("日本語", 1000)},
			{strings.Repeat("word ", 1000)},
			{strings.Repeat("\xff", 1000)}, // not UTF-8 at all
		}
		for i, tc := range tests {
			// Bytes that are not UTF-8 are stored as U+FFFD on both stores
			// (text.go): the title read back is valid either way.
			c := f.open(t, "acme", "ann@acme.test", tc.title)
			n := utf8.RuneCountInString(c.Title)
			if !utf8.ValidString(c.Title) || n > MaxTitleRunes {
				t.Errorf("%d: title of %d runes (valid %v)", i, n, utf8.ValidString(c.Title))
			}
			if utf8.RuneCountInString(tc.title) <= MaxTitleRunes && c.Title != tc.title {
				t.Errorf("%d: a title within the cap was changed: %q", i, c.Title)
			}
			if utf8.ValidString(tc.title) && utf8.RuneCountInString(tc.title) > MaxTitleRunes && (!strings.HasSuffix(c.Title, "…") || !strings.HasPrefix(tc.title, strings.TrimSuffix(c.Title, "…"))) {
				t.Errorf("%d: cut title %q is not a prefix marked with …", i, c.Title)
			}
		}
	})
}

func TestUniqueMigrations(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		tests := []struct {
			files   []string
			wantErr string
		}{
			{[]string{"migrations/0001_init.sql", "migrations/0002_a.sql"}, ""},
			{[]string{"migrations/0001_init.sql", "migrations/0002_a.sql", "migrations/0002_b.sql"}, "0002_a.sql and 0002_b.sql have the same number"},
			{[]string{"migrations/0001_init.sql", "migrations/1_again.sql"}, "same number"},
			{[]string{"migrations/init.sql"}, "must start with a number"},
		}
		for _, tc := range tests {
			err := uniqueMigrations(tc.files)
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("uniqueMigrations(%v) = %v, want %q", tc.files, err, tc.wantErr)
			}
		}
	})
}
