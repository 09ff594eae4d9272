package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/internal/testenv/postgres"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/replytoken"
)

// benchMail is the mail bench/ingest-smtp.sh sends with smtp-source; another
// file can be given in CASEMAIL_BENCH_MAIL (a path relative to ingest/ or
// absolute).
func benchMail(b *testing.B) []byte {
	b.Helper()
	path := os.Getenv("CASEMAIL_BENCH_MAIL")
	if path == "" {
		path = filepath.Join("..", "bench", "testdata", "mail-20k.eml")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatalf("read benchmark mail: %v", err)
	}
	// smtp-source sends every line with CRLF (its -F option); the gateway
	// sees those bytes, so the benchmarks parse them too.
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
}

// BenchmarkParseOnly is the baseline of the "ingest ≥ 0.8 × parse-only"
// figure: what the gateway does with the bytes before the store, i.e.
// Parse (enmime, classification, reply extraction, R9) and the fingerprint
// (I2). "serial" is one goroutine; "parallel" runs GOMAXPROCS goroutines
// (run with -cpu 1,2).
func BenchmarkParseOnly(b *testing.B) {
	raw := benchMail(b)
	opt := message.Options{MaxAttachmentBytes: config.Default().Policy.MaxAttachmentBytes}
	parse := func() error {
		p, err := Parse(raw, opt)
		if err != nil {
			return err
		}
		if p.ReplyText == "" || Fingerprint(raw, p.MessageID) == "" {
			return fmt.Errorf("parsed nothing from the benchmark mail")
		}
		return nil
	}
	if err := parse(); err != nil {
		b.Fatal(err)
	}
	runSerialParallel(b, len(raw), parse)
}

// BenchmarkReceive is the whole gateway on the same mail with a real
// casebook (SQLite in a temporary directory): keep the raw bytes (I1),
// parse, decide and record, every mail opening a case (R6) with its
// acknowledgement in the outbox (I3). Each mail gets its own Received
// line, as the SMTP listener adds one, so that no two are the same mail
// (I2). Nothing sends the outbox here: this is the ingest alone. Profile
// with -cpuprofile.
func BenchmarkReceive(b *testing.B) {
	raw := benchMail(b)
	cfg := config.Default()
	book := benchBook(b, cfg)
	gw, err := New(book, cfg, replytoken.New(book.Secret()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	env := Envelope{Transport: TransportSMTP, MailFrom: "alice@example.com", Recipients: []string{"support@localhost"}, RemoteAddr: "127.0.0.1:40000"}
	var seq atomic.Int64
	receive := func() error {
		n := seq.Add(1)
		out, err := gw.Receive(ctx, env, io.MultiReader(strings.NewReader(benchTrace(n)), bytes.NewReader(raw)))
		if err != nil {
			return err
		}
		if out.Result != casebook.OutcomeCaseOpened || out.Duplicate {
			return fmt.Errorf("mail %d: outcome %s (%s), duplicate %v; want a new case", n, out.Result, out.Reason, out.Duplicate)
		}
		return nil
	}
	runSerialParallel(b, len(raw), receive)
	// Ten concurrent deliveries on two cores, as bench/ingest-smtp.sh's ten
	// SMTP sessions: what the group commit (casebook.RecordRaw) shares.
	b.Run("sessions-10", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		b.ReportAllocs()
		b.SetParallelism(max(1, 10/runtime.GOMAXPROCS(0)))
		before := book.BatchStats()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := receive(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		after := book.BatchStats()
		if n := after.Batches - before.Batches; n > 0 {
			b.ReportMetric(float64(after.Mails-before.Mails)/float64(n), "mails/commit")
		}
	})
}

// BenchmarkStoreRaw is the first step of Receive alone: keeping the raw
// bytes in the casebook (I1), one transaction per mail, each mail distinct.
// With BenchmarkParseOnly and BenchmarkReceive it splits where the time goes.
func BenchmarkStoreRaw(b *testing.B) {
	raw := benchMail(b)
	book := benchBook(b, config.Default())
	ctx := context.Background()
	var seq atomic.Int64
	runSerialParallel(b, len(raw), func() error {
		ref, err := book.StoreRaw(ctx, io.MultiReader(strings.NewReader(benchTrace(seq.Add(1))), bytes.NewReader(raw)))
		if err == nil && ref.Size <= int64(len(raw)) {
			err = fmt.Errorf("stored %d bytes, want the trace line and %d bytes", ref.Size, len(raw))
		}
		return err
	})
}

// benchTrace is a Received line like the SMTP listener's, unique per n.
func benchTrace(n int64) string {
	return fmt.Sprintf("Received: from bench (127.0.0.1)\r\n\tby localhost (casemail) with ESMTP id %x\r\n\tfor <support@localhost>;\r\n\t%s\r\n",
		n, time.Now().Format(time.RFC1123Z))
}

// benchBook opens a casebook in a temporary directory with a verified
// sender in an organisation entitled to the default route's product.
//
// CASEMAIL_BENCH_STORE=postgres puts it in a new database of the package's
// throw-away PostgreSQL cluster (internal/testenv/postgres: fsync off);
// CASEMAIL_BENCH_BATCHWAIT (a duration, e.g. 1ms) sets the group commit's
// BatchWait, to measure what lingering for bigger batches buys.
func benchBook(b *testing.B, cfg *config.Config) *casebook.Book {
	b.Helper()
	loc := filepath.Join(b.TempDir(), "casemail.db")
	if os.Getenv("CASEMAIL_BENCH_STORE") == "postgres" {
		loc = postgres.DSN(b)
	}
	var wait time.Duration
	if w := os.Getenv("CASEMAIL_BENCH_BATCHWAIT"); w != "" {
		var err error
		if wait, err = time.ParseDuration(w); err != nil {
			b.Fatalf("CASEMAIL_BENCH_BATCHWAIT: %v", err)
		}
	}
	book, err := casebook.Open(loc, casebook.Options{
		DefaultLocale:   cfg.Policy.Locale,
		NoticesPerHour:  cfg.Policy.NoticesPerHour,
		MessageIDDomain: cfg.Outbound.ReplyDomain,
		BatchWait:       wait,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { book.Close() })
	ctx := context.Background()
	if err := book.AddAccount(ctx, casebook.Account{Address: "alice@example.com", Verified: true}); err != nil {
		b.Fatal(err)
	}
	if err := book.CreateOrg(ctx, casebook.Org{Slug: "example", Owner: "alice@example.com", Products: []string{"support"}}); err != nil {
		b.Fatal(err)
	}
	return book
}

// runSerialParallel runs f as "serial" (one goroutine) and "parallel"
// (GOMAXPROCS goroutines) sub-benchmarks, reporting mails per second.
func runSerialParallel(b *testing.B, size int, f func() error) {
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	})
}
