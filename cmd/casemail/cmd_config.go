package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/templates"
)

// exConfig is config check's exit status when it finds a mistake
// (EX_CONFIG in sysexits.h).
const exConfig = 78

func configExample() []byte { return config.Example() }

// checkTemplates loads the template overrides and lints them, each problem
// located at the config's templates.dir and naming the template file and
// line.
func checkTemplates(cfg *config.Config) config.Problems {
	set, err := templates.New(cfg.Templates.Dir, cfg.Policy.Locale)
	if err != nil {
		// policy.locale was checked already; the rest is the folder.
		return config.Problems{cfg.At("templates.dir", fmt.Sprintf("templates.dir %q: %v", cfg.Templates.Dir, err))}
	}
	var routes []string
	for _, r := range cfg.Routes {
		if r.Action == "redirect" && r.Template != "" {
			routes = append(routes, r.Template)
		}
	}
	var ps config.Problems
	for _, err := range set.Lint(routes) {
		ps = append(ps, cfg.At("templates.dir", "templates.dir: "+err.Error()))
	}
	return ps
}

// checkMembers asks the store whether every team member is an agent
// account. A store not created yet holds no account at all: it is read,
// never created, by a check.
func checkMembers(cfg *config.Config) (config.Problems, error) {
	if len(cfg.Teams) == 0 {
		return nil, nil
	}
	if _, err := os.Stat(cfg.Store.Path); errors.Is(err, fs.ErrNotExist) {
		return cfg.MemberProblems(func(string) (bool, error) { return false, nil })
	}
	b, err := openBook(cfg)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return cfg.MemberProblems(func(addr string) (bool, error) {
		a, err := b.Account(context.Background(), addr)
		if errors.Is(err, casebook.ErrNotFound) {
			return false, nil
		}
		return a.Agent, err
	})
}

func cmdConfigExample(e *env, args []string) error {
	fs := e.flags("config example")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	_, err := e.stdout.Write(configExample())
	return err
}

// cmdConfigCheck reports every mistake, one per line as FILE:LINE: KEY ...,
// so that an admin fixes them all in one go; the last line sums up.
func cmdConfigCheck(e *env, args []string) error {
	fs := e.flags("config check")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	// The file every command would read: --config, $CASEMAIL_CONFIG,
	// ./casemail.toml, else the embedded default.
	path := e.configPath
	if path == "" {
		path = e.getenv("CASEMAIL_CONFIG")
	}
	if _, err := os.Stat("casemail.toml"); path == "" && err == nil {
		path = "casemail.toml"
	}
	var ps config.Problems
	if path == "" {
		e.cfg = config.Default()
		ps = e.cfg.Check(e.getenv)
	} else {
		cfg, fileProblems, err := config.CheckFile(path, e.getenv)
		if err != nil {
			return &exitError{code: exConfig, err: err}
		}
		e.cfg, ps = cfg, fileProblems
	}
	if e.cfg != nil {
		ps = append(ps, checkTemplates(e.cfg)...)
		mps, err := checkMembers(e.cfg)
		if err != nil {
			return err
		}
		ps = append(ps, mps...)
	}
	src := path
	if src == "" {
		src = "the embedded default"
	}
	if len(ps) > 0 {
		for _, p := range ps {
			fmt.Fprintln(e.stderr, p.Error())
		}
		return &exitError{code: exConfig, err: fmt.Errorf("%s: %d problem(s) found", src, len(ps))}
	}
	fmt.Fprintf(e.stdout, "%s is valid: %d route(s), %d IMAP mailbox(es), SMTP listener %q, outgoing mail via %s\n",
		src, len(e.cfg.Routes), len(e.cfg.IMAP), e.cfg.SMTP.Listen, e.cfg.Outbound.Transport)
	return nil
}
