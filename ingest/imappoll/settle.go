// This file: after the receiver committed (I1), move or flag the mails and
// advance the checkpoint.

package imappoll

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func (p *Poller) settlePending(ctx context.Context, c *imapclient.Client, r *round, validity uint32, last *uint32) error {
	if len(r.pending) > 0 {
		if err := p.settle(c, r.pending); err != nil {
			return err // committed but not settled: read again next time (I2)
		}
		for _, u := range r.pending {
			r.state[u] = uidSettled
		}
		p.mu.Lock()
		p.st.Processed += uint64(len(r.pending))
		p.mu.Unlock()
		r.pending = r.pending[:0]
	}
	newLast := *last
	for r.settled < len(r.uids) {
		u := r.uids[r.settled]
		if st := r.state[u]; st != uidSettled && st != uidGone {
			break
		}
		newLast = uint32(u)
		r.settled++
	}
	if newLast == *last {
		return nil
	}
	if err := p.cp.SaveCheckpoint(context.WithoutCancel(ctx), p.key, validity, newLast); err != nil {
		return fmt.Errorf("save checkpoint %s uid %d: %w", p.key, newLast, err)
	}
	*last = newLast
	return nil
}

// settle moves committed messages to the processed folder, or flags them
// \Seen when there is none. Only ever called after Receive returned nil (I1).
func (p *Poller) settle(c *imapclient.Client, uids []imap.UID) error {
	set := imap.UIDSetNum(uids...)
	if p.cfg.ProcessedFolder != "" {
		// go-imap falls back to UID COPY + STORE \Deleted + UID EXPUNGE
		// (RFC 4315) when the server lacks MOVE.
		if _, err := c.Move(set, p.cfg.ProcessedFolder).Wait(); err != nil {
			return fmt.Errorf("move uids %v to %s: %w", set, p.cfg.ProcessedFolder, err)
		}
		return nil
	}
	err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	if err != nil {
		return fmt.Errorf("flag uids %v \\Seen: %w", set, err)
	}
	return nil
}
