// Command fanout times the outbound worker sending one comment to N
// watchers (N outbox rows) into an SMTP sink, for bench/fanout.sh. It prints
// one line: "casemail-outbound N mails in SECONDS s (RATE msg/s)".
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:25526", "SMTP sink host:port")
	n := flag.Int("n", 200, "watchers (outbox rows)")
	workers := flag.Int("workers", 4, "parallel SMTP connections (outbound.workers)")
	batch := flag.Int("batch", 100, "rows claimed at once")
	starttls := flag.String("starttls", "opportunistic", "outbound.starttls")
	flag.Parse()
	if err := run(*addr, *n, *workers, *batch, *starttls); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

func run(addr string, n, workers, batch int, starttls string) error {
	cfg := config.Default()
	cfg.Outbound.Transport = "smtp://" + addr
	cfg.Outbound.From = "Support <support@support.example.test>"
	cfg.Outbound.ReplyDomain = "support.example.test"
	cfg.Outbound.StartTLS = starttls
	set, err := templates.New("", "fr")
	if err != nil {
		return err
	}
	comp, err := outbound.NewComposer(cfg, set, replytoken.New([]byte("bench-secret-bench-secret-bench!")))
	if err != nil {
		return err
	}
	q := outbound.NewMemQueue(cfg.Outbound.ReplyDomain)
	q.AddInbound(1, "orig@customer.test")
	caseID := int64(1)
	for i := 0; i < n; i++ {
		q.Add(casebook.OutboxItem{
			Event: "comment_added", Template: "comment_added", Locale: "fr", CaseID: &caseID,
			To:    fmt.Sprintf("watcher%03d@customer.test", i),
			Token: fmt.Sprintf("bench%03dx%d", i, time.Now().UnixNano()),
			Data: map[string]string{"case_id": "1", "title": "Paiement refusé à l'étape 3", "requester": "alice@customer.test",
				"author": "Bruno Agent", "body": "Bonjour,\nnous avons appliqué le correctif. Pouvez-vous réessayer ?\nCordialement"},
		})
	}
	w, err := outbound.NewWorker(outbound.Options{
		Queue: q, Composer: comp, Workers: workers, Batch: batch,
		NewTransport: func() (outbound.Transport, error) {
			return outbound.OpenTransport(cfg.Outbound, slog.New(slog.DiscardHandler))
		},
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(ctx) }()
	for q.Count(casebook.OutboxSent) < n {
		if q.Count(casebook.OutboxFailed) > 0 {
			cancel()
			return fmt.Errorf("%d rows failed", q.Count(casebook.OutboxFailed))
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		return err
	}
	fmt.Printf("casemail-outbound %d mails in %.4f s (%.0f msg/s, %d connections)\n", n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), workers)
	return nil
}
