package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/casemail/casemail/ingest"
)

// discardReceiver reads the message and drops it: the listener alone is
// measured.
type discardReceiver struct{}

func (discardReceiver) Receive(_ context.Context, _ ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	_, err := io.Copy(io.Discard, raw)
	return ingest.Outcome{Result: "ignored"}, err
}

// BenchmarkDeliver sends messages through the listener with the go-smtp
// client: one connection reused (serial), and one connection per
// goroutine (parallel).
func BenchmarkDeliver(b *testing.B) {
	for _, size := range []int{2 << 10, 20 << 10, 200 << 10} {
		var body bytes.Buffer
		body.WriteString("Subject: bench\r\n\r\n")
		for body.Len() < size {
			body.WriteString(strings.Repeat("x", 76) + "\r\n")
		}
		msg := body.Bytes()
		run := func(b *testing.B, parallel bool) {
			s, err := New(testConfig(), discardReceiver{}, fakePolicy{}, slog.New(slog.DiscardHandler), WithSpool(b.TempDir(), DefaultSpoolMemory))
			if err != nil {
				b.Fatal(err)
			}
			_, addr := startServerWith(b, s)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			send := func(n func() bool) {
				c := dialClient(b, addr)
				for n() {
					if err := c.SendMail("bench@customer.test", []string{"support@support.example.test"}, bytes.NewReader(msg)); err != nil {
						b.Error(err)
						return
					}
				}
			}
			if parallel {
				b.RunParallel(func(pb *testing.PB) { send(pb.Next) })
			} else {
				send(func() bool { return b.Loop() })
			}
		}
		b.Run(fmt.Sprintf("serial/%dKB", size>>10), func(b *testing.B) { run(b, false) })
		b.Run(fmt.Sprintf("parallel/%dKB", size>>10), func(b *testing.B) { run(b, true) })
	}
}

// BenchmarkLimitReader is the cost of the content limits alone: a header
// of 40 fields scanned byte by byte, then a 1 MB body line by line.
func BenchmarkLimitReader(b *testing.B) {
	var msg bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&msg, "X-Field-%d: %s\r\n", i, strings.Repeat("v", 60))
	}
	msg.WriteString("\r\n")
	for msg.Len() < 1<<20 {
		msg.WriteString(strings.Repeat("x", 76) + "\r\n")
	}
	raw := msg.Bytes()
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, newLimitReader(bytes.NewReader(raw))); err != nil {
			b.Fatal(err)
		}
	}
}
