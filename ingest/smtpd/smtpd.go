// Package smtpd is casemail's inbound SMTP (RFC 5321) and LMTP (RFC 2033)
// listener. It accepts mail for the configured domains, asks a Policy which
// recipients are ours, spools each message (memory, then a temporary file)
// and hands the complete message to an ingest.Receiver. A 250 is answered
// only after Receive returned nil (invariant I1); a Receive error answers
// 451 4.3.0 so the sending MTA retries.
//
// Hostile clients are bounded (docs/security.md): connections in all and
// per client address, a timeout per command and between reads, a deadline
// per message, lines and header fields for DATA and BDAT alike. Any read
// timeout ends the session, so the rest of a stalled message is never read
// as commands.
//
// Extensions follow go-smtp: SIZE (RFC 1870), STARTTLS (RFC 3207),
// ENHANCEDSTATUSCODES (RFC 2034/3463), PIPELINING (RFC 2920), CHUNKING
// (RFC 3030) and LIMITS RCPTMAX (RFC 9422).
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
)

// Policy answers the questions the listener asks before it accepts data.
type Policy interface {
	// AcceptRecipient says whether RCPT TO addr is one of ours: inside
	// smtp.domains AND matching a route or a reply/bounce address (the
	// ingest side implements it). A non-nil error is a permanent refusal at
	// RCPT time: 550 5.1.1 with the error text.
	AcceptRecipient(ctx context.Context, addr string) error
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(ctx context.Context, addr string) error

// AcceptRecipient calls f.
func (f PolicyFunc) AcceptRecipient(ctx context.Context, addr string) error { return f(ctx, addr) }

const (
	// DefaultMaxRecipients caps RCPT TO per message; go-smtp answers
	// 452 4.5.3 beyond it (RFC 5321 4.5.3.1.8 asks for at least 100).
	DefaultMaxRecipients = 100
	// DefaultSpoolMemory is how much of a message is kept in memory before
	// the rest goes to a temporary file.
	DefaultSpoolMemory = 1 << 20
	// defaultReadTimeout applies when the config leaves read_timeout at 0.
	defaultReadTimeout = 5 * time.Minute
	// defaultDataTimeout applies when the config leaves data_timeout at 0:
	// 25 MB in 10 minutes is 42 kB/s, slower than any real MTA.
	defaultDataTimeout = 10 * time.Minute
	// MaxLineLength is the longest line, CRLF excluded, accepted in a
	// command or a message, by DATA and BDAT alike. RFC 5322 2.1.1 allows
	// 998; go-smtp's default of 2000 is kept for mailers that exceed it a
	// little.
	MaxLineLength = 2000
	// MaxHeaderFieldBytes caps one header field with its folded
	// continuation lines, as Postfix's header_size_limit does: nothing
	// legitimate comes near it, and a huge Subject would become a huge case
	// title and outbound Subject.
	MaxHeaderFieldBytes = 100 << 10
)

// Option tunes a Server beyond what the config file says.
type Option func(*Server)

// WithMaxRecipients sets the RCPT TO cap per message (default 100).
func WithMaxRecipients(n int) Option { return func(s *Server) { s.maxRcpts = n } }

// WithSpool sets where messages larger than memBytes are spooled
// ("" = os.TempDir()) and how much is kept in memory first.
func WithSpool(dir string, memBytes int) Option {
	return func(s *Server) { s.spoolDir, s.spoolMem = dir, memBytes }
}

// WithHostname sets the name announced in the 220 greeting.
func WithHostname(name string) Option { return func(s *Server) { s.srv.Domain = name } }

// Server is one SMTP or LMTP listener. Create it with New, run it with Serve
// or ListenAndServe, stop it with Shutdown.
type Server struct {
	cfg       config.SMTP
	rcv       ingest.Receiver
	pol       Policy
	log       *slog.Logger
	transport ingest.Transport
	domains   map[string]bool
	maxRcpts  int
	spoolDir  string
	spoolMem  int
	// dataTimeout bounds one whole message (smtp.data_timeout).
	dataTimeout time.Duration
	// errDataTimeout and errIdleTimeout are what every read returns once a
	// message missed dataTimeout, or nothing of it came for read_timeout.
	// They are *smtp.SMTPError because go-smtp answers a BDAT chunk with
	// its read error as it is; at the next command read, an error that is
	// not a timeout ends the session (421).
	errDataTimeout, errIdleTimeout *smtp.SMTPError

	srv *smtp.Server

	// base is the context given to Policy and Receive. It is cancelled only
	// when Shutdown gives up waiting, so in-flight DATA is never cut short
	// by a graceful stop.
	base       context.Context
	cancelBase context.CancelFunc

	mu      sync.Mutex
	ln      *capListener
	closing bool
	// serving counts Serve calls in go-smtp's accept loop. Shutdown waits
	// for them to return before go-smtp's own Shutdown: its WaitGroup must
	// not see an Add (a connection accepted at the last moment) while it
	// waits.
	serving sync.WaitGroup
	conns   map[*trackedConn]struct{}
	// perClient counts open connections by clientKey.
	perClient map[string]int
}

// New checks cfg and builds a Server; it does not listen yet.
func New(cfg config.SMTP, rcv ingest.Receiver, pol Policy, log *slog.Logger, opts ...Option) (*Server, error) {
	if rcv == nil || pol == nil {
		return nil, errors.New("smtpd: receiver and policy are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		rcv:      rcv,
		pol:      pol,
		log:      log,
		domains:  map[string]bool{},
		maxRcpts: DefaultMaxRecipients,
		spoolMem: DefaultSpoolMemory,
		conns:    map[*trackedConn]struct{}{},

		perClient:   map[string]int{},
		dataTimeout: cfg.DataTimeout.Duration,
	}
	if s.dataTimeout <= 0 {
		s.dataTimeout = defaultDataTimeout
	}
	switch cfg.Protocol {
	case "", "smtp":
		s.transport = ingest.TransportSMTP
	case "lmtp":
		s.transport = ingest.TransportLMTP
	default:
		return nil, fmt.Errorf("smtpd: protocol must be \"smtp\" or \"lmtp\", not %q", cfg.Protocol)
	}
	if len(cfg.Domains) == 0 {
		return nil, errors.New("smtpd: smtp.domains is empty: no recipient could be accepted")
	}
	for _, d := range cfg.Domains {
		s.domains[normDomain(d)] = true
	}

	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	if h, err := os.Hostname(); err == nil && h != "" {
		srv.Domain = h
	}
	srv.LMTP = s.transport == ingest.TransportLMTP
	srv.Network = "tcp" // go-smtp defaults LMTP to unix sockets; we listen on cfg.Listen (TCP)
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.ReadTimeout = cfg.ReadTimeout.Duration
	if srv.ReadTimeout <= 0 {
		srv.ReadTimeout = defaultReadTimeout
	}
	srv.WriteTimeout = srv.ReadTimeout
	s.errDataTimeout = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: fmt.Sprintf("message not received within %s, closing connection", s.dataTimeout)}
	s.errIdleTimeout = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
		Message: fmt.Sprintf("nothing received for %s in the middle of a message, closing connection", srv.ReadTimeout)}
	// go-smtp counts the line's CR and the previous line's LF.
	srv.MaxLineLength = MaxLineLength + 2
	srv.ErrorLog = slogPrintf{log}
	s.srv = srv

	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("smtpd: load tls_cert/tls_key: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	for _, o := range opts {
		o(s)
	}
	srv.MaxRecipients = s.maxRcpts
	s.base, s.cancelBase = context.WithCancel(context.Background())
	return s, nil
}

