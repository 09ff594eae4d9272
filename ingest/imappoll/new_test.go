package imappoll

import (
	"strings"
	"testing"

	"github.com/casemail/casemail/config"
)

// New refuses configurations that could never connect, naming the mailbox,
// and fills the documented defaults.
func TestNewValidates(t *testing.T) {
	ok := config.IMAP{Name: "main", Address: "imap.example.test:993", TLS: "implicit", Username: "u@example.test", PasswordEnv: "X"}
	tests := []struct {
		name    string
		mut     func(*config.IMAP)
		wantErr string
	}{
		{"valid", func(*config.IMAP) {}, ""},
		{"no name", func(c *config.IMAP) { c.Name = "" }, "name is required"},
		{"no port", func(c *config.IMAP) { c.Address = "imap.example.test" }, "imappoll main: address"},
		{"bad tls", func(c *config.IMAP) { c.TLS = "ssl" }, "tls must be"},
		{"no password source", func(c *config.IMAP) { c.PasswordEnv = "" }, "password_file or password_env"},
		{"xoauth2 without token", func(c *config.IMAP) { c.Auth = "xoauth2" }, "token_file or token_env"},
		{"processed is the watched folder", func(c *config.IMAP) { c.ProcessedFolder = "INBOX" }, "processed_folder must differ"},
		{"unknown auth", func(c *config.IMAP) { c.Auth = "cram-md5" }, "auth must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mut(&cfg)
			p, err := New(cfg, newFakeReceiver(), newMemCheckpoints(), nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.cfg.Folder != "INBOX" || p.cfg.BatchSize != 50 || p.cfg.Recipient != "u@example.test" || p.key != "main/INBOX" {
					t.Errorf("defaults not applied: %+v key=%s", p.cfg, p.key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// Credentials: trailing newline trimmed, empty or unset sources are errors.
func TestSecret(t *testing.T) {
	t.Setenv("IMAPPOLL_TEST_PW", "from-env")
	file := writeSecret(t, "from-file") // written with a trailing newline
	tests := []struct {
		name, file, env, want, wantErr string
	}{
		{"file", file, "", "from-file", ""},
		{"env", "", "IMAPPOLL_TEST_PW", "from-env", ""},
		{"unset env", "", "IMAPPOLL_TEST_UNSET", "", "not set"},
		{"missing file", "/nonexistent/pw", "", "", "read password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := secret(tc.file, tc.env, "password")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("secret = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
