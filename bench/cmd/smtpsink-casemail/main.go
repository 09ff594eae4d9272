// Command smtpsink-casemail runs the ingest/smtpd listener with a receiver
// that reads and discards every message. It measures the transport alone
// (bench/smtp-listener.sh drives it with Postfix's smtp-source).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/smtpd"
)

type discard struct{ n atomic.Int64 }

func (d *discard) Receive(_ context.Context, _ ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return ingest.Outcome{}, fmt.Errorf("read message: %w", err)
	}
	return ingest.Outcome{MessageID: d.n.Add(1), Result: "ignored"}, nil
}

func main() {
	listen := flag.String("listen", "127.0.0.1:2526", "address to listen on")
	lmtp := flag.Bool("lmtp", false, "speak LMTP instead of SMTP")
	domain := flag.String("domain", "localhost", "recipient domain to accept")
	maxConn := flag.Int("max-connections", 100, "connection cap")
	verbose := flag.Bool("v", false, "log every message")
	flag.Parse()

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := config.Default().SMTP
	cfg.Listen, cfg.Domains, cfg.MaxConnections = *listen, []string{*domain}, *maxConn
	if *lmtp {
		cfg.Protocol = "lmtp"
	}
	rcv := &discard{}
	accept := smtpd.PolicyFunc(func(context.Context, string) error { return nil })
	srv, err := smtpd.New(cfg, rcv, accept, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = srv.ListenAndServe(ctx, 10*time.Second)
	fmt.Fprintf(os.Stderr, "smtpsink-casemail: %d messages received\n", rcv.n.Load())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
