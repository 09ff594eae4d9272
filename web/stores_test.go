package web

import (
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// The web tests run on both stores (stores.Each); one PostgreSQL cluster
// for the package, stopped when they end.
func TestMain(m *testing.M) { postgres.Main(m) }
