// Command casemail is an email-driven helpdesk gateway: it turns support
// mail into cases, replies into comments and Cc'd people into watchers, and
// sends every change back out as a templated mail. Run "casemail help".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// commands is the whole command line; "casemail help" prints it.
func commands() []command {
	return []command{
		{name: "serve", args: "[--config FILE]", summary: "run listeners, pollers and the outbox worker; stops cleanly on SIGTERM", run: cmdServe},
		{name: "deliver", args: "[--recipient ADDR]... < message", summary: "record one message from stdin (MTA pipe); exit 0 recorded, 75 retry, 65 unusable", run: cmdDeliver},
		{name: "route test", args: "[--json] [--client-ip IP [--helo NAME] [--mail-from ADDR]] FILE.eml", summary: "print the decision for a mail, with its sender authentication, applying nothing", run: cmdRouteTest},
		{name: "parse", args: "[--json] [--client-ip IP [--helo NAME] [--mail-from ADDR]] FILE.eml", summary: "print what the gateway reads in a mail, and who really sent it (config optional)", run: cmdParse, noStore: true},
		{name: "config check", args: "[--config FILE]", summary: "validate the config and template overrides", run: cmdConfigCheck, noStore: true},
		{name: "config example", args: "", summary: "print a commented example config", run: cmdConfigExample, noStore: true},

		{name: "case list", args: "[--org ORG] [--status open|closed] [--as ADDR] [--json]", summary: "cases of one organisation, newest first", run: cmdCaseList},
		{name: "case show", args: "ID [--as ADDR] [--json]", summary: "one case with its watchers and comments (newest first)", run: cmdCaseShow},
		{name: "case search", args: "QUERY [--org ORG] [--as ADDR] [--json]", summary: "cases of one organisation matching words", run: cmdCaseSearch},
		{name: "case comment", args: "ID --by ADDR [--body-file F|-]", summary: "add a comment (agent or customer); notifies followers", run: cmdCaseComment},
		{name: "case close", args: "ID [--by ADDR]", summary: "close a case (R11)", run: cmdCaseClose},
		{name: "case reopen", args: "ID [--by ADDR]", summary: "reopen a closed case within the reopen window (R12)", run: cmdCaseReopen},
		{name: "case escalate", args: "ID --reason REASON [--by ADDR]", summary: "escalate after the initial response time (R15); reasons: communication, knowledge, callback, urgency, resolution, time_to_resolution", run: cmdCaseEscalate},
		{name: "case followup", args: "ID --by ADDR [--title T]", summary: "open a follow-up linked to a closed case (R14)", run: cmdCaseFollowup},
		{name: "case watchers", args: "ID add|remove ADDR", summary: "add or remove a watcher (R8)", run: cmdCaseWatchers},

		{name: "account add", args: "ADDR [--name N] [--verified] [--agent] [--locale fr|en]", summary: "register a person; --agent: support staff", run: cmdAccountAdd},
		{name: "org create", args: "SLUG --owner ADDR [--name N] [--entitle PRODUCT]...", summary: "create an organisation entitled to products (R3)", run: cmdOrgCreate},
		{name: "access grant", args: "--org SLUG --by OWNER ADDR --perm open,view", summary: "the owner shares access to the organisation (R16)", run: cmdAccessGrant},
		{name: "access revoke", args: "--org SLUG --by OWNER ADDR", summary: "the owner revokes shared access (R18)", run: cmdAccessRevoke},
		{name: "access list", args: "--org SLUG [--json]", summary: "every grant of an organisation, revoked ones included", run: cmdAccessList},
		{name: "message list", args: "[--outcome OUTCOME] [--json]", summary: "every inbound message and its outcome", run: cmdMessageList},
		{name: "message show", args: "ID [--raw] [--json]", summary: "one inbound message record, or its raw bytes", run: cmdMessageShow},
		{name: "outbox list", args: "[--status pending|sent|failed] [--json]", summary: "notifications and their delivery state", run: cmdOutboxList},
	}
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	defer func() {
		if e.book != nil {
			e.book.Close()
		}
	}()
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		fmt.Fprintf(stderr, "casemail: unknown command %q: see \"casemail help\"\n", strings.Join(args[:min(2, len(args))], " "))
		return 2
	}
	err := cmd.run(e, rest)
	if err == nil {
		return 0
	}
	var ee *exitError
	code := 1
	if errors.As(err, &ee) {
		code = ee.code
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintf(stderr, "casemail: %s\n", msg)
	}
	return code
}

// findCommand matches the longest command name at the start of args; global
// flags such as --config may stand before it.
func findCommand(args []string) (*command, []string) {
	var pre []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		pre = append(pre, args[0])
		if !strings.Contains(args[0], "=") && len(args) > 1 {
			pre = append(pre, args[1])
			args = args[1:]
		}
		args = args[1:]
	}
	cmds := commands()
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmds[i].name {
			return &cmds[i], append(pre, args[len(words):]...)
		}
	}
	return nil, nil
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `casemail: an email-driven helpdesk gateway.

Usage: casemail COMMAND [ARGS] [--config FILE]

Every command takes --config FILE; without it $CASEMAIL_CONFIG, then
./casemail.toml if it exists, else the embedded default (SQLite ./casemail.db,
SMTP on 127.0.0.1:2525 for support@localhost, outgoing mail into the Maildir
./casemail-sent). Flags may stand before or after arguments. --json output goes
to stdout; errors go to stderr as one sentence with a non-zero exit.

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s %s\n      %s\n", c.name, c.args, c.summary)
	}
}
