// This file: one IMAP connection: dial, TLS, authenticate, select, and the
// IDLE or poll wait between checks.

package imappoll

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// session runs one connection: connect, select, then check/wait rounds
// until an error or ctx is done. progressed reports whether at least one
// check of the folder completed (which resets the backoff).
func (p *Poller) session(ctx context.Context) (progressed bool, err error) {
	notify := make(chan struct{}, 1)
	c, err := p.dial(notify)
	if err != nil {
		return false, err
	}
	p.setConnected(true)
	defer p.setConnected(false)

	// Shutdown watchdog: let the mail in flight finish, but never hang on a
	// silent server past stopGrace.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			t := time.NewTimer(stopGrace)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
				c.Close()
			}
		}
	}()
	abandon := false
	defer func() {
		if !abandon && ctx.Err() != nil {
			if lerr := c.Logout().Wait(); lerr != nil {
				p.log.Debug("imap logout", "err", lerr)
			}
		}
		c.Close()
	}()

	if err := p.ensureProcessedFolder(c); err != nil {
		return false, err
	}
	sel, err := c.Select(p.cfg.Folder, nil).Wait()
	if err != nil {
		return false, fmt.Errorf("select %s: %w", p.cfg.Folder, err)
	}
	validity, last, err := p.cp.Checkpoint(ctx, p.key)
	if err != nil {
		return false, fmt.Errorf("read checkpoint %s: %w", p.key, err)
	}
	if validity != sel.UIDValidity {
		if validity != 0 {
			// RFC 3501 section 2.3.1.1: old UIDs mean nothing now. Rescan
			// everything; the receiver's fingerprints (I2) keep each mail
			// to one effect.
			p.log.Warn("imap UIDVALIDITY changed; rescanning the whole folder", "old", validity, "new", sel.UIDValidity)
		}
		validity, last = sel.UIDValidity, 0
		if err := p.cp.SaveCheckpoint(context.WithoutCancel(ctx), p.key, validity, last); err != nil {
			return false, fmt.Errorf("save checkpoint %s: %w", p.key, err)
		}
	}
	useIdle := p.cfg.IDLE && c.Caps().Has(imap.CapIdle)
	p.log.Info("imap mailbox connected", "uidvalidity", validity, "last_uid", last, "idle", useIdle)

	for {
		// Notifications that arrive from here on mean "check again".
		select {
		case <-notify:
		default:
		}
		if err := p.check(ctx, c, validity, &last); err != nil {
			var ab *abandonError
			abandon = errors.As(err, &ab)
			return progressed, err
		}
		progressed = true
		p.recordSuccess()
		if ctx.Err() != nil {
			return progressed, nil
		}
		if err := p.wait(ctx, c, notify, useIdle); err != nil {
			return progressed, err
		}
		if ctx.Err() != nil {
			return progressed, nil
		}
	}
}

// abandonError is returned by the test hook to simulate a crash: the
// connection is cut without LOGOUT and nothing more is done.
type abandonError struct{ err error }

func (e *abandonError) Error() string { return "abandoned: " + e.err.Error() }
func (e *abandonError) Unwrap() error { return e.err }

func (p *Poller) dial(notify chan<- struct{}) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: p.host, InsecureSkipVerify: p.cfg.InsecureSkipVerify},
		Dialer:    &net.Dialer{Timeout: 30 * time.Second},
		// The handler runs on the client's reader goroutine and blocks it:
		// only a non-blocking send to a buffered channel here.
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case notify <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var (
		c   *imapclient.Client
		err error
	)
	switch p.cfg.TLS {
	case "none":
		c, err = imapclient.DialInsecure(p.cfg.Address, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(p.cfg.Address, opts) // RFC 3501 section 6.2.1
	default:
		c, err = imapclient.DialTLS(p.cfg.Address, opts) // RFC 8314
	}
	if err != nil {
		return nil, fmt.Errorf("connect %s (tls=%s): %w", p.cfg.Address, p.cfg.TLS, err)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting from %s: %w", p.cfg.Address, err)
	}
	if err := p.authenticate(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *Poller) authenticate(c *imapclient.Client) error {
	if p.cfg.Auth == "xoauth2" {
		// Re-read at every connect: access tokens expire within the hour
		// and are rotated by an outside helper.
		tok, err := secret(p.cfg.TokenFile, p.cfg.TokenEnv, "xoauth2 token")
		if err != nil {
			return err
		}
		if err := c.Authenticate(&xoauth2Client{username: p.cfg.Username, token: tok}); err != nil {
			return fmt.Errorf("authenticate XOAUTH2 as %s: %w", p.cfg.Username, err)
		}
		return nil
	}
	pass, err := secret(p.cfg.PasswordFile, p.cfg.PasswordEnv, "password")
	if err != nil {
		return err
	}
	if c.Caps().Has(imap.CapLoginDisabled) {
		// RFC 3501 section 6.2.3: LOGIN refused here; SASL PLAIN (RFC 4616).
		if err := c.Authenticate(sasl.NewPlainClient("", p.cfg.Username, pass)); err != nil {
			return fmt.Errorf("authenticate PLAIN as %s: %w", p.cfg.Username, err)
		}
		return nil
	}
	if err := c.Login(p.cfg.Username, pass).Wait(); err != nil {
		return fmt.Errorf("login as %s: %w", p.cfg.Username, err)
	}
	return nil
}

func (p *Poller) ensureProcessedFolder(c *imapclient.Client) error {
	if p.cfg.ProcessedFolder == "" {
		return nil
	}
	err := c.Create(p.cfg.ProcessedFolder, nil).Wait()
	if err == nil {
		p.log.Info("imap created processed folder", "processed_folder", p.cfg.ProcessedFolder)
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	// Some servers answer a plain NO for an existing folder: believe LIST.
	l, lerr := c.List("", p.cfg.ProcessedFolder, nil).Collect()
	if lerr == nil && len(l) > 0 {
		return nil
	}
	return fmt.Errorf("create processed folder %s: %w", p.cfg.ProcessedFolder, err)
}

// wait blocks until the folder should be checked again: an IDLE
// notification, the poll interval, ctx done, or a lost connection.
func (p *Poller) wait(ctx context.Context, c *imapclient.Client, notify <-chan struct{}, useIdle bool) error {
	select {
	case <-notify: // mail arrived during the last check
		return nil
	default:
	}
	if !useIdle {
		t := time.NewTimer(p.cfg.PollInterval.Duration)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-notify:
		case <-c.Closed():
			return errors.New("connection closed by server")
		}
		return nil
	}
	idle, err := c.Idle() // RFC 2177
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	t := time.NewTimer(p.idleRefresh)
	defer t.Stop()
	closed := false
	select {
	case <-ctx.Done():
	case <-notify:
	case <-t.C: // re-issue IDLE before the server's 29-minute limit
	case <-c.Closed():
		closed = true
	}
	if closed {
		return errors.New("connection closed by server while idling")
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("idle done: %w", err)
	}
	if err := idle.Wait(); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return nil
}
