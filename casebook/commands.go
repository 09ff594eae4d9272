package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/casemail/casemail/templates"
)

// An agent's commands by mail (#assign, #priority, #watch, #close, issue
// 11) are applied in the transaction that records the mail, with the
// command line's rules (assignTx, setTx, addWatcherTx, closeCaseTx): a
// crash can no longer keep the mail and lose its commands (I4), and a
// duplicate, recorded already, applies nothing (I2). A command the rules
// refuse is undone alone, under its own savepoint, and answered to the
// agent (agent_command_refused) in the same transaction: it never refuses
// the mail, whose record the gateway would otherwise decide again.

// Command is one command line of an agent's mail.
type Command struct {
	Line string `json:"line"` // as written, quoted in the answer to a refusal
	Verb string `json:"verb"` // assign, priority, watch, close
	Arg  string `json:"arg"`  // assign: an agent's address or "none"; priority: P1..P4; watch: an address
}

// CommandResult is what became of one command of a recorded mail.
type CommandResult struct {
	Command Command `json:"command"`
	Refused string  `json:"refused,omitempty"` // why the rules refused it; "" when applied
	Policy  bool    `json:"policy,omitempty"`  // not written by the agent: assign_on_first_reply
}

// applyCommands applies what an agent's mail d asks beside its comment on
// case caseID, in tx: the author takes an unassigned case they answer
// (d.AssignOnReply), then the commands, #close last. Only a storage
// failure is an error, and fails the record.
func (b *Book) applyCommands(ctx context.Context, tx *sql.Tx, d Delivery, caseID int64) ([]CommandResult, error) {
	if d.Action != ActComment && d.Action != ActIgnore || caseID == 0 || caseID != d.CaseID || d.Author == "" {
		return nil, nil
	}
	var out []CommandResult
	if d.AssignOnReply && d.Action == ActComment {
		c, err := b.caseRow(ctx, tx, caseID)
		if err != nil {
			return nil, err
		}
		if c.Assignee == "" {
			cmd := Command{Line: "assign_on_first_reply", Verb: "assign", Arg: d.Author}
			why, err := b.command(ctx, tx, caseID, d.Author, cmd)
			if err != nil {
				return nil, err
			}
			res := CommandResult{Command: cmd, Policy: true}
			if why != nil {
				res.Refused = why.Error()
			}
			out = append(out, res)
		}
	}
	var closing []Command
	run := func(cmd Command) error {
		why, err := b.command(ctx, tx, caseID, d.Author, cmd)
		if err != nil {
			return err
		}
		if why == nil {
			out = append(out, CommandResult{Command: cmd})
			return nil
		}
		out = append(out, CommandResult{Command: cmd, Refused: why.Error()})
		data := maps.Clone(d.CommandReply)
		if data == nil {
			data = map[string]string{}
		}
		data["command"], data["reason"] = cmd.Line, why.Error()
		for _, loc := range templates.Locales {
			data["reason@"+loc] = commandRefusalIn(cmd, why, loc) // in the agent's language
		}
		return b.enqueue(ctx, tx, notice{Event: string(templates.AgentCommandRefused), Template: templates.AgentCommandRefused,
			To: normAddr(d.Author), CaseID: caseID, Data: data})
	}
	for _, cmd := range d.Commands {
		if cmd.Verb == "close" {
			closing = append(closing, cmd) // what the others change is in the closing notice
			continue
		}
		if err := run(cmd); err != nil {
			return nil, err
		}
	}
	for _, cmd := range closing {
		if err := run(cmd); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// command applies one command as by under a savepoint. A refusal (by
// the rules, or of an invalid request) is returned as why, with what the
// command wrote undone; err is a storage failure, which fails the whole
// record: the mail is sent again and its commands with it (I4).
func (b *Book) command(ctx context.Context, tx *sql.Tx, caseID int64, by string, cmd Command) (why, err error) {
	if _, err := tx.ExecContext(ctx, b.query("command-savepoint")); err != nil {
		return nil, fmt.Errorf("command %q: savepoint: %w", cmd.Line, err)
	}
	if cerr := b.commandTx(ctx, tx, caseID, by, cmd); cerr != nil {
		if !refused(cerr) {
			return nil, fmt.Errorf("command %q: %w", cmd.Line, cerr)
		}
		if _, err := tx.ExecContext(ctx, b.query("command-rollback")); err != nil {
			return nil, fmt.Errorf("command %q: rollback to savepoint: %w (after %v)", cmd.Line, err, cerr)
		}
		why = cerr
	}
	if _, err := tx.ExecContext(ctx, b.query("command-release")); err != nil {
		return nil, fmt.Errorf("command %q: release savepoint: %w", cmd.Line, err)
	}
	return why, nil
}

// commandTx is one command, with the command line's casebook method.
func (b *Book) commandTx(ctx context.Context, tx *sql.Tx, caseID int64, by string, cmd Command) error {
	switch cmd.Verb {
	case "close":
		return b.closeCaseTx(ctx, tx, caseID, by)
	case "assign":
		if strings.TrimSpace(cmd.Arg) == "" {
			return invalid("name the agent: #assign me, #assign ADDRESS or #assign none")
		}
		return b.assignTx(ctx, tx, caseID, cmd.Arg, by)
	case "priority":
		return b.setTx(ctx, tx, caseID, CaseFields{Priority: strings.ToUpper(cmd.Arg)}, by)
	case "watch":
		return b.addWatcherTx(ctx, tx, caseID, cmd.Arg, by)
	}
	return invalid("unknown command %q", cmd.Line)
}

// invalidError is a request the casebook turns down as it stands (a
// priority that does not exist, a case closed already), as opposed to a
// storage failure: a refused command, not a failed record.
type invalidError struct{ error }

func (e invalidError) Unwrap() error { return e.error }

func invalid(format string, args ...any) error { return invalidError{fmt.Errorf(format, args...)} }

// refused reports whether err is the rules or the request turning a
// command down, rather than the store failing.
func refused(err error) bool {
	var inv invalidError
	return IsPermanent(err) || errors.As(err, &inv)
}

// commandRefusalIn says in locale why cmd was refused: a rule's refusal
// in that language (ErrorIn); the casebook's other refusals are worded in
// English only, so another language names what the command could not do
// and its usual causes.
func commandRefusalIn(cmd Command, why error, locale string) string {
	var rule *RuleError
	var which *WhichOrgError
	if locale != "fr" || errors.As(why, &rule) || errors.As(why, &which) || errors.Is(why, ErrNotFound) {
		return ErrorIn(why, locale)
	}
	switch cmd.Verb {
	case "close":
		return "la demande n'a pas pu être fermée : elle l'est peut-être déjà"
	case "assign":
		if strings.TrimSpace(cmd.Arg) == "" {
			return "nommez l'agent : #assign me, #assign ADRESSE ou #assign none"
		}
		return fmt.Sprintf("la demande n'a pas pu être attribuée à %s : il faut l'adresse d'un compte d'agent actif", cmd.Arg)
	case "priority":
		return fmt.Sprintf("la priorité %s n'a pas pu être appliquée : elle doit être P1, P2, P3 ou P4", cmd.Arg)
	case "watch":
		return fmt.Sprintf("%s n'a pas pu être ajouté comme observateur : il l'est peut-être déjà, ou l'adresse n'est pas valable", cmd.Arg)
	}
	return "la commande n'a pas pu être appliquée"
}
