package casebook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// One PostgreSQL cluster for the package's tests, stopped when they end.
func TestMain(m *testing.M) {
	code := m.Run()
	postgres.StopShared()
	os.Exit(code)
}

// stores are the stores every casebook test runs on: the same rules must
// hold whichever store holds the cases.
var stores = []string{"sqlite", "postgres"}

// eachStore runs test once per store, as subtests named after the store;
// newFixture and storeLocation read the store from that name.
func eachStore(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, s := range stores {
		t.Run(s, test)
	}
}

// storeOf is the store of a test run by eachStore, sqlite otherwise.
func storeOf(t testing.TB) string {
	if parts := strings.Split(t.Name(), "/"); len(parts) > 1 && parts[1] == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// storeLocation is what Open takes for a new empty store of the test's
// kind: a file named name in a temporary directory, or a new PostgreSQL
// database (skipped when PostgreSQL is not installed, failed with CI=true).
func storeLocation(t testing.TB, name string) string {
	t.Helper()
	if storeOf(t) == "postgres" {
		return postgres.DSN(t)
	}
	return filepath.Join(t.TempDir(), name)
}

// Both stores name the same queries and migrations: a query or migration
// added to one store only would fail on the other at run time.
func TestDialectsMatch(t *testing.T) {
	sq, err := sqliteDialect.queries()
	if err != nil {
		t.Fatal(err)
	}
	pq, err := postgresDialect.queries()
	if err != nil {
		t.Fatal(err)
	}
	for name := range sq {
		if _, ok := pq[name]; !ok {
			t.Errorf("query %s is in the SQLite store only", name)
		}
	}
	for name := range pq {
		if _, ok := sq[name]; !ok {
			t.Errorf("query %s is in the PostgreSQL store only", name)
		}
	}
	sm, err := sqliteDialect.migrations()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := postgresDialect.migrations()
	if err != nil {
		t.Fatal(err)
	}
	base := func(files []string) string {
		var out []string
		for _, f := range files {
			out = append(out, filepath.Base(f))
		}
		return strings.Join(out, " ")
	}
	if base(sm) != base(pm) {
		t.Errorf("migrations differ:\nsqlite:   %s\npostgres: %s", base(sm), base(pm))
	}
}
