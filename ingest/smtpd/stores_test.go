package smtpd

import (
	"os"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// The tests that run the real gateway run on both stores (stores.Each);
// they share one PostgreSQL cluster, stopped when they end.
func TestMain(m *testing.M) {
	code := m.Run()
	postgres.StopShared()
	os.Exit(code)
}
