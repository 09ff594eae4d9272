package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/internal/authtest"
	"github.com/casemail/casemail/replytoken"
)

// BenchmarkReceiveVerified is BenchmarkReceive with casemail as the first
// hop (issue 13): SPF, one RSA-2048 DKIM signature and DMARC checked for
// every mail through a DNS server on loopback (no cache: every mail makes
// its lookups), so the difference is the cost of verification.
func BenchmarkReceiveVerified(b *testing.B) {
	z := authtest.NewZone()
	z.AddTXT("example.com", "v=spf1 ip4:192.0.2.10 -all")
	z.AddTXT("_dmarc.example.com", "v=DMARC1; p=reject")
	z.AddTXT("s1._domainkey.example.com", authtest.RSAKeyRecord())
	raw := authtest.Sign(b, benchMail(b), dkim.SignOptions{Domain: "example.com", Selector: "s1"})
	cfg := config.Default()
	cfg.Auth.Resolver = authtest.StartDNS(b, z)
	book := benchBook(b, cfg)
	gw, err := New(book, cfg, replytoken.New(book.Secret()), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	env := Envelope{Transport: TransportSMTP, MailFrom: "alice@example.com", Recipients: []string{"support@localhost"}, RemoteAddr: "192.0.2.10:40000", HELO: "mx.example.com"}
	var seq atomic.Int64
	runSerialParallel(b, len(raw), func() error {
		n := seq.Add(1)
		out, err := gw.Receive(ctx, env, io.MultiReader(strings.NewReader(benchTrace(n)), bytes.NewReader(raw)))
		if err != nil {
			return err
		}
		if out.Result != casebook.OutcomeCaseOpened || out.Auth == nil || !out.Auth.FromAligned {
			return fmt.Errorf("mail %d: outcome %s (%s), auth %+v; want a new case from an authenticated sender", n, out.Result, out.Reason, out.Auth)
		}
		return nil
	})
}
