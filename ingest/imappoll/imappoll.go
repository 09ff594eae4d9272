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
// With several gateways on one store (UseLease), a mailbox is polled only
// by the gateway holding its lease; the others stand by (lease.go).
package imappoll

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
)

// Checkpoints is where a poller keeps its place; the casebook implements it.
type Checkpoints interface {
	// Checkpoint returns 0, 0 when the mailbox has none yet.
	Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error)
	SaveCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error
}

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

	// Several gateways on one store (lease.go): nil leaser, no lease.
	leaser   Leaser
	holder   string
	leaseTTL time.Duration

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

// Run polls until ctx is done, then finishes the message in flight, logs out
// and returns nil. Server and receiver errors never end it: they are logged,
// shown in Status, and retried after an exponential backoff with jitter.
func (p *Poller) Run(ctx context.Context) error {
	if p.leaser != nil {
		defer p.releaseLease()
	}
	backoff := p.minBackoff
	for {
		sctx, stopLease := ctx, func() bool { return false }
		if p.leaser != nil {
			if !p.awaitLease(ctx) {
				return nil
			}
			sctx, stopLease = p.keepLease(ctx)
		}
		progressed, err := p.session(sctx)
		lost := stopLease()
		if ctx.Err() != nil {
			return nil
		}
		if lost {
			// Another gateway polls it now: stand by, no backoff.
			backoff = p.minBackoff
			continue
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
