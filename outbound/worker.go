package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/message"
)

// Queue is the outbox as the worker sees it; the casebook implements it.
type Queue interface {
	// ClaimOutbox returns up to limit pending rows with NextAt <= now and pushes their NextAt to now+lease so no other worker takes them meanwhile.
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]casebook.OutboxItem, error)
	MarkSent(ctx context.Context, id int64, subject string, at time.Time) error
	MarkRetry(ctx context.Context, id int64, lastErr string, next time.Time) error // attempts++
	MarkFailed(ctx context.Context, id int64, lastErr string) error                // attempts++, status failed
	// CaseThread lists the Message-IDs (without <>) of a case's mails, oldest first: the inbound mails of the case and the notifications already sent.
	CaseThread(ctx context.Context, caseID int64) ([]string, error)
}

// AttachmentSource is what a Queue may also offer: the attachments of a
// stored inbound message, for a notification about a mail with files (a new
// case to its agents, a comment to agents, an agent's answer to the
// customer), whose outbox row names it in Data["raw_sha256"]. The casebook
// offers it.
type AttachmentSource interface {
	RawAttachments(ctx context.Context, rawSHA256 string) ([]message.Attachment, error)
}

// Options configure a Worker. Zero values take the defaults noted.
type Options struct {
	Queue    Queue
	Composer *Composer
	// NewTransport opens one transport per sending goroutine (one SMTP
	// connection each): see OpenTransport.
	NewTransport func() (Transport, error)
	Log          *slog.Logger
	Workers      int           // parallel connections, default 1 (outbound.workers)
	Batch        int           // rows claimed at once, default 100
	Lease        time.Duration // how long a claim keeps others off a row, default 5m
	MaxAge       time.Duration // temporary failures become failed after this, default 72h
	Poll         time.Duration // how often to look for due rows without a Notify, default 1s
	BaseBackoff  time.Duration // first retry delay, default 30s, doubling up to MaxBackoff
	MaxBackoff   time.Duration // the longest wait between attempts, jitter included, default DefaultMaxBackoff
	IdleClose    time.Duration // close a connection unused for this long, default 30s
	Now          func() time.Time
}

// DefaultMaxBackoff caps the wait between two attempts at a notification:
// after a relay outage, pending mail leaves at most this long after the
// relay is back, however long the outage was (with 1h, a one-hour outage
// delayed mail by up to another hour).
const DefaultMaxBackoff = 15 * time.Minute

// Worker sends due outbox rows. Create it with NewWorker, run it with Run.
type Worker struct {
	o     Options
	log   *slog.Logger
	nudge chan struct{}
}

