package ingest

import (
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// One PostgreSQL cluster for the package's tests (stores.Each), stopped
// when they end.
func TestMain(m *testing.M) { postgres.Main(m) }
