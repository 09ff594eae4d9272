// This file: one check of the folder: UID FETCH in batches, each message
// streamed to the receiver (I1, I2).

package imappoll

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

// check fetches every message above the checkpoint, in batches of
// batch_size, and settles (moves or flags) committed ones in groups of
// settleEvery: a MOVE costs the server an index commit, so one per 50 mails
// would dominate a catch-up. A crash before a settle only means those mails
// are read again and answered Duplicate (I2).
func (p *Poller) check(ctx context.Context, c *imapclient.Client, validity uint32, last *uint32) (err error) {
	// UID SEARCH UID last+1:* (RFC 3501 section 6.4.4). "n:*" always
	// matches the highest UID even below n, hence the filter.
	crit := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(*last + 1), Stop: 0}}}}
	sd, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return fmt.Errorf("search %s above uid %d: %w", p.cfg.Folder, *last, err)
	}
	var uids []imap.UID
	for _, u := range sd.AllUIDs() {
		if uint32(u) > *last {
			uids = append(uids, u)
		}
	}
	if len(uids) == 0 {
		return nil
	}
	slices.Sort(uids)
	p.log.Debug("imap new messages", "count", len(uids))

	r := &round{uids: uids, state: make(map[imap.UID]uidState, len(uids))}
	if rcv, ok := p.rcv.(ingest.Pipeliner); ok {
		r.pl = newPipeline(p, rcv)
	}
	defer func() {
		if r.pl != nil {
			// Every mail in work ends (committed or not) before the settle.
			if perr := r.pl.collect(r, true); perr != nil && err == nil {
				err = perr
			}
		}
		// Whatever happened, settle what was committed (I1: only those) and
		// advance the checkpoint over the settled prefix.
		if serr := p.settlePending(ctx, c, r, validity, last); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	for next := 0; next < len(uids); {
		n := min(len(uids)-next, p.cfg.BatchSize)
		if err := p.batch(ctx, c, uids[next:next+n], r); err != nil {
			return err
		}
		next += n
		if ctx.Err() != nil {
			return nil
		}
		if r.pl != nil {
			// The mails of this batch may still be deciding: only the
			// committed ones are settled, the next FETCH starts meanwhile.
			if err := r.pl.collect(r, false); err != nil {
				return err
			}
		}
		if len(r.pending) >= p.settleEvery {
			if err := p.settlePending(ctx, c, r, validity, last); err != nil {
				return err
			}
		}
	}
	return nil
}

type uidState uint8

const (
	uidCommitted uidState = iota + 1 // the receiver returned nil
	uidSettled                       // and it was moved / flagged
	uidGone                          // not returned by a complete FETCH: expunged meanwhile
)

// round is one check's bookkeeping.
type round struct {
	uids    []imap.UID // sorted
	state   map[imap.UID]uidState
	pending []imap.UID // committed, not yet settled
	settled int        // uids[:settled] are all settled or gone

	pl        *pipeline // nil: one mail at a time, in line
	abandoned bool      // a simulated crash: settle nothing more
}

// batch fetches uids (sorted) with one UID FETCH BODY.PEEK[] and streams
// each literal to the receiver, recording the outcome in r. After a failed
// delivery (or shutdown) the rest of the batch is drained, not delivered.
func (p *Poller) batch(ctx context.Context, c *imapclient.Client, uids []imap.UID, r *round) error {
	sec := &imap.FetchItemBodySection{Peek: true} // BODY.PEEK[]: fetching does not set \Seen
	fc := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}})
	var (
		returned = make(map[imap.UID]bool, len(uids))
		stopErr  error // a delivery failed: stop delivering, drain the rest
	)
	for {
		msg := fc.Next()
		if msg == nil {
			break
		}
		stop := stopErr != nil || ctx.Err() != nil || (r.pl != nil && r.pl.err != nil)
		uid, async, err := p.message(ctx, msg, stop, r)
		if uid != 0 {
			returned[uid] = true
		}
		if stop || uid == 0 || async {
			continue // async: its result comes through the pipeline
		}
		if err != nil {
			stopErr = fmt.Errorf("deliver uid %d: %w", uid, err)
			p.noteFailure(uid, err)
			continue
		}
		p.noteSuccess(uid)
		r.state[uid] = uidCommitted
		r.pending = append(r.pending, uid)
		if p.afterReceive != nil {
			if err := p.afterReceive(uid); err != nil {
				r.pending = nil // a crash settles nothing
				return &abandonError{err}
			}
		}
	}
	if err := fc.Close(); err != nil {
		return errors.Join(stopErr, fmt.Errorf("fetch uids %v: %w", imap.UIDSetNum(uids...), err))
	}
	for _, u := range uids {
		if !returned[u] {
			r.state[u] = uidGone
		}
	}
	return stopErr
}

