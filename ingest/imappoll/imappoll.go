// Package imappoll is the IMAP transport: it watches one mailbox (IDLE,
// RFC 2177, or polling), fetches new mail by UID (RFC 3501 / RFC 9051) from a
// per-mailbox checkpoint, streams each message to an ingest.Receiver and,
// only once the receiver has committed it (I1), moves it to the processed
// folder (MOVE, RFC 6851; COPY + \Deleted + UID EXPUNGE, RFC 4315, where
// MOVE is missing) or marks it \Seen. Authentication is LOGIN, SASL PLAIN
// (RFC 4616) or XOAUTH2 (Google / Microsoft 365); transport security is
// none, STARTTLS or implicit TLS (RFC 8314).
//
// Every Poller is independent: one failing mailbox never stops another.
// Errors never end Run; it reconnects with exponential backoff and jitter.
package imappoll

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

// Checkpoints is where a poller keeps its place; the casebook implements it.
type Checkpoints interface {
	// Checkpoint returns 0, 0 when the mailbox has none yet.
	Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	SaveCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error
}

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
}

// StuckAfter is how many failures in a row of the same message make it
// "stuck": logged at error level on every further attempt and shown in Status.
const StuckAfter = 5

const (
	defaultBatch = 50
	// defaultSettle is how many committed mails are moved with one command.
	defaultSettle = 500
	defaultPoll   = time.Minute
	// idleRefresh re-issues IDLE well before the 29-minute limit of RFC 2177
	// section 3 (servers may drop an idling client after 30 minutes).
	idleRefresh = 25 * time.Minute
	// stopGrace is how long a shutdown waits for the mail in flight before
	// the connection is cut.
	stopGrace = 30 * time.Second
)

// Poller polls one configured mailbox. Create it with New, start it with Run.
type Poller struct {
	cfg  config.IMAP
	rcv  ingest.Receiver
	cp   Checkpoints
	log  *slog.Logger
	key  string // checkpoint key
	host string

	minBackoff, maxBackoff time.Duration
	idleRefresh            time.Duration
	// afterReceive, for tests, runs after a message was committed and before
	// it is moved; an error abandons the connection as a crash would.
	afterReceive func(uid imap.UID) error
	settleEvery  int
	br           *bufio.Reader // reused for every message (one at a time)

	mu        sync.Mutex
	st        Status
	failUID   imap.UID
	failCount int
}

// New checks cfg and returns a poller for it. Defaults: folder INBOX,
// batch_size 50, poll_interval 1m, recipient = username. The checkpoint key
// is "NAME/FOLDER".
func New(cfg config.IMAP, rcv ingest.Receiver, cp Checkpoints, log *slog.Logger) (*Poller, error) {
	if rcv == nil || cp == nil {
		return nil, errors.New("imappoll: receiver and checkpoints are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Name == "" {
		return nil, errors.New("imappoll: name is required")
	}
	if cfg.Address == "" || cfg.Username == "" {
		return nil, fmt.Errorf("imappoll %s: address and username are required", cfg.Name)
	}
	host, _, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("imappoll %s: address %q: %w", cfg.Name, cfg.Address, err)
	}
	switch cfg.TLS {
	case "none", "starttls", "implicit":
	case "":
		cfg.TLS = "implicit" // the safe choice when unset
	default:
		return nil, fmt.Errorf("imappoll %s: tls must be none, starttls or implicit, not %q", cfg.Name, cfg.TLS)
	}
	switch cfg.Auth {
	case "", "plain":
		if cfg.PasswordFile == "" && cfg.PasswordEnv == "" {
			return nil, fmt.Errorf("imappoll %s: password_file or password_env is required", cfg.Name)
		}
	case "xoauth2":
		if cfg.TokenFile == "" && cfg.TokenEnv == "" {
			return nil, fmt.Errorf("imappoll %s: token_file or token_env is required with auth = xoauth2", cfg.Name)
		}
	default:
		return nil, fmt.Errorf("imappoll %s: auth must be plain or xoauth2, not %q", cfg.Name, cfg.Auth)
	}
	if cfg.Folder == "" {
		cfg.Folder = "INBOX"
	}
	if cfg.ProcessedFolder != "" && cfg.ProcessedFolder == cfg.Folder {
		// Moving into the watched folder would re-deliver every mail forever.
		return nil, fmt.Errorf("imappoll %s: processed_folder must differ from folder %q", cfg.Name, cfg.Folder)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = defaultBatch
	}
	if cfg.PollInterval.Duration <= 0 {
		cfg.PollInterval.Duration = defaultPoll
	}
	if cfg.Recipient == "" {
		cfg.Recipient = cfg.Username
	}
	p := &Poller{
		cfg: cfg, rcv: rcv, cp: cp, host: host,
		log:        log.With("imap", cfg.Name, "folder", cfg.Folder),
		key:        cfg.Name + "/" + cfg.Folder,
		minBackoff: time.Second, maxBackoff: 5 * time.Minute,
		idleRefresh: idleRefresh,
		settleEvery: max(cfg.BatchSize, defaultSettle),
		br:          bufio.NewReaderSize(nil, 16<<10),
	}
	p.st.Name, p.st.Folder = cfg.Name, cfg.Folder
	return p, nil
}

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

// Run polls until ctx is done, then finishes the message in flight, logs out
// and returns nil. Server and receiver errors never end it: they are logged,
// shown in Status, and retried after an exponential backoff with jitter.
func (p *Poller) Run(ctx context.Context) error {
	backoff := p.minBackoff
	for {
		progressed, err := p.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("session ended without error") // cannot happen; keep looping safely
		}
		p.recordError(err)
		if progressed {
			backoff = p.minBackoff
		}
		// Equal jitter: between half and all of the backoff, so that many
		// pollers failing together do not reconnect in lockstep.
		wait := backoff/2 + rand.N(backoff/2+1)
		p.log.Warn("imap mailbox failed; reconnecting", "err", err, "retry_in", wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, p.maxBackoff)
	}
}

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
	defer func() {
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
}

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
		stop := stopErr != nil || ctx.Err() != nil
		uid, err := p.message(ctx, msg, stop)
		if uid != 0 {
			returned[uid] = true
		}
		if stop || uid == 0 {
			continue
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
func (p *Poller) message(ctx context.Context, msg *imapclient.FetchMessageData, skip bool) (imap.UID, error) {
	var (
		uid       imap.UID
		delivered bool
		spooled   *os.File // body that came before the UID (unusual order)
		err       error
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
					return 0, fmt.Errorf("spool message: %w", err)
				}
				if _, err = io.Copy(spooled, body); err != nil {
					return 0, fmt.Errorf("spool message: %w", err)
				}
				continue
			}
			delivered = true
			err = p.deliver(ctx, uid, body)
		}
	}
	if uid != 0 && !delivered && !skip {
		var body io.Reader = bytes.NewReader(nil) // no body at all: still recorded (I4)
		if spooled != nil {
			if _, serr := spooled.Seek(0, io.SeekStart); serr != nil {
				return uid, fmt.Errorf("spooled message: %w", serr)
			}
			body = spooled
		}
		err = p.deliver(ctx, uid, body)
	}
	return uid, err
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
