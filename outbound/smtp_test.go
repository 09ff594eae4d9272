package outbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
)

func smtpTransportFactory(t testing.TB, addr string, mod func(*config.Outbound)) func() (Transport, error) {
	cfg := testConfig().Outbound
	cfg.Transport = "smtp://" + addr
	cfg.Timeout = config.Duration{Duration: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	return func() (Transport, error) { return OpenTransport(cfg, testenv.Logger(t)) }
}

// Relay down, then up: every mail is delivered exactly once (I3).
func TestSMTPRelayDownThenUp(t *testing.T) {
	testenv.NeedTool(t, "smtp-sink", "postfix")
	addr := testenv.FreeAddr(t)
	q := NewMemQueue("support.example.test")
	const n = 20
	for i := 0; i < n; i++ {
		q.Add(row("comment_added", fmt.Sprintf("w%d@customer.test", i), fmt.Sprintf("down%02d", i), 3))
	}
	w := newTestWorker(t, q, nil, func(o *Options) {
		o.NewTransport = smtpTransportFactory(t, addr, nil)
		o.Workers = 2
	})
	run(t, w)
	// Every row fails at least once while nothing listens...
	testenv.WaitFor(t, time.Minute, "every row to be deferred", func() bool {
		for i := int64(1); i <= n; i++ {
			if q.Get(i).Attempts == 0 {
				return false
			}
		}
		return true
	})
	if got := q.Get(1); got.Status != casebook.OutboxPending || !strings.Contains(got.LastError, "connection refused") {
		t.Fatalf("while down: %+v", got)
	}
	// ...then the relay comes up.
	s := startSink(t, addr, true)
	testenv.WaitFor(t, time.Minute, "all sent", func() bool { return q.Count(casebook.OutboxSent) == n })
	msgs := s.messages(t)
	if len(msgs) != n {
		t.Errorf("sink got %d mails, want %d", len(msgs), n)
	}
	for i := 0; i < n; i++ {
		if c := countContaining(msgs, fmt.Sprintf("Message-Id: <down%02d@support.example.test>", i)); c != 1 {
			t.Errorf("mail %d arrived %d times", i, c)
		}
	}
}

// A 5xx answer fails the row with the relay's answer in last_error; a 4xx
// one defers it.
func TestSMTPRelayRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []string
		status casebook.OutboxStatus
		code   string
	}{
		{"5xx on RCPT fails the row", []string{"-f", "RCPT"}, casebook.OutboxFailed, "5"},
		{"5xx on end of DATA fails the row", []string{"-f", "."}, casebook.OutboxFailed, "5"},
		{"4xx on RCPT defers the row", []string{"-r", "RCPT"}, casebook.OutboxPending, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := testenv.FreeAddr(t)
			startSink(t, addr, false, tc.opts...)
			q := NewMemQueue("support.example.test")
			id := q.Add(row("comment_added", "a@customer.test", "refused", 3))
			run(t, newTestWorker(t, q, nil, func(o *Options) {
				o.NewTransport = smtpTransportFactory(t, addr, nil)
				o.BaseBackoff, o.MaxBackoff = time.Hour, time.Hour
			}))
			testenv.WaitFor(t, time.Minute, "an attempt", func() bool { return q.Get(id).Attempts >= 1 })
			got := q.Get(id)
			if got.Status != tc.status || !strings.HasPrefix(got.LastError, tc.code) || len(got.LastError) < 8 {
				t.Errorf("status %s last_error %q, want %s and a %sxx answer", got.Status, got.LastError, tc.status, tc.code)
			}
		})
	}
}

// A reused connection the relay dropped is redialled without losing or
// failing the mail.
func TestSMTPRedialsBrokenConnection(t *testing.T) {
	addr := testenv.FreeAddr(t)
	s := startSink(t, addr, true)
	tr, err := smtpTransportFactory(t, addr, nil)()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	msg := []byte("Subject: one\r\n\r\nbody\r\n")
	if err := tr.Send(ctx, "b@x.test", []string{"a@x.test"}, msg); err != nil {
		t.Fatal(err)
	}
	s.stop()
	s2 := startSink(t, addr, true)
	if err := tr.Send(ctx, "b@x.test", []string{"a@x.test"}, []byte("Subject: two\r\n\r\nbody\r\n")); err != nil {
		t.Fatalf("after the relay restarted: %v", err)
	}
	if got := s2.messages(t); len(got) != 1 || !bytes.Contains(got[0], []byte("Subject: two")) {
		t.Errorf("second sink got %q", got)
	}
}

// testServer is a go-smtp relay that records sessions and messages, for
// what smtp-sink cannot show: connection reuse and AUTH.
type testServer struct {
	mu       sync.Mutex
	sessions int
	auths    []string
	msgs     [][]byte
	logouts  int
	user     string
	pass     string
}

func (b *testServer) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.sessions++
	b.mu.Unlock()
	return &testSession{b: b}, nil
}

type testSession struct{ b *testServer }

