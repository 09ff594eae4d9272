package ingest

import (
	"context"
	"time"
)

// Pipelined receiving (issue 14). A transport that holds many mails at once
// (the IMAP poller's FETCH batches) parses them concurrently with Prepare,
// then commits them concurrently too: each Commit waits for its Turn before
// recording, so that records are queued in mailbox order while the
// casebook's writer commits many in one transaction (casebook.RecordRaw).

// Pipeliner is a Receiver that can split a mail held in memory into a
// parse, safe to run concurrently and to drop, and a commit.
type Pipeliner interface {
	Receiver
	// Prepare reads raw (the whole message) without any effect. It never
	// fails: bad mail is recorded with its problems by Commit.
	Prepare(env Envelope, raw []byte) Prepared
}

// Prepared is a mail read by Prepare, not yet decided.
type Prepared interface {
	// MessageID is the mail's Message-ID without <> ("" when none).
	MessageID() string
	// Answers are the Message-IDs it replies to (In-Reply-To, References):
	// a transport commits those first, so the reply finds their case.
	Answers() []string
	// Commit decides and records the mail as Receive does (I1, I2): it
	// returns once the record is committed; an error is temporary.
	Commit(ctx context.Context, t Turn) (Outcome, error)
}

// Turn orders the records of mails committed concurrently. The zero Turn
// waits for nothing.
type Turn struct {
	// After, when not nil, is closed once the mail before this one was
	// queued for its commit (or will not be recorded).
	After <-chan struct{}
	// Queued, when not nil, is called once this mail is queued for its
	// commit, or will not be recorded; it may be called more than once.
	Queued func()
}

func (t Turn) wait(ctx context.Context) error {
	if t.After == nil {
		return nil
	}
	select {
	case <-t.After:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t Turn) queued() {
	if t.Queued != nil {
		t.Queued()
	}
}

// prepared is the Gateway's Prepared.
type prepared struct {
	g     *Gateway
	in    *inbound
	raw   []byte // the whole message, recorded with its decision; nil when stored already
	start time.Time
}

// Prepare parses raw as Receive does for a mail held in memory. The caller
// must not change raw until Commit returned.
func (g *Gateway) Prepare(env Envelope, raw []byte) Prepared { return g.prepare(env, raw) }

func (g *Gateway) prepare(env Envelope, raw []byte) *prepared {
	start := time.Now()
	// At most one parse per core: more only take turns on the CPU, and
	// delay the casebook's writer, which every mail waits for.
	g.parsing <- struct{}{}
	in := g.read(raw, env)
	<-g.parsing
	in.msg.Size = int64(len(raw))
	return &prepared{g: g, in: in, raw: raw, start: start}
}

func (pr *prepared) MessageID() string { return normID(pr.in.parsed.MessageID) }

func (pr *prepared) Answers() []string {
	var ids []string
	if id := normID(pr.in.parsed.InReplyTo); id != "" {
		ids = append(ids, id)
	}
	for _, r := range pr.in.parsed.References {
		if id := normID(r); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

func (pr *prepared) Commit(ctx context.Context, t Turn) (Outcome, error) { return pr.commit(ctx, t) }
