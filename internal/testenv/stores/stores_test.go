package stores

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

func TestMain(m *testing.M) { postgres.Main(m) }

// Of finds the store at any depth of subtests, so that a test may run
// Each inside its own t.Run (as TestAuthForgeryOverSMTP's modes could);
// Location and TOML give that store.
func TestOfLocationAndTOML(t *testing.T) {
	var seen []string
	Each(t, func(t *testing.T) {
		t.Run("inner", func(t *testing.T) {
			s := Of(t)
			seen = append(seen, s)
			loc, toml := Location(t, "x.db"), TOML(t, "/data", "cm.db")
			switch s {
			case "sqlite":
				if filepath.Base(loc) != "x.db" || toml != `path = "/data/cm.db"` {
					t.Errorf("sqlite: location %q, TOML %q", loc, toml)
				}
			case "postgres":
				if !strings.HasPrefix(loc, "postgres://") || !strings.HasPrefix(toml, `dsn = "postgres://`) || strings.Contains(toml, loc) {
					t.Errorf("postgres: location %q, TOML %q (each call a new database)", loc, toml)
				}
			}
		})
	})
	t.Run("neither", func(t *testing.T) {
		if s := Of(t); s != "sqlite" {
			t.Errorf("outside Each: %s, want sqlite", s)
		}
	})
	if strings.Join(seen, " ") != "sqlite postgres" {
		t.Errorf("stores seen: %v", seen)
	}
}
