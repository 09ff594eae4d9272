package ingest

import (
	"context"
	"errors"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/templates"
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
// They are applied with the casebook methods the command line uses, after
// the mail is recorded, and removed from the comment text; a refused one
// is answered to the agent with agent_command_refused. Only agents' lines
// are commands: a customer's "#close" is text.

// agentCommand is one command line of an agent's reply.
type agentCommand struct {
	line string // as written, for the refusal notice
	verb string // close, assign, priority, note, watch
	arg  string
}

// agentMail is what an agent's mail asks beyond its comment.
type agentMail struct {
	agent    string
	caseID   int64
	note     bool // an internal note: not an answer to the customer
	commands []agentCommand
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
	in.agent = nil // decided again: nothing from an earlier decision stays
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
	var rest []agentCommand
	for _, cmd := range cmds {
		if cmd.verb == "note" {
			note = true
			continue
		}
		rest = append(rest, cmd)
	}
	in.agent = &agentMail{agent: sender, caseID: c.ID, note: note, commands: rest}
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

// afterAgentMail applies what an agent's recorded mail asks beside its
// comment: the agent takes an unassigned case they answer
// (policy.assign_on_first_reply), then the commands, #close last. A
// refused command is answered to the agent; the mail stays recorded
// whatever happens here (I4), and a duplicate applies nothing (I2).
func (g *Gateway) afterAgentMail(ctx context.Context, in *inbound, rec casebook.Recorded) {
	a := in.agent
	if a == nil || rec.Duplicate || rec.Message.CaseID == nil || *rec.Message.CaseID != a.caseID {
		return
	}
	switch rec.Message.Outcome {
	case casebook.OutcomeCommentAdded, casebook.OutcomeIgnored:
	default:
		return
	}
	log := g.log.With("case", a.caseID, "agent", a.agent)
	assigns := false
	var closing []agentCommand
	for _, cmd := range a.commands {
		assigns = assigns || cmd.verb == "assign"
	}
	// Answering the customer takes the case (as Zammad does); a note does not.
	if !assigns && !a.note && g.cfg.Policy.AssignOnFirstReply && rec.Message.Outcome == casebook.OutcomeCommentAdded {
		c, err := g.book.Case(ctx, a.caseID)
		if err == nil && c.Assignee == "" {
			_, err = g.book.Assign(ctx, a.caseID, a.agent, a.agent)
		}
		if err != nil {
			log.Error("first reply: could not assign the case to the agent", "err", err)
		}
	}
	for _, cmd := range a.commands {
		if cmd.verb == "close" {
			closing = append(closing, cmd)
			continue
		}
		g.applyCommand(ctx, in, a, cmd)
	}
	for _, cmd := range closing {
		g.applyCommand(ctx, in, a, cmd)
	}
}

// applyCommand applies one command as the agent, answering a refusal.
func (g *Gateway) applyCommand(ctx context.Context, in *inbound, a *agentMail, cmd agentCommand) {
	var err error
	switch cmd.verb {
	case "close":
		err = g.book.CloseCase(ctx, a.caseID, a.agent)
	case "assign":
		to := cmd.arg
		switch strings.ToLower(to) {
		case "me", "moi":
			to = a.agent
		case "":
			err = reason(RCommandNoAgent)
		}
		if err == nil {
			_, err = g.book.Assign(ctx, a.caseID, to, a.agent)
		}
	case "priority":
		_, err = g.book.Set(ctx, a.caseID, casebook.CaseFields{Priority: strings.ToUpper(cmd.arg)}, a.agent)
	case "watch":
		err = g.book.AddWatcherBy(ctx, a.caseID, cmd.arg, a.agent)
	}
	if err == nil {
		g.log.Info("agent command applied", "case", a.caseID, "agent", a.agent, "command", cmd.line)
		return
	}
	g.log.Info("agent command refused", "case", a.caseID, "agent", a.agent, "command", cmd.line, "err", err)
	why := commandRefusal(cmd, err) // reasons.go: said in the agent's language
	data := map[string]string{"command": cmd.line, "reason": err.Error(), "reason@fr": why.In("fr"), "reason@en": why.In("en"), "subject": in.parsed.Subject,
		"in_reply_to": in.parsed.MessageID, "references": strings.Join(append(in.parsed.References, in.parsed.MessageID), " ")}
	if nerr := g.book.NotifyAgent(ctx, a.caseID, a.agent, templates.AgentCommandRefused, data); nerr != nil {
		g.log.Error("could not tell the agent their command was refused", "case", a.caseID, "agent", a.agent, "err", nerr)
	}
}
