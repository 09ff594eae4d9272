package smtpd

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// capListener enforces max_connections and max_connections_per_client, and
// refuses connections once Shutdown has begun. Refused peers get a 421 greeting (RFC 5321 3.8:
// a server may answer 421 instead of 220 and close).
type capListener struct {
	net.Listener
	s *Server

	closeOnce sync.Once
	closeErr  error
}

// Close is idempotent: both Shutdown and go-smtp close the listener.
func (l *capListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, reason := l.s.track(c)
		if tc != nil {
			return tc, nil
		}
		l.s.log.Warn("smtp connection refused", "remote", c.RemoteAddr().String(), "reason", reason)
		// In a goroutine so a peer that does not read cannot stall Accept.
		go refuse(c, reason)
	}
}

func refuse(c net.Conn, reason string) {
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(reason + "\r\n"))
	c.Close()
}

const (
	replyTooMany  = "421 4.7.0 too many connections"
	replyShutdown = "421 4.3.2 shutting down"
)

// replyTooManyFrom is the refusal past max_connections_per_client: it says
// whose connections are counted so an operator behind a NAT knows why.
func replyTooManyFrom(key string, n int) string {
	return fmt.Sprintf("421 4.7.0 too many connections from %s (at most %d at once), try again later", key, n)
}

// clientKey is what the per-client cap counts: the IPv4 address, or the
// /64 of an IPv6 address (one host usually owns the whole /64, so counting
// single IPv6 addresses would not limit it at all).
func clientKey(a net.Addr) string {
	var ip net.IP
	switch v := a.(type) {
	case *net.TCPAddr:
		ip = v.IP
	default:
		host, _, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return host
		}
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// track registers a new connection, or says why it is refused.
func (s *Server) track(c net.Conn) (*trackedConn, string) {
	key := clientKey(c.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, replyShutdown
	}
	if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
		return nil, replyTooMany
	}
	if n := s.cfg.MaxConnectionsPerClient; n > 0 && s.perClient[key] >= n {
		return nil, replyTooManyFrom(key, n)
	}
	tc := &trackedConn{Conn: c, s: s, key: key}
	s.conns[tc] = struct{}{}
	s.perClient[key]++
	return tc, ""
}

// trackedConn is the raw TCP connection under go-smtp (and under TLS after
// STARTTLS). It knows whether a message is being received so that Shutdown
// can end idle sessions while letting DATA run to its reply.
type trackedConn struct {
	net.Conn
	s   *Server
	key string // clientKey of the peer

	mu       sync.Mutex
	busy     bool      // inside Data/LMTPData
	woken    bool      // Shutdown interrupted a blocked Read with a deadline
	deadline time.Time // while busy: when the message must have arrived (smtp.data_timeout)
	dead     error     // once a read timed out: what every later read returns
	partial  bool      // the last byte read did not end a line
	tls      bool      // STARTTLS done: our own replies cannot be written in clear
	released bool      // the per-client slot was given back (at the 221 to QUIT)

	closeOnce sync.Once
}

// errShuttingDown is what an idle session reads once Shutdown has begun.
// It is a timeout so go-smtp answers "421 4.4.2" before closing.
var errShuttingDown error = shutdownErr{}

type shutdownErr struct{}

func (shutdownErr) Error() string   { return "smtpd: server shutting down" }
func (shutdownErr) Timeout() bool   { return true }
func (shutdownErr) Temporary() bool { return true }

