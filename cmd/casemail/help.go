package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// helpRequest is what parse returns for --help: run prints the command's
// help and exits 0 instead of running it.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return "help requested" }

// examples are what "casemail help COMMAND" shows last: one line a user can
// adapt, for every command.
var examples = map[string]string{
	"serve":           "casemail serve --config /etc/casemail/casemail.toml",
	"deliver":         "casemail deliver --sender \"$SENDER\" --recipient \"$RECIPIENT\" < message.eml   # Postfix pipe(8)",
	"route test":      "casemail route test --recipient support@example.com --json mail.eml",
	"parse":           "casemail parse --json mail.eml",
	"config check":    "casemail config check --config casemail.toml",
	"config example":  "casemail config example > casemail.toml",
	"case list":       "casemail case list --assignee none --status open --older-than 4h --limit 20",
	"case show":       "casemail case show 12 --json",
	"case search":     "casemail case search \"disk full\" --org acme",
	"case open":       "casemail case open --org acme --product cloud --requester ann@acme.example --title \"VM down (phone)\" --body-file notes.txt --by agnes@support.example",
	"case assign":     "casemail case assign 12 --to agnes@support.example",
	"case set":        "casemail case set 12 --priority P2 --team l2",
	"case comment":    "echo \"Customer is VIP\" | casemail case comment 12 --by agnes@support.example --internal",
	"case close":      "casemail case close 12 --by agnes@support.example",
	"case reopen":     "casemail case reopen 12",
	"case escalate":   "casemail case escalate 12 --reason urgency --by ann@acme.example",
	"case followup":   "casemail case followup 12 --by ann@acme.example --title \"Disk full again\"",
	"case watchers":   "casemail case watchers 12 add carl@acme.example",
	"account add":     "casemail account add ann@acme.example --name \"Ann Martin\" --verified --locale en",
	"account list":    "casemail account list",
	"account show":    "casemail account show ann@acme.example --json",
	"account set":     "casemail account set agnes@support.example --agent --locale fr",
	"account disable": "casemail account disable old@acme.example",
	"org create":      "casemail org create acme --owner ann@acme.example --name \"ACME\" --entitle cloud",
	"org list":        "casemail org list",
	"org show":        "casemail org show acme",
	"org set":         "casemail org set acme --name \"ACME Corp\" --entitle storage",
	"access grant":    "casemail access grant carl@acme.example --org acme --by ann@acme.example --perm open,view",
	"access revoke":   "casemail access revoke carl@acme.example --org acme --by ann@acme.example",
	"access list":     "casemail access list --org acme",
	"message list":    "casemail message list --outcome quarantined",
	"message show":    "casemail message show 7 --raw > mail.eml",
	"message release": "casemail message release 7 --case 12 --by agnes@support.example",
	"message replay":  "casemail message replay 7 --dry-run",
	"outbox list":     "casemail outbox list --status failed",
	"outbox retry":    "casemail outbox retry --failed",
	"store copy":      "casemail store copy --from sqlite:/var/lib/casemail/casemail.db --to postgres://casemail@db.example.org/casemail",
	"version":         "casemail version",

	// Suppression after a hard bounce or a complaint (issue 12).
	"account unsuppress": "casemail account unsuppress carl@acme.example",
}

// printCommandHelp prints one command's synopsis, flags and example.
func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", synopsis(*c), c.summary)
	var flags strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		switch name {
		case "string", "value":
			name = strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		case "int":
			name = "N"
		case "duration":
			name = "DURATION"
		}
		fmt.Fprintf(&flags, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&flags, " %s", name)
		}
		fmt.Fprintf(&flags, "\n      %s", usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
			fmt.Fprintf(&flags, " (default %s)", f.DefValue)
		}
		flags.WriteString("\n")
	})
	flags.WriteString("  --config FILE\n      the configuration (default $CASEMAIL_CONFIG, then ./casemail.toml)\n")
	fmt.Fprintf(w, "\nFlags:\n%s", flags.String())
	if ex := examples[c.name]; ex != "" {
		fmt.Fprintf(w, "\nExample:\n  %s\n", ex)
	}
}

// version is set at build time (-ldflags "-X main.version=v1.2.0"); else
// the module's version or VCS revision from the build information.
var version = ""

func cmdVersion(e *env, args []string) error {
	fs := e.flags("version")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	v := version
	goVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		if v == "" {
			rev, dirty := "", false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if rev != "" {
				v = "devel " + rev[:min(12, len(rev))]
				if dirty {
					v += "-dirty"
				}
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	fmt.Fprintf(e.stdout, "casemail %s %s\n", v, goVersion)
	return nil
}
