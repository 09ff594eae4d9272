// Package stores runs a test once per casebook store: SQLite (a file in a
// temporary directory) and PostgreSQL (a new database in the package's
// throw-away cluster, see internal/testenv/postgres). A package using it
// stops that cluster in its TestMain with postgres.StopShared.
package stores

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// Names are the stores, as the subtests of Each are named.
var Names = []string{"sqlite", "postgres"}

// Each runs test once per store, as subtests named after the store; Of and
// Location read the store from that name.
func Each(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, s := range Names {
		t.Run(s, test)
	}
}

// Of is the store of a test run by Each, "sqlite" otherwise.
func Of(t testing.TB) string {
	if parts := strings.Split(t.Name(), "/"); len(parts) > 1 && parts[1] == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Location is what casebook.Open takes for a new empty store of the test's
// kind: a file named name in a temporary directory, or a new PostgreSQL
// database (the test skips when PostgreSQL is not installed, and fails
// with CI=true).
func Location(t testing.TB, name string) string {
	t.Helper()
	if Of(t) == "postgres" {
		return postgres.DSN(t)
	}
	return filepath.Join(t.TempDir(), name)
}
