// Package imapcatchup measures how fast the IMAP poller drains a backlog
// from a real Dovecot, next to a bare UID FETCH of the same mails in the same
// run. Run it with bench/imap-catchup.sh; figures go to bench/README.md.
//
// Knobs (environment): IMAP_BENCH_MAILS (default 10000), IMAP_BENCH_BATCH
// (default 50), IMAP_BENCH_RECEIVER (a key of receivers below; default
// "readall"), IMAP_BENCH_PROCESSED ("" to only flag \Seen; default
// "Processed"), IMAP_BENCH_MAIL (a mail file, e.g. the one
// bench/ingest-smtp.sh sends, instead of the built-in small mails: each copy
// gets its own X-Bench-Seq header, so each is a distinct mail as in the SMTP
// bench), IMAP_BENCH_STORE ("postgres": the gateway's casebook in a database
// of a throw-away PostgreSQL cluster, internal/testenv/postgres, fsync off;
// default SQLite in a temporary directory).
package imapcatchup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/internal/testenv/dovecot"
	"github.com/casemail/casemail/internal/testenv/postgres"
	"github.com/casemail/casemail/replytoken"
)

// receivers are the pluggable receivers.
var receivers = map[string]func(b *testing.B, n int) countingReceiver{
	// readall reads every body to the end and does nothing else.
	"readall": func(*testing.B, int) countingReceiver { return &readAll{} },
	// gateway is the product: ingest.Gateway over a SQLite casebook in which
	// every sender of the backlog may open cases, so each mail becomes a case.
	"gateway": newGateway,
	// gateway-serial is the same without the pipeline: one mail at a time.
	"gateway-serial": func(b *testing.B, n int) countingReceiver {
		return serialReceiver{newGateway(b, n)}
	},
}

// serialReceiver hides Prepare, so the poller delivers one mail at a time.
type serialReceiver struct{ countingReceiver }

type gatewayReceiver struct {
	gw *ingest.Gateway
	n  atomic.Int64
}

func (g *gatewayReceiver) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	out, err := g.gw.Receive(ctx, env, raw)
	if err == nil {
		g.n.Add(1)
		if out.Result != "case_opened" {
			return out, fmt.Errorf("bench mail not opened as a case: %s (%s)", out.Result, out.Reason)
		}
	}
	return out, err
}

func (g *gatewayReceiver) Count() int64 { return g.n.Load() }

// Prepare makes the receiver an ingest.Pipeliner, as the gateway is, so
// the poller pipelines (issue 14).
func (g *gatewayReceiver) Prepare(env ingest.Envelope, raw []byte) ingest.Prepared {
	return &countedPrepared{Prepared: g.gw.Prepare(env, raw), n: &g.n}
}

type countedPrepared struct {
	ingest.Prepared
	n *atomic.Int64
}

func (c *countedPrepared) Commit(ctx context.Context, t ingest.Turn) (ingest.Outcome, error) {
	out, err := c.Prepared.Commit(ctx, t)
	if err == nil {
		c.n.Add(1)
		if out.Result != "case_opened" {
			return out, fmt.Errorf("bench mail not opened as a case: %s (%s)", out.Result, out.Reason)
		}
	}
	return out, err
}

func newGateway(b *testing.B, n int) countingReceiver {
	cfg, err := config.Parse([]byte("[[route]]\naddress = \"" + dovecot.User + "\"\nproduct = \"support\"\n"))
	if err != nil {
		b.Fatal(err)
	}
	loc := b.TempDir() + "/bench.db"
	if os.Getenv("IMAP_BENCH_STORE") == "postgres" {
		loc = postgres.DSN(b)
	}
	book, err := casebook.Open(loc, casebook.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { book.Close() })
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(book.AddAccount(ctx, casebook.Account{Address: "owner@example.test", Verified: true}))
	must(book.CreateOrg(ctx, casebook.Org{Slug: "example", Owner: "owner@example.test", Products: []string{"support"}}))
	senders := []string{"alice@example.com"} // the sender of bench/testdata's mails
	for i := range n {
		senders = append(senders, fmt.Sprintf("c%d@example.test", i))
	}
	for _, addr := range senders {
		must(book.AddAccount(ctx, casebook.Account{Address: addr, Verified: true}))
		must(book.Grant(ctx, "example", "owner@example.test", addr, []casebook.Perm{casebook.PermOpen}))
	}
	gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return &gatewayReceiver{gw: gw}
}

