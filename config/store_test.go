package config

import (
	"strings"
	"testing"
)

// [store] picks SQLite (path, the default) or PostgreSQL (dsn), never both:
// with both set, which one holds the cases would be a guess.
func TestStoreChoice(t *testing.T) {
	for _, tc := range []struct {
		name, toml   string
		wantLocation string
		wantErr      string
	}{
		{"default is SQLite", "", "casemail.db", ""},
		{"path", "[store]\npath = \"/var/lib/casemail/cases.db\"\n", "/var/lib/casemail/cases.db", ""},
		{"dsn replaces the default path", "[store]\ndsn = \"postgres://casemail@db.example/casemail\"\n", "postgres://casemail@db.example/casemail", ""},
		{"postgresql scheme", "[store]\ndsn = \"postgresql://casemail@db.example/casemail\"\n", "postgresql://casemail@db.example/casemail", ""},
		{"both refused", "[store]\npath = \"cases.db\"\ndsn = \"postgres://casemail@db.example/casemail\"\n", "", "store.dsn and store.path are both set"},
		{"dsn not a URL", "[store]\ndsn = \"host=db user=casemail\"\n", "", "store.dsn must be a PostgreSQL URL"},
		// Issue 14, two gateways: a lease renewed every third of it.
		{"lease", "[store]\ndsn = \"postgres://casemail@db.example/casemail\"\nlease = \"2s\"\ngateway_name = \"mx1\"\n", "postgres://casemail@db.example/casemail", ""},
		{"lease too short", "[store]\nlease = \"100ms\"\n", "", "store.lease must be at least 1s"},
		{"gateway name with a slash", "[store]\ngateway_name = \"dc1/mx1\"\n", "", "store.gateway_name must not contain a slash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.toml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse = %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Store.Location(); got != tc.wantLocation {
				t.Errorf("Location() = %q, want %q", got, tc.wantLocation)
			}
		})
	}
}
