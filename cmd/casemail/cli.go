package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
)

// exitError carries an exit status with its message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a mistake in the command line itself (exit 2).
func usageError(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// env is what every command gets: its streams and the shared flags.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	configPath string
	cfg        *config.Config
	book       *casebook.Book
	changed    int64 // the case a command created, for --json (a follow-up)
}

// command is one subcommand.
type command struct {
	name    string // "case show"
	args    string // "ID [--json]"
	summary string
	run     func(e *env, args []string) error
	noStore bool // runs without opening the store
}

// flags returns a FlagSet that also knows --config.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.configPath, "config", e.configPath, "config file")
	return fs
}

// parse parses flags that may stand before or after positional arguments
// ("casemail case show 12 --json") and checks the number of positionals.
func parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs: fs}
			}
			return nil, usageError("%s: %v", fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		rest := fs.Args()
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usageError("%s: wrong number of arguments: see \"casemail help\"", fs.Name())
	}
	return pos, nil
}

// open loads the config and opens the store once.
func (e *env) open() error {
	if e.book != nil {
		return nil
	}
	if err := e.loadConfig(); err != nil {
		return err
	}
	b, err := openBook(e.cfg)
	if err != nil {
		return err
	}
	e.book = b
	return nil
}

func (e *env) loadConfig() error {
	if e.cfg != nil {
		return nil
	}
	path := e.configPath
	if path == "" {
		path = e.getenv("CASEMAIL_CONFIG")
	}
	cfg, err := config.Resolve(path)
	if err != nil {
		return err
	}
	e.cfg = cfg
	return nil
}

// openBook opens the casebook with the policy of cfg.
func openBook(cfg *config.Config) (*casebook.Book, error) {
	p := cfg.Policy
	ir := map[string]time.Duration{}
	for k, v := range p.InitialResponse {
		ir[k] = v.Duration
	}
	return casebook.Open(cfg.Store.Location(), casebook.Options{
		ReopenWindow:    p.ReopenWindow.Duration,
		InitialResponse: ir,
		DefaultPriority: p.DefaultPriority,
		DefaultLocale:   p.Locale,
		NoticesPerHour:  p.NoticesPerHour,
		MessageIDDomain: cfg.Outbound.ReplyDomain,
		Holder:          casebook.NewHolder(cfg.Store.GatewayName), // one per process (issue 14)

		Teams:            teamsOf(cfg),
		DefaultTeam:      p.DefaultTeam,
		EscalationNotify: p.EscalationNotify,
		SupportName:      supportName(cfg.Outbound.From),

		LoopWindow:              p.LoopWindow.Duration,
		MaxMailComments:         p.MaxMailComments,
		MaxCaseNotifications:    p.MaxCaseNotifications,
		MaxNewRecipientsPerHour: p.MaxNewRecipientsPerHour,
		TeamAddresses:           p.TeamAddresses,
	})
}

// supportName is the display name of outbound.from ("Support" in
// "Support <support@example.com>").
func supportName(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Name
	}
	return ""
}

// teamsOf is the casebook's view of the [[team]] tables.
func teamsOf(cfg *config.Config) []casebook.Team {
	var out []casebook.Team
	for _, t := range cfg.Teams {
		out = append(out, casebook.Team{Name: t.Name, Members: t.Members, Address: t.Address, Locale: t.Locale})
	}
	return out
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// idCommand parses a command that takes one ID and opens the store.
func (e *env) idCommand(fs *flag.FlagSet, args []string) (int64, error) {
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return 0, err
	}
	id, err := parseID(pos[0])
	if err != nil {
		return 0, err
	}
	return id, e.open()
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("%q is not a case number", s)
	}
	return id, nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func readBody(e *env, path string) (string, error) {
	var r io.Reader = e.stdin
	if path != "" && path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("read body: %w", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 10<<20))
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	return string(b), nil
}
