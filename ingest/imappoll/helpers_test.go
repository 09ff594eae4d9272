package imappoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
)

// fakeReceiver stands in for the real ingest: it streams the body (never
// buffering it), fingerprints by Message-ID and answers Duplicate for
// repeats, like the real one does with its fingerprints (I2).
type fakeReceiver struct {
	mu      sync.Mutex
	effects map[string]int // Message-ID -> committed effects (must stay 1)
	calls   map[string]int // Message-ID -> Receive calls
	dups    int
	envs    []ingest.Envelope
	bytes   map[string]int64
	// fail, when set, makes Receive fail temporarily (before committing).
	fail func(msgID string) error
	// committed, when set, runs right after a commit.
	committed func(msgID string)
}

func newFakeReceiver() *fakeReceiver {
	return &fakeReceiver{effects: map[string]int{}, calls: map[string]int{}, bytes: map[string]int64{}}
}

func (f *fakeReceiver) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	br := bufio.NewReader(raw)
	m, err := mail.ReadMessage(br)
	id := ""
	var n int64
	if err == nil {
		id = m.Header.Get("Message-ID")
		n, err = io.Copy(io.Discard, m.Body)
	} else {
		// Unparseable: the real ingest records it with its problem (I4).
		_, err = io.Copy(io.Discard, br)
	}
	if err != nil {
		return ingest.Outcome{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[id]++
	if f.fail != nil {
		if err := f.fail(id); err != nil {
			return ingest.Outcome{}, err
		}
	}
	f.envs = append(f.envs, env)
	f.bytes[id] = n
	if f.effects[id] > 0 {
		f.dups++
		return ingest.Outcome{Result: "comment_added", Duplicate: true}, nil
	}
	f.effects[id]++
	if f.committed != nil {
		f.committed(id)
	}
	return ingest.Outcome{Result: "case_opened", MessageID: int64(len(f.effects))}, nil
}

func (f *fakeReceiver) counts() (effects, calls, dups int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.effects {
		effects += n
	}
	for _, n := range f.calls {
		calls += n
	}
	return effects, calls, f.dups
}

func (f *fakeReceiver) callsFor(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// memCheckpoints is an in-memory Checkpoints.
type memCheckpoints struct {
	mu sync.Mutex
	m  map[string][2]uint32
}

func newMemCheckpoints() *memCheckpoints { return &memCheckpoints{m: map[string][2]uint32{}} }

func (c *memCheckpoints) Checkpoint(ctx context.Context, mailbox string) (uint32, uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.m[mailbox]
	return v[0], v[1], nil
}

func (c *memCheckpoints) SaveCheckpoint(ctx context.Context, mailbox string, validity, last uint32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[mailbox] = [2]uint32{validity, last}
	return nil
}

func (c *memCheckpoints) get(mailbox string) (uint32, uint32) {
	v, l, _ := c.Checkpoint(context.Background(), mailbox)
	return v, l
}

func testLogger(t testing.TB) (*slog.Logger, *testenv.LogBuffer) {
	lb := &testenv.LogBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

func writeSecret(t testing.TB, s string) string {
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func writeFile(t testing.TB, name, content string) {
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func baseConfig(t testing.TB, addr, user, pass string) config.IMAP {
	return config.IMAP{
		Name: "main", Address: addr, TLS: "none", Username: user,
		PasswordFile: writeSecret(t, pass), Folder: "INBOX", ProcessedFolder: "Processed",
		IDLE: true, PollInterval: config.Duration{Duration: time.Minute}, BatchSize: 50,
	}
}

// fast makes backoffs short so that failure tests run quickly.
func fast(p *Poller) *Poller {
	p.minBackoff, p.maxBackoff = 50*time.Millisecond, time.Second
	return p
}

// start runs p until the returned stop function is called; stop waits for
// Run to return (and fails the test if it does not).
func start(t testing.TB, p *Poller) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(60 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func testMail(id string, extra string) []byte {
	return []byte(fmt.Sprintf("%sFrom: Alice <alice@example.test>\r\nTo: support@example.test\r\nSubject: help %s\r\nMessage-ID: <%s>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nMy printer is on fire (%s).\r\n", extra, id, id, id))
}
