package casebook

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
	"github.com/casemail/casemail/internal/testenv/stores"
)

// One PostgreSQL cluster for the package's tests, stopped when they end.
func TestMain(m *testing.M) { postgres.Main(m) }

// eachStore, storeOf and storeLocation: every casebook test runs on both
// stores (internal/testenv/stores).
var (
	eachStore     = stores.Each
	storeOf       = stores.Of
	storeLocation = stores.Location
)

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