func (c *trackedConn) Read(b []byte) (int, error) {
	for {
		if err := c.deadErr(); err != nil {
			return 0, err
		}
		busy := c.isBusy()
		if c.s.isClosing() && !busy {
			return 0, errShuttingDown
		}
		if busy {
			// go-smtp sets the read deadline once per command, so a long
			// DATA would have to arrive within read_timeout in total; make
			// it an idle timeout instead, renewed as data keeps coming, but
			// never past the message's own deadline: renewing on every byte
			// alone let a client sending one byte every few seconds hold
			// the connection forever.
			c.mu.Lock()
			c.woken = false // this renewal supersedes a Shutdown wake-up
			c.Conn.SetReadDeadline(c.nextDeadlineLocked())
			c.mu.Unlock()
		}
		n, err := c.Conn.Read(b)
		if n == 0 && err != nil && c.retryAfterWake(err) {
			continue
		}
		if n > 0 {
			c.mu.Lock()
			c.partial = b[n-1] != '\n'
			c.mu.Unlock()
		}
		if isTimeout(err) {
			return n, c.timedOut(err, busy)
		}
		if n > 0 && c.s.isClosing() && !c.isBusy() {
			// A command that arrived while Shutdown began: answer 421
			// rather than start something new.
			return 0, errShuttingDown
		}
		return n, err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}

// nextDeadlineLocked is the read deadline inside a message: read_timeout
// from now, capped by the message's deadline. c.mu is held.
func (c *trackedConn) nextDeadlineLocked() time.Time {
	d := time.Now().Add(c.s.srv.ReadTimeout)
	if !c.deadline.IsZero() && d.After(c.deadline) {
		d = c.deadline
	}
	return d
}

// timedOut ends the session after a read timed out: every later read
// fails, so go-smtp closes the connection after its reply. Whatever the
// client sends next is the rest of a message or of a command, and reading
// it as commands let a stalled message's body smuggle in a second message
// ("MAIL FROM / RCPT TO / DATA" lines).
//
// Inside a message the error is the reply: 421, the message was not
// received (go-smtp answers a BDAT chunk with its read error as it is).
// Outside one, when part of a line is already read, go-smtp's line reader
// (bufio) would hand that fragment on as a whole command before seeing the
// error, and a client trickling bytes got 500 and a fresh read_timeout,
// forever; the connection is closed here, after our own 421, first.
func (c *trackedConn) timedOut(err error, busy bool) error {
	c.mu.Lock()
	switch {
	case busy && !c.deadline.IsZero() && !time.Now().Before(c.deadline):
		c.dead = c.s.errDataTimeout
	case busy:
		c.dead = c.s.errIdleTimeout
	default:
		c.dead = err // go-smtp answers 421 4.4.2 and closes
	}
	dead, abandon, inTLS := c.dead, !busy && c.partial && !c.woken, c.tls
	c.mu.Unlock()
	if abandon {
		if !inTLS {
			c.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c.Conn, "421 4.4.2 line not completed within %s, closing connection\r\n", c.s.srv.ReadTimeout)
		}
		c.Conn.Close()
	}
	return dead
}

// deadErr is the error that ended the session, nil while it runs.
func (c *trackedConn) deadErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

func (c *trackedConn) setTLS() {
	c.mu.Lock()
	c.tls = true
	c.mu.Unlock()
}

// retryAfterWake reports whether err is the deadline Shutdown set while this
// session was, or has since become, busy receiving a message; the read is
// then resumed with a fresh deadline so DATA completes.
func (c *trackedConn) retryAfterWake(err error) bool {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.woken || !c.busy {
		return false
	}
	c.woken = false
	c.Conn.SetReadDeadline(c.nextDeadlineLocked())
	return true
}

// wake interrupts a Read blocked waiting for the next command.
func (c *trackedConn) wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.woken = true
	c.Conn.SetReadDeadline(time.Now())
}

func (c *trackedConn) isBusy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// setBusy marks the start and end of one message. At the start, the
// message gets its absolute deadline (smtp.data_timeout).
func (c *trackedConn) setBusy(b bool) {
	c.mu.Lock()
	c.busy = b
	if b {
		c.deadline = time.Now().Add(c.s.dataTimeout)
	} else {
		c.deadline = time.Time{}
	}
	c.mu.Unlock()
}

func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
		c.releaseClientSlot()
		err = c.Conn.Close()
	})
	return err
}

// Write gives the per-client slot back as the 221 answering QUIT goes out:
// a client that reconnects the moment it reads it (smtp-source does, an
// MTA may) would otherwise find the slot still taken, for the instant
// before go-smtp closes the connection, and be refused. 221 is only ever
// the closing reply (RFC 5321 4.2.2). Under TLS the reply is encrypted
// below us and the slot is given back at Close.
func (c *trackedConn) Write(b []byte) (int, error) {
	if bytes.HasPrefix(b, []byte("221 ")) {
		c.releaseClientSlot()
	}
	return c.Conn.Write(b)
}

// releaseClientSlot gives back the connection's per-client slot, once.
func (c *trackedConn) releaseClientSlot() {
	c.mu.Lock()
	done := c.released
	c.released = true
	c.mu.Unlock()
	if done {
		return
	}
	c.s.mu.Lock()
	if c.s.perClient[c.key]--; c.s.perClient[c.key] <= 0 {
		delete(c.s.perClient, c.key)
	}
	c.s.mu.Unlock()
}

// unwrapConn finds our trackedConn under a go-smtp connection, which is a
// *tls.Conn after STARTTLS.
func unwrapConn(nc net.Conn) *trackedConn {
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return tc
}
