package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/ingest/smtpd"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/replytoken"
)

// shutdownGrace is how long in-flight work may take after SIGTERM; the
// whole stop stays under the 10 s a service manager usually allows.
const shutdownGrace = 8 * time.Second

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdServe(e *env, args []string) error {
	fs := e.flags("serve")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	cfg, book := e.cfg, e.book
	log := newLogger(cfg.Log, e.stderr)
	src := cfg.Source
	if src == "" {
		src = "embedded default"
	}
	log.Info("casemail starting", "config", src, "store", book.Path())
	if open := book.ReadableByOthers(); len(open) > 0 {
		// It holds the reply-token secret and every raw mail.
		log.Warn("the store is readable by other users: chmod 600 it (new stores are created 0600)", "files", open)
	}
	// One signer: outbound signs the reply and unsubscribe tokens that
	// ingest and the unsubscribe page check (I6).
	signer := replytoken.New(book.Secret())
	gw, err := ingest.New(book, cfg, signer, log.With("component", "ingest"))
	if err != nil {
		return err
	}
	m := newMetrics(book, doors(cfg)...)
	rcv := m.instrument(gw)

	worker, err := outbound.NewFromConfig(cfg, book, signer, log)
	if err != nil {
		return fmt.Errorf("outbound: %w", err)
	}
	book.OnOutbox(worker.Notify)

	// Any number of gateways may share a PostgreSQL store (issue 14). The
	// heartbeat lease comes first: the rows this gateway claims must never
	// look abandoned to the others.
	lease := cfg.Store.Lease.Duration
	if lease <= 0 {
		lease = config.Default().Store.Lease.Duration // a config built in code
	}
	hb, err := startHeartbeat(e.ctx, book, lease, worker.Notify, log)
	if err != nil {
		return err
	}
	defer hb.stop()
	log.Info("gateway heartbeat taken", "holder", book.Holder(), "lease", lease)

	var pollers []*imappoll.Poller
	for _, mb := range cfg.IMAP {
		p, err := imappoll.New(mb, rcv, book, log.With("component", "imap", "mailbox", mb.Name))
		if err != nil {
			return fmt.Errorf("imap mailbox %s: %w", mb.Name, err)
		}
		// One gateway at a time polls a mailbox; the others stand by.
		if err := p.UseLease(book, book.Holder(), lease); err != nil {
			return fmt.Errorf("imap mailbox %s: %w", mb.Name, err)
		}
		pollers = append(pollers, p)
	}
	m.watchPollers(pollers)

	// Listen before anything runs, so a busy port fails the start at once.
	var smtpServer *smtpd.Server
	var smtpListener net.Listener
	if cfg.SMTP.Listen != "" {
		if smtpServer, err = smtpd.New(cfg.SMTP, rcv, gw, log.With("component", "smtp")); err != nil {
			return err
		}
		if smtpListener, err = net.Listen("tcp", cfg.SMTP.Listen); err != nil {
			return fmt.Errorf("smtp listen %s: %w", cfg.SMTP.Listen, err)
		}
	}
	var httpServer *http.Server
	var httpListener net.Listener
	if cfg.HTTP.Listen != "" {
		if httpListener, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
			return fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
		handler, err := withCustomerView(cfg, book, worker, log, newHTTPHandler(book, signer, pollers, m, log))
		if err != nil {
			return fmt.Errorf("customer view: %w", err)
		}
		httpServer, httpListener = newHTTPServer(handler, httpListener, defaultHTTPLimits)
	}

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4+len(pollers))
	goRun := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, context.Canceled) {
				log.Error(name+" stopped", "err", err)
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	goRun("outbound worker", func() error { return worker.Run(ctx) })
	for _, p := range pollers {
		goRun("imap poller", func() error { return p.Run(ctx) })
	}
	if smtpServer != nil {
		goRun("smtp listener", func() error {
			err := smtpServer.Serve(smtpListener)
			if ctx.Err() != nil {
				return nil
			}
			return err
		})
		log.Info("smtp listening", "addr", smtpListener.Addr().String(), "protocol", cfg.SMTP.Protocol, "domains", cfg.SMTP.Domains)
	}
	if httpServer != nil {
		goRun("http", func() error {
			if err := httpServer.Serve(httpListener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		log.Info("http listening", "addr", httpListener.Addr().String(), "paths", httpPaths(cfg.HTTP.PublicURL))
	}
	log.Info("casemail ready", "imap_mailboxes", len(pollers), "outbound", cfg.Outbound.Transport)

	<-ctx.Done()
	log.Info("casemail stopping: finishing what is in flight")
	stopCtx, stopCancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer stopCancel()
	if smtpServer != nil {
		if err := smtpServer.Shutdown(stopCtx); err != nil {
			log.Warn("smtp shutdown", "err", err)
		}
	}
	if httpServer != nil {
		httpServer.Shutdown(stopCtx)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-stopCtx.Done():
		log.Warn("stopped before everything in flight finished")
	}
	close(errs)
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	log.Info("casemail stopped")
	return nil
}

// httpPaths is what the HTTP listener serves, for the log line that tells
// an operator where to point a browser or a probe.
func httpPaths(publicURL string) string {
	if publicURL == "" {
		return "/healthz /metrics"
	}
	return "/healthz /metrics, the customer view at " + publicURL
}

// heartbeat keeps this gateway's heartbeat lease (casebook.HeartbeatLease)
// renewed every third of the lease, and frees the outbox rows of gateways
// whose heartbeat expired, so that their notifications are sent within
// about the lease rather than after the outbox's 5-minute claim.
type heartbeat struct {
	book      *casebook.Book
	lease     time.Duration
	log       *slog.Logger
	reclaimed func() // told when rows were made due again (wakes the worker)
	done      chan struct{}
	exited    chan struct{}
	once      sync.Once
}

// startHeartbeat takes the heartbeat lease and renews it until stop, which
// the serve command calls once everything in flight has finished: the rows
// it still sends stay its own until then.
func startHeartbeat(ctx context.Context, book *casebook.Book, lease time.Duration, reclaimed func(), log *slog.Logger) (*heartbeat, error) {
	name := casebook.HeartbeatLease(book.Holder())
	if _, held, err := book.Lease(ctx, name, book.Holder(), lease); err != nil {
		return nil, fmt.Errorf("heartbeat lease: %w", err)
	} else if !held {
		return nil, fmt.Errorf("heartbeat lease %s is held by another process", name)
	}
	hb := &heartbeat{book: book, lease: lease, log: log.With("component", "heartbeat"), reclaimed: reclaimed,
		done: make(chan struct{}), exited: make(chan struct{})}
	// Rows claimed by a gateway that is gone (this host's previous process
	// among them) are sent now rather than after their claim; a store that
	// cannot do that at start stops the start.
	go hb.run(name)
	if err := hb.reclaim(ctx); err != nil {
		hb.stop()
		return nil, err
	}
	return hb, nil
}

// reclaim makes due again the rows of gateways whose heartbeat expired,
// and wakes the worker when there were any.
func (hb *heartbeat) reclaim(ctx context.Context) error {
	n, err := hb.book.ReclaimOutbox(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("reclaim the notifications of stopped gateways: %w", err)
	}
	if n > 0 {
		hb.log.Info("notifications claimed by a stopped process are due again", "rows", n)
		hb.reclaimed()
	}
	return nil
}

func (hb *heartbeat) run(name string) {
	defer close(hb.exited)
	t := time.NewTicker(hb.lease / 3)
	defer t.Stop()
	ctx := context.Background() // stopped by stop, after shutdown, not by the signal
	for {
		select {
		case <-hb.done:
			return
		case <-t.C:
		}
		if _, held, err := hb.book.Lease(ctx, name, hb.book.Holder(), hb.lease); err != nil || !held {
			// Other gateways may take this one's claimed rows meanwhile:
			// a notification may then be sent twice (docs/operations.md).
			hb.log.Warn("heartbeat lease not renewed", "lease", name, "held", held, "err", err)
		}
		if err := hb.reclaim(ctx); err != nil {
			hb.log.Warn("heartbeat", "err", err)
		}
	}
}

// stop ends the renewals and releases the heartbeat: the rows this gateway
// claimed and did not send are then due for the others at once.
func (hb *heartbeat) stop() {
	hb.once.Do(func() {
		close(hb.done)
		<-hb.exited
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hb.book.ReleaseLease(ctx, casebook.HeartbeatLease(hb.book.Holder()), hb.book.Holder()); err != nil {
			hb.log.Warn("heartbeat lease not released", "err", err)
		}
	})
}