func (s *testSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return smtp.ErrAuthFailed
		}
		s.b.mu.Lock()
		s.b.auths = append(s.b.auths, user)
		s.b.mu.Unlock()
		return nil
	}), nil
}
func (s *testSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *testSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, b)
	s.b.mu.Unlock()
	return err
}
func (s *testSession) Reset() {}
func (s *testSession) Logout() error {
	s.b.mu.Lock()
	s.b.logouts++
	s.b.mu.Unlock()
	return nil
}

func startGoSMTP(t testing.TB, b *testServer) string {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// One connection carries every mail of a fan-out, authenticated once with
// AUTH PLAIN; the password comes from the environment.
func TestSMTPReusesOneAuthenticatedConnection(t *testing.T) {
	b := &testServer{user: "casemail", pass: "s3cret"}
	addr := startGoSMTP(t, b)
	t.Setenv("CASEMAIL_TEST_SMTP_PASSWORD", "s3cret")
	q := NewMemQueue("support.example.test")
	for i := 0; i < 30; i++ {
		q.Add(row("comment_added", fmt.Sprintf("w%d@customer.test", i), fmt.Sprintf("reuse%d", i), 9))
	}
	run(t, newTestWorker(t, q, nil, func(o *Options) {
		o.NewTransport = smtpTransportFactory(t, addr, func(c *config.Outbound) {
			c.Username, c.PasswordEnv = "casemail", "CASEMAIL_TEST_SMTP_PASSWORD"
			c.StartTLS = "never" // opportunistic costs one probe connection to a relay without TLS
		})
	}))
	testenv.WaitFor(t, time.Minute, "30 sent", func() bool { return q.Count(casebook.OutboxSent) == 30 })
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions != 1 || len(b.auths) != 1 || len(b.msgs) != 30 {
		t.Errorf("sessions %d, auths %v, messages %d; want 1, 1, 30", b.sessions, b.auths, len(b.msgs))
	}
}

// A wrong password is a relay problem, not the message's: the row is
// deferred, not failed, and the password never shows in last_error.
func TestSMTPAuthFailureIsTemporary(t *testing.T) {
	b := &testServer{user: "casemail", pass: "right"}
	addr := startGoSMTP(t, b)
	q := NewMemQueue("support.example.test")
	id := q.Add(row("comment_added", "a@customer.test", "auth", 9))
	t.Setenv("CASEMAIL_TEST_SMTP_PASSWORD", "wrong-password")
	run(t, newTestWorker(t, q, nil, func(o *Options) {
		o.BaseBackoff, o.MaxBackoff = time.Hour, time.Hour
		o.NewTransport = smtpTransportFactory(t, addr, func(c *config.Outbound) {
			c.Username, c.PasswordEnv = "casemail", "CASEMAIL_TEST_SMTP_PASSWORD"
		})
	}))
	testenv.WaitFor(t, time.Minute, "an attempt", func() bool { return q.Get(id).Attempts == 1 })
	got := q.Get(id)
	if got.Status != casebook.OutboxPending || !strings.Contains(got.LastError, "535") || strings.Contains(got.LastError, "wrong-password") {
		t.Errorf("%+v", got)
	}
}

// starttls = "required" refuses a relay without STARTTLS (temporary: the
// admin can fix the relay); "opportunistic" goes on in clear.
func TestSMTPStartTLSPolicy(t *testing.T) {
	b := &testServer{}
	addr := startGoSMTP(t, b)
	for _, tc := range []struct {
		policy string
		ok     bool
	}{{"opportunistic", true}, {"never", true}, {"required", false}} {
		tr, err := smtpTransportFactory(t, addr, func(c *config.Outbound) { c.StartTLS = tc.policy })()
		if err != nil {
			t.Fatal(err)
		}
		err = tr.Send(context.Background(), "b@x.test", []string{"a@x.test"}, []byte("Subject: x\r\n\r\nx\r\n"))
		tr.Close()
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.policy, err)
		}
		if err != nil && (IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS")) {
			t.Errorf("%s: %v should be a temporary STARTTLS error", tc.policy, err)
		}
	}
}

// An idle connection is closed with QUIT and a new one opened for the
// next mail.
func TestSMTPIdleConnectionClosed(t *testing.T) {
	b := &testServer{}
	addr := startGoSMTP(t, b)
	q := NewMemQueue("support.example.test")
	q.Add(row("comment_added", "a@customer.test", "idle1", 9))
	w := newTestWorker(t, q, nil, func(o *Options) {
		o.IdleClose = 50 * time.Millisecond
		o.NewTransport = smtpTransportFactory(t, addr, func(c *config.Outbound) { c.StartTLS = "never" })
	})
	run(t, w)
	testenv.WaitFor(t, time.Minute, "first sent", func() bool { return q.Count(casebook.OutboxSent) == 1 })
	testenv.WaitFor(t, time.Minute, "the idle connection to close", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.logouts == 1
	})
	q.Add(row("comment_added", "a@customer.test", "idle2", 9))
	w.Notify()
	testenv.WaitFor(t, time.Minute, "second sent", func() bool { return q.Count(casebook.OutboxSent) == 2 })
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sessions != 2 || len(b.msgs) != 2 {
		t.Errorf("sessions %d messages %d, want 2 and 2", b.sessions, len(b.msgs))
	}
}
