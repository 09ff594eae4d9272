// This file: several gateways sharing one store (issue 14). With a Leaser,
// a poller polls its mailbox only while its gateway holds the lease
// imap/NAME/FOLDER; otherwise it stands by and asks again every third of
// the lease. It renews the lease as often during a session and, when the
// lease is lost or cannot be renewed, ends the session after the mail in
// flight (a mail committed by both gateways is a duplicate, I2, and is
// settled once). On stop it releases the lease so another gateway takes
// over at once.

package imappoll

import (
	"context"
	"errors"
	"time"

	"github.com/casemail/casemail/casebook"
)

// Leaser is where the gateways sharing a store agree who polls a mailbox;
// the casebook implements it (casebook.Book.Lease).
type Leaser interface {
	// Lease takes or renews name for holder until now+ttl; held tells
	// whether holder has it, the lease who does.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (casebook.Lease, bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// UseLease makes p poll only while holder (this gateway) holds the lease
// of its mailbox, renewed every ttl/3. Call it before Run.
func (p *Poller) UseLease(l Leaser, holder string, ttl time.Duration) error {
	if l == nil || holder == "" || ttl <= 0 {
		return errors.New("imappoll: a lease needs a leaser, a holder and a positive duration")
	}
	p.leaser, p.holder, p.leaseTTL = l, holder, ttl
	p.mu.Lock()
	p.st.Lease = p.leaseName()
	p.mu.Unlock()
	return nil
}

// leaseName is the mailbox's lease: one per watched folder.
func (p *Poller) leaseName() string { return "imap/" + p.key }

// awaitLease blocks until p's gateway holds the lease (true) or ctx is
// done (false). Meanwhile Status says who holds it.
func (p *Poller) awaitLease(ctx context.Context) bool {
	logged := ""
	for {
		l, held, err := p.leaser.Lease(ctx, p.leaseName(), p.holder, p.leaseTTL)
		switch {
		case err != nil && ctx.Err() != nil:
			return false
		case err != nil:
			p.recordError(err)
			p.log.Warn("imap mailbox lease: cannot ask the store", "lease", p.leaseName(), "err", err)
		case held:
			p.setLease(p.holder, false)
			p.log.Info("imap mailbox lease taken: polling", "lease", p.leaseName(), "holder", p.holder)
			return true
		default:
			p.setLease(l.Holder, true)
			if l.Holder != logged {
				p.log.Info("imap mailbox polled by another gateway: standing by", "lease", p.leaseName(), "holder", l.Holder, "expires", l.ExpiresAt)
				logged = l.Holder
			}
		}
		t := time.NewTimer(p.leaseTTL / 3)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// keepLease renews the lease every ttl/3 for a session. The session's
// context is cancelled as soon as a renewal fails or the lease is lost, so
// the session ends after the mail in flight, as on shutdown. stop ends the
// renewals and tells whether the lease was lost.
func (p *Poller) keepLease(ctx context.Context) (session context.Context, stop func() (lost bool)) {
	sctx, cancel := context.WithCancel(ctx)
	done, exited := make(chan struct{}), make(chan struct{})
	var lost bool
	go func() {
		defer close(exited)
		t := time.NewTicker(p.leaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Renewed until the session returns, shutdown included: the mail
			// in flight is finished under the lease.
			l, held, err := p.leaser.Lease(context.WithoutCancel(ctx), p.leaseName(), p.holder, p.leaseTTL)
			if err == nil && held {
				continue
			}
			lost = true
			if err != nil {
				p.recordError(err)
				p.log.Warn("imap mailbox lease could not be renewed: ending the session after the mail in flight", "lease", p.leaseName(), "err", err)
			} else {
				p.setLease(l.Holder, true)
				p.log.Warn("imap mailbox lease lost to another gateway: ending the session after the mail in flight", "lease", p.leaseName(), "holder", l.Holder)
			}
			cancel()
			return
		}
	}()
	return sctx, func() bool {
		close(done)
		<-exited
		cancel()
		return lost
	}
}

// releaseLease gives the lease up on stop, so another gateway takes the
// mailbox at once rather than after its expiry.
func (p *Poller) releaseLease() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.leaser.ReleaseLease(ctx, p.leaseName(), p.holder); err != nil {
		p.log.Warn("imap mailbox lease not released: another gateway takes over when it expires", "lease", p.leaseName(), "err", err)
		return
	}
	p.setLease("", false)
}

func (p *Poller) setLease(holder string, standby bool) {
	p.mu.Lock()
	p.st.Holder, p.st.Standby = holder, standby
	p.mu.Unlock()
}
