package outbound

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

// NewFromConfig wires a Worker the way `casemail serve` needs it: templates
// from [templates] dir over the embedded ones, the composer from [outbound],
// [policy] and [http], and the transport from outbound.transport, opened
// once now so that a bad path or a missing password shows at start-up.
func NewFromConfig(cfg *config.Config, q Queue, signer *replytoken.Signer, log *slog.Logger) (*Worker, error) {
	set, err := templates.New(cfg.Templates.Dir, cfg.Policy.Locale)
	if err != nil {
		return nil, err
	}
	comp, err := NewComposer(cfg, set, signer)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	first, err := OpenTransport(cfg.Outbound, log)
	if err != nil {
		return nil, err
	}
	newTransport := func() (Transport, error) { return OpenTransport(cfg.Outbound, log) }
	if strings.HasPrefix(cfg.Outbound.Transport, "maildir:") {
		// One Maildir serves every sender goroutine.
		newTransport = func() (Transport, error) { return first, nil }
	} else if err := first.Close(); err != nil {
		return nil, fmt.Errorf("outbound transport: %w", err)
	}
	return NewWorker(Options{
		Queue:        q,
		Composer:     comp,
		NewTransport: newTransport,
		Log:          log,
		Workers:      cfg.Outbound.Workers,
		MaxAge:       cfg.Outbound.MaxAge.Duration,
	})
}
