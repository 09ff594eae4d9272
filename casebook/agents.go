package casebook

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/templates"
)

// Team is a group of agents (config [[team]]): its members, or its address
// (a distribution list) when it has none, hear of its cases.
type Team struct {
	Name    string
	Members []string
	Address string
	Locale  string // agent mail to a member with no locale of their own
}

// agentRcpt is one agent to mail, with the locale to use when their
// account has none.
type agentRcpt struct {
	To, Locale string
}

// team returns the team of c: its own, else Options.DefaultTeam.
func (b *Book) team(c Case) (Team, bool) {
	name := cmp.Or(c.Team, b.opt.DefaultTeam)
	for _, t := range b.opt.Teams {
		if name != "" && strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Team{}, false
}

// agentsOf is who at support hears of a change to c (issue 11): its
// assignee if it has one, else every member of its team, else the team's
// address; never the author of the change, never the requester or a
// watcher (a customer must not receive agent mail).
func (b *Book) agentsOf(c Case, author string) []agentRcpt {
	t, _ := b.team(c)
	var to []string
	switch {
	case c.Assignee != "":
		to = []string{c.Assignee}
	case len(t.Members) > 0:
		to = t.Members
	case t.Address != "":
		to = []string{t.Address}
	}
	customers := append([]string{normAddr(c.Requester)}, c.Watchers...)
	for _, w := range c.WatcherDetails {
		customers = append(customers, normAddr(w.Address))
	}
	var out []agentRcpt
	for _, a := range to {
		a = normAddr(a)
		if a == "" || a == normAddr(author) || slices.Contains(customers, a) || slices.ContainsFunc(out, func(r agentRcpt) bool { return r.To == a }) {
			continue
		}
		out = append(out, agentRcpt{To: a, Locale: t.Locale})
	}
	return out
}

// notifyAgents queues template for everyone agentsOf(c, author) names,
// plus extra (policy.escalation_notify), once each.
func (b *Book) notifyAgents(ctx context.Context, tx *sql.Tx, c Case, template templates.Name, author string, data map[string]string, extra ...string) error {
	rcpts := b.agentsOf(c, author)
	for _, a := range extra {
		if a = normAddr(a); a != "" && !slices.ContainsFunc(rcpts, func(r agentRcpt) bool { return r.To == a }) {
			rcpts = append(rcpts, agentRcpt{To: a})
		}
	}
	for _, r := range rcpts {
		if err := b.enqueue(ctx, tx, notice{Event: string(template), Template: template, To: r.To, CaseID: c.ID, Data: data, Locale: r.Locale}); err != nil {
			return err
		}
	}
	return nil
}

// agentCaseOpened tells the case's team of a new case: everything an agent
// needs to answer from their mail client, and the message whose
// attachments outbound attaches (Data raw_sha256).
func (b *Book) agentCaseOpened(ctx context.Context, tx *sql.Tx, c Case, messageID int64, by string) error {
	data := caseData(c)
	data["body"], data["team"] = c.Description, cmp.Or(c.Team, b.opt.DefaultTeam)
	if a, err := b.account(ctx, tx, c.Requester); err == nil {
		data["requester_name"] = a.Name
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	data["watchers"] = strings.Join(c.Watchers, "\n")
	if err := b.attachFrom(ctx, tx, data, messageID); err != nil {
		return err
	}
	return b.notifyAgents(ctx, tx, c, templates.AgentCaseOpened, by, data)
}

// attachFrom names the inbound message whose attachments outbound attaches
// to a notification (Data raw_sha256); a comment typed on the command
// line (messageID 0) has none.
func (b *Book) attachFrom(ctx context.Context, tx *sql.Tx, data map[string]string, messageID int64) error {
	if messageID == 0 {
		return nil
	}
	var sha string
	if err := tx.QueryRowContext(ctx, b.query("message-raw-of"), messageID).Scan(&sha); err != nil {
		return fmt.Errorf("raw message of message %d: %w", messageID, err)
	}
	data["raw_sha256"] = sha
	return nil
}

// agentCommentAdded tells agents of a customer's or watcher's comment, or
// of a colleague's internal note: the new text only (R9).
func (b *Book) agentCommentAdded(ctx context.Context, tx *sql.Tx, c Case, cm Comment) error {
	c, err := b.caseTx(ctx, tx, c.ID) // with its watchers, who never get agent mail
	if err != nil {
		return err
	}
	data := caseData(c)
	data["author"], data["body"] = b.agentDisplayName(ctx, tx, cm.Author), cm.Body
	if cm.Internal {
		data["internal"] = "1"
	}
	if err := b.attachFrom(ctx, tx, data, cm.MessageID); err != nil {
		return err
	}
	return b.notifyAgents(ctx, tx, c, templates.AgentCommentAdded, cm.Author, data)
}

// agentCaseAssigned tells the new assignee that case id is theirs, unless
// they took it themselves.
func (b *Book) agentCaseAssigned(ctx context.Context, tx *sql.Tx, id int64, to, by string) error {
	if to == "" || to == normAddr(by) {
		return nil
	}
	c, err := b.caseTx(ctx, tx, id)
	if err != nil {
		return err
	}
	data := caseData(c)
	data["assignee"], data["author"] = to, by
	return b.notifyAgents(ctx, tx, c, templates.AgentCaseAssigned, by, data)
}

// agentDisplayName is "Name <addr>" for an account with a name, else addr:
// agents see who wrote, and the address to write to.
func (b *Book) agentDisplayName(ctx context.Context, q querier, addr string) string {
	if a, err := b.account(ctx, q, addr); err == nil && a.Name != "" {
		return a.Name + " <" + normAddr(addr) + ">"
	}
	return normAddr(addr)
}

// agentName is how an agent signs a public answer: their name, else the
// support identity's (Options.SupportName), never their address.
func (b *Book) agentName(ctx context.Context, q querier, addr string) string {
	if a, err := b.account(ctx, q, addr); err == nil && strings.TrimSpace(a.Name) != "" {
		return strings.TrimSpace(a.Name)
	}
	return cmp.Or(b.opt.SupportName, "Support")
}

// refusedClaim tells agents that a mail claiming case id was refused or
// quarantined: who sent it and why, in each agent's language when the
// decision gave it (Delivery.ReasonIn). A claimed case that does not exist
// has nobody to tell.
func (b *Book) refusedClaim(ctx context.Context, tx *sql.Tx, id int64, from string, d Delivery, subject string) error {
	c, err := b.caseTx(ctx, tx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	data := caseData(c)
	data["author"], data["reason"], data["subject"] = from, d.Reason, subject
	for loc, r := range d.ReasonIn {
		data["reason@"+loc] = r
	}
	return b.notifyAgents(ctx, tx, c, templates.AgentRefused, from, data)
}

// IsAgent reports whether addr is an enabled agent account.
func (b *Book) IsAgent(ctx context.Context, addr string) (bool, error) {
	a, err := b.account(ctx, b.rdb, addr)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && a.Agent && !a.Disabled, err
}

// RawAttachments returns the attachments of a stored raw message, their
// content included; outbound attaches them to agent mail.
func (b *Book) RawAttachments(ctx context.Context, rawSHA256 string) ([]message.Attachment, error) {
	var buf bytes.Buffer
	if err := b.WriteRaw(ctx, rawSHA256, &buf); err != nil {
		return nil, err
	}
	p, err := message.Parse(buf.Bytes(), message.Options{})
	if err != nil {
		return nil, fmt.Errorf("attachments of %s: %w", rawSHA256, err)
	}
	return p.Attachments, nil
}

// agentAudience is the agents Record would mail for d (Audience).
func (b *Book) agentAudience(ctx context.Context, q querier, d Delivery) ([]string, error) {
	var c Case
	var author string
	switch d.Action {
	case ActOpen:
		if d.Open.Imported {
			return nil, nil
		}
		c = Case{Team: d.Open.Team, Requester: d.Open.Requester, WatcherDetails: newCaseWatchers(d.Open)}
		author = d.Open.By
		if d.Open.FollowUpOf != 0 {
			orig, err := b.caseTx(ctx, q, d.Open.FollowUpOf)
			if err != nil {
				return nil, err
			}
			nc := followUpOf(orig, d.Open.Requester, "", "")
			c = Case{Team: nc.Team, Requester: nc.Requester, WatcherDetails: newCaseWatchers(nc)}
		}
	case ActComment:
		var err error
		if c, err = b.caseTx(ctx, q, d.CaseID); err != nil {
			return nil, err
		}
		if agent, err := b.isAgentTx(ctx, q, d.Author); err != nil || (agent && !d.Internal) {
			return nil, err // an agent's public answer goes to the customer only
		}
		author = d.Author
	case ActRefuse, ActQuarantine:
		id := cmp.Or(d.CaseID, d.Claimed)
		if id == 0 {
			return nil, nil
		}
		var err error
		if c, err = b.caseTx(ctx, q, id); errors.Is(err, ErrNotFound) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		author = d.Message.From
	default:
		return nil, nil
	}
	var out []string
	for _, r := range b.agentsOf(c, author) {
		out = append(out, r.To)
	}
	return out, nil
}

func (b *Book) isAgentTx(ctx context.Context, q querier, addr string) (bool, error) {
	a, err := b.account(ctx, q, addr)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil && a.Agent && !a.Disabled, err
}
