package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/ingest/imappoll"
	"github.com/casemail/casemail/ingest/smtpd"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/replytoken"
)

// doorsCLI is a data directory whose config has one route on a domain the
// SMTP listener accepts.
func doorsCLI(t *testing.T) *cli {
	c := newCLI(t)
	cfg := fmt.Sprintf(`[store]
%s
[smtp]
domains = ["support.test"]
[outbound]
transport = "maildir:%s"
from = "Support <support@support.test>"
reply_domain = "support.test"
[[route]]
address = "support@support.test"
product = "cloud"
`, c.store, filepath.Join(c.dir, "sent"))
	if err := os.WriteFile(c.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c.setup()
	return c
}

// I5, no backscatter: a mail with the null sender (a bounce or an
// auto-reply that looks like a person's mail) from an address with no
// account is answered by no door. Through "deliver" and the IMAP poller the
// null sender is the Return-Path <>; through SMTP it is MAIL FROM:<>.
func TestNullSenderAnsweredByNoDoor(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		mail := func(id, extra string) []byte {
			return []byte(extra + "From: Out of office <stranger@else.test>\r\nTo: support@support.test\r\n" +
				"Subject: Re: your question\r\nMessage-ID: <" + id + "@else.test>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nI am away until Monday.\r\n")
		}
		c := doorsCLI(t)
		cfg, err := config.Load(c.config)
		if err != nil {
			t.Fatal(err)
		}
		book := c.book(nil)
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), log)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		doors := []struct {
			name, id string
			send     func(t *testing.T, raw []byte)
		}{
			{"deliver", "d1", func(t *testing.T, raw []byte) {
				if _, errs, code := c.run(string(raw), "deliver", "--recipient", "support@support.test"); code != 0 {
					t.Fatalf("deliver exit %d: %s", code, errs)
				}
			}},
			{"deliver --sender ''", "d2", func(t *testing.T, raw []byte) {
				// Postfix's pipe(8) passes an empty $sender for the null sender.
				raw = bytes.TrimPrefix(raw, []byte("Return-Path: <>\r\n"))
				if _, errs, code := c.run(string(raw), "deliver", "--recipient", "support@support.test", "--sender", ""); code != 0 {
					t.Fatalf("deliver exit %d: %s", code, errs)
				}
			}},
			{"imap", "i1", func(t *testing.T, raw []byte) {
				addr, user := startIMAP(t, raw)
				secret := filepath.Join(t.TempDir(), "pw")
				os.WriteFile(secret, []byte("pw\n"), 0o600)
				p, err := imappoll.New(config.IMAP{Name: "main", Address: addr, TLS: "none", Username: "support@support.test",
					PasswordFile: secret, Folder: "INBOX", ProcessedFolder: "Processed", Recipient: "support@support.test",
					PollInterval: config.Duration{Duration: 50 * time.Millisecond}, BatchSize: 10}, gw, book, log)
				if err != nil {
					t.Fatal(err)
				}
				pctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- p.Run(pctx) }()
				defer func() { cancel(); <-done }()
				testenv.WaitFor(t, 20*time.Second, "the mail taken from the mailbox", func() bool {
					st, err := user.Status("Processed", &imap.StatusOptions{NumMessages: true})
					return err == nil && *st.NumMessages == 1
				})
			}},
			{"smtp", "s1", func(t *testing.T, raw []byte) {
				srv, err := smtpd.New(cfg.SMTP, gw, gw, log)
				if err != nil {
					t.Fatal(err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go srv.Serve(ln)
				defer srv.Shutdown(ctx)
				// An SMTP client never sends Return-Path: the envelope says it.
				raw = bytes.TrimPrefix(raw, []byte("Return-Path: <>\r\n"))
				if err := smtp.SendMail(ln.Addr().String(), nil, "", []string{"support@support.test"}, raw); err != nil {
					t.Fatal(err)
				}
			}},
		}
		for _, door := range doors {
			t.Run(door.name, func(t *testing.T) {
				door.send(t, mail(door.id, "Return-Path: <>\r\n"))
				msgs, err := book.Messages(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				var got *casebook.Message
				for i := range msgs {
					if msgs[i].MessageID == door.id+"@else.test" || msgs[i].MessageID == "<"+door.id+"@else.test>" {
						got = &msgs[i]
					}
				}
				if got == nil {
					t.Fatalf("message %s not recorded: %+v", door.id, msgs)
				}
				if got.Outcome != casebook.OutcomeIgnored || got.MailFrom != "<>" {
					t.Errorf("outcome %s, mail_from %q (%s); want ignored, <>", got.Outcome, got.MailFrom, got.Reason)
				}
				pending, err := book.Outbox(ctx, casebook.OutboxPending)
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range pending {
					t.Errorf("notice queued to a null sender: %s to %s", it.Template, it.To)
				}
			})
		}
	})
}

// startIMAP serves one mailbox holding raw, with go-imap's in-memory server.
func startIMAP(t *testing.T, raw []byte) (string, *imapmemserver.User) {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("support@support.test", "pw")
	for _, mb := range []string{"INBOX", "Processed"} {
		if err := u.Create(mb, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := u.Append("INBOX", imapLiteral{bytes.NewReader(raw)}, &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), u
}

type imapLiteral struct{ *bytes.Reader }
