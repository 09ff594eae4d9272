package casebook

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// Moving an installation from SQLite to PostgreSQL keeps every row: cases,
// comments, raw mails, the outbox, and the reply-token secret (tokens
// already mailed stay valid); the counts and checksums of both agree.
func TestCopySQLiteToPostgres(t *testing.T) {
	f := newFixture(t) // SQLite
	c := f.open(t, "acme", "ann@acme.test", "Réception en panne")
	if _, err := f.AddComment(f.ctx, c.ID, "ann@acme.test", "toujours en panne"); err != nil {
		t.Fatal(err)
	}
	raw := []byte("From: ann@acme.test\r\nSubject: hi\r\n\r\n" + strings.Repeat("x", 300_000))
	sum, err := f.StoreRaw(f.ctx, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := Open(postgres.DSN(t), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	tables, err := f.CopyTo(context.Background(), dst)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, tb := range tables {
		rows[tb.Table] = tb.Rows
	}
	if rows["cases"] != 1 || rows["comments"] != 1 || rows["accounts"] != 5 || rows["raw_messages"] != 1 {
		t.Errorf("copied rows = %v", rows)
	}
	// What the gateway reads back from the new store.
	dst.Close()
	dst, err = Open(dst.path, Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.Secret(), f.Secret()) {
		t.Error("the reply-token secret changed: mailed reply addresses would stop working")
	}
	got, err := dst.Case(f.ctx, c.ID)
	if err != nil || got.Title != c.Title {
		t.Fatalf("case after copy = %+v, %v", got, err)
	}
	found, err := dst.Search(f.ctx, ListFilter{Org: "acme", Viewer: "ann@acme.test"}, "reception")
	if err != nil || len(found) != 1 {
		t.Errorf("search after copy = %v, %v", found, err)
	}
	var back bytes.Buffer
	if err := dst.WriteRaw(f.ctx, sum.SHA256, &back); err != nil || !bytes.Equal(back.Bytes(), raw) {
		t.Errorf("raw mail after copy: %d bytes, %v", back.Len(), err)
	}
	// New rows get new ids, not the copied ones.
	f.clock.Advance(time.Minute)
	dst.opt.Now = f.clock.Now
	c2, err := dst.OpenCase(f.ctx, NewCase{Org: "acme", Product: "cloud", Title: "après", Description: "d", Requester: "ann@acme.test"})
	if err != nil || c2.ID != c.ID+1 {
		t.Errorf("new case after copy = %d, %v; want id %d", c2.ID, err, c.ID+1)
	}
	// A second copy into a store in use is refused: it would mix two installations.
	if _, err := f.CopyTo(context.Background(), dst); err == nil || !strings.Contains(err.Error(), "empty store") {
		t.Errorf("copy into a used store = %v", err)
	}
	dst.Close()
}

// Every table of the SQLite schema is copied.
func TestCopyCoversEveryTable(t *testing.T) {
	b, err := Open(filepath.Join(t.TempDir(), "cb.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rows, err := b.rdb.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'search_%' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for _, tb := range append(copyTables, notCopied...) {
		have[tb] = true
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		if !have[name] {
			t.Errorf("table %s is not in copyTables: store copy would lose it", name)
		}
	}
}

// A SQLite store written before text was cleaned (text.go) may hold bytes
// that are not UTF-8, and NUL: the copy stores them as U+FFFD, as
// PostgreSQL requires, and its checksums count them so.
func TestCopyCleansOldText(t *testing.T) {
	f := newFixture(t) // SQLite
	c := f.open(t, "acme", "ann@acme.test", "Panne")
	old, err := sql.Open("sqlite3", f.path) // the driver itself, as an older casemail wrote
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.Exec("UPDATE cases SET title = ? WHERE id = ?", "Panne \xe9\x00", c.ID); err != nil {
		t.Fatal(err)
	}
	dst, err := Open(postgres.DSN(t), Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := f.CopyTo(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	got, err := dst.Case(f.ctx, c.ID)
	if err != nil || got.Title != "Panne \uFFFD\uFFFD" {
		t.Errorf("title after copy = %q, %v", got.Title, err)
	}
}

// Every stored column of every copied table is in its copy queries
// (copy.sql), on both stores, in the same order: a migration that adds a
// column or a table the copy does not know fails here, not in a user's
// copy that silently leaves it behind.
func TestCopyQueriesCoverSchema(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		for _, table := range copyTables {
			want, err := f.columns(f.ctx, table)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := f.rdb.QueryContext(f.ctx, f.query("copy-select-"+table))
			if err != nil {
				t.Fatalf("copy-select-%s: %v", table, err)
			}
			got, err := rows.Columns()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("copy-select-%s reads %v, the table has %v", table, got, want)
			}
			if n := strings.Count(f.query("copy-insert-"+table), "?") + strings.Count(f.query("copy-insert-"+table), "$"); n != len(want) {
				t.Errorf("copy-insert-%s has %d parameters for %d columns", table, n, len(want))
			}
		}
	})
}

// columns are the columns of table in b's schema (stored, not generated).
func (b *Book) columns(ctx context.Context, table string) ([]string, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("copy-columns"), table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 && rows.Err() == nil {
		return nil, fmt.Errorf("columns of %s: no such table", table)
	}
	return cols, rows.Err()
}