type countingReceiver interface {
	ingest.Receiver
	Count() int64
}

type readAll struct{ n atomic.Int64 }

func (r *readAll) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return ingest.Outcome{}, err
	}
	r.n.Add(1)
	return ingest.Outcome{Result: "ignored"}, nil
}

func (r *readAll) Count() int64 { return r.n.Load() }

type memCheckpoints struct {
	mu sync.Mutex
	m  map[string][2]uint32
}

func (c *memCheckpoints) Checkpoint(_ context.Context, k string) (uint32, uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.m[k]
	return v[0], v[1], nil
}

func (c *memCheckpoints) SaveCheckpoint(_ context.Context, k string, v, l uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = [2]uint32{v, l}
	return nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func BenchmarkCatchup(b *testing.B) {
	n := envInt("IMAP_BENCH_MAILS", 10000)
	batch := envInt("IMAP_BENCH_BATCH", 50)
	recvName := os.Getenv("IMAP_BENCH_RECEIVER")
	if recvName == "" {
		recvName = "readall"
	}
	newRecv, ok := receivers[recvName]
	if !ok {
		b.Fatalf("unknown IMAP_BENCH_RECEIVER %q", recvName)
	}
	processed, set := os.LookupEnv("IMAP_BENCH_PROCESSED")
	if !set {
		processed = "Processed"
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := dovecot.Start(b)
		fill(b, s, "INBOX", n)
		bareFetch(b, s, "INBOX", n) // warm-up: both then read from a warm cache
		bare := bareFetch(b, s, "INBOX", n)
		// A fairer floor when mail must be moved: the same fetch plus one
		// UID MOVE of everything, on an identical copy of the backlog.
		var bareMove time.Duration
		if processed != "" {
			fill(b, s, "Baseline", n)
			bareFetch(b, s, "Baseline", n)
			bareMove = bareFetch(b, s, "Baseline", n) + moveAll(b, s, "Baseline", "Baseline-done")
		}

		rcv := newRecv(b, n)
		pw := b.TempDir() + "/pw"
		os.WriteFile(pw, []byte(dovecot.Password), 0o600)
		p, err := imappoll.New(config.IMAP{
			Name: "bench", Address: s.Addr, TLS: "none", Username: dovecot.User, PasswordFile: pw,
			Folder: "INBOX", ProcessedFolder: processed, IDLE: true, BatchSize: batch,
			PollInterval: config.Duration{Duration: time.Minute},
		}, rcv, &memCheckpoints{m: map[string][2]uint32{}}, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		t0 := time.Now()
		go func() { done <- p.Run(ctx) }()
		for rcv.Count() < int64(n) {
			time.Sleep(2 * time.Millisecond)
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("only %d of %d received after 10 minutes; status %+v", rcv.Count(), n, p.Status())
			}
		}
		poll := time.Since(t0)
		for p.Status().Processed < uint64(n) { // moved / flagged as well
			time.Sleep(2 * time.Millisecond)
			if time.Since(t0) > 10*time.Minute {
				b.Fatalf("only %d of %d settled after 10 minutes; status %+v", p.Status().Processed, n, p.Status())
			}
		}
		settled := time.Since(t0)
		b.StopTimer()
		cancel()
		testenv.Recv(b, done, time.Minute, "the poller to stop after cancel")
		b.ReportMetric(bare.Seconds(), "bare-fetch-s")
		b.ReportMetric(poll.Seconds(), "poller-s")
		b.ReportMetric(poll.Seconds()/bare.Seconds(), "ratio")
		b.ReportMetric(float64(n)/poll.Seconds(), "poller-msg/s")
		b.ReportMetric(settled.Seconds(), "settled-s")
		if bareMove > 0 {
			b.ReportMetric(bareMove.Seconds(), "bare-fetch+move-s")
			fmt.Fprintf(os.Stderr, "imap catch-up: bare UID FETCH + one UID MOVE 1:* %.2fs; poller all moved / that = %.2f\n", bareMove.Seconds(), settled.Seconds()/bareMove.Seconds())
		}
		fmt.Fprintf(os.Stderr, "imap catch-up: %d mails, batch %d, receiver %s, processed folder %q: bare UID FETCH %.2fs (%.0f msg/s), poller received all %.2fs (%.0f msg/s, ratio %.2f), all moved/flagged %.2fs (ratio %.2f)\n",
			n, batch, recvName, processed, bare.Seconds(), float64(n)/bare.Seconds(), poll.Seconds(), float64(n)/poll.Seconds(), poll.Seconds()/bare.Seconds(), settled.Seconds(), settled.Seconds()/bare.Seconds())
		s.Stop()
	}
}

// fill appends n small mails, pipelining the APPENDs.
func fill(b *testing.B, s *dovecot.Server, mailbox string, n int) {
	c := s.Dial("")
	if mailbox != "INBOX" {
		if err := c.Create(mailbox, nil).Wait(); err != nil {
			b.Fatal(err)
		}
	}
	const window = 200
	var pending []interface {
		Wait() (*imap.AppendData, error)
	}
	var file []byte
	if f := os.Getenv("IMAP_BENCH_MAIL"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		// CRLF as smtp-source sends it.
		file = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	}
	for i := 0; i < n; i++ {
		raw := []byte(fmt.Sprintf("From: Customer %d <c%d@example.test>\r\nTo: support@example.test\r\nSubject: order %d does not arrive\r\nMessage-ID: <bench-%d@example.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour,\r\n\r\nma commande n°%d n'est toujours pas arrivée. Pouvez-vous vérifier ?\r\n\r\nMerci\r\n", i, i, i, i, i))
		if file != nil {
			raw = append([]byte(fmt.Sprintf("X-Bench-Seq: %d\r\n", i)), file...)
		}
		a := c.Append(mailbox, int64(len(raw)), nil)
		a.Write(raw)
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
		pending = append(pending, a)
		if len(pending) == window || i == n-1 {
			for _, p := range pending {
				if _, err := p.Wait(); err != nil {
					b.Fatalf("append: %v", err)
				}
			}
			pending = pending[:0]
		}
	}
	c.Logout().Wait()
}

// bareFetch is the floor: one UID FETCH 1:* BODY.PEEK[] streamed to
// io.Discard, read-only.
func bareFetch(b *testing.B, s *dovecot.Server, mailbox string, n int) time.Duration {
	c := s.Dial("")
	defer func() { c.Logout().Wait() }()
	t0 := time.Now()
	if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		b.Fatal(err)
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	fc := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{sec}})
	got := 0
	for msg := fc.Next(); msg != nil; msg = fc.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if bs, ok := item.(imapclient.FetchItemDataBodySection); ok && bs.Literal != nil {
				io.Copy(io.Discard, bs.Literal)
			}
		}
		got++
	}
	if err := fc.Close(); err != nil {
		b.Fatal(err)
	}
	if got != n {
		b.Fatalf("bare fetch returned %d of %d mails", got, n)
	}
	return time.Since(t0)
}

// moveAll times one UID MOVE 1:* from mailbox to dest (created first).
func moveAll(b *testing.B, s *dovecot.Server, mailbox, dest string) time.Duration {
	c := s.Dial("")
	defer func() { c.Logout().Wait() }()
	if err := c.Create(dest, nil).Wait(); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, dest).Wait(); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// TestMain stops the PostgreSQL cluster IMAP_BENCH_STORE=postgres started.
func TestMain(m *testing.M) { postgres.Main(m) }
