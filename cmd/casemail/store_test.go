package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// One PostgreSQL cluster for the package's tests, stopped when they end.
func TestMain(m *testing.M) { postgres.Main(m) }

// "store copy" moves an installation from SQLite to PostgreSQL; with
// [store] dsn the same commands then read it from PostgreSQL.
func TestStoreCopy(t *testing.T) {
	c := newCLI(t)
	c.setup()
	dsn := postgres.DSN(t)

	for _, tc := range []struct{ want, from, to string }{
		{"--from must be sqlite:PATH", c.dir + "/cm.db", dsn},
		{"--to must be a PostgreSQL URL", "sqlite:" + c.dir + "/cm.db", c.dir + "/other.db"},
	} {
		c.fail(tc.want, "store", "copy", "--from", tc.from, "--to", tc.to)
	}

	out := c.ok("store", "copy", "--from", "sqlite:"+c.dir+"/cm.db", "--to", dsn)
	if !strings.Contains(out, "accounts") || !strings.Contains(out, "same rows and checksum") {
		t.Fatalf("store copy said:\n%s", out)
	}
	tables := decode[[]map[string]any](t, c.ok("store", "copy", "--from", "sqlite:"+c.dir+"/cm.db", "--to", postgres.DSN(t), "--json"))
	for _, tb := range tables {
		if tb["table"] == "accounts" && tb["rows"] != float64(4) {
			t.Errorf("accounts copied: %v, want 4", tb["rows"])
		}
	}
	// A second copy into the same database is refused.
	c.fail("copy into an empty store", "store", "copy", "--from", "sqlite:"+c.dir+"/cm.db", "--to", dsn)

	// The installation now runs on PostgreSQL.
	body := fmt.Sprintf("[store]\ndsn = %q\n[outbound]\ntransport = \"maildir:%s/sent\"\nreply_domain = \"support.test\"\nfrom = \"Support <support@support.test>\"\n", dsn, c.dir)
	if err := os.WriteFile(c.config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := c.ok("org", "list"); !strings.Contains(out, "acme") || !strings.Contains(out, "globex") {
		t.Errorf("org list on PostgreSQL:\n%s", out)
	}
	c.ok("account", "add", "dan@acme.test")
	if out := c.ok("account", "list"); !strings.Contains(out, "dan@acme.test") || !strings.Contains(out, "ann@acme.test") {
		t.Errorf("account list on PostgreSQL:\n%s", out)
	}
}
