// Package stores runs a test once per casebook store: SQLite (a file in a
// temporary directory) and PostgreSQL (a new database in the package's
// throw-away cluster, see internal/testenv/postgres). A package using it
// stops that cluster in its TestMain with postgres.StopShared.
package stores

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// Names are the stores, as the subtests of Each are named.
var Names = []string{"sqlite", "postgres"}

// OnlyEnv, set to a store's name, makes Each and EachParallel run that
// store only: for a test that runs its package's suite again in a child
// process to check something other than the store.
const OnlyEnv = "CASEMAIL_TEST_ONLY_STORE"

// names are the stores this process runs.
func names() []string {
	if only := os.Getenv(OnlyEnv); only != "" {
		return []string{only}
	}
	return Names
}

// Each runs test once per store, as subtests named after the store; Of and
// Location read the store from that name.
func Each(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, s := range names() {
		t.Run(s, test)
	}
}

// EachParallel is Each with the two stores' runs in parallel with each
// other and with other parallel tests: for tests that share nothing but
// their own store, temporary directories and loopback ports they choose
// at random. While PostgreSQL's server works, the SQLite run uses the CPU.
func EachParallel(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	for _, s := range names() {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			test(t)
		})
	}
}

// Of is the store of a test run by Each (at any depth of subtests: the
// first element of the test's name that names a store), "sqlite" otherwise.
func Of(t testing.TB) string {
	for _, p := range strings.Split(t.Name(), "/")[1:] {
		for _, s := range names() {
			if p == s {
				return s
			}
		}
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

// TOML is the [store] setting of a casemail.toml for a new empty store of
// the test's kind: path = "DIR/name" for SQLite, dsn = "postgres://…"
// otherwise. dir is where the SQLite file goes, so that a test that reads
// files beside its config finds it there.
func TOML(t testing.TB, dir, name string) string {
	t.Helper()
	if Of(t) == "postgres" {
		return fmt.Sprintf("dsn = %q", postgres.DSN(t))
	}
	return fmt.Sprintf("path = %q", filepath.Join(dir, name))
}
