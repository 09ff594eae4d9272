package smtpd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/casemail/casemail/ingest"
)

// backend hands go-smtp a session per connection (and a new one after
// STARTTLS, RFC 3207 4.2: all prior state is discarded).
type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	remote := c.Conn().RemoteAddr().String()
	_, isTLS := c.TLSConnectionState()
	tc := unwrapConn(c.Conn())
	if tc != nil && isTLS {
		tc.setTLS()
	}
	return &session{
		s:      b.s,
		conn:   tc,
		remote: remote,
		helo:   c.Hostname(),
		tls:    isTLS,
		log:    b.s.log.With("remote", remote, "helo", c.Hostname(), "tls", isTLS),
	}, nil
}

// session is one SMTP transaction state: MAIL FROM, RCPT TOs, DATA.
type session struct {
	s      *Server
	conn   *trackedConn
	remote string
	helo   string
	tls    bool
	log    *slog.Logger

	from     string
	rcpts    []string
	messages int // accepted in this session, for the closing log line
	refused  int
}

var (
	errNotOurDomain = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "not a domain we handle"}
	errTempFail     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure storing the message, try again later"}
	errSpoolFail    = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure receiving the message, try again later"}
)

// Mail records the reverse-path; "" is the null sender of bounces, which
// must be accepted (RFC 5321 4.5.5).
func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.rcpts = from, nil
	return nil
}

// Rcpt accepts addr only inside smtp.domains and when the Policy says it is
// one of ours; both refusals are permanent (550 5.1.1, RFC 3463 "bad
// destination mailbox address").
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.inDomains(to) {
		ss.refused++
		ss.log.Info("smtp recipient refused", "mail_from", ss.from, "rcpt", to, "reason", "domain")
		return errNotOurDomain
	}
	if err := ss.s.pol.AcceptRecipient(ss.s.base, to); err != nil {
		ss.log.Info("smtp recipient refused", "mail_from", ss.from, "rcpt", to, "reason", err.Error())
		ss.refused++
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: oneLine(err.Error())}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

// Data answers for SMTP: one reply for the message.
func (ss *session) Data(r io.Reader) error {
	return ss.deliver(r)
}

// LMTPData answers for LMTP (RFC 2033 4.2): one reply per accepted
// recipient. The receiver takes the message once with every recipient in
// the envelope and its single result applies to all of them.
func (ss *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := ss.deliver(r)
	for _, rc := range ss.rcpts {
		status.SetStatus(rc, err)
	}
	return err
}

// deliver spools the message, then calls Receive. go-smtp answers 250 only
// when this returns nil, i.e. after Receive committed it (I1).
func (ss *session) deliver(r io.Reader) error {
	if ss.conn != nil {
		ss.conn.setBusy(true)
		defer ss.conn.setBusy(false)
	}
	start := time.Now()
	env := ingest.Envelope{
		Transport:  ss.s.transport,
		MailFrom:   ss.from,
		NullSender: ss.from == "", // MAIL FROM:<> (RFC 5321 section 4.5.5)
		Recipients: uniq(ss.rcpts),
		RemoteAddr: ss.remote,
		HELO:       ss.helo, // for SPF (issue 13)
	}
	log := ss.log.With("mail_from", env.MailFrom, "rcpts", env.Recipients)

	sp := &spool{dir: ss.s.spoolDir, memLimit: ss.s.spoolMem}
	defer sp.close()
	if err := sp.fill(newLimitReader(r)); err != nil {
		return ss.notReceived(log, sp, err)
	}
	raw, err := sp.reader()
	if err != nil {
		log.Error("smtp message not received", "outcome", "spool_failed", "bytes", sp.size, "err", err)
		return errSpoolFail
	}
	trace := ss.received(start)
	// TraceBytes: the size limit is on what the client sent, not on the
	// field we add (a mail just under the limit got 250, then was
	// recorded as refused for being over it).
	env.TraceBytes = int64(len(trace))
	out, err := ss.s.rcv.Receive(ss.s.base, env, io.MultiReader(strings.NewReader(trace), raw))
	if err != nil {
		// The full error stays in our log; the peer gets a short reason.
		log.Error("smtp message deferred", "outcome", "tempfail", "bytes", sp.size,
			"duration", time.Since(start), "err", fmt.Errorf("receive: %w", err))
		return errTempFail
	}
	log.Info("smtp message accepted", "outcome", out.Result, "message_id", out.MessageID,
		"case_id", out.CaseID, "duplicate", out.Duplicate, "reason", out.Reason,
		"bytes", sp.size, "duration", time.Since(start))
	ss.messages++
	return nil
}

