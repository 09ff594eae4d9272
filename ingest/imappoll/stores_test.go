package imappoll

import (
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// The test that polls into the real gateway runs on both stores
// (stores.Each); one PostgreSQL cluster, stopped when the tests end.
func TestMain(m *testing.M) { postgres.Main(m) }
