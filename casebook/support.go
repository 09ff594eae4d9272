package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/casemail/casemail/templates"
)

// Nobody is how "--to none" and "--assignee none" name the absence of an assignee.
const Nobody = "none"

// checkAgent refuses by unless it is an enabled agent account. "" is the
// administrator at the console, who may do anything an agent may.
func (b *Book) checkAgent(ctx context.Context, q querier, by string) error {
	if by == "" {
		return nil
	}
	a, err := b.account(ctx, q, by)
	if err != nil {
		return fmt.Errorf("%s is not an agent: %w", normAddr(by), err)
	}
	if !a.Agent || a.Disabled {
		return refuse(R7, "%s is not an agent: only support staff may do this", a.Address)
	}
	return nil
}

// Assign makes the agent to the one working case id, or nobody when to is
// "" or "none". by is the agent doing it ("" for the administrator).
func (b *Book) Assign(ctx context.Context, id int64, to, by string) (Case, error) {
	err := b.tx(ctx, func(tx *sql.Tx) error { return b.assignTx(ctx, tx, id, to, by) })
	if err != nil {
		return Case{}, err
	}
	b.wake()
	return b.Case(ctx, id)
}

// assignTx is Assign inside the caller's transaction: the command line's
// own, or the record of an agent's mail with "#assign" (commands.go).
func (b *Book) assignTx(ctx context.Context, tx *sql.Tx, id int64, to, by string) error {
	to = normAddr(to)
	if to == Nobody {
		to = ""
	}
	c, err := b.caseRow(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := b.checkAgent(ctx, tx, by); err != nil {
		return err
	}
	if to != "" {
		a, err := b.account(ctx, tx, to)
		if err != nil {
			return fmt.Errorf("assign case %d: %w", id, err)
		}
		if !a.Agent || a.Disabled {
			return invalid("assign case %d: %s is not an active agent account", id, to)
		}
	}
	if normAddr(c.Assignee) == to {
		return nil // assigning again changes nothing and records nothing
	}
	if _, err := tx.ExecContext(ctx, b.query("case-assign"), to, id); err != nil {
		return fmt.Errorf("assign case %d: %w", id, err)
	}
	detail := to
	if detail == "" {
		detail = Nobody
	}
	if err := b.event(ctx, tx, id, by, EventAssigned, "%s", detail); err != nil {
		return err
	}
	return b.agentCaseAssigned(ctx, tx, id, to, by)
}

// CaseFields are the fields "case set" changes; an empty one stays as it is.
type CaseFields struct {
	Priority string `json:"priority,omitempty"`
	Product  string `json:"product,omitempty"`
	Org      string `json:"org,omitempty"`
	Title    string `json:"title,omitempty"`
	Team     string `json:"team,omitempty"`
}

// Set changes a case's fields, recording one event per field that changed.
// The organisation must exist and be entitled to the product (R3); the
// requester's right to open cases there is not asked again: support moves a
// case where it belongs.
func (b *Book) Set(ctx context.Context, id int64, f CaseFields, by string) (Case, error) {
	err := b.tx(ctx, func(tx *sql.Tx) error { return b.setTx(ctx, tx, id, f, by) })
	if err != nil {
		return Case{}, err
	}
	b.wake()
	return b.Case(ctx, id)
}

// setTx is Set inside the caller's transaction: the command line's own, or
// the record of an agent's mail with "#priority" (commands.go).
func (b *Book) setTx(ctx context.Context, tx *sql.Tx, id int64, f CaseFields, by string) error {
	if f.Priority != "" && !validPriority(f.Priority) {
		return invalid("priority must be P1..P4, not %q", f.Priority)
	}
	if f == (CaseFields{}) {
		return invalid("nothing to change: name at least one of --priority, --product, --org, --title, --team")
	}
	c, err := b.caseRow(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := b.checkAgent(ctx, tx, by); err != nil {
		return err
	}
	next := CaseFields{Priority: c.Priority, Product: c.Product, Org: c.Org, Title: c.Title, Team: c.Team}
	type change struct {
		kind     EventKind
		old, new string
		to       *string
	}
	changes := []change{
		{EventPriority, c.Priority, f.Priority, &next.Priority},
		{EventProduct, c.Product, f.Product, &next.Product},
		{EventOrg, c.Org, f.Org, &next.Org},
		{EventTitle, c.Title, strings.TrimSpace(f.Title), &next.Title},
		{EventTeam, c.Team, f.Team, &next.Team},
	}
	var done []change
	for _, ch := range changes {
		if ch.new != "" && ch.new != ch.old {
			*ch.to = ch.new
			done = append(done, ch)
		}
	}
	if len(done) == 0 {
		return nil
	}
	if next.Org != c.Org || next.Product != c.Product {
		o, err := b.org(ctx, tx, next.Org)
		if err != nil {
			return err
		}
		if err := entitled(o, next.Product); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, b.query("case-set"), next.Priority, next.Product, next.Org, next.Title, next.Team, id); err != nil {
		return fmt.Errorf("change case %d: %w", id, err)
	}
	for _, ch := range done {
		if err := b.event(ctx, tx, id, by, ch.kind, "%s -> %s", ch.old, ch.new); err != nil {
			return err
		}
	}
	if next.Priority == c.Priority {
		return nil
	}
	// The customer should know how urgently their case is handled; the
	// other fields are support's own filing.
	moved, err := b.caseTx(ctx, tx, id)
	if err != nil {
		return err
	}
	data := caseData(moved)
	data["previous_priority"] = c.Priority
	return b.notifyFollowers(ctx, tx, moved, templates.CasePriorityChanged, by, data)
}

// AddInternalNote adds a note for agents only to a case, open or closed: it
// is in the history and in "case show" but never mailed to, nor shown to, a
// customer or watcher (I3). Only an agent (or the administrator) writes one.
func (b *Book) AddInternalNote(ctx context.Context, caseID int64, by, body string) (Comment, error) {
	var cm Comment
	if strings.TrimSpace(body) == "" {
		return cm, fmt.Errorf("a note needs a body")
	}
	err := b.tx(ctx, func(tx *sql.Tx) error {
		c, err := b.caseRow(ctx, tx, caseID)
		if err != nil {
			return err
		}
		if err := b.checkAgent(ctx, tx, by); err != nil {
			return err
		}
		cm, err = b.addComment(ctx, tx, c, by, body, "", 0, true)
		return err
	})
	return cm, err
}

// QueueFilter selects the support queue: every organisation unless Org is
// set. Teams, when not nil, keeps only cases of those teams (what an agent's
// teams hold).
type QueueFilter struct {
	Org       string
	Team      string
	Assignee  *string // nil: anyone; "" : nobody
	Status    Status
	Priority  string
	OlderThan time.Duration
	Limit     int      // 0: no limit
	Teams     []string // nil: every team; else only these teams' cases and Viewer's own
	Viewer    string   // the agent whose queue it is: cases assigned to them are in it too
}

// Queue lists cases across organisations for support, most urgent first,
// then oldest first, without comments.
func (b *Book) Queue(ctx context.Context, f QueueFilter) ([]Case, error) {
	if f.Priority != "" && !validPriority(f.Priority) {
		return nil, fmt.Errorf("priority must be P1..P4, not %q", f.Priority)
	}
	var assigneeSet int
	var assignee string
	if f.Assignee != nil {
		assigneeSet, assignee = 1, normAddr(*f.Assignee)
	}
	var before int64
	if f.OlderThan > 0 {
		before = ms(b.now().Add(-f.OlderThan))
	}
	var teams any
	if f.Teams != nil {
		j, _ := json.Marshal(f.Teams)
		teams = string(j)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return b.casesByQuery(ctx, "cases-queue", f.Org, f.Team, assigneeSet, assignee, string(f.Status), f.Priority, before, teams, limit, normAddr(f.Viewer))
}

// CaseMessages returns the inbound mails of a case: the one that opened it
// and those added as comments, oldest first.
func (b *Book) CaseMessages(ctx context.Context, caseID int64) ([]Message, error) {
	ids, err := b.ids(ctx, "messages-of-case", caseID)
	if err != nil {
		return nil, fmt.Errorf("mails of case %d: %w", caseID, err)
	}
	out := []Message{}
	for _, id := range ids {
		m, err := b.Message(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
