package main

import (
	"context"
	"github.com/casemail/casemail/internal/testenv/stores"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/casemail/casemail/casebook"
)

// "route test" names exactly who the same mail, delivered, mails: the
// requester and watchers (R8) but not a watcher suppressed after a hard
// bounce, not the author of a comment, and the sender of a refusal (R1).
func TestRouteTestNamesWhoIsMailed(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		c := doorsCLI(t)
		book := c.book(nil)
		ctx := context.Background()
		steps := []struct {
			name   string
			mail   string
			before func()
			want   []string
		}{
			{"new case with Cc", "From: ann@acme.test\r\nTo: support@support.test\r\nCc: Carl <carl@acme.test>, ext@partner.test\r\nSubject: VM down\r\nMessage-ID: <a1@acme.test>\r\n\r\nIt is down.\r\n",
				nil, []string{"ann@acme.test", "carl@acme.test", "ext@partner.test"}},
			{"reply with a suppressed watcher", "From: ann@acme.test\r\nTo: support@support.test\r\nCc: new@acme.test\r\nSubject: Re: [Case #1] VM down\r\nMessage-ID: <a2@acme.test>\r\n\r\nStill down.\r\n",
				func() {
					if err := book.SuppressAddress(ctx, "carl@acme.test", casebook.SuppressedBounce, "550 no such user"); err != nil {
						t.Fatal(err)
					}
				}, []string{"ext@partner.test"}},
			{"refusal", "From: stranger@else.test\r\nTo: support@support.test\r\nSubject: hello\r\nMessage-ID: <a3@else.test>\r\n\r\nhi\r\n",
				nil, []string{"stranger@else.test"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if st.before != nil {
					st.before()
				}
				eml := filepath.Join(c.dir, "m.eml")
				if err := os.WriteFile(eml, []byte(st.mail), 0o644); err != nil {
					t.Fatal(err)
				}
				d := decode[map[string]any](t, c.ok("route", "test", "--json", eml))
				var said []string
				for _, a := range d["notify"].([]any) {
					said = append(said, a.(string))
				}
				queuedBefore := pendingTo(t, book)
				if _, errs, code := c.run(st.mail, "deliver"); code != 0 {
					t.Fatalf("deliver exit %d: %s", code, errs)
				}
				queued := pendingTo(t, book)[len(queuedBefore):]
				slices.Sort(said)
				slices.Sort(queued)
				if !slices.Equal(said, st.want) || !slices.Equal(queued, st.want) {
					t.Errorf("route test said notify=%v, deliver queued %v; want %v", said, queued, st.want)
				}
			})
		}
	})
}

// pendingTo lists the recipients of the outbox rows in the order queued.
func pendingTo(t *testing.T, b *casebook.Book) []string {
	t.Helper()
	items, err := b.Outbox(context.Background(), casebook.OutboxPending)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(items, func(x, y casebook.OutboxItem) int { return int(x.ID - y.ID) })
	var out []string
	for _, it := range items {
		out = append(out, it.To)
	}
	return out
}