// message reads one FETCH response. Unless skip, the body goes to the
// receiver; it returns the message's UID (0 if the server sent none).
// async means that nothing is to be recorded for it here: it was started
// in r.pl, whose result comes later, or left for the next round after a
// failure in r.pl.
func (p *Poller) message(ctx context.Context, msg *imapclient.FetchMessageData, skip bool, r *round) (uid imap.UID, async bool, err error) {
	var (
		delivered bool
		spooled   *os.File // body that came before the UID (unusual order)
	)
	defer func() {
		if spooled != nil {
			spooled.Close()
			os.Remove(spooled.Name())
		}
	}()
	for {
		item := msg.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			if skip || delivered {
				continue // Next discards the literal
			}
			var body io.Reader = bytes.NewReader(nil) // NIL body: still recorded (I4)
			if it.Literal != nil {
				body = it.Literal
			}
			if uid == 0 {
				// The body came before the UID: spool it to disk, never to memory.
				spooled, err = os.CreateTemp("", "imappoll-*.eml")
				if err != nil {
					return 0, false, fmt.Errorf("spool message: %w", err)
				}
				if _, err = io.Copy(spooled, body); err != nil {
					return 0, false, fmt.Errorf("spool message: %w", err)
				}
				continue
			}
			delivered = true
			if r.pl != nil {
				raw, whole, rerr := readWhole(it.Literal)
				if rerr != nil {
					err = rerr
					continue
				}
				if whole {
					r.pl.start(ctx, uid, raw, r)
					async = true
					continue
				}
				// Too big to hold: it streams alone, after the mails before it.
				if r.pl.collect(r, true) != nil {
					async = true // one of them failed: this one waits for the next round
					continue
				}
			}
			err = p.deliver(ctx, uid, body)
		}
	}
	if uid != 0 && !delivered && !skip {
		var body io.Reader = bytes.NewReader(nil) // no body at all: still recorded (I4)
		if spooled != nil {
			if _, serr := spooled.Seek(0, io.SeekStart); serr != nil {
				return uid, false, fmt.Errorf("spooled message: %w", serr)
			}
			body = spooled
		}
		if r.pl != nil && r.pl.collect(r, true) != nil {
			return uid, true, nil // as above: left for the next round
		}
		err = p.deliver(ctx, uid, body)
	}
	return uid, async, err
}

// deliver hands one message to the receiver, streaming: only the header
// block is buffered (to read Return-Path), the body flows straight from the
// IMAP literal.
func (p *Poller) deliver(ctx context.Context, uid imap.UID, body io.Reader) error {
	br := p.br
	br.Reset(body)
	defer br.Reset(nil) // do not keep the literal reachable
	head, err := peekHeader(br)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	mailFrom, null := message.ReturnPath(head)
	env := ingest.Envelope{
		Transport:  ingest.TransportIMAP,
		MailFrom:   mailFrom,
		NullSender: null, // a bounce or auto-reply: never answered (I5)
		Recipients: []string{p.cfg.Recipient},
		RemoteAddr: "imap:" + p.cfg.Name,
	}
	r := &errReader{r: io.MultiReader(bytes.NewReader(head), br)}
	// The mail in flight is finished even when shutdown begins (I1: the
	// receiver decides, then we move).
	out, err := p.rcv.Receive(context.WithoutCancel(ctx), env, r)
	if err != nil {
		return err
	}
	if r.err != nil {
		// The receiver accepted a message we could not read to the end:
		// do not move it; the next round offers it again.
		return fmt.Errorf("read message: %w", r.err)
	}
	p.log.Debug("imap message received", "uid", uid, "result", out.Result, "duplicate", out.Duplicate, "message_id", out.MessageID)
	return nil
}

type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}
