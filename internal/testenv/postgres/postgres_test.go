package postgres

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// Each test gets its own database: what one test writes, another never sees.
func TestDatabasesAreSeparate(t *testing.T) {
	var dsns []string
	for range 2 {
		dsns = append(dsns, DSN(t))
	}
	if dsns[0] == dsns[1] {
		t.Fatalf("two calls gave one database: %s", dsns[0])
	}
	if _, err := shared.admin.Exec("SELECT 1"); err != nil {
		t.Fatalf("cluster not answering: %v", err)
	}
}
