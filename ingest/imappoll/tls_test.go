package imappoll

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"

	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/casemail/casemail/config"
)

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// startMemTLS serves the in-memory server with implicit TLS or STARTTLS,
// using a self-signed certificate no system trusts.
func startMemTLS(t *testing.T, mode string) *memServer {
	t.Helper()
	tc := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(memUser, memPass)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Logger: discardLogger{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvLn := ln
	if mode == "implicit" {
		srvLn = tls.NewListener(ln, tc)
	} else {
		opts.TLSConfig = tc // enables STARTTLS; LOGIN only after it
	}
	srv := imapserver.New(opts)
	go srv.Serve(srvLn)
	t.Cleanup(func() { srv.Close() })
	return &memServer{addr: ln.Addr().String(), user: u}
}

// Certificates are verified unless insecure_skip_verify (tests only) is
// set; an unverifiable server is a clear error in Status and gets no mail
// or password.
func TestMemTLSModes(t *testing.T) {
	tests := []struct {
		mode     string
		insecure bool
		wantErr  string
	}{
		{"implicit", false, "certificate"},
		{"implicit", true, ""},
		{"starttls", false, "certificate"},
		{"starttls", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.mode+map[bool]string{true: "-insecure", false: "-verify"}[tc.insecure], func(t *testing.T) {
			m := startMemTLS(t, tc.mode)
			m.append(t, "INBOX", testMail("tls@x", ""))
			rcv := newFakeReceiver()
			p := memPoller(t, m, rcv, newMemCheckpoints(), func(c *config.IMAP) {
				c.TLS, c.InsecureSkipVerify, c.ProcessedFolder = tc.mode, tc.insecure, ""
			})
			start(t, p)
			if tc.wantErr == "" {
				testenv.WaitFor(t, wait, "mail delivered over TLS", func() bool { return rcv.callsFor("<tls@x>") == 1 })
				return
			}
			testenv.WaitFor(t, wait, "TLS error reported", func() bool { return p.Status().Errors >= 1 })
			if st := p.Status(); !strings.Contains(st.LastError, tc.wantErr) || !strings.Contains(st.LastError, "tls="+tc.mode) {
				t.Errorf("LastError = %q, want a %q error naming tls=%s", st.LastError, tc.wantErr, tc.mode)
			}
		})
	}
}
