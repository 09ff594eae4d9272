// This file: the pipelined catch-up (issue 14), used when the receiver is
// an ingest.Pipeliner (the real gateway). The FETCH loop only reads each
// message into memory and starts its work; mails are parsed concurrently,
// recorded in mailbox order (each waits for its Turn) with commits shared
// by the casebook's writer, and settled only once committed (I1). The next
// FETCH streams while the mails of the previous one are being decided.

package imappoll

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"

	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

const (
	// pipeMax is the largest message the pipeline holds in memory; a bigger
	// one waits for the mails before it and streams to Receive alone, as
	// without a pipeline (issue 6: bounded memory).
	pipeMax = 1 << 20
	// pipeDepth is how many mails are in work at once: enough for the
	// parsing of some to overlap the commit of others, and a memory bound
	// (pipeDepth × pipeMax).
	pipeDepth = 16
)

// pipeline is one check's mails in work.
type pipeline struct {
	p       *Poller
	rcv     ingest.Pipeliner
	slots   chan struct{} // one per mail in work
	results chan pipeResult
	working int   // started, result not yet collected (FETCH loop only)
	err     error // the first failure (FETCH loop only)

	stop atomic.Bool // a commit failed or shutdown began: start no more

	queued     <-chan struct{} // the last started mail was queued for its commit
	registered <-chan struct{} // the last started mail's Message-ID is known

	mu   sync.Mutex
	done map[string]<-chan struct{} // Message-ID → closed when its commit returned
}

type pipeResult struct {
	uid     imap.UID
	err     error
	skipped bool // not committed because an earlier mail failed
}

func newPipeline(p *Poller, rcv ingest.Pipeliner) *pipeline {
	closed := make(chan struct{})
	close(closed)
	return &pipeline{p: p, rcv: rcv, slots: make(chan struct{}, pipeDepth), results: make(chan pipeResult, pipeDepth),
		queued: closed, registered: closed, done: map[string]<-chan struct{}{}}
}

// start begins the work on one message read whole. It blocks while
// pipeDepth mails are in work, collecting their results into r.
func (pl *pipeline) start(ctx context.Context, uid imap.UID, raw []byte, r *round) {
	for {
		select {
		case pl.slots <- struct{}{}:
		case res := <-pl.results:
			pl.apply(res, r)
			continue
		}
		break
	}
	pl.working++
	prevQueued, prevRegistered := pl.queued, pl.registered
	queued, registered := make(chan struct{}), make(chan struct{})
	pl.queued, pl.registered = queued, registered
	go func() {
		defer func() { <-pl.slots }()
		markQueued := sync.OnceFunc(func() { close(queued) })
		defer markQueued()
		commitDone := make(chan struct{})
		defer close(commitDone)

		env, err := pl.p.envelope(raw)
		var prep ingest.Prepared
		if err == nil {
			prep = pl.rcv.Prepare(env, raw)
		}
		// Know the Message-IDs of the mails before this one, then say its own.
		<-prevRegistered
		var after []<-chan struct{}
		pl.mu.Lock()
		if prep != nil {
			for _, id := range prep.Answers() {
				if ch, ok := pl.done[id]; ok {
					after = append(after, ch)
				}
			}
			if id := prep.MessageID(); id != "" {
				if _, dup := pl.done[id]; !dup {
					pl.done[id] = commitDone
				}
			}
		}
		pl.mu.Unlock()
		close(registered)
		// A reply decides after the mail it answers is committed, so that
		// it joins that mail's case (R10) however the batch was split.
		for _, ch := range after {
			<-ch
		}
		if err != nil {
			pl.results <- pipeResult{uid: uid, err: err}
			return
		}
		if pl.stop.Load() || ctx.Err() != nil {
			pl.results <- pipeResult{uid: uid, skipped: true}
			return
		}
		// The mail in flight is finished even when shutdown begins (I1).
		_, err = prep.Commit(context.WithoutCancel(ctx), ingest.Turn{After: prevQueued, Queued: markQueued})
		pl.results <- pipeResult{uid: uid, err: err}
	}()
}

// collect applies the results ready now, or, with wait, of every mail in
// work; it returns the first failure of the check, if any.
func (pl *pipeline) collect(r *round, wait bool) error {
	for pl.working > 0 {
		if wait {
			pl.apply(<-pl.results, r)
			continue
		}
		select {
		case res := <-pl.results:
			pl.apply(res, r)
			continue
		default:
		}
		break
	}
	return pl.err
}

// apply records one mail's result in r, as batch does for a mail
// delivered in line; the first failure stops the pipeline (pl.err).
func (pl *pipeline) apply(res pipeResult, r *round) {
	pl.working--
	p := pl.p
	switch {
	case res.skipped:
		return
	case res.err != nil:
		p.noteFailure(res.uid, res.err)
		pl.fail(fmt.Errorf("deliver uid %d: %w", res.uid, res.err))
		return
	}
	p.noteSuccess(res.uid)
	if r.abandoned {
		return // a crash settles nothing
	}
	r.state[res.uid] = uidCommitted
	r.pending = append(r.pending, res.uid)
	if p.afterReceive != nil {
		if err := p.afterReceive(res.uid); err != nil {
			r.pending, r.abandoned = nil, true
			pl.fail(&abandonError{err})
		}
	}
}

func (pl *pipeline) fail(err error) {
	pl.stop.Store(true)
	if pl.err == nil {
		pl.err = err
	}
}

// envelope is the envelope of a mail read from the mailbox: its
// Return-Path is the sender (a null one marks a machine's mail, I5).
func (p *Poller) envelope(raw []byte) (ingest.Envelope, error) {
	head, err := peekHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ingest.Envelope{}, fmt.Errorf("read header: %w", err)
	}
	mailFrom, null := message.ReturnPath(head)
	return ingest.Envelope{
		Transport:  ingest.TransportIMAP,
		MailFrom:   mailFrom,
		NullSender: null,
		Recipients: []string{p.cfg.Recipient},
		RemoteAddr: "imap:" + p.cfg.Name,
	}, nil
}

// readWhole reads a literal of known size into memory when it is small
// enough for the pipeline; ok is false for a bigger one (nothing read).
func readWhole(lit imap.LiteralReader) (raw []byte, ok bool, err error) {
	if lit == nil {
		return []byte{}, true, nil // NIL body: still recorded (I4)
	}
	size := lit.Size()
	if size > pipeMax {
		return nil, false, nil
	}
	raw = make([]byte, size)
	if _, err := io.ReadFull(lit, raw); err != nil {
		return nil, true, fmt.Errorf("read message: %w", err)
	}
	return raw, true, nil
}
