package imappoll

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/casemail/casemail/config"
)

// memServer is go-imap's in-memory server on 127.0.0.1:random. caps nil
// means IMAP4rev1 only: no MOVE, no UIDPLUS, no IDLE.
type memServer struct {
	addr string
	user *imapmemserver.User
}

const memUser, memPass, memToken = "support@example.test", "pw", "ya29.token"

func startMem(t *testing.T, caps imap.CapSet, xoauth bool) *memServer {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(memUser, memPass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			if xoauth {
				return &xoauthSession{user: u}, nil, nil
			}
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       discardLogger{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &memServer{addr: ln.Addr().String(), user: u}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func (m *memServer) append(t *testing.T, mailbox string, raw []byte) {
	t.Helper()
	r := bytes.NewReader(raw)
	if _, err := m.user.Append(mailbox, literal{r, int64(len(raw))}, &imap.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

func (m *memServer) count(t *testing.T, mailbox string) (total, seen uint32) {
	t.Helper()
	st, err := m.user.Status(mailbox, &imap.StatusOptions{NumMessages: true, NumUnseen: true})
	if err != nil {
		return 0, 0
	}
	return *st.NumMessages, *st.NumMessages - *st.NumUnseen
}

// xoauthSession accepts only XOAUTH2 (like Gmail with app passwords off),
// checking the SASL initial response byte for byte.
type xoauthSession struct {
	*imapmemserver.UserSession
	user *imapmemserver.User
}

func (s *xoauthSession) Login(username, password string) error { return imapserver.ErrAuthFailed }
func (s *xoauthSession) AuthenticateMechanisms() []string      { return []string{"XOAUTH2"} }
func (s *xoauthSession) Authenticate(mech string) (sasl.Server, error) {
	if mech != "XOAUTH2" {
		return nil, errors.New("unsupported mechanism")
	}
	return &xoauthServer{s: s}, nil
}

type xoauthServer struct {
	s      *xoauthSession
	failed bool
}

func (x *xoauthServer) Next(resp []byte) ([]byte, bool, error) {
	if x.failed { // the client's empty answer to the error challenge
		return nil, true, imapserver.ErrAuthFailed
	}
	if string(resp) != "user="+memUser+"\x01auth=Bearer "+memToken+"\x01\x01" {
		x.failed = true
		return []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	x.s.UserSession = imapmemserver.NewUserSession(x.s.user)
	return nil, true, nil
}

func memPoller(t *testing.T, m *memServer, rcv *fakeReceiver, cp Checkpoints, mut func(*config.IMAP)) *Poller {
	t.Helper()
	cfg := baseConfig(t, m.addr, memUser, memPass)
	cfg.IDLE = false
	cfg.PollInterval.Duration = 50 * time.Millisecond
	if mut != nil {
		mut(&cfg)
	}
	log, lb := testLogger(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("poller log:\n%s", lb.String())
		}
	})
	p, err := New(cfg, rcv, cp, log)
	if err != nil {
		t.Fatal(err)
	}
	return fast(p)
}

// Without MOVE (IMAP4rev1 only) committed mail still leaves the folder:
// COPY + \Deleted + EXPUNGE (I1), and nothing is delivered twice.
func TestMemMoveFallbackWithoutMOVE(t *testing.T) {
	m := startMem(t, nil, false)
	for _, id := range []string{"m1@x", "m2@x", "m3@x"} {
		m.append(t, "INBOX", testMail(id, ""))
	}
	rcv := newFakeReceiver()
	p := memPoller(t, m, rcv, newMemCheckpoints(), func(c *config.IMAP) { c.BatchSize = 2 })
	start(t, p)
	testenv.WaitFor(t, wait, "all moved", func() bool {
		in, _ := m.count(t, "INBOX")
		done, _ := m.count(t, "Processed")
		return in == 0 && done == 3
	})
	if e, calls, _ := rcv.counts(); e != 3 || calls != 3 {
		t.Errorf("effects=%d calls=%d, want 3 each", e, calls)
	}
}

// XOAUTH2 (Gmail, Microsoft 365): the token is sent in the exact SASL
// format, re-read from its file at each connect, and a refused token is a
// clear error in Status, retried with backoff.
func TestMemXOAUTH2(t *testing.T) {
	tests := []struct {
		name, token string
		wantErr     string
	}{
		{"valid token", memToken, ""},
		{"expired token", "expired", "authenticate XOAUTH2 as " + memUser},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startMem(t, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapSASLIR: {}}, true)
			m.append(t, "INBOX", testMail("oauth@x", ""))
			rcv := newFakeReceiver()
			p := memPoller(t, m, rcv, newMemCheckpoints(), func(c *config.IMAP) {
				c.Auth, c.PasswordFile, c.TokenFile = "xoauth2", "", writeSecret(t, tc.token)
				c.ProcessedFolder = ""
			})
			start(t, p)
			if tc.wantErr == "" {
				testenv.WaitFor(t, wait, "mail delivered", func() bool { return rcv.callsFor("<oauth@x>") == 1 })
				return
			}
			testenv.WaitFor(t, wait, "auth error reported", func() bool { return p.Status().Errors >= 2 })
			if st := p.Status(); !strings.Contains(st.LastError, tc.wantErr) {
				t.Errorf("LastError = %q, want it to contain %q", st.LastError, tc.wantErr)
			}
			if _, calls, _ := rcv.counts(); calls != 0 {
				t.Errorf("receiver called %d times without authentication", calls)
			}
		})
	}
}

// A token rotated on disk is picked up at the next connect.
func TestMemXOAUTH2TokenRotation(t *testing.T) {
	m := startMem(t, imap.CapSet{imap.CapIMAP4rev1: {}}, true)
	m.append(t, "INBOX", testMail("rot@x", ""))
	rcv := newFakeReceiver()
	tokFile := writeSecret(t, "old-token")
	p := memPoller(t, m, rcv, newMemCheckpoints(), func(c *config.IMAP) {
		c.Auth, c.PasswordFile, c.TokenFile, c.ProcessedFolder = "xoauth2", "", tokFile, ""
	})
	start(t, p)
	testenv.WaitFor(t, wait, "old token refused", func() bool { return p.Status().Errors >= 1 })
	writeFile(t, tokFile, memToken+"\n")
	testenv.WaitFor(t, wait, "mail delivered with the new token", func() bool { return rcv.callsFor("<rot@x>") == 1 })
}

// A mail whose literal the server cannot produce in full (here: a message
// with no header/body separator, i.e. unparseable) is still handed to the
// receiver and moved (I4): never "read but not recorded".
func TestMemBrokenMailStillDelivered(t *testing.T) {
	m := startMem(t, nil, false)
	m.append(t, "INBOX", []byte("this is not a mail at all"))
	rcv := newFakeReceiver()
	p := memPoller(t, m, rcv, newMemCheckpoints(), nil)
	start(t, p)
	testenv.WaitFor(t, wait, "broken mail moved", func() bool { n, _ := m.count(t, "Processed"); return n == 1 })
	if _, calls, _ := rcv.counts(); calls != 1 {
		t.Errorf("receiver called %d times, want 1", calls)
	}
}

// Polling without IDLE notices mail appended later (poll_interval).
func TestMemPollingWithoutIdle(t *testing.T) {
	m := startMem(t, nil, false)
	rcv := newFakeReceiver()
	p := memPoller(t, m, rcv, newMemCheckpoints(), nil)
	start(t, p)
	testenv.WaitFor(t, wait, "first check", func() bool { return !p.Status().LastSuccess.IsZero() })
	m.append(t, "INBOX", testMail("late@x", ""))
	testenv.WaitFor(t, wait, "late mail delivered", func() bool { return rcv.callsFor("<late@x>") == 1 })
}
