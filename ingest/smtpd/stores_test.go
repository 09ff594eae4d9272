package smtpd

import (
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// The tests that run the real gateway run on both stores (stores.Each);
// they share one PostgreSQL cluster, stopped when they end.
func TestMain(m *testing.M) { postgres.Main(m) }
