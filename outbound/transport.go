package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/casemail/casemail/config"
)

// Transport hands one message to the next hop.
type Transport interface {
	// Send delivers msg from the envelope sender to the recipients. An
	// error is a *SendError saying whether retrying can help.
	Send(ctx context.Context, from string, to []string, msg []byte) error
	// Close releases connections; the Transport may not be used after.
	Close() error
}

// SendError is a failed delivery, classified for the retry logic.
type SendError struct {
	Code      int    // SMTP reply code, 0 when there was none (network, file system)
	Enhanced  string // RFC 3463 enhanced status code, e.g. "5.1.1", when given
	Message   string // the server's answer or a description
	Permanent bool   // 5xx on the message itself: retrying will not help
	Err       error
}

func (e *SendError) Error() string {
	var b strings.Builder
	if e.Code != 0 {
		fmt.Fprintf(&b, "%d ", e.Code)
		if e.Enhanced != "" {
			b.WriteString(e.Enhanced + " ")
		}
	}
	b.WriteString(e.Message)
	if e.Err != nil && e.Message == "" {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a failure that no retry can fix.
func IsPermanent(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return se.Permanent
	}
	var pe *PermanentError
	return errors.As(err, &pe)
}

// OpenTransport opens the transport cfg.Transport names: "maildir:PATH",
// "smtp://host:port" or "smtps://host:port". Each call makes a new one (one
// SMTP connection each), so a worker can run several in parallel.
func OpenTransport(cfg config.Outbound, log *slog.Logger) (Transport, error) {
	switch {
	case strings.HasPrefix(cfg.Transport, "maildir:"):
		return NewMaildir(strings.TrimPrefix(cfg.Transport, "maildir:"))
	case strings.HasPrefix(cfg.Transport, "smtp://"), strings.HasPrefix(cfg.Transport, "smtps://"):
		implicit := strings.HasPrefix(cfg.Transport, "smtps://")
		addr := strings.TrimPrefix(strings.TrimPrefix(cfg.Transport, "smtps://"), "smtp://")
		addr = strings.TrimSuffix(addr, "/")
		password, err := readSecret(cfg.PasswordFile, cfg.PasswordEnv)
		if err != nil {
			return nil, err
		}
		timeout := cfg.Timeout.Duration
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		helo := "localhost"
		if cfg.ReplyDomain != "" {
			helo = cfg.ReplyDomain
		}
		return &SMTP{
			Addr:               addr,
			ImplicitTLS:        implicit,
			StartTLS:           cfg.StartTLS,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
			Username:           cfg.Username,
			Password:           password,
			Timeout:            timeout,
			LocalName:          helo,
			Log:                log,
		}, nil
	}
	return nil, fmt.Errorf("outbound.transport %q: want maildir:PATH, smtp://host:port or smtps://host:port", cfg.Transport)
}

// readSecret reads a password from a file (trailing newline dropped) or an
// environment variable.
func readSecret(file, env string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("outbound.password_file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("outbound.password_env: $%s is not set", env)
		}
		return v, nil
	}
	return "", nil
}
