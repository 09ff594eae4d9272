package casebook

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/casemail/casemail/internal/testenv/postgres"
)

// BenchmarkPostgresWriters records mails (comments on one case, the common
// write) through RecordRaw on PostgreSQL with one gateway and with two
// sharing the database, with and without the write lock (runTx): what
// serialising every write transaction costs. Ten sessions in all, as
// bench/ingest-smtp.sh.
func BenchmarkPostgresWriters(b *testing.B) {
	for _, tt := range []struct {
		name     string
		gateways int
		lock     bool
	}{{"one-gateway", 1, true}, {"two-gateways", 2, true}, {"two-gateways-no-lock", 2, false}} {
		b.Run(tt.name, func(b *testing.B) {
			dsn := postgres.DSN(b)
			var books []*Book
			for range tt.gateways {
				bk, err := Open(dsn, Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { bk.Close() })
				bk.d.writeLock = tt.lock
				books = append(books, bk)
			}
			ctx := context.Background()
			if err := books[0].AddAccount(ctx, Account{Address: "ann@acme.test", Verified: true}); err != nil {
				b.Fatal(err)
			}
			if err := books[0].CreateOrg(ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
				b.Fatal(err)
			}
			c, err := books[0].OpenCase(ctx, NewCase{Org: "acme", Product: "cloud", Title: "t", Description: "d", Requester: "ann@acme.test"})
			if err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.SetParallelism(5)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					raw := fmt.Appendf(nil, "From: ann@acme.test\r\nSubject: Re: t\r\n\r\nreply %d\r\n", n)
					d := Delivery{Message: Message{MessageID: fmt.Sprintf("b%d@acme.test", n), Fingerprint: fmt.Sprint("b", n),
						From: "ann@acme.test", Transport: "smtp", Subject: "Re: t"},
						Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: fmt.Sprint("reply ", n)}
					if _, err := books[int(n)%len(books)].RecordRaw(ctx, raw, d); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
