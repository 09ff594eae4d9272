// Package dovecot starts a throw-away Dovecot IMAP server (2.3 config syntax,
// as shipped by Debian 12) for tests: one instance per test, listening on
// 127.0.0.1 on a free port, with Maildir storage in a short /tmp directory.
//
// When CI=true a missing dovecot binary fails the test; elsewhere it skips.
// The config is unusual where Dovecot needs it to be: a static userdb with
// uid=nobody when run as root, a short base_dir for its unix sockets, and a
// stop by PID that waits for every process (the comments below say why).
package dovecot

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Default credentials created by Start.
const (
	User     = "support@example.test"
	Password = "support-secret"
)

// Server is one running Dovecot instance.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Port int
	Dir  string // config, logs, mail; removed by t.Cleanup

	t       testing.TB
	binary  string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	users   map[string]string
	mailUID int
	mailGID int
}

// Start writes a config, starts Dovecot and registers its Stop with
// t.Cleanup. It skips (or fails when CI=true) if dovecot is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := lookBinary("dovecot")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("dovecot not found (install dovecot-imapd); CI=true forbids skipping")
		}
		t.Skip("dovecot not found: install dovecot-imapd to run the real-IMAP tests")
	}
	// A short directory: base_dir holds unix sockets (108-byte path limit).
	dir, err := os.MkdirTemp("/tmp", "dc.")
	if err != nil {
		t.Fatalf("dovecot: temp dir: %v", err)
	}
	// The mail processes run as another uid (nobody) when we are root.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("dovecot: chmod: %v", err)
	}
	s := &Server{Dir: dir, t: t, binary: bin, users: map[string]string{}}
	t.Cleanup(func() {
		s.Stop()
		if !(t.Failed() && os.Getenv("KEEP_DOVECOT") != "") {
			os.RemoveAll(dir)
		}
	})
	port, err := freePort()
	if err != nil {
		t.Fatalf("dovecot: free port: %v", err)
	}
	s.Port = port
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := s.writeConfig(); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	s.AddUser(User, Password)
	if err := s.start(); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	return s
}

func lookBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) writeConfig() error {
	internalUser, internalGroup, loginUser := "dovecot", "dovecot", "dovenull"
	mailUser, mailGroup := "nobody", "nogroup"
	chroot := ""
	if os.Getuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return err
		}
		g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			return err
		}
		internalUser, internalGroup, loginUser = u.Username, g.Name, u.Username
		mailUser, mailGroup = u.Username, g.Name
		chroot = "service anvil {\n  chroot =\n}\n"
	}
	mu, err := user.Lookup(mailUser)
	if err != nil {
		return fmt.Errorf("mail user %s: %w", mailUser, err)
	}
	mg, err := user.LookupGroup(mailGroup)
	if err != nil {
		return fmt.Errorf("mail group %s: %w", mailGroup, err)
	}
	s.mailUID, _ = strconv.Atoi(mu.Uid)
	s.mailGID, _ = strconv.Atoi(mg.Gid)
	for _, d := range []string{"run", "state", "mail"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chown(filepath.Join(s.Dir, "mail"), s.mailUID, s.mailGID); err != nil {
		return fmt.Errorf("chown mail dir: %w", err)
	}
	loginChroot := ""
	if chroot != "" {
		loginChroot = "  chroot =\n"
	}
	conf := fmt.Sprintf(`instance_name = %[10]s
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[3]s
default_internal_group = %[4]s
default_login_user = %[5]s
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/users
}
userdb {
  driver = static
  args = uid=%[6]s gid=%[7]s home=%[1]s/mail/%%d/%%n
}
%[8]sservice imap-login {
%[9]s  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, s.Dir, s.Port, internalUser, internalGroup, loginUser, mailUser, mailGroup, chroot, loginChroot, s.instance())
	return os.WriteFile(filepath.Join(s.Dir, "dovecot.conf"), []byte(conf), 0o644)
}

// instance is Dovecot's instance_name; its processes are titled
// "dovecot-INSTANCE/SERVICE", which is how Stop finds the ones that outlive
// the master.
func (s *Server) instance() string {
	return "casemail-" + strings.TrimPrefix(filepath.Base(s.Dir), "dc.")
}

// AddUser adds (or changes the password of) a mail account. Dovecot re-reads
// the passwd-file when it changes, so this works while running.
func (s *Server) AddUser(name, password string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = password
	var b strings.Builder
	for u, p := range s.users {
		fmt.Fprintf(&b, "%s:{PLAIN}%s::::::\n", u, p)
	}
	f := filepath.Join(s.Dir, "users")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		s.t.Fatalf("dovecot: write users: %v", err)
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	stderr, err := os.OpenFile(filepath.Join(s.Dir, "dovecot.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.binary, "-c", filepath.Join(s.Dir, "dovecot.conf"), "-F")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	// Own process group: a signal to the test binary's group does not hit it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		stderr.Close()
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); stderr.Close(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			s.cmd = nil
			return fmt.Errorf("dovecot exited at start-up: %s", s.logTail())
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %d not ready after 15s: %s", s.Port, s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) logTail() string {
	var out []byte
	for _, f := range []string{"dovecot.stderr", "dovecot.log"} {
		b, _ := os.ReadFile(filepath.Join(s.Dir, f))
		if len(b) > 2000 {
			b = b[len(b)-2000:]
		}
		out = append(out, b...)
	}
	return string(bytes.TrimSpace(out))
}

// Log returns Dovecot's log, for test failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(b)
}

// Stop terminates Dovecot by PID and waits until it has exited and its port
// is free again (the listener outlives SIGTERM by a few seconds). It is safe
// to call twice.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	// Logged-in imap processes (and log, stats) outlive the master: end
	// them, found by this instance's process title, so that clients see the
	// server go away as they would on a real restart.
	s.killLeftovers()
	// Wait for the port to be free so that Restart binds the same one.
	for i := 0; i < 200; i++ {
		l, err := net.Listen("tcp", s.Addr)
		if err == nil {
			l.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) killLeftovers() {
	prefix := []byte("dovecot-" + s.instance() + "/")
	find := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && bytes.HasPrefix(b, prefix) {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		pids := find()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, sig)
		}
		for j := 0; j < 40 && len(find()) > 0; j++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Restart stops Dovecot and starts it again on the same port with the same
// mail, dropping every open connection.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("dovecot restart: %v", err)
	}
}

// Dial returns a client logged in as user (User when ""), closed at cleanup.
func (s *Server) Dial(username string) *imapclient.Client {
	s.t.Helper()
	if username == "" {
		username = User
	}
	s.mu.Lock()
	pass := s.users[username]
	s.mu.Unlock()
	c, err := imapclient.DialInsecure(s.Addr, nil)
	if err != nil {
		s.t.Fatalf("dovecot: dial: %v", err)
	}
	if err := c.Login(username, pass).Wait(); err != nil {
		c.Close()
		s.t.Fatalf("dovecot: login %s: %v", username, err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Append stores raw in mailbox of User (created if missing) and returns its UID.
func (s *Server) Append(mailbox string, raw []byte) imap.UID {
	s.t.Helper()
	c := s.Dial("")
	defer func() { c.Logout().Wait() }()
	return AppendWith(s.t, c, mailbox, raw)
}

// AppendWith appends through an existing client (fast for many mails).
func AppendWith(t testing.TB, c *imapclient.Client, mailbox string, raw []byte) imap.UID {
	t.Helper()
	if err := ensureMailbox(c, mailbox); err != nil {
		t.Fatalf("dovecot: %v", err)
	}
	a := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := a.Write(raw); err != nil {
		t.Fatalf("dovecot: append write: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("dovecot: append close: %v", err)
	}
	d, err := a.Wait()
	if err != nil {
		t.Fatalf("dovecot: append to %s: %v", mailbox, err)
	}
	return d.UID
}

func ensureMailbox(c *imapclient.Client, name string) error {
	if strings.EqualFold(name, "INBOX") {
		return nil
	}
	err := c.Create(name, nil).Wait()
	var ie *imap.Error
	if err != nil && !(errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists) {
		return fmt.Errorf("create %s: %w", name, err)
	}
	return nil
}

// Message is what List reports about one stored message.
type Message struct {
	UID       imap.UID
	Flags     []imap.Flag
	MessageID string // from the envelope, without angle brackets
}

// Seen reports whether the message carries \Seen.
func (m Message) Seen() bool {
	for _, f := range m.Flags {
		if f == imap.FlagSeen {
			return true
		}
	}
	return false
}

// List returns the messages of User's mailbox, in UID order; a missing
// mailbox lists as empty.
func (s *Server) List(mailbox string) []Message {
	s.t.Helper()
	c := s.Dial("")
	defer func() { c.Logout().Wait() }()
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil
		}
		s.t.Fatalf("dovecot: select %s: %v", mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var seq imap.SeqSet
	seq.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(seq, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
	if err != nil {
		s.t.Fatalf("dovecot: fetch %s: %v", mailbox, err)
	}
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		id := ""
		if m.Envelope != nil {
			id = m.Envelope.MessageID
		}
		out = append(out, Message{UID: m.UID, Flags: m.Flags, MessageID: id})
	}
	return out
}

// Status returns UIDVALIDITY and the message count of User's mailbox.
func (s *Server) Status(mailbox string) (uidValidity uint32, messages uint32) {
	s.t.Helper()
	c := s.Dial("")
	defer func() { c.Logout().Wait() }()
	d, err := c.Status(mailbox, &imap.StatusOptions{UIDValidity: true, NumMessages: true}).Wait()
	if err != nil {
		s.t.Fatalf("dovecot: status %s: %v", mailbox, err)
	}
	return d.UIDValidity, *d.NumMessages
}

// Doveadm runs doveadm against this instance, e.g.
// Doveadm("mailbox", "status", "-u", User, "messages", "INBOX").
func (s *Server) Doveadm(args ...string) (string, error) {
	bin := lookBinary("doveadm")
	if bin == "" {
		return "", errors.New("doveadm not found")
	}
	out, err := exec.Command(bin, append([]string{"-c", filepath.Join(s.Dir, "dovecot.conf")}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("doveadm %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
