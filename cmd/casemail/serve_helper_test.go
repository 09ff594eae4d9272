package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/internal/testenv"
)

// serve runs "casemail serve" with c's config until the test ends, then
// stops it as SIGTERM does and fails the test unless it exits 0 within
// 15 s; the serve log is shown when the test fails. It returns once the
// SMTP listener on smtpAddr answers.
func (c *cli) serve(t *testing.T, smtpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.LogBuffer{}
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, logs, func(k string) string {
			if k == "CASEMAIL_CONFIG" {
				return c.config
			}
			return ""
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-served:
			if code != 0 {
				t.Errorf("serve exited %d\n%s", code, logs.String())
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve did not stop within 15 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", logs.String())
		}
	})
	testenv.WaitFor(t, 20*time.Second, "the SMTP listener", func() bool {
		conn, err := net.Dial("tcp", smtpAddr)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
}
