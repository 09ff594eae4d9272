package imappoll

import (
	"context"
	"errors"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/internal/testenv/dovecot"
	"github.com/casemail/casemail/replytoken"
)

// realGateway is ingest.Gateway over a fresh casebook in which
// alice@example.test may open cases for the route's product.
func realGateway(t *testing.T) (*ingest.Gateway, *casebook.Book) {
	t.Helper()
	cfg, err := config.Parse([]byte("[[route]]\naddress = \"" + dovecot.User + "\"\nproduct = \"support\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() })
	ctx := context.Background()
	for _, err := range []error{
		book.AddAccount(ctx, casebook.Account{Address: "alice@example.test", Verified: true}),
		book.CreateOrg(ctx, casebook.Org{Slug: "example", Owner: "alice@example.test", Products: []string{"support"}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return gw, book
}

// I1, I2, R10, issue 14: a backlog read by the pipelined poller into the
// real gateway: every mail is one record, recorded in mailbox order, a
// reply in the backlog joins the case of the mail it answers (even in the
// same FETCH batch, decided concurrently), an unknown sender is refused
// without disturbing its neighbours, and every mail is moved once committed.
// On both stores, with the store's own checkpoint.
func TestDovecotPipelinedGateway(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		s := dovecot.Start(t)
		c := s.Dial("")
		const n = 130
		ids := make([]string, n)
		for i := range n {
			ids[i] = fmt.Sprintf("pipe-%d@example.test", i)
			extra := ""
			switch i {
			case 61, 62: // replies to the mail just before them, in the same batch
				extra = fmt.Sprintf("In-Reply-To: <%s>\r\nReferences: <pipe-60@example.test>\r\n", ids[i-1])
			case 120: // a reply to a mail of an earlier batch
				extra = "In-Reply-To: <pipe-3@example.test>\r\n"
			}
			raw := testMail(ids[i], extra)
			if i == 90 {
				raw = []byte(strings.Replace(string(raw), "alice@example.test", "stranger@elsewhere.test", 1))
			}
			dovecot.AppendWith(t, c, "INBOX", raw)
		}
		gw, book := realGateway(t)
		p, _ := dovecotPoller(t, s, gw, book, nil) // the store keeps the checkpoint, as in serve
		stop := start(t, p)
		testenv.WaitFor(t, 60*wait, "all mails moved", func() bool { return count(s, "Processed") == n })
		stop()
		if _, last, err := book.Checkpoint(context.Background(), "main/INBOX"); err != nil || last != n {
			t.Errorf("stored checkpoint: last UID %d (%v), want %d", last, err, n)
		}

		msgs, err := book.Messages(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != n {
			t.Fatalf("%d records, want %d (one per mail)", len(msgs), n)
		}
		caseOf := map[string]int64{}
		for i, m := range msgs {
			if m.MessageID != ids[i] {
				t.Fatalf("record %d is %s, want %s: not in mailbox order", i, m.MessageID, ids[i])
			}
			if m.CaseID != nil {
				caseOf[m.MessageID] = *m.CaseID
			}
		}
		tests := []struct {
			name    string
			idx     int
			outcome casebook.Outcome
			caseOf  int // the mail whose case it joins; -1: its own
		}{
			{"first mail opens a case", 0, casebook.OutcomeCaseOpened, -1},
			{"reply in the same batch", 61, casebook.OutcomeCommentAdded, 60},
			{"reply to a reply in the same batch", 62, casebook.OutcomeCommentAdded, 60},
			{"reply to an earlier batch", 120, casebook.OutcomeCommentAdded, 3},
			{"R1 unknown sender refused alone", 90, casebook.OutcomeRefused, -2},
			{"the mail after the refusal", 91, casebook.OutcomeCaseOpened, -1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := msgs[tt.idx]
				if m.Outcome != tt.outcome {
					t.Fatalf("outcome %s (%s), want %s", m.Outcome, m.Reason, tt.outcome)
				}
				if tt.caseOf >= 0 && caseOf[m.MessageID] != caseOf[ids[tt.caseOf]] {
					t.Errorf("on case %d, want the case of %s (%d)", caseOf[m.MessageID], ids[tt.caseOf], caseOf[ids[tt.caseOf]])
				}
			})
		}
		st := book.BatchStats()
		t.Logf("%d mails in %d commits", st.Mails, st.Batches)
	})
}

// pipeFake is fakeReceiver as an ingest.Pipeliner: Commit is its Receive.
type pipeFake struct{ *fakeReceiver }

type pipeFakePrepared struct {
	f   *fakeReceiver
	env ingest.Envelope
	raw []byte
}

func (p pipeFake) Prepare(env ingest.Envelope, raw []byte) ingest.Prepared {
	return &pipeFakePrepared{f: p.fakeReceiver, env: env, raw: raw}
}
func (p *pipeFakePrepared) MessageID() string { return "" }
func (p *pipeFakePrepared) Answers() []string { return nil }
func (p *pipeFakePrepared) Commit(ctx context.Context, t ingest.Turn) (ingest.Outcome, error) {
	defer t.Queued()
	<-t.After
	return p.f.Receive(ctx, p.env, io.NopCloser(strings.NewReader(string(p.raw))))
}

// I1, I4: in the pipeline too, a mail whose commit fails temporarily stays
// in the folder, unflagged, the checkpoint does not pass it, and it is
// committed once the receiver recovers; the mails committed beside it are
// moved, each once.
func TestDovecotPipelinedTemporaryFailure(t *testing.T) {
	s := dovecot.Start(t)
	uidA := s.Append("INBOX", testMail("pa@example.test", ""))
	s.Append("INBOX", testMail("pb@example.test", ""))
	s.Append("INBOX", testMail("pc@example.test", ""))
	var healthy atomic.Bool
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	rcv.fail = func(id string) error {
		if id == "<pb@example.test>" && !healthy.Load() {
			return errors.New("database is locked")
		}
		return nil
	}
	p, _ := dovecotPoller(t, s, pipeFake{rcv}, cp, nil)
	start(t, p)
	var uidB imap.UID
	testenv.WaitFor(t, wait, "B reported stuck", func() bool {
		uidB = imap.UID(p.Status().StuckUID)
		return uidB != 0
	})
	inbox := s.List("INBOX")
	if len(inbox) == 0 || inbox[0].MessageID != "pb@example.test" || inbox[0].Seen() {
		t.Errorf("INBOX = %+v, want B first and unseen", inbox)
	}
	if _, last := cp.get("main/INBOX"); last != uint32(uidA) {
		t.Errorf("checkpoint = %d, want %d (not past the failing mail)", last, uidA)
	}
	healthy.Store(true)
	testenv.WaitFor(t, wait, "all moved once the receiver recovers", func() bool { return count(s, "INBOX") == 0 && count(s, "Processed") == 3 })
	if e, _, _ := rcv.counts(); e != 3 {
		t.Errorf("effects = %d, want 3", e)
	}
}

// I1, I2: the pipeline dies after some commits and before their MOVE: the
// committed mails stay in the folder and the checkpoint does not pass
// them; after a restart every mail is moved and none has a second effect.
func TestDovecotPipelinedCrashBeforeMove(t *testing.T) {
	s := dovecot.Start(t)
	const n = 20
	for i := range n {
		s.Append("INBOX", testMail(fmt.Sprintf("pcrash-%d@example.test", i), ""))
	}
	rcv, cp := newFakeReceiver(), newMemCheckpoints()
	p1, _ := dovecotPoller(t, s, pipeFake{rcv}, cp, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var commits atomic.Int32
	p1.afterReceive = func(imap.UID) error {
		if commits.Add(1) == 5 {
			cancel()
			return errors.New("simulated crash")
		}
		return nil
	}
	if err := p1.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := count(s, "INBOX"); got != n {
		t.Fatalf("after the crash INBOX holds %d mails, want all %d (nothing moved before the settle)", got, n)
	}
	if _, last := cp.get("main/INBOX"); last != 0 {
		t.Fatalf("checkpoint advanced to %d before any move", last)
	}
	committed, _, _ := rcv.counts()

	p2, _ := dovecotPoller(t, s, pipeFake{rcv}, cp, nil)
	start(t, p2)
	testenv.WaitFor(t, wait, "all moved after restart", func() bool { return count(s, "INBOX") == 0 && count(s, "Processed") == n })
	if e, _, dups := rcv.counts(); e != n || dups != committed {
		t.Errorf("effects=%d duplicates=%d, want %d and %d (the mails committed before the crash)", e, dups, n, committed)
	}
}
