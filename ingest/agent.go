package ingest

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
)

// Agents answer by mail (issue 11). An agent's reply to agent mail is a
// public comment; mail to the internal-note address
// (LOCAL+note-TOKEN@reply_domain, the agent's own signed token) is a note
// for agents only. Lines at the top of an agent's reply are commands, the
// way GitHub's quick actions and Zendesk's mail API work:
//
//	#close            close the case (R11)
//	#assign me        take the case; #assign ADDR gives it to another agent, #assign none to nobody
//	#priority P2      change the priority
//	#note             the whole mail is an internal note
//	#watch ADDR       add a watcher (R8)
//
// They are removed from the comment text and applied with the command
// line's rules in the transaction that records the mail (casebook
// commands.go), so that a crash never keeps the mail without them (I4)
// and a duplicate applies nothing (I2); a refused one is answered to the
// agent with agent_command_refused and the rest of the mail is kept. Only
// agents' lines are commands: a customer's "#close" is text.

// agentCommand is one command line of an agent's reply.
type agentCommand struct {
	line string // as written, for the refusal notice
	verb string // close, assign, priority, note, watch
	arg  string
}

var commandVerbs = map[string]bool{"close": true, "assign": true, "priority": true, "note": true, "watch": true}

// parseCommands splits the command lines at the top of text from the rest.
// Blank lines may come before and between commands; the first other line
// ends them, so a "#close" in the middle of a sentence or after it is text.
func parseCommands(text string) ([]agentCommand, string) {
	var cmds []agentCommand
	lines := strings.SplitAfter(text, "\n")
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if !strings.HasPrefix(l, "#") {
			break
		}
		fields := strings.Fields(l[1:])
		if len(fields) == 0 || !commandVerbs[strings.ToLower(fields[0])] {
			break
		}
		cmds = append(cmds, agentCommand{line: l, verb: strings.ToLower(fields[0]), arg: strings.Join(fields[1:], " ")})
	}
	if len(cmds) == 0 {
		return nil, text
	}
	return cmds, strings.TrimLeft(strings.Join(lines[i:], ""), "\r\n")
}

// agentNote handles mail to an internal-note address: the agent's signed
// token for a case (I6), an agent's own mail only. ok is false for any
// other mail.
func (g *Gateway) agentNote(ctx context.Context, in *inbound, d *Decision, sender string) (Decision, bool, error) {
	for _, rcpt := range g.recipients(in) {
		kind, tok := address.Parse(rcpt, g.local, g.cfg.Outbound.ReplyDomain)
		if kind != address.Note {
			continue
		}
		id, err := g.signer.Verify(tok, sender, g.now())
		if err != nil {
			return d.set(casebook.ActQuarantine, reason(RNoteToken, rcpt, sender, err.Error())), true, nil
		}
		d.CaseID, d.delivery.Claimed = id, id
		agent, err := g.book.IsAgent(ctx, sender)
		if err != nil {
			return *d, true, err
		}
		if !agent {
			return d.set(casebook.ActQuarantine, reason(RNoteNotAgent, sender, id)), true, nil
		}
		c, err := g.book.Case(ctx, id)
		if errors.Is(err, casebook.ErrNotFound) {
			return d.set(casebook.ActQuarantine, reason(RNoteNoCase, id)), true, nil
		}
		if err != nil {
			return *d, true, err
		}
		d.delivery.Claimed = 0
		d.CaseID, d.Org, d.Product, d.delivery.CaseID = c.ID, c.Org, c.Product, c.ID
		d.add(reason(RNoteFor, id))
		if c.Status == casebook.StatusClosed || c.Imported {
			return d.set(casebook.ActRefuse, reason(RNoteClosed, c.ID)), true, nil
		}
		dec := g.agentComment(in, d, &c, sender, true)
		return dec, true, nil
	}
	return Decision{}, false, nil
}

// agentReply turns an agent's reply to an open case into their comment
// with its commands taken out; ok is false for anyone who is not an agent,
// whose mail is an ordinary comment.
func (g *Gateway) agentReply(ctx context.Context, in *inbound, d *Decision, c *casebook.Case, sender string) (Decision, bool, error) {
	agent, err := g.book.IsAgent(ctx, sender)
	if err != nil || !agent {
		return Decision{}, false, err
	}
	return g.agentComment(in, d, c, sender, false), true, nil
}

// agentComment fills the decision for an agent's mail on c: a public
// comment, or an internal note (the note address, or #note), or only
// commands.
func (g *Gateway) agentComment(in *inbound, d *Decision, c *casebook.Case, sender string, note bool) Decision {
	p := in.parsed
	cmds, body := parseCommands(p.ReplyText)
	assigns := false
	for _, cmd := range cmds {
		switch cmd.verb {
		case "note":
			note = true
			continue
		case "assign":
			assigns = true
		}
		d.delivery.Commands = append(d.delivery.Commands, g.command(cmd, sender))
	}
	// Answering the customer takes the case (as Zammad does); a note does not.
	d.delivery.AssignOnReply = !assigns && !note && g.cfg.Policy.AssignOnFirstReply
	d.delivery.CommandReply = map[string]string{"subject": p.Subject, "in_reply_to": p.MessageID,
		"references": strings.Join(append(slices.Clone(p.References), p.MessageID), " ")}
	d.delivery.Author, d.delivery.Internal = sender, note
	d.delivery.Body = strings.TrimSpace(body)
	_, d.delivery.FullText = parseCommands(p.Text)
	if d.delivery.Body == "" && len(cmds) > 0 {
		// Commands and nothing else: no comment, the commands are the answer.
		return d.set(casebook.ActIgnore, reason(RAgentCommands, sender, c.ID, commandLines(cmds)))
	}
	if !note {
		d.delivery.AddWatchers = g.copied(in, c.Requester)
	}
	what := reason(RAgentComment, c.ID)
	if note {
		what = reason(RAgentNote, c.ID)
	}
	if len(cmds) > 0 {
		what = reason(RWithCommands, what, commandLines(cmds))
	}
	return d.set(casebook.ActComment, what)
}

func commandLines(cmds []agentCommand) string {
	var s []string
	for _, c := range cmds {
		s = append(s, c.line)
	}
	return strings.Join(s, ", ")
}

// command is cmd as the casebook applies it for agent: "#assign me" names
// the agent.
func (g *Gateway) command(cmd agentCommand, agent string) casebook.Command {
	c := casebook.Command{Line: cmd.line, Verb: cmd.verb, Arg: cmd.arg}
	if c.Verb == "assign" && slices.Contains([]string{"me", "moi"}, strings.ToLower(c.Arg)) {
		c.Arg = agent
	}
	return c
}

// logCommands logs what became of an agent's commands, applied or refused
// with the record of their mail (casebook commands.go).
func (g *Gateway) logCommands(rec casebook.Recorded) {
	if len(rec.Commands) == 0 || rec.Message.CaseID == nil {
		return
	}
	for _, r := range rec.Commands {
		log := g.log.With("case", *rec.Message.CaseID, "agent", rec.Message.From, "command", r.Command.Line)
		switch {
		case r.Refused == "":
			log.Info("agent command applied")
		case r.Policy:
			log.Warn("first reply: could not assign the case to the agent", "err", r.Refused)
		default:
			log.Info("agent command refused, the agent is told", "err", r.Refused)
		}
	}
}
