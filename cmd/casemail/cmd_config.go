package main

import (
	"fmt"

	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/templates"
)

func configExample() []byte { return config.Example() }

// checkTemplates loads the template overrides and renders every one with
// sample data, naming the file and line of an error.
func checkTemplates(cfg *config.Config) error {
	set, err := templates.New(cfg.Templates.Dir, cfg.Policy.Locale)
	if err != nil {
		return err
	}
	return set.Check()
}

func cmdConfigExample(e *env, args []string) error {
	fs := e.flags("config example")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	_, err := e.stdout.Write(configExample())
	return err
}

func cmdConfigCheck(e *env, args []string) error {
	fs := e.flags("config check")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := e.loadConfig(); err != nil {
		return err
	}
	if err := checkTemplates(e.cfg); err != nil {
		return err
	}
	src := e.cfg.Source
	if src == "" {
		src = "the embedded default"
	}
	fmt.Fprintf(e.stdout, "%s is valid: %d route(s), %d IMAP mailbox(es), SMTP listener %q, outgoing mail via %s\n",
		src, len(e.cfg.Routes), len(e.cfg.IMAP), e.cfg.SMTP.Listen, e.cfg.Outbound.Transport)
	return nil
}