// NewWorker checks opts and fills in the defaults.
func NewWorker(opts Options) (*Worker, error) {
	if opts.Queue == nil || opts.Composer == nil || opts.NewTransport == nil {
		return nil, errors.New("outbound worker: Queue, Composer and NewTransport are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	def(&opts.Lease, 5*time.Minute)
	def(&opts.MaxAge, 72*time.Hour)
	def(&opts.Poll, time.Second)
	def(&opts.BaseBackoff, 30*time.Second)
	def(&opts.MaxBackoff, DefaultMaxBackoff)
	def(&opts.IdleClose, 30*time.Second)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{o: opts, log: log.With("component", "outbound"), nudge: make(chan struct{}, 1)}, nil
}

// Notify wakes the worker up: the ingest side calls it after committing a
// change that queued notifications. It never blocks.
func (w *Worker) Notify() {
	select {
	case w.nudge <- struct{}{}:
	default:
	}
}

// claimed is a row with the time its lease started.
type claimed struct {
	item    casebook.OutboxItem
	at      time.Time
	threads *threadCache
}

// threadCache asks the queue for a case's thread once per claimed batch: a
// comment fanned out to 200 watchers costs one CaseThread, not 200, and the
// watchers' copies do not reference each other.
type threadCache struct {
	mu sync.Mutex
	m  map[int64]*threadEntry
}

type threadEntry struct {
	once sync.Once
	ids  []string
	err  error
}

func (c *threadCache) get(ctx context.Context, q Queue, caseID int64) ([]string, error) {
	c.mu.Lock()
	e, ok := c.m[caseID]
	if !ok {
		e = &threadEntry{}
		c.m[caseID] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.ids, e.err = q.CaseThread(ctx, caseID) })
	return e.ids, e.err
}

// Run claims due rows in batches and sends them over Workers parallel
// transports until ctx is cancelled. On cancel, mails being sent are
// finished and recorded; rows claimed but not started stay leased and are
// sent after the lease, by this or another worker.
func (w *Worker) Run(ctx context.Context) error {
	jobs := make(chan claimed)
	var wg sync.WaitGroup
	var batch sync.WaitGroup
	for i := 0; i < w.o.Workers; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			w.sender(ctx, n, jobs, &batch)
		}(i)
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-w.nudge:
		}
		for ctx.Err() == nil {
			now := w.o.Now()
			items, err := w.o.Queue.ClaimOutbox(ctx, now, w.o.Batch, w.o.Lease)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("claim outbox", "err", err)
				}
				break
			}
			threads := &threadCache{m: map[int64]*threadEntry{}}
			for _, it := range items {
				batch.Add(1)
				select {
				case jobs <- claimed{it, now, threads}:
				case <-ctx.Done():
					batch.Done()
				}
			}
			// Wait for the batch, so that a case's next notification lists
			// the ones just sent in its References.
			batch.Wait()
			if len(items) < w.o.Batch {
				break
			}
		}
		timer.Reset(w.o.Poll)
	}
}

// sender owns one transport (one SMTP connection) and sends what it is
// given. A connection idle for IdleClose is closed (QUIT) rather than left
// for the relay to time out; the next mail opens a new one.
func (w *Worker) sender(ctx context.Context, n int, jobs <-chan claimed, batch *sync.WaitGroup) {
	var tr Transport
	closeTr := func() {
		if tr != nil {
			if err := tr.Close(); err != nil {
				w.log.Debug("close transport", "conn", n, "err", err)
			}
			tr = nil
		}
	}
	defer closeTr()
	idle := time.NewTimer(w.o.IdleClose)
	defer idle.Stop()
	for {
		var job claimed
		select {
		case j, ok := <-jobs:
			if !ok {
				return
			}
			job = j
		case <-idle.C:
			closeTr()
			continue
		}
		if ctx.Err() != nil {
			// Shutting down: leave the row leased, untouched.
			batch.Done()
			continue
		}
		if tr == nil {
			t, err := w.o.NewTransport()
			if err != nil {
				w.log.Error("open transport", "err", err)
				w.retry(job.item, &SendError{Message: "open transport: " + err.Error(), Err: err})
				batch.Done()
				continue
			}
			tr = t
		}
		w.deliver(ctx, tr, job)
		batch.Done()
		idle.Reset(w.o.IdleClose)
	}
}

