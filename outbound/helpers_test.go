package outbound

import (
	"bufio"
	"bytes"
	"context"
	"errors"

	"github.com/casemail/casemail/internal/testenv"

	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testConfig() *config.Config {
	c := config.Default()
	c.Outbound.From = "Support Acme <support@support.example.test>"
	c.Outbound.ReplyDomain = "support.example.test"
	return c
}

func testComposer(t testing.TB, cfg *config.Config) *Composer {
	t.Helper()
	set, err := templates.New("", cfg.Policy.Locale)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewComposer(cfg, set, replytoken.New(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr(i int64) *int64 { return &i }

// parsed is a message read back with go-message, as a mail client would.
type parsed struct {
	h           gomail.Header
	text        string
	html        string
	attachments []string // file names, in order
}

func parse(t testing.TB, raw []byte) parsed {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	p := parsed{h: mr.Header}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		b, _ := io.ReadAll(part.Body)
		if ah, ok := part.Header.(*gomail.AttachmentHeader); ok {
			name, _ := ah.Filename()
			p.attachments = append(p.attachments, name)
			continue
		}
		ih, ok := part.Header.(*gomail.InlineHeader)
		if !ok {
			t.Fatalf("unexpected part %T", part.Header)
		}
		ct, params, _ := ih.ContentType()
		if params["charset"] != "utf-8" {
			t.Errorf("%s charset %q", ct, params["charset"])
		}
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	return p
}

// capture is a Transport that keeps what it is given.
type capture struct {
	mu   sync.Mutex
	msgs []sent
	fail func(n int) error // n: 0-based number of the Send call
	n    int
}

type sent struct {
	from string
	to   []string
	msg  []byte
}

func (c *capture) Send(_ context.Context, from string, to []string, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n++
	if c.fail != nil {
		if err := c.fail(n); err != nil {
			return err
		}
	}
	c.msgs = append(c.msgs, sent{from, to, bytes.Clone(msg)})
	return nil
}

func (c *capture) Close() error { return nil }

func (c *capture) all() []sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sent(nil), c.msgs...)
}

// sink is a Postfix smtp-sink started by a test.
type sink struct {
	addr string
	dump string // one file per message when dumping
	cmd  *exec.Cmd
}

// startSink runs smtp-sink on addr with extra options (e.g. "-f", "RCPT").
// With dump, each message is written to a file in s.dump.
func startSink(t testing.TB, addr string, dump bool, opts ...string) *sink {
	t.Helper()
	bin := testenv.NeedTool(t, "smtp-sink", "postfix")
	s := &sink{addr: addr}
	args := []string{"-u", "nobody"}
	if dump {
		// smtp-sink drops privileges to nobody: t.TempDir is root-only.
		d, err := os.MkdirTemp("", "casemail-sink-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777)
		t.Cleanup(func() { os.RemoveAll(d) })
		s.dump = d
		args = append(args, "-d", d+"/%H%M%S.")
	}
	args = append(args, opts...)
	args = append(args, addr, "100")
	var stderr bytes.Buffer
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop() })
	testenv.WaitFor(t, time.Minute, "smtp-sink to listen on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			// Read the greeting so the sink does not log a lost connection.
			bufio.NewReader(c).ReadString('\n')
			c.Close()
			return true
		}
		return false
	})
	return s
}

func (s *sink) stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// messages returns the dumped messages (smtp-sink headers included).
func (s *sink) messages(t testing.TB) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dump, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func countContaining(msgs [][]byte, s string) int {
	n := 0
	for _, m := range msgs {
		if bytes.Contains(m, []byte(s)) {
			n++
		}
	}
	return n
}
