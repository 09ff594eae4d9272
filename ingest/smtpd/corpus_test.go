package smtpd

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casemail/casemail/config"
)

// crlf turns bare LF line ends into CRLF, as SMTP carries them (RFC 5321 2.3.8).
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// TestCorpusRoundTrip sends real messages (a DSN from the null sender,
// 8-bit headers, an attachment) with swaks and checks the receiver got
// exactly those bytes (I1: what is acknowledged is what was sent).
func TestCorpusRoundTrip(t *testing.T) {
	tests := []struct {
		file string
		from string
	}{
		{"simple_dsn.raw", "<>"},
		{"mime-bad-8bit-filename.raw", "alice@customer.test"},
		{"attachment.raw", "alice@customer.test"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "enmime", tc.file)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rcv := &fakeReceiver{}
			_, addr := startServer(t, testConfig(), rcv, nil)
			out, code := swaks(t, addr, "--from", tc.from, "--to", "support@support.example.test", "--data", "@"+path)
			if code != 0 {
				t.Fatalf("swaks exit %d\n%s", code, out)
			}
			calls := rcv.got()
			if len(calls) != 1 {
				t.Fatalf("receiver called %d times, want 1", len(calls))
			}
			// Only line ends may differ (swaks also ends --data with one
			// more CRLF than the file has).
			trim := func(b []byte) []byte { return bytes.TrimRight(crlf(b), "\r\n") }
			if got := calls[0].raw; !bytes.Equal(trim(got), trim(want)) {
				t.Errorf("message changed in transit: got %d bytes, sent %d", len(got), len(want))
			}
			if wantFrom := strings.Trim(tc.from, "<>"); calls[0].env.MailFrom != wantFrom {
				t.Errorf("MailFrom = %q, want %q", calls[0].env.MailFrom, wantFrom)
			}
		})
	}
}

// TestNewRejectsBadConfig: mistakes are reported when the listener is
// built, not when the first mail arrives.
func TestNewRejectsBadConfig(t *testing.T) {
	cert, key := selfSigned(t)
	tests := []struct {
		name string
		cfg  func(*config.SMTP)
		want string
	}{
		{"unknown protocol", func(c *config.SMTP) { c.Protocol = "esmtp" }, "protocol"},
		{"no domains", func(c *config.SMTP) { c.Domains = nil }, "domains"},
		{"missing key file", func(c *config.SMTP) { c.TLSCert, c.TLSKey = cert, cert+".missing" }, "tls_cert/tls_key"},
		{"valid tls", func(c *config.SMTP) { c.TLSCert, c.TLSKey = cert, key }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.cfg(&cfg)
			_, err := New(cfg, &fakeReceiver{}, fakePolicy{}, slog.New(slog.DiscardHandler))
			if tc.want == "" && err != nil {
				t.Errorf("New: %v, want success", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
	if _, err := New(testConfig(), nil, fakePolicy{}, nil); err == nil {
		t.Errorf("New accepted a nil receiver")
	}
}
