package casebook

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/templates"
)

// BenchmarkLimits measures what the loop and backscatter limits add to
// queuing one notification, in a store with 50,000 messages and 50,000
// outbox rows (issue 10).
func BenchmarkLimits(b *testing.B) {
	book, err := Open(filepath.Join(b.TempDir(), "cb.db"), Options{MessageIDDomain: "support.test",
		LoopWindow: 10 * time.Minute, MaxCaseNotifications: 10, MaxNewRecipientsPerHour: 100})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { book.Close() })
	f := &fixture{Book: book, ctx: context.Background()}
	if err := f.AddAccount(f.ctx, Account{Address: "ann@acme.test", Verified: true}); err != nil {
		b.Fatal(err)
	}
	if err := f.CreateOrg(f.ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
		b.Fatal(err)
	}
	c, err := f.OpenCase(f.ctx, NewCase{Org: "acme", Product: "cloud", Title: "VPN", Description: "d", Requester: "ann@acme.test", Watchers: []string{"carl@acme.test"}})
	if err != nil {
		b.Fatal(err)
	}
	ref, err := f.StoreRaw(f.ctx, strings.NewReader("From: x@y\r\n\r\nx\r\n"))
	if err != nil {
		b.Fatal(err)
	}
	tx, err := f.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := ms(f.now())
	for i := range 50000 {
		from := fmt.Sprintf("sender%d@else.test", i%5000)
		if _, err := tx.Exec(f.query("message-insert"), fmt.Sprint("m", i), fmt.Sprint("fp", i), from, from, "[]", "s", now-int64(i)*1000, "smtp",
			[]string{"comment_added", "refused", "ignored"}[i%3], "", c.ID, ref.SHA256, ref.Size, "[]"); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(f.query("outbox-insert"), "e", "comment_added", fmt.Sprintf("rcpt%d@else.test", i%5000), "en", c.ID, fmt.Sprint("tok", i), "{}", now-int64(i)*1000, now-int64(i)*1000); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Run("comments by sender", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.MailCommentsSince(f.ctx, c.ID, "sender7@else.test", f.now().Add(-10*time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hold, new recipient", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := f.hold(f.ctx, f.rdb, notice{Template: templates.CommentAdded, To: "nobody+x@else.test", CaseID: c.ID}, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
