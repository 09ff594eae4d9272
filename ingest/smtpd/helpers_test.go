package smtpd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
)

// got is one call to the fake receiver.
type got struct {
	env      ingest.Envelope
	raw      []byte // as sent by the client
	received string // the trace field the listener added on top
}

// fakeReceiver records what it is given. It can be told to fail (the
// listener must then answer 451) or to block until released (shutdown).
type fakeReceiver struct {
	mu    sync.Mutex
	calls []got
	fail  error

	block   chan struct{} // when non-nil, Receive waits for it to close
	entered chan struct{} // receives one value per Receive that started
}

func (f *fakeReceiver) Receive(ctx context.Context, env ingest.Envelope, raw io.Reader) (ingest.Outcome, error) {
	b, err := io.ReadAll(raw)
	if err != nil {
		return ingest.Outcome{}, err
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ingest.Outcome{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The listener adds one Received field (RFC 5321 4.4); the rest is the client's.
	var trace string
	if rest, ok := bytes.CutPrefix(b, []byte("Received: ")); ok {
		if i := bytes.Index(rest, []byte("\r\n")); i >= 0 {
			for i+2 < len(rest) && (rest[i+2] == '\t' || rest[i+2] == ' ') {
				j := bytes.Index(rest[i+2:], []byte("\r\n"))
				if j < 0 {
					break
				}
				i += 2 + j
			}
			trace, b = "Received: "+string(rest[:i+2]), rest[i+2:]
		}
	}
	f.calls = append(f.calls, got{env: env, raw: b, received: trace})
	if f.fail != nil {
		return ingest.Outcome{}, f.fail
	}
	return ingest.Outcome{MessageID: int64(len(f.calls)), Result: "case_opened", CaseID: 7}, nil
}

func (f *fakeReceiver) got() []got {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]got(nil), f.calls...)
}

// fakePolicy refuses the addresses listed in refuse, with that text.
type fakePolicy struct{ refuse map[string]string }

func (p fakePolicy) AcceptRecipient(_ context.Context, addr string) error {
	if msg, ok := p.refuse[strings.ToLower(addr)]; ok {
		return errors.New(msg)
	}
	return nil
}

func testConfig() config.SMTP {
	c := config.Default().SMTP
	c.Listen = "127.0.0.1:0"
	c.Domains = []string{"support.example.test", "Help.Example.Test"}
	c.MaxMessageBytes = 1 << 20
	c.MaxConnections = 20
	c.ReadTimeout = config.Duration{Duration: time.Minute}
	return c
}

// startServer runs a listener on a random loopback port until the test ends.
func startServer(t testing.TB, cfg config.SMTP, rcv ingest.Receiver, pol Policy, opts ...Option) (*Server, string) {
	t.Helper()
	if pol == nil {
		pol = fakePolicy{}
	}
	s, err := New(cfg, rcv, pol, testenv.Logger(t), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return startServerWith(t, s)
}

// startServerWith serves s on a random loopback port until the test ends.
func startServerWith(t testing.TB, s *Server) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := testenv.Recv(t, done, patience, "Serve to return after Shutdown"); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, l.Addr().String()
}

// swaks runs swaks against addr and returns its transcript and exit code.
func swaks(t testing.TB, addr string, args ...string) (string, int) {
	t.Helper()
	bin := testenv.NeedTool(t, "swaks", "swaks")
	host, port, _ := net.SplitHostPort(addr)
	all := append([]string{"--server", host, "--port", port, "--timeout", "60", "--helo", "client.test"}, args...)
	cmd := exec.Command(bin, all...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run swaks: %v", err)
	}
	return out.String(), code
}

// selfSigned writes a throw-away certificate for 127.0.0.1 and returns the
// cert and key paths.
func selfSigned(t testing.TB) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "casemail test"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
