// This file: what a poller shows about itself (Status, /healthz, metrics)
// and how it counts a message that keeps failing.

package imappoll

import (
	"time"

	"github.com/emersion/go-imap/v2"
)

// Status is what /healthz and metrics show about one poller.
type Status struct {
	Name        string
	Folder      string
	Connected   bool
	LastSuccess time.Time // last completed check of the folder
	LastError   string    // "" after a success
	LastErrorAt time.Time
	Processed   uint64 // messages committed by the receiver and moved/flagged
	Errors      uint64 // failed connections, checks and deliveries
	// StuckUID is a message whose delivery failed StuckAfter times or more
	// in a row (0 when none); it stays in the folder and keeps being retried.
	StuckUID      uint32
	StuckAttempts int
	// With several gateways on one store (UseLease): the mailbox's lease,
	// who holds it ("" when unknown or released), and whether this
	// gateway stands by because another one polls it.
	Lease   string
	Holder  string
	Standby bool
}

// StuckAfter is how many failures in a row of the same message make it
// "stuck": logged at error level on every further attempt and shown in Status.
const StuckAfter = 5

// Status returns a snapshot of the poller's state.
func (p *Poller) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *Poller) setConnected(v bool) {
	p.mu.Lock()
	p.st.Connected = v
	p.mu.Unlock()
}

func (p *Poller) recordSuccess() {
	p.mu.Lock()
	p.st.LastSuccess = time.Now()
	p.st.LastError = ""
	p.mu.Unlock()
}

func (p *Poller) recordError(err error) {
	p.mu.Lock()
	p.st.Errors++
	p.st.LastError = err.Error()
	p.st.LastErrorAt = time.Now()
	p.mu.Unlock()
}

func (p *Poller) noteFailure(uid imap.UID, err error) {
	p.mu.Lock()
	if p.failUID == uid {
		p.failCount++
	} else {
		p.failUID, p.failCount = uid, 1
	}
	n := p.failCount
	if n >= StuckAfter {
		p.st.StuckUID, p.st.StuckAttempts = uint32(uid), n
	}
	p.mu.Unlock()
	if n >= StuckAfter {
		p.log.Error("imap message keeps failing; it stays in the folder and will be retried", "uid", uid, "attempts", n, "err", err)
	} else {
		p.log.Warn("imap message delivery failed; left in place for the next round", "uid", uid, "attempts", n, "err", err)
	}
}

func (p *Poller) noteSuccess(uid imap.UID) {
	p.mu.Lock()
	if p.failUID == uid {
		p.failUID, p.failCount = 0, 0
		p.st.StuckUID, p.st.StuckAttempts = 0, 0
	}
	p.mu.Unlock()
}
