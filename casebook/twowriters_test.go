package casebook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv/postgres"
	"github.com/casemail/casemail/templates"
)

// twoBooks opens two Books on one new PostgreSQL database, as two
// gateways would, with the same options and clock.
func twoBooks(t *testing.T, opt Options) (*Book, *Book) {
	t.Helper()
	dsn := postgres.DSN(t)
	var books [2]*Book
	for i := range books {
		b, err := Open(dsn, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		books[i] = b
	}
	return books[0], books[1]
}

// raceRecords records n mails made by mail(i) through RecordRaw, half
// on each book, all released at once, and returns what each did.
func raceRecords(t *testing.T, a, b *Book, n int, mail func(i int) ([]byte, Delivery)) ([]Recorded, []error) {
	t.Helper()
	recs, errs := make([]Recorded, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		book := a
		if i%2 == 1 {
			book = b
		}
		raw, d := mail(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			recs[i], errs[i] = book.RecordRaw(context.Background(), raw, d)
		}()
	}
	close(start)
	wg.Wait()
	return recs, errs
}

// Two gateways on one PostgreSQL database: their write transactions take
// turns (runTx's write lock), so a limit that each would pass alone admits
// no more than its count in total, and one mail recorded by both is one
// record (I2). Without the lock the first two cases admit more than the
// limit (checked by removing it).
func TestTwoWritersShareTheRules(t *testing.T) {
	const mails = 16
	for _, tt := range []struct {
		name  string
		opt   Options
		mail  func(c Case, i int) ([]byte, Delivery)
		count func(t *testing.T, b *Book, c Case, recs []Recorded, errs []error) int
		want  int
	}{{
		// I5: policy.max_mail_comments, checked again inside Record.
		name: "mail comments on one case",
		opt:  Options{LoopWindow: time.Hour, MaxMailComments: 3},
		mail: func(c Case, i int) ([]byte, Delivery) {
			raw := fmt.Appendf(nil, "From: ann@acme.test\r\nSubject: Re: %s\r\n\r\nreply %d\r\n", c.Title, i)
			return raw, Delivery{Message: Message{MessageID: fmt.Sprintf("c%d@acme.test", i), Fingerprint: fmt.Sprint("c", i),
				From: "ann@acme.test", Transport: "smtp", Subject: "Re: " + c.Title},
				Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: fmt.Sprint("reply ", i)}
		},
		count: func(t *testing.T, b *Book, c Case, recs []Recorded, errs []error) int {
			n := 0
			for i, err := range errs {
				switch {
				case err == nil:
					n++
				case RuleOf(err) != string(I5):
					t.Errorf("mail %d: %v, want an I5 refusal or a comment", i, err)
				}
			}
			after, err := b.Case(context.Background(), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if added := len(after.Comments) - len(c.Comments); added != n {
				t.Errorf("%d comments stored, %d mails admitted", added, n)
			}
			return n
		},
		want: 3,
	}, {
		// I5: refusal notices to one sender per hour.
		name: "notices to one sender",
		opt:  Options{NoticesPerHour: 3},
		mail: func(c Case, i int) ([]byte, Delivery) {
			from := fmt.Sprintf("victim+%d@else.test", i)
			raw := fmt.Appendf(nil, "From: %s\r\nSubject: spam %d\r\n\r\nx\r\n", from, i)
			return raw, Delivery{Message: Message{MessageID: fmt.Sprintf("n%d@else.test", i), Fingerprint: fmt.Sprint("n", i),
				From: from, Transport: "smtp", Subject: fmt.Sprint("spam ", i)},
				Action: ActRefuse, Reason: "unknown sender", Notice: &Notice{Template: templates.NoticeUnknownSender, To: from}}
		},
		count: func(t *testing.T, b *Book, c Case, recs []Recorded, errs []error) int {
			for i, err := range errs {
				if err != nil {
					t.Errorf("mail %d: %v", i, err)
				}
			}
			items, err := b.Outbox(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, it := range items {
				if LimitKey(it.To) == "victim@else.test" {
					n++
				}
			}
			return n
		},
		want: 3,
	}, {
		// I2: the same mail delivered to both gateways at once.
		name: "one mail twice",
		mail: func(c Case, i int) ([]byte, Delivery) {
			raw := []byte("From: ann@acme.test\r\nSubject: twice\r\n\r\nsame bytes\r\n")
			return raw, Delivery{Message: Message{MessageID: "twice@acme.test", Fingerprint: "twice", From: "ann@acme.test",
				Transport: "smtp", Subject: "twice"}, Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "same bytes"}
		},
		count: func(t *testing.T, b *Book, c Case, recs []Recorded, errs []error) int {
			first := 0
			for i, err := range errs {
				if err != nil {
					t.Errorf("mail %d: %v, want a record or a duplicate", i, err)
				} else if !recs[i].Duplicate {
					first++
				}
			}
			msgs, err := b.Messages(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 1 {
				t.Errorf("%d message records, want 1", len(msgs))
			}
			return first
		},
		want: 1,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			opt := tt.opt
			opt.Now = clk.Now
			a, b := twoBooks(t, opt)
			f := &fixture{Book: a, clock: clk, ctx: context.Background()}
			f.must(t, a.AddAccount(f.ctx, Account{Address: "ann@acme.test", Verified: true}))
			f.must(t, a.CreateOrg(f.ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
			c := f.open(t, "acme", "ann@acme.test", "VPN down")
			recs, errs := raceRecords(t, a, b, mails, func(i int) ([]byte, Delivery) { return tt.mail(c, i) })
			if got := tt.count(t, b, c, recs, errs); got != tt.want {
				t.Errorf("%d admitted by two gateways together, want %d", got, tt.want)
			}
		})
	}
}

// Two gateways started together on a new database: each migration is
// applied once (under the write lock), both open, and both read the same
// reply-token secret.
func TestTwoGatewaysStartTogether(t *testing.T) {
	dsn := postgres.DSN(t)
	var books [4]*Book
	var errs [4]error
	var wg sync.WaitGroup
	for i := range books {
		wg.Add(1)
		go func() {
			defer wg.Done()
			books[i], errs[i] = Open(dsn, Options{})
		}()
	}
	wg.Wait()
	for i, b := range books {
		if errs[i] != nil {
			t.Fatalf("gateway %d: %v", i, errs[i])
		}
		t.Cleanup(func() { b.Close() })
		if string(b.Secret()) != string(books[0].Secret()) {
			t.Errorf("gateway %d has another reply-token secret", i)
		}
	}
}