// deliver sends one row and records the result. Recording uses a context
// that outlives ctx, so a mail that left is recorded even during shutdown.
func (w *Worker) deliver(ctx context.Context, tr Transport, job claimed) {
	it := job.item
	log := w.log.With("outbox_id", it.ID, "template", it.Template, "attempt", it.Attempts+1)
	// A row whose lease is half gone may be claimed by another worker soon:
	// do not send it, so no path but the one below can duplicate.
	if w.o.Now().Sub(job.at) > w.o.Lease/2 {
		log.Warn("lease nearly expired before sending; leaving the row for the next claim")
		return
	}
	var thread []string
	if it.CaseID != nil && it.Data["in_reply_to"] == "" {
		t, err := job.threads.get(ctx, w.o.Queue, *it.CaseID)
		if err != nil {
			w.retry(it, fmt.Errorf("case thread %d: %w", *it.CaseID, err))
			return
		}
		thread = t
	}
	now := w.o.Now()
	var msg *Message
	var err error
	if src, ok := w.o.Queue.(AttachmentSource); ok && it.Data["raw_sha256"] != "" {
		atts, aerr := src.RawAttachments(ctx, it.Data["raw_sha256"])
		if aerr != nil {
			w.retry(it, fmt.Errorf("attachments of %s: %w", it.Data["raw_sha256"], aerr))
			return
		}
		msg, err = w.o.Composer.ComposeAttachments(it, thread, atts, now)
	} else {
		msg, err = w.o.Composer.Compose(it, thread, now)
	}
	if err != nil {
		w.fail(it, err)
		return
	}
	if err := tr.Send(ctx, msg.MailFrom, msg.To, msg.Bytes); err != nil {
		if IsPermanent(err) {
			w.fail(it, err)
		} else {
			w.retry(it, err)
		}
		return
	}
	// The relay said 250. If the process dies before MarkSent lands, the row
	// is sent again after its lease: one duplicate, the only one possible.
	// Retry MarkSent a few times to make that window small.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		err = w.o.Queue.MarkSent(rctx, it.ID, msg.Subject, w.o.Now())
		if err == nil || i == 2 || rctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 100 * time.Millisecond)
	}
	if err != nil {
		log.Error("mail sent but not recorded: it will be sent again after the lease", "err", err)
		return
	}
	log.Info("sent", "to", msg.To[0], "subject", msg.Subject)
}

func (w *Worker) record() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

func (w *Worker) fail(it casebook.OutboxItem, err error) {
	ctx, cancel := w.record()
	defer cancel()
	w.log.Warn("notification failed permanently", "outbox_id", it.ID, "template", it.Template, "err", err)
	if e := w.o.Queue.MarkFailed(ctx, it.ID, err.Error()); e != nil {
		w.log.Error("mark failed", "outbox_id", it.ID, "err", e)
	}
}

// retry schedules the next attempt with exponential backoff and jitter, or
// gives up once the row is older than MaxAge.
func (w *Worker) retry(it casebook.OutboxItem, err error) {
	ctx, cancel := w.record()
	defer cancel()
	now := w.o.Now()
	if !it.CreatedAt.IsZero() && now.Sub(it.CreatedAt) >= w.o.MaxAge {
		msg := fmt.Sprintf("gave up after %d attempts over %s: %v", it.Attempts+1, now.Sub(it.CreatedAt).Round(time.Second), err)
		w.log.Warn("notification failed: too old to retry", "outbox_id", it.ID, "err", err)
		if e := w.o.Queue.MarkFailed(ctx, it.ID, msg); e != nil {
			w.log.Error("mark failed", "outbox_id", it.ID, "err", e)
		}
		return
	}
	next := now.Add(w.Backoff(it.Attempts + 1))
	if !it.CreatedAt.IsZero() && next.After(it.CreatedAt.Add(w.o.MaxAge)) {
		next = it.CreatedAt.Add(w.o.MaxAge) // one last try at the deadline
	}
	w.log.Info("notification deferred", "outbox_id", it.ID, "next", next, "err", err)
	if e := w.o.Queue.MarkRetry(ctx, it.ID, err.Error(), next); e != nil {
		w.log.Error("mark retry", "outbox_id", it.ID, "err", e)
	}
}

// Backoff is the delay before attempt n+1 after n failures: BaseBackoff
// doubled n-1 times, with ±25% jitter so rows that failed together do not
// come back together, never more than MaxBackoff.
func (w *Worker) Backoff(n int) time.Duration {
	d := w.o.BaseBackoff
	for i := 1; i < n && d < w.o.MaxBackoff; i++ {
		d *= 2
	}
	if d > w.o.MaxBackoff {
		d = w.o.MaxBackoff
	}
	jitter := time.Duration((rand.Float64() - 0.5) * 0.5 * float64(d))
	return min(d+jitter, w.o.MaxBackoff)
}
