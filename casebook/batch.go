package casebook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Group commit (issue 14). SQLite has one writer, and with one commit per
// mail the writer, not parsing, limited the ingest: concurrent deliveries
// queued behind each other's transactions. RecordRaw hands the raw bytes
// and the decision of a mail to one writer goroutine, which takes every
// request waiting (up to BatchMax), applies each under its own savepoint and
// commits them all at once. Every caller returns only after the commit that
// holds its mail (I1), and a decision refused inside a batch is rolled back
// to its savepoint and fails alone.

// defaultBatchMax bounds a batch: past some size a longer transaction only
// delays the answers of the mails already in it.
const defaultBatchMax = 64

// batchReq is one mail waiting for the writer.
type batchReq struct {
	ctx  context.Context
	raw  []byte
	d    Delivery
	done chan batchResult // buffered: the writer never waits for a caller
}

type batchResult struct {
	rec Recorded
	err error
}

// BatchStats counts the writer's work since Open, for metrics and benchmarks.
type BatchStats struct {
	Batches int64 // commits
	Mails   int64 // requests committed or refused in them
}

// RecordRaw keeps the raw bytes of a message and records the decision taken
// on it in one transaction, shared with the other mails ready at the same
// time, and returns once that transaction is committed (I1). Raw is the
// whole message; d.Message.RawSHA256 and Size are set from it. Errors are
// Record's: a *RuleError (nothing of this mail written, neither the raw
// bytes nor the record: decide again) or a storage error (temporary).
// Messages bigger than what the caller holds in memory go through StoreRaw
// and Record instead.
func (b *Book) RecordRaw(ctx context.Context, raw []byte, d Delivery) (Recorded, error) {
	sum := sha256.Sum256(raw)
	d.Message.RawSHA256, d.Message.Size = hex.EncodeToString(sum[:]), int64(len(raw))
	req := &batchReq{ctx: ctx, raw: raw, d: d, done: make(chan batchResult, 1)}
	b.startWriter()
	select {
	case b.batchq <- req:
		if f, ok := ctx.Value(queuedKey{}).(func()); ok {
			f()
		}
	case <-b.closed:
		return Recorded{}, errors.New("record message: the casebook is closed")
	case <-ctx.Done():
		return Recorded{}, fmt.Errorf("record message: %w", ctx.Err())
	}
	// Once queued, the answer is awaited even if ctx ends: the writer
	// may be committing this very mail, and the caller must know (I1).
	res := <-req.done
	return res.rec, res.err
}

// BatchStats returns how many batches and mails the writer committed.
func (b *Book) BatchStats() BatchStats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.stats
}

func (b *Book) startWriter() {
	b.writerOnce.Do(func() {
		b.writerDone = make(chan struct{})
		go b.writer()
	})
}

// writer runs batches until the book is closed.
func (b *Book) writer() {
	defer close(b.writerDone)
	max := b.opt.BatchMax
	if max <= 0 {
		max = defaultBatchMax
	}
	for {
		var batch []*batchReq
		select {
		case r := <-b.batchq:
			batch = append(batch, r)
		case <-b.closed:
			return
		}
		// Take whatever else is ready; while this batch commits, the next
		// one gathers, so no timer is needed to batch under load. BatchWait
		// lingers for more when fewer arrived.
		var linger <-chan time.Time
		if b.opt.BatchWait > 0 {
			linger = time.After(b.opt.BatchWait)
		}
	gather:
		for len(batch) < max {
			select {
			case r := <-b.batchq:
				batch = append(batch, r)
				continue
			default:
			}
			if linger == nil {
				break
			}
			select {
			case r := <-b.batchq:
				batch = append(batch, r)
			case <-linger:
				break gather
			}
		}
		b.runBatch(batch)
	}
}

// runBatch applies batch in one transaction, each mail under a savepoint,
// and answers every request after the commit (or with the commit's error).
func (b *Book) runBatch(batch []*batchReq) {
	// The transaction is not any one caller's: one session going away must
	// not roll back its neighbours.
	ctx := context.Background()
	results := make([]batchResult, len(batch))
	err := b.tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i].err = fmt.Errorf("record message: %w", err)
				continue
			}
			if _, err := tx.ExecContext(ctx, b.query("savepoint")); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			rec, err := b.recordRawTx(ctx, tx, r.raw, r.d)
			if err != nil {
				// This mail alone: undo what it wrote, keep the others.
				if _, rerr := tx.ExecContext(ctx, b.query("savepoint-rollback")); rerr != nil {
					return fmt.Errorf("rollback to savepoint: %w (after %v)", rerr, err)
				}
			}
			if _, err := tx.ExecContext(ctx, b.query("savepoint-release")); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
			results[i] = batchResult{rec: rec, err: err}
		}
		return nil
	})
	// Counted before anyone is answered: a caller that got its answer
	// finds its batch in BatchStats.
	b.statsMu.Lock()
	b.stats.Batches++
	b.stats.Mails += int64(len(batch))
	b.statsMu.Unlock()
	wake := false
	for i, r := range batch {
		res := results[i]
		if err != nil {
			res = batchResult{err: fmt.Errorf("record message: %w", err)}
		}
		wake = wake || (res.err == nil && !res.rec.Duplicate)
		r.done <- res
	}
	if wake {
		b.wake()
	}
}

// recordRawTx stores raw (under its SHA-256, once) and records d in tx.
func (b *Book) recordRawTx(ctx context.Context, tx *sql.Tx, raw []byte, d Delivery) (Recorded, error) {
	res, err := tx.ExecContext(ctx, b.query("raw-insert-new"), d.Message.RawSHA256, d.Message.Size, ms(b.now()))
	if err != nil {
		return Recorded{}, fmt.Errorf("store raw message: %w", err)
	}
	if added, _ := res.RowsAffected(); added > 0 {
		// Chunked as StoreRaw does, so WriteRaw reads both alike.
		for seq := 0; seq == 0 || seq*rawChunk < len(raw); seq++ {
			chunk := raw[seq*rawChunk : min((seq+1)*rawChunk, len(raw))]
			if _, err := tx.ExecContext(ctx, b.query("raw-chunk-insert"), d.Message.RawSHA256, seq, chunk); err != nil {
				return Recorded{}, fmt.Errorf("store raw message: %w", err)
			}
		}
	}
	return b.recordTx(ctx, tx, d)
}

type queuedKey struct{}

// WithQueued returns a context that makes RecordRaw call f once the mail
// is queued for its commit, its place among the batch's records fixed:
// a caller that starts the next mail's RecordRaw only then has its
// records in its own order.
func WithQueued(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, queuedKey{}, f)
}