// notReceived answers a transfer that did not complete: the receiver is not
// called, so nothing partial is recorded (I4).
func (ss *session) notReceived(log *slog.Logger, sp *spool, err error) error {
	var refusal *smtp.SMTPError
	switch {
	case ss.conn != nil && ss.conn.deadErr() != nil:
		// A timeout: the connection is closed after this reply, the rest
		// of the message is still on the wire.
		log.Warn("smtp message not received", "outcome", "timeout", "bytes", sp.size, "err", err)
		if errors.As(err, &refusal) {
			return refusal
		}
		return errSpoolFail
	case errors.Is(err, smtp.ErrDataTooLarge):
		// go-smtp enforces MaxMessageBytes while reading (RFC 1870 6.3):
		// 552 5.3.4, and the rest of the message is discarded unread.
		log.Warn("smtp message refused", "outcome", "too_large", "bytes", sp.size, "limit", ss.s.cfg.MaxMessageBytes)
		return smtp.ErrDataTooLarge
	case errors.Is(err, smtp.ErrTooLongLine):
		// go-smtp's own line limit, met first in DATA: same answer as ours.
		log.Warn("smtp message refused", "outcome", "line_too_long", "bytes", sp.size)
		return errLineTooLong
	case errors.As(err, &refusal):
		log.Warn("smtp message refused", "outcome", "content_limit", "bytes", sp.size, "reason", refusal.Message)
		return refusal
	}
	log.Warn("smtp message not received", "outcome", "transfer_failed", "bytes", sp.size, "err", err)
	return errSpoolFail
}

// received is the trace field an SMTP server must add at the top of every
// message it accepts (RFC 5321 4.4).
func (ss *session) received(at time.Time) string {
	with := "ESMTP"
	if ss.s.transport == ingest.TransportLMTP {
		with = "LMTP"
	}
	if ss.tls {
		with += "S"
	}
	host, _, _ := strings.Cut(ss.remote, ":")
	if i := strings.LastIndexByte(ss.remote, ':'); i >= 0 {
		host = ss.remote[:i]
	}
	var rcpt string
	if len(ss.rcpts) == 1 {
		rcpt = "\r\n\tfor <" + oneLine(ss.rcpts[0]) + ">"
	}
	return fmt.Sprintf("Received: from %s (%s)\r\n\tby %s (casemail) with %s id %x%s;\r\n\t%s\r\n",
		oneLine(ss.helo), host, ss.s.srv.Domain, with, at.UnixNano(), rcpt, at.Format(time.RFC1123Z))
}

// Reset forgets the current transaction (RSET, or after DATA).
func (ss *session) Reset() {
	ss.from, ss.rcpts = "", nil
}

// Logout ends the session.
func (ss *session) Logout() error {
	ss.log.Debug("smtp session closed", "messages", ss.messages, "recipients_refused", ss.refused)
	return nil
}

// oneLine keeps a policy message to one printable line so it cannot break
// the reply framing.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	if s == "" {
		s = "recipient refused"
	}
	return s
}

// uniq drops repeated RCPT TO addresses (a client may send one twice) so
// the receiver sees each recipient once; LMTP still answers each RCPT.
func uniq(rcpts []string) []string {
	out := make([]string, 0, len(rcpts))
	for _, r := range rcpts {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
