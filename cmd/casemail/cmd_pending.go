package main

import (
	"errors"

	"github.com/casemail/casemail/config"
)

// Commands of the mail side, wired when their packages land.
var errNotYet = errors.New("this command is not available in this build yet")

func cmdServe(e *env, args []string) error { return errNotYet }

func configExample() []byte { return config.Example() }

// checkTemplates renders every template override with sample data.
func checkTemplates(cfg *config.Config) error { return nil }
