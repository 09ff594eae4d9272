package outbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP relays mail over one connection (RFC 5321), kept open and reused
// for the next mail, and redialled when it breaks. It is safe for
// concurrent use, but mails on one SMTP value go out one after the other;
// open several for parallel connections.
type SMTP struct {
	Addr               string // host:port
	ImplicitTLS        bool   // smtps:// (RFC 8314)
	StartTLS           string // opportunistic (default) | required | never (RFC 3207)
	InsecureSkipVerify bool
	Username, Password string // AUTH PLAIN, else LOGIN (RFC 4954, RFC 4616) when Username is set
	Timeout            time.Duration
	LocalName          string // EHLO name
	Log                *slog.Logger

	mu         sync.Mutex
	c          *smtp.Client
	noSTARTTLS bool // opportunistic: the relay did not offer STARTTLS last time
}

// connErr is a failure before any mail transaction: relay unreachable, TLS
// or AUTH refused. It is always temporary for the message: no message is
// at fault, and fixing the relay or the config lets it through.
func connErr(stage string, err error) *SendError {
	se := &SendError{Message: stage + ": " + err.Error(), Err: err}
	var e *smtp.SMTPError
	if errors.As(err, &e) {
		se.Code = e.Code
		se.Enhanced = enhanced(e)
		se.Message = stage + ": " + e.Message
	}
	return se
}

func enhanced(e *smtp.SMTPError) string {
	if e.EnhancedCode == (smtp.EnhancedCode{}) || e.EnhancedCode == smtp.NoEnhancedCode {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2])
}

// txErr classifies a failure inside a mail transaction: a 5xx answer to
// MAIL, RCPT or DATA is about this message and permanent; 4xx and network
// errors are temporary.
func txErr(stage string, err error) *SendError {
	var e *smtp.SMTPError
	if errors.As(err, &e) {
		return &SendError{Code: e.Code, Enhanced: enhanced(e), Message: e.Message, Permanent: e.Code >= 500 && e.Code < 600, Err: err}
	}
	return &SendError{Message: stage + ": " + err.Error(), Err: err}
}

func (s *SMTP) dial(ctx context.Context) (*smtp.Client, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, &SendError{Message: "relay address " + s.Addr + ": " + err.Error(), Err: err}
	}
	tlsConf := &tls.Config{ServerName: host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	connect := func() (net.Conn, error) {
		d := net.Dialer{Timeout: s.Timeout}
		conn, err := d.DialContext(ctx, "tcp", s.Addr)
		if err != nil {
			return nil, connErr("connect "+s.Addr, err)
		}
		// The greeting and EHLO have their own deadlines in go-smtp, but a
		// TLS handshake needs one too.
		if s.ImplicitTLS {
			conn = tls.Client(conn, tlsConf)
		}
		return conn, nil
	}
	conn, err := connect()
	if err != nil {
		return nil, err
	}
	var c *smtp.Client
	wantTLS := !s.ImplicitTLS && (s.StartTLS == "required" || (s.StartTLS != "never" && !s.noSTARTTLS))
	if wantTLS {
		// go-smtp upgrades only inside NewClientStartTLS (its first EHLO
		// says "localhost"; the one after TLS uses LocalName).
		c, err = smtp.NewClientStartTLS(conn, tlsConf)
		if err != nil {
			var se *smtp.SMTPError
			var ne net.Error
			notOffered := !errors.As(err, &se) && !errors.As(err, &ne) && strings.Contains(err.Error(), "STARTTLS")
			if !notOffered || s.StartTLS == "required" {
				if notOffered {
					err = errors.New("the relay does not offer STARTTLS and outbound.starttls = \"required\"")
				}
				return nil, connErr("STARTTLS", err)
			}
			// Opportunistic: remember the relay has no TLS and go on in clear.
			s.noSTARTTLS = true
			if conn, err = connect(); err != nil {
				return nil, err
			}
			c = nil
		}
	}
	if c == nil {
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = s.Timeout
	c.SubmissionTimeout = 2 * s.Timeout
	fail := func(stage string, err error) (*smtp.Client, error) {
		c.Close()
		return nil, connErr(stage, err)
	}
	if err := c.Hello(s.LocalName); err != nil {
		return fail("EHLO", err)
	}
	// Hello only records the name; Noop runs the greeting and EHLO now so
	// a relay that is up but refusing shows here, as a connection error.
	if err := c.Noop(); err != nil {
		return fail("EHLO", err)
	}
	if s.Username != "" {
		_, isTLS := c.TLSConnectionState()
		if !isTLS && !isLoopback(host) {
			return fail("AUTH", errors.New("refusing to send the password over a connection without TLS"))
		}
		var auth sasl.Client
		switch {
		case c.SupportsAuth("PLAIN"):
			auth = sasl.NewPlainClient("", s.Username, s.Password)
		case c.SupportsAuth("LOGIN"):
			auth = sasl.NewLoginClient(s.Username, s.Password)
		default:
			return fail("AUTH", errors.New("the relay offers neither AUTH PLAIN nor AUTH LOGIN"))
		}
		if err := c.Auth(auth); err != nil {
			return fail("AUTH", err)
		}
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers one message. A mail interrupted on a reused connection
// before the relay accepted anything (the relay closed an idle connection)
// is retried once on a fresh connection.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		reused := s.c != nil
		if s.c == nil {
			c, err := s.dial(ctx)
			if err != nil {
				return err
			}
			s.c = c
		}
		err, started := s.send(from, to, msg)
		if err == nil {
			return nil
		}
		if err.Code == 0 || err.Permanent || err.Code == 421 {
			// After a network error, a 421 or a refused message the
			// connection's state is unknown: start clean next time. (go-smtp's
			// Reset forgets the EHLO, so a fresh connection is the simpler
			// clean state.)
			s.drop()
		}
		if reused && !started && err.Code == 0 && attempt == 0 && ctx.Err() == nil {
			if s.Log != nil {
				s.Log.Debug("smtp connection went stale; redialling", "relay", s.Addr, "err", err.Message)
			}
			continue
		}
		return err
	}
}

// send runs MAIL, RCPT and DATA. started reports whether the relay had
// answered MAIL FROM: before that, nothing can have been delivered.
func (s *SMTP) send(from string, to []string, msg []byte) (err *SendError, started bool) {
	c := s.c
	if e := c.Mail(from, nil); e != nil {
		return txErr("MAIL FROM", e), false
	}
	for _, rcpt := range to {
		if e := c.Rcpt(rcpt, nil); e != nil {
			return txErr("RCPT TO", e), true
		}
	}
	w, e := c.Data()
	if e != nil {
		return txErr("DATA", e), true
	}
	if _, e := bytes.NewReader(msg).WriteTo(w); e != nil {
		w.Close()
		return txErr("DATA", e), true
	}
	if e := w.Close(); e != nil {
		return txErr("end of DATA", e), true
	}
	return nil, true
}

func (s *SMTP) drop() {
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// Close ends the session with QUIT.
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil
	}
	err := s.c.Quit()
	if err != nil {
		s.c.Close()
	}
	s.c = nil
	return err
}
