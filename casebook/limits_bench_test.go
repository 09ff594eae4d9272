package casebook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/templates"
)

// BenchmarkLimits measures what the loop and backscatter limits add to
// queuing one notification, in a store with 50,000 messages and 50,000
// outbox rows (issue 10).
func BenchmarkLimits(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	f.opt.LoopWindow, f.opt.MaxCaseNotifications, f.opt.MaxNewRecipientsPerHour = 10*time.Minute, 10, 100
	c := f.open(t, "acme", "ann@acme.test", "VPN", "carl@acme.test")
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