// Serve accepts connections on l until Shutdown. It returns nil after a
// Shutdown, or the listener's error.
func (s *Server) Serve(l net.Listener) error {
	cl := &capListener{Listener: l, s: s}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return smtp.ErrServerClosed
	}
	s.ln = cl
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	s.log.Info("smtp listener started", "addr", l.Addr().String(), "protocol", string(s.transport),
		"domains", s.cfg.Domains, "max_message_bytes", s.cfg.MaxMessageBytes,
		"max_connections", s.cfg.MaxConnections, "max_connections_per_client", s.cfg.MaxConnectionsPerClient,
		"read_timeout", s.srv.ReadTimeout, "data_timeout", s.dataTimeout, "starttls", s.srv.TLSConfig != nil)
	err := s.srv.Serve(cl)
	if err != nil && s.isClosing() && errors.Is(err, net.ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("smtpd: serve %s: %w", l.Addr(), err)
	}
	return nil
}

// ListenAndServe listens on cfg.Listen and serves until ctx is done, then
// shuts down gracefully, giving in-flight messages up to grace to finish.
func (s *Server) ListenAndServe(ctx context.Context, grace time.Duration) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("smtpd: listen %s: %w", s.cfg.Listen, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	select {
	case err := <-done:
		if errors.Is(err, smtp.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	serr := s.Shutdown(sctx)
	if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return serr
}

// Addr is the address being listened on, nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Shutdown stops accepting connections, lets every message whose DATA is in
// progress finish (its reply is sent, I1), answers idle sessions
// "421 4.4.2" and closes them, then returns. If ctx ends first, the
// remaining connections are closed, in-flight Receive calls see their
// context cancelled, and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		// go-smtp closes the listeners it knows; this covers a Serve that
		// has not handed it over yet.
		s.ln.Close()
	}
	conns := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.serving.Wait() // the listener is closed: no connection is accepted any more
	s.log.Info("smtp listener shutting down", "open_connections", len(conns))
	// Idle sessions are blocked reading a command: wake them so they see
	// closing and end. Sessions inside DATA keep reading (see trackedConn.Read).
	for _, c := range conns {
		c.wake()
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		s.cancelBase()
		s.srv.Close()
		return fmt.Errorf("smtpd: shutdown: %w", err)
	}
	s.cancelBase()
	return nil
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// normDomain lowercases and strips a trailing dot (RFC 5321 2.4: domains
// are case-insensitive).
func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// domainOf returns the domain part of an RCPT address, "" when it has none.
// The split is at the last "@": a quoted local part may itself hold "@"
// (RFC 5321 4.1.2).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 || i == len(addr)-1 {
		return ""
	}
	return normDomain(addr[i+1:])
}

// inDomains reports whether addr's domain is one this listener handles.
func (s *Server) inDomains(addr string) bool {
	d := domainOf(addr)
	return d != "" && s.domains[d]
}

// slogPrintf routes go-smtp's internal error log into slog.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Warn("smtp server", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (l slogPrintf) Println(v ...any) {
	l.log.Warn("smtp server", "detail", strings.TrimSpace(fmt.Sprintln(v...)))
}
