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
		{name: "deliver", args: "[--sender ADDR] [--recipient ADDR]... < message", summary: "record one message from stdin (MTA pipe); exit 0 recorded, 75 retry, 65 unusable", run: cmdDeliver},
		{name: "route test", args: "[--recipient ADDR]... [--json] [--client-ip IP [--helo NAME] [--mail-from ADDR]] FILE.eml", summary: "print the decision for a mail, with its sender authentication, applying nothing", run: cmdRouteTest},
		{name: "parse", args: "[--json] [--client-ip IP [--helo NAME] [--mail-from ADDR]] FILE.eml", summary: "print what the gateway reads in a mail, and who really sent it (config optional)", run: cmdParse, noStore: true},
		{name: "config check", args: "[--config FILE]", summary: "validate the config and template overrides", run: cmdConfigCheck, noStore: true},
		{name: "config example", args: "", summary: "print a commented example config", run: cmdConfigExample, noStore: true},

		{name: "case list", args: "[--org ORG] [--team T] [--assignee ADDR|me|none] [--status open|closed] [--priority P] [--older-than DURATION] [--limit N] [--as ADDR] [--json]", summary: "the support queue across organisations, most urgent then oldest first; --as CUSTOMER keeps R7 scoping, --as AGENT lists that agent's teams", run: cmdCaseList},
		{name: "case show", args: "ID [--as ADDR] [--json]", summary: "one case with its watchers, attachments, comments (newest first) and history", run: cmdCaseShow},
		{name: "case search", args: "QUERY [--org ORG] [--as ADDR] [--json]", summary: "cases of one organisation matching words", run: cmdCaseSearch},
		{name: "case open", args: "--org ORG --product P --requester ADDR --title T [--body-file F|-] [--priority P] [--watcher ADDR]... [--by AGENT] [--json]", summary: "open a case for a customer (a phone call): R1-R3 apply to the requester, who is told as if they had written", run: cmdCaseOpen},
		{name: "case assign", args: "ID --to ADDR|none [--by ADDR] [--json]", summary: "give a case to an agent, or to nobody", run: cmdCaseAssign},
		{name: "case set", args: "ID [--priority P] [--product P] [--org ORG] [--title T] [--team T] [--by ADDR] [--json]", summary: "change a case's fields; each change is in its history", run: cmdCaseSet},
		{name: "case comment", args: "ID --by ADDR [--internal] [--body-file F|-] [--json]", summary: "add a comment (agent or customer), mailed to followers; --internal: a note for agents only", run: cmdCaseComment},
		{name: "case close", args: "ID [--by ADDR] [--json]", summary: "close a case (R11)", run: cmdCaseClose},
		{name: "case reopen", args: "ID [--by ADDR] [--json]", summary: "reopen a closed case within the reopen window (R12)", run: cmdCaseReopen},
		{name: "case escalate", args: "ID --reason REASON [--by ADDR] [--json]", summary: "escalate after the initial response time (R15); reasons: communication, knowledge, callback, urgency, resolution, time_to_resolution", run: cmdCaseEscalate},
		{name: "case followup", args: "ID --by ADDR [--title T] [--json]", summary: "open a follow-up linked to a closed case (R14)", run: cmdCaseFollowup},
		{name: "case watchers", args: "ID add|remove ADDR [--json]", summary: "add or remove a watcher (R8)", run: cmdCaseWatchers},

		{name: "account add", args: "ADDR [--name N] [--verified] [--agent] [--locale fr|en] [--json]", summary: "register a person; --agent: support staff", run: cmdAccountAdd},
		{name: "account list", args: "[--json]", summary: "every account", run: cmdAccountList},
		{name: "account show", args: "ADDR [--json]", summary: "one account and the organisations it belongs to", run: cmdAccountShow},
		{name: "account set", args: "ADDR [--name N] [--locale fr|en] [--agent[=false]] [--json]", summary: "change an account", run: cmdAccountSet},
		{name: "account disable", args: "ADDR [--json]", summary: "stop an account opening cases; its history stays", run: cmdAccountDisable},
		{name: "account unsuppress", args: "ADDR [--json]", summary: "send notifications again to an address suppressed after a hard bounce or a complaint", run: cmdAccountUnsuppress},
		{name: "org create", args: "SLUG --owner ADDR [--name N] [--entitle PRODUCT]... [--json]", summary: "create an organisation entitled to products (R3)", run: cmdOrgCreate},
		{name: "org list", args: "[--json]", summary: "every organisation with its owner and products", run: cmdOrgList},
		{name: "org show", args: "SLUG [--json]", summary: "one organisation", run: cmdOrgShow},
		{name: "org set", args: "SLUG [--name N] [--entitle P]... [--owner ADDR] [--json]", summary: "rename, change the owner, entitle to more products (R3)", run: cmdOrgSet},
		{name: "access grant", args: "--org SLUG --by OWNER ADDR --perm open,view [--json]", summary: "the owner shares access to the organisation (R16)", run: cmdAccessGrant},
		{name: "access revoke", args: "--org SLUG --by OWNER ADDR [--json]", summary: "the owner revokes shared access (R18)", run: cmdAccessRevoke},
		{name: "access list", args: "--org SLUG [--json]", summary: "every grant of an organisation, revoked ones included", run: cmdAccessList},
		{name: "message list", args: "[--outcome OUTCOME] [--json]", summary: "every inbound message and its outcome", run: cmdMessageList},
		{name: "message show", args: "ID [--raw] [--json]", summary: "one inbound message record, or its raw bytes", run: cmdMessageShow},
		{name: "message release", args: "ID (--case N | --new-case [--org ORG] [--product P]) [--by ADDR] [--json]", summary: "add a quarantined mail an agent checked: as a comment by its sender, or as a new case", run: cmdMessageRelease},
		{name: "message replay", args: "ID [--dry-run] [--json]", summary: "decide again on a stored mail with today's config and record the new outcome beside the old one (once)", run: cmdMessageReplay},
		{name: "outbox list", args: "[--status pending|sent|failed] [--json]", summary: "notifications and their delivery state", run: cmdOutboxList},
		{name: "outbox retry", args: "ID | --failed [--json]", summary: "send a notification again now, or every failed one", run: cmdOutboxRetry},
		{name: "store copy", args: "--from sqlite:PATH --to postgres://… [--json]", summary: "move an installation into an empty PostgreSQL database, checked by counts and checksums (stop serve first)", run: cmdStoreCopy, noStore: true},
		{name: "version", args: "", summary: "print casemail's version", run: cmdVersion, noStore: true},
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
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || (args[0] == "help" && len(args) == 1) {
		printHelp(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" {
		args = []string{"version"}
	}
	if args[0] == "help" {
		// "casemail help case open" is "casemail case open --help".
		args = append(strings.Fields(strings.Join(args[1:], " ")), "--help")
	}
	cmd, rest := findCommand(args)
	if cmd == nil {
		return unknownCommand(stdout, stderr, args)
	}
	err := cmd.run(e, rest)
	if err == nil {
		return 0
	}
	var help *helpRequest
	if errors.As(err, &help) {
		printCommandHelp(stdout, cmd, help.fs)
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

// unknownCommand answers words that name no command. A group's name alone
// ("casemail case", "casemail help case") lists the group's commands: on
// stdout with exit 0 when help was asked for, else on stderr with exit 2.
func unknownCommand(stdout, stderr io.Writer, args []string) int {
	var words []string
	help := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--help" || a == "-h":
			help = true
		case strings.HasPrefix(a, "-"):
			if len(words) == 0 && !strings.Contains(a, "=") {
				i++ // a leading flag's value, as findCommand reads it
			}
		case len(words) < 2:
			words = append(words, a)
		}
	}
	var group []command
	if len(words) > 0 {
		for _, c := range commands() {
			if strings.HasPrefix(c.name, words[0]+" ") {
				group = append(group, c)
			}
		}
	}
	switch {
	case len(group) > 0 && len(words) == 1:
		w, code := stderr, 2
		if help {
			w, code = stdout, 0
		}
		fmt.Fprintf(w, "casemail %s: one of these commands (\"casemail help %s COMMAND\" for its flags):\n", words[0], words[0])
		for _, c := range group {
			fmt.Fprintf(w, "  %s\n      %s\n", synopsis(c), c.summary)
		}
		return code
	case len(words) == 0:
		fmt.Fprintln(stderr, `casemail: no command given: see "casemail help"`)
	case len(group) > 0:
		fmt.Fprintf(stderr, "casemail: unknown command %q: see \"casemail help %s\"\n", strings.Join(words, " "), words[0])
	default:
		fmt.Fprintf(stderr, "casemail: unknown command %q: see \"casemail help\"\n", strings.Join(words, " "))
	}
	return 2
}

// synopsis is a command's name and arguments as the help lists them.
func synopsis(c command) string {
	return strings.TrimSpace("casemail " + c.name + " " + c.args)
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `casemail: an email-driven helpdesk gateway.

"casemail help COMMAND" or "casemail COMMAND --help" prints one command's
flags and an example.

Usage: casemail COMMAND [ARGS] [--config FILE]

Every command takes --config FILE; without it $CASEMAIL_CONFIG, then
./casemail.toml if it exists, else the embedded default (SQLite ./casemail.db,
SMTP on 127.0.0.1:2525 for support@localhost, outgoing mail into the Maildir
./casemail-sent). Flags may stand before or after arguments. --json output goes
to stdout; errors go to stderr as one sentence with a non-zero exit.

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %s\n      %s\n", strings.TrimPrefix(synopsis(c), "casemail "), c.summary)
	}
}
