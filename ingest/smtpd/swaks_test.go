package smtpd

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
)

// TestSwaks drives the listener with swaks, a real SMTP/LMTP client, and
// checks what the sender sees (replies, exit code) against what the
// receiver got.
func TestSwaks(t *testing.T) {
	bigBody := filepath.Join(t.TempDir(), "big.eml")
	if err := os.WriteFile(bigBody, []byte("Subject: big\r\n\r\n"+strings.Repeat("0123456789abcdef0123456789abcdef\r\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, key := selfSigned(t)

	tests := []struct {
		name     string
		cfg      func(*config.SMTP)
		fail     error             // receiver error
		refuse   map[string]string // policy refusals
		args     []string
		wantExit int              // 0 = success
		wantOut  []string         // regexps that must match the transcript
		wantEnv  *ingest.Envelope // nil = the receiver must not be called
		wantRaw  string           // substring of the stored message
	}{
		{
			// I1: accepted means Receive returned; envelope as sent.
			name:    "delivery",
			args:    []string{"--from", "alice@customer.test", "--to", "support@support.example.test", "--header", "Subject: printer on fire"},
			wantOut: []string{`(?m)^<-  250 2\.0\.0 OK`},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "alice@customer.test", Recipients: []string{"support@support.example.test"}},
			wantRaw: "Subject: printer on fire",
		},
		{
			// Domains compare case-insensitively (RFC 5321 2.4).
			name:    "domain case folded",
			args:    []string{"--from", "alice@customer.test", "--to", "Support@HELP.example.test"},
			wantOut: []string{`(?m)^<-  250 2\.0\.0 OK`},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "alice@customer.test", Recipients: []string{"Support@HELP.example.test"}},
		},
		{
			// I1: a receiver that cannot commit must not be acknowledged;
			// 451 4.3.0 makes the sender retry, and no internals leak.
			name:     "receiver fails: 451",
			fail:     errors.New("sqlite: database is locked at /var/lib/casemail.db"),
			args:     []string{"--from", "alice@customer.test", "--to", "support@support.example.test"},
			wantExit: 26, // swaks: message refused after the body
			wantOut:  []string{`(?m)^<\*\* 451 4\.3\.0 `},
			wantEnv:  &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "alice@customer.test", Recipients: []string{"support@support.example.test"}},
		},
		{
			// Recipients outside smtp.domains are refused at RCPT time.
			name:     "rcpt outside domains: 550",
			args:     []string{"--from", "alice@customer.test", "--to", "someone@elsewhere.test"},
			wantExit: 24, // swaks: no recipient accepted
			wantOut:  []string{`(?m)^<\*\* 550 5\.1\.1 not a domain we handle`},
		},
		{
			// The Policy decides which addresses inside our domains exist.
			name:     "rcpt refused by policy: 550",
			refuse:   map[string]string{"nobody@support.example.test": "no such route"},
			args:     []string{"--from", "alice@customer.test", "--to", "nobody@support.example.test"},
			wantExit: 24,
			wantOut:  []string{`(?m)^<\*\* 550 5\.1\.1 no such route`},
		},
		{
			// A refused recipient does not stop the good ones.
			name:    "mixed recipients",
			refuse:  map[string]string{"nobody@support.example.test": "no such route"},
			args:    []string{"--from", "alice@customer.test", "--to", "nobody@support.example.test,support@support.example.test"},
			wantOut: []string{`(?m)^<\*\* 550 5\.1\.1 no such route`, `(?m)^<-  250 2\.0\.0 OK`},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "alice@customer.test", Recipients: []string{"support@support.example.test"}},
		},
		{
			// Bounces come from the null sender (RFC 5321 4.5.5); they must
			// be accepted so the ingest side can record them (I4, I5).
			name:    "null sender accepted",
			args:    []string{"--from", "<>", "--to", "support@support.example.test"},
			wantOut: []string{`(?m)^ -> MAIL FROM:<>`, `(?m)^<-  250 2\.0\.0 OK`},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "", Recipients: []string{"support@support.example.test"}},
		},
		{
			// Oversized messages get 552 (RFC 1870) and never reach the receiver.
			name:     "over max_message_bytes: 552",
			cfg:      func(c *config.SMTP) { c.MaxMessageBytes = 2000 },
			args:     []string{"--from", "alice@customer.test", "--to", "support@support.example.test", "--data", "@" + bigBody},
			wantExit: 26,
			wantOut:  []string{`(?m)^<-  250-SIZE 2000`, `(?m)^<\*\* 552 5\.3\.4 `},
		},
		{
			// STARTTLS (RFC 3207) from tls_cert/tls_key.
			name:    "starttls",
			cfg:     func(c *config.SMTP) { c.TLSCert, c.TLSKey = cert, key },
			args:    []string{"--from", "alice@customer.test", "--to", "support@support.example.test", "--tls"},
			wantOut: []string{`(?m)^<-  250-STARTTLS`, `(?m)^=== TLS started`, `(?m)^<~  250 2\.0\.0 OK`},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "alice@customer.test", Recipients: []string{"support@support.example.test"}},
		},
		{
			// LMTP (RFC 2033): RCPT answers per recipient (250/550/250) and
			// one DATA reply per accepted recipient (I1 per recipient).
			name:   "lmtp per recipient",
			cfg:    func(c *config.SMTP) { c.Protocol = "lmtp" },
			refuse: map[string]string{"bad@support.example.test": "no such route"},
			args: []string{"--protocol", "LMTP", "--from", "alice@customer.test",
				"--to", "good1@support.example.test,bad@support.example.test,good2@support.example.test"},
			wantOut: []string{
				`(?m)^ -> RCPT TO:<good1@support.example.test>\n<-  250 `,
				`(?m)^ -> RCPT TO:<bad@support.example.test>\n<\*\* 550 5\.1\.1 no such route`,
				`(?m)^ -> RCPT TO:<good2@support.example.test>\n<-  250 `,
				`(?m)^<-  250 2\.0\.0 <good1@support.example.test> OK`,
				`(?m)^<-  250 2\.0\.0 <good2@support.example.test> OK`,
			},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportLMTP, MailFrom: "alice@customer.test",
				Recipients: []string{"good1@support.example.test", "good2@support.example.test"}},
		},
		{
			// LMTP, I1: a failed commit is a 451 for every accepted recipient.
			name:     "lmtp receiver fails",
			cfg:      func(c *config.SMTP) { c.Protocol = "lmtp" },
			fail:     errors.New("disk full"),
			args:     []string{"--protocol", "LMTP", "--from", "alice@customer.test", "--to", "a@support.example.test,b@support.example.test"},
			wantExit: 26,
			wantOut:  []string{`(?m)^<\*\* 451 4\.3\.0 <a@support.example.test> `, `(?m)^<\*\* 451 4\.3\.0 <b@support.example.test> `},
			wantEnv: &ingest.Envelope{Transport: ingest.TransportLMTP, MailFrom: "alice@customer.test",
				Recipients: []string{"a@support.example.test", "b@support.example.test"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			rcv := &fakeReceiver{fail: tc.fail}
			_, addr := startServer(t, cfg, rcv, fakePolicy{refuse: tc.refuse})
			out, code := swaks(t, addr, tc.args...)
			if code != tc.wantExit {
				t.Errorf("swaks exit code %d, want %d\n%s", code, tc.wantExit, out)
			}
			for _, re := range tc.wantOut {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("transcript does not match %q:\n%s", re, out)
				}
			}
			if tc.fail != nil && strings.Contains(out, tc.fail.Error()) {
				t.Errorf("receiver error leaked to the client:\n%s", out)
			}
			calls := rcv.got()
			if tc.wantEnv == nil {
				if len(calls) != 0 {
					t.Errorf("receiver called %d times, want never", len(calls))
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("receiver called %d times, want once\n%s", len(calls), out)
			}
			env := calls[0].env
			if env.Transport != tc.wantEnv.Transport || env.MailFrom != tc.wantEnv.MailFrom || !slices.Equal(env.Recipients, tc.wantEnv.Recipients) {
				t.Errorf("envelope = %+v, want %+v", env, *tc.wantEnv)
			}
			if !strings.HasPrefix(env.RemoteAddr, "127.0.0.1:") {
				t.Errorf("RemoteAddr = %q, want the peer's address", env.RemoteAddr)
			}
			if !strings.Contains(string(calls[0].raw), tc.wantRaw) || !strings.HasSuffix(string(calls[0].raw), "\r\n") {
				t.Errorf("raw message %q does not contain %q or lost its final CRLF", calls[0].raw, tc.wantRaw)
			}
		})
	}
}
