package casebook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/casemail/casemail/templates"
)

// NewCase is what opening a case needs (R6).
type NewCase struct {
	Org         string
	Product     string
	Team        string
	Priority    string // P1..P4; the default priority when empty
	Title       string
	Description string
	Requester   string
	Watchers    []string          // R8: added as "cc"
	Fields      map[string]string // optional fields such as cloud_project
	Locale      string            // the route's locale, for recipients with none of their own
	FollowUpOf  int64             // R14
	Imported    bool              // R14: from a retired, read-only system
	By          string            // who typed it on the command line for the requester (a phone call); the requester when empty
}

// OpenCase opens a case on the command line's behalf: the requester must be
// allowed to (R1–R4, R19), and the requester and watchers are notified.
func (b *Book) OpenCase(ctx context.Context, nc NewCase) (Case, error) {
	var id int64
	err := b.tx(ctx, func(tx *sql.Tx) error {
		if err := b.checkAgent(ctx, tx, nc.By); err != nil {
			return err
		}
		if !nc.Imported {
			if err := b.checkOpen(ctx, tx, nc.Requester, nc.Org, nc.Product); err != nil {
				return err
			}
		}
		var err error
		id, err = b.openCase(ctx, tx, nc, 0)
		return err
	})
	if err != nil {
		return Case{}, err
	}
	b.wake()
	return b.Case(ctx, id)
}

// MaxTitleRunes caps a stored case title: titles come from mail subjects,
// and one megabyte of subject must not become a title, a search entry and
// the Subject of every notification about the case.
const MaxTitleRunes = 200

// capTitle cuts t to MaxTitleRunes runes, marking the cut with "…".
func capTitle(t string) string {
	if utf8.RuneCountInString(t) <= MaxTitleRunes {
		return t
	}
	n := 0
	for i := range t {
		if n == MaxTitleRunes-1 {
			return strings.TrimRightFunc(t[:i], unicode.IsSpace) + "…"
		}
		n++
	}
	return t
}

// openCase inserts the case, its watchers and its notifications; the caller
// has checked the rules.
func (b *Book) openCase(ctx context.Context, tx *sql.Tx, nc NewCase, messageID int64) (int64, error) {
	if nc.Priority == "" {
		nc.Priority = b.opt.DefaultPriority
	}
	if nc.Team == "" && !nc.Imported {
		nc.Team = b.opt.DefaultTeam // a case without a team goes to the default one
	}
	if !validPriority(nc.Priority) {
		return 0, fmt.Errorf("priority must be P1..P4, not %q", nc.Priority)
	}
	if strings.TrimSpace(nc.Title) == "" {
		nc.Title = "(no subject)"
	}
	nc.Title = capTitle(nc.Title)
	fields, err := json.Marshal(nc.Fields)
	if err != nil {
		return 0, err
	}
	var followUp any
	if nc.FollowUpOf != 0 {
		followUp = nc.FollowUpOf
	}
	now := b.now()
	var id int64
	err = tx.QueryRowContext(ctx, b.query("case-insert"), nc.Org, nc.Product, nc.Team, nc.Priority, nc.Title, nc.Description,
		normAddr(nc.Requester), boolInt(nc.Imported), string(fields), ms(now), followUp).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("open case: %w", err)
	}
	if _, err := tx.ExecContext(ctx, b.query("search-insert"), id, nc.Title+"\n"+nc.Description); err != nil {
		return 0, fmt.Errorf("index case %d: %w", id, err)
	}
	how := "mail"
	if messageID == 0 {
		how = "cli"
	}
	switch {
	case nc.Imported:
		how = "imported"
	case nc.FollowUpOf != 0:
		how = fmt.Sprintf("follow-up of #%d by %s", nc.FollowUpOf, how)
	}
	by := nc.By
	if by == "" {
		by = nc.Requester
	}
	if err := b.event(ctx, tx, id, by, EventOpened, "%s", how); err != nil {
		return 0, err
	}
	for _, w := range newCaseWatchers(nc) {
		if _, err := tx.ExecContext(ctx, b.query("watcher-add"), id, w.Address, w.AddedBy, ms(now)); err != nil {
			return 0, fmt.Errorf("add watcher %s: %w", w.Address, err)
		}
		if err := b.event(ctx, tx, id, by, EventWatcherAdded, "%s (%s)", w.Address, w.AddedBy); err != nil {
			return 0, err
		}
	}
	if nc.Imported {
		// R14: an imported case is read-only, treated like a closed case.
		if _, err := tx.ExecContext(ctx, b.query("case-close"), ms(now), id); err != nil {
			return 0, err
		}
		return id, nil
	}
	c, err := b.caseTx(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	tmpl := templates.CaseOpened
	if nc.FollowUpOf != 0 {
		tmpl = templates.FollowUpOpened
	}
	data := caseData(c)
	data["body"] = c.Description
	if nc.FollowUpOf != 0 {
		data["follow_up_of"] = fmt.Sprint(nc.FollowUpOf)
	}
	for _, to := range audience(c, "") {
		t := tmpl
		if to != normAddr(c.Requester) && nc.FollowUpOf == 0 {
			t = templates.CaseOpenedWatcher
		}
		if err := b.enqueue(ctx, tx, notice{Event: string(tmpl), Template: t, To: to, CaseID: id, Data: data, Locale: nc.Locale}); err != nil {
			return 0, err
		}
	}
	if err := b.agentCaseOpened(ctx, tx, c, messageID, nc.By); err != nil {
		return 0, err
	}
	return id, nil
}

// Case returns a case with its watchers, comments (newest first, R9) and
// history (oldest first).
func (b *Book) Case(ctx context.Context, id int64) (Case, error) {
	c, err := b.caseTx(ctx, b.rdb, id)
	if err != nil {
		return c, err
	}
	c.Events, err = b.events(ctx, b.rdb, id)
	return c, err
}

func (b *Book) caseTx(ctx context.Context, q querier, id int64) (Case, error) {
	c, err := b.caseHead(ctx, q, id)
	if err != nil {
		return c, err
	}
	crows, err := q.QueryContext(ctx, b.query("comments-of"), id)
	if err != nil {
		return c, fmt.Errorf("comments of case %d: %w", id, err)
	}
	defer crows.Close()
	c.Comments = []Comment{}
	for crows.Next() {
		var cm Comment
		var sup int
		var msg sql.NullInt64
		var created int64
		var internal int
		if err := crows.Scan(&cm.ID, &cm.CaseID, &cm.Author, &sup, &cm.Body, &cm.FullText, &msg, &created, &internal, &cm.Unauthenticated); err != nil {
			return c, err
		}
		cm.BySupport, cm.MessageID, cm.CreatedAt, cm.Internal = sup == 1, msg.Int64, fromMS(created), internal == 1
		c.Comments = append(c.Comments, cm)
	}
	return c, crows.Err()
}

// caseHead is a case with its watchers, without its comments: what a
// listing shows.
func (b *Book) caseHead(ctx context.Context, q querier, id int64) (Case, error) {
	c, err := b.caseRow(ctx, q, id)
	if err != nil {
		return c, err
	}
	rows, err := q.QueryContext(ctx, b.query("watchers-of"), id)
	if err != nil {
		return c, fmt.Errorf("watchers of case %d: %w", id, err)
	}
	defer rows.Close()
	c.Watchers = []string{}
	for rows.Next() {
		var w Watcher
		var sup int
		if err := rows.Scan(&w.Address, &w.AddedBy, &sup, &w.Reason); err != nil {
			return c, err
		}
		w.Suppressed = sup == 1
		c.Watchers = append(c.Watchers, w.Address)
		c.WatcherDetails = append(c.WatcherDetails, w)
	}
	return c, rows.Err()
}

func (b *Book) caseRow(ctx context.Context, q querier, id int64) (Case, error) {
	var c Case
	var imported int
	var fields string
	var created int64
	var closed, reopened, followUp, escalated sql.NullInt64
	var last int64
	err := q.QueryRowContext(ctx, b.query("case-get"), id).Scan(&c.ID, &c.Org, &c.Product, &c.Team, &c.Priority, &c.Title, &c.Description,
		&c.Requester, &c.Status, &imported, &fields, &created, &closed, &reopened, &followUp, &escalated, &c.EscalationReason, &c.Assignee, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("there is no case %d", id)
	}
	if err != nil {
		return c, fmt.Errorf("read case %d: %w", id, err)
	}
	c.Imported, c.CreatedAt, c.LastActivity = imported == 1, fromMS(created), fromMS(last)
	c.ClosedAt, c.ReopenedAt, c.EscalatedAt = fromNullMS(closed), fromNullMS(reopened), fromNullMS(escalated)
	if followUp.Valid {
		c.FollowUpOf = &followUp.Int64
	}
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return c, fmt.Errorf("case %d fields: %w", id, err)
	}
	return c, nil
}

// CanView says whether addr may see case c: an agent, its requester, a
// watcher, or a member of its organisation allowed to view (R7, R19).
func (b *Book) CanView(ctx context.Context, addr string, c Case) (bool, error) {
	return b.canView(ctx, b.rdb, addr, c)
}

func (b *Book) canView(ctx context.Context, q querier, addr string, c Case) (bool, error) {
	addr = normAddr(addr)
	if addr == normAddr(c.Requester) {
		return true, nil
	}
	var one int
	err := q.QueryRowContext(ctx, b.query("watcher-is"), c.ID, addr).Scan(&one)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	s, err := b.sender(ctx, q, addr)
	if err != nil || s.Account == nil {
		return false, err
	}
	if s.Account.Agent {
		return true, nil
	}
	m, ok := s.Member(c.Org)
	return ok && m.View, nil
}

// ListFilter scopes a listing. Org is required: listing is always scoped to
// one organisation (R7). With Viewer set, only what the viewer may see.
type ListFilter struct {
	Org    string
	Status Status // "" for both
	Viewer string // "" for an administrator
}

// List returns the cases of one organisation, newest first, without comments.
func (b *Book) List(ctx context.Context, f ListFilter) ([]Case, error) {
	if f.Org == "" {
		return nil, fmt.Errorf("listing is scoped to one organisation: name it")
	}
	if _, err := b.Org(ctx, f.Org); err != nil {
		return nil, err
	}
	q, args := "cases-of-org", []any{f.Org, string(f.Status)}
	if f.Viewer != "" {
		s, err := b.Sender(ctx, f.Viewer)
		if err != nil {
			return nil, err
		}
		m, member := s.Member(f.Org)
		agent := s.Account != nil && s.Account.Agent
		if !agent && !(member && m.View) {
			q, args = "cases-of-participant", append(args, s.Address)
		}
	}
	return b.casesByQuery(ctx, q, args...)
}

// Search finds cases of one organisation by words of their titles,
// descriptions and comments (R10), scoped like List.
func (b *Book) Search(ctx context.Context, f ListFilter, words string) ([]Case, error) {
	all, err := b.List(ctx, f)
	if err != nil {
		return nil, err
	}
	visible := map[int64]Case{}
	for _, c := range all {
		visible[c.ID] = c
	}
	ids, err := b.ids(ctx, "search-org", ftsQuery(words), f.Org)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", words, err)
	}
	out := []Case{}
	for _, id := range ids {
		if c, ok := visible[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// ftsQuery turns user words into an FTS4 query where every word must match
// (as a prefix), so that punctuation in the input can never be a syntax error.
func ftsQuery(words string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(words, func(r rune) bool {
		return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127)
	}) {
		terms = append(terms, `"`+w+`*"`)
	}
	if len(terms) == 0 {
		return `""`
	}
	return strings.Join(terms, " ")
}

func (b *Book) ids(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (b *Book) casesByQuery(ctx context.Context, q string, args ...any) ([]Case, error) {
	ids, err := b.ids(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out := []Case{}
	for _, id := range ids {
		c, err := b.caseHead(ctx, b.rdb, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AddComment adds a comment typed by an agent or a customer (not by mail).
// The author must be allowed to see the case, and the case must be open.
// Everyone following the case but the author is notified.
func (b *Book) AddComment(ctx context.Context, caseID int64, by, body string) (Comment, error) {
	var cm Comment
	if strings.TrimSpace(body) == "" {
		return cm, fmt.Errorf("a comment needs a body")
	}
	err := b.tx(ctx, func(tx *sql.Tx) error {
		c, err := b.caseForActor(ctx, tx, caseID, by)
		if err != nil {
			return err
		}
		if c.Status == StatusClosed {
			return refuse(R13, "case %d is closed: reopen it first with \"casemail case reopen %d\"", caseID, caseID)
		}
		cm, err = b.addComment(ctx, tx, c, by, body, "", 0, false)
		return err
	})
	if err == nil {
		b.wake()
	}
	return cm, err
}

// caseForActor loads a case and checks that by may act on it.
func (b *Book) caseForActor(ctx context.Context, q querier, caseID int64, by string) (Case, error) {
	c, err := b.caseTx(ctx, q, caseID)
	if err != nil {
		return c, err
	}
	if by == "" {
		return c, nil
	}
	ok, err := b.canView(ctx, q, by, c)
	if err != nil {
		return c, err
	}
	if !ok {
		// R7: do not tell an outsider more than that they cannot act.
		return c, refuse(R7, "%s may not see case %d", normAddr(by), caseID)
	}
	return c, nil
}

// caseForDecider loads a case and checks that by may decide its course:
// close (R11), reopen (R12), escalate (R15) or follow it up (R14). That is
// the customer (the requester, or whoever may see the organisation's cases)
// or support; a watcher who is only copied follows the case but does not
// decide for the customer.
func (b *Book) caseForDecider(ctx context.Context, q querier, caseID int64, by string) (Case, error) {
	c, err := b.caseForActor(ctx, q, caseID, by)
	if err != nil || by == "" {
		return c, err
	}
	ok, err := b.mayDecide(ctx, q, by, c)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, refuse(R11, "%s follows case %d as a watcher: only the requester, their organisation or support can close, reopen, escalate or follow it up", normAddr(by), caseID)
	}
	return c, nil
}

// MayDecide reports whether addr may close, reopen, escalate or follow up
// c (see caseForDecider).
func (b *Book) MayDecide(ctx context.Context, addr string, c Case) (bool, error) {
	return b.mayDecide(ctx, b.rdb, addr, c)
}

func (b *Book) mayDecide(ctx context.Context, q querier, addr string, c Case) (bool, error) {
	if normAddr(addr) == normAddr(c.Requester) {
		return true, nil
	}
	s, err := b.sender(ctx, q, addr)
	if err != nil || s.Account == nil {
		return false, err
	}
	if s.Account.Agent {
		return true, nil
	}
	m, ok := s.Member(c.Org)
	return ok && m.View, nil
}

// addComment adds a comment and tells the case's followers, except for an
// internal note, which is recorded and indexed but never mailed to them (I3).
func (b *Book) addComment(ctx context.Context, tx *sql.Tx, c Case, by, body, full string, messageID int64, internal bool) (Comment, error) {
	author, err := b.account(ctx, tx, by)
	support := err == nil && author.Agent
	cm := Comment{CaseID: c.ID, Author: normAddr(by), BySupport: support, Body: body, FullText: full, MessageID: messageID, CreatedAt: b.now(), Internal: internal}
	var msg any
	if messageID != 0 {
		msg = messageID
	}
	err = tx.QueryRowContext(ctx, b.query("comment-insert"), c.ID, cm.Author, boolInt(support), body, full, msg, ms(cm.CreatedAt), boolInt(internal)).Scan(&cm.ID)
	if err != nil {
		return cm, fmt.Errorf("add comment to case %d: %w", c.ID, err)
	}
	// R10 search is shared with customers: an internal note is not indexed,
	// or a customer's search would reveal the words of a note (I3).
	if !internal {
		if _, err := tx.ExecContext(ctx, b.query("search-insert"), c.ID, body); err != nil {
			return cm, fmt.Errorf("index comment: %w", err)
		}
	}
	visibility := "public"
	if internal {
		visibility = "internal"
	}
	how := "cli"
	if messageID != 0 {
		how = "mail"
	}
	if err := b.event(ctx, tx, c.ID, cm.Author, EventComment, "%s comment %d by %s", visibility, cm.ID, how); err != nil {
		return cm, err
	}
	if !support || internal {
		// Agents hear of the customer's and watchers' comments and of their
		// colleagues' notes, never of a public answer a colleague sent.
		if err := b.agentCommentAdded(ctx, tx, c, cm); err != nil {
			return cm, err
		}
	}
	if internal {
		return cm, nil
	}
	data := caseData(c)
	data["author"], data["body"] = cm.Author, body
	if support {
		// The customer sees the support identity under the agent's name,
		// never the agent's own address.
		data["author"] = b.agentName(ctx, tx, cm.Author)
		data["from_name"] = data["author"]
		// The agent's attachments go with the answer.
		if err := b.attachFrom(ctx, tx, data, messageID); err != nil {
			return cm, err
		}
	}
	return cm, b.notifyFollowers(ctx, tx, c, templates.CommentAdded, cm.Author, data)
}

// notifyFollowers queues template for the requester and every watcher not
// suppressed, except exclude (the author of the change).
func (b *Book) notifyFollowers(ctx context.Context, tx *sql.Tx, c Case, template templates.Name, exclude string, data map[string]string) error {
	c, err := b.caseTx(ctx, tx, c.ID) // the watchers as they are now
	if err != nil {
		return err
	}
	for _, addr := range audience(c, exclude) {
		if err := b.enqueue(ctx, tx, notice{Event: string(template), Template: template, To: addr, CaseID: c.ID, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// CloseCase closes a case (R11). by is the customer or agent closing it, or ""
// for an administrator.
func (b *Book) CloseCase(ctx context.Context, caseID int64, by string) error {
	err := b.tx(ctx, func(tx *sql.Tx) error { return b.closeCaseTx(ctx, tx, caseID, by) })
	if err == nil {
		b.wake()
	}
	return err
}

// closeCaseTx is CloseCase inside the caller's transaction: the command
// line's own, or the record of an agent's mail with "#close" (commands.go).
func (b *Book) closeCaseTx(ctx context.Context, tx *sql.Tx, caseID int64, by string) error {
	c, err := b.caseForDecider(ctx, tx, caseID, by)
	if err != nil {
		return err
	}
	if c.Status == StatusClosed {
		return invalid("case %d is already closed", caseID)
	}
	now := b.now()
	if _, err := tx.ExecContext(ctx, b.query("case-close"), ms(now), caseID); err != nil {
		return fmt.Errorf("close case %d: %w", caseID, err)
	}
	if err := b.event(ctx, tx, caseID, by, EventClosed, ""); err != nil {
		return err
	}
	data := caseData(c)
	data["status"] = string(StatusClosed)
	data["reopen_until"] = now.Add(b.opt.ReopenWindow).Format("2006-01-02")
	return b.notifyFollowers(ctx, tx, c, templates.CaseClosed, by, data)
}

// ReopenDeadline is the last moment a closed case can be reopened (R12).
func (b *Book) ReopenDeadline(c Case) time.Time {
	if c.ClosedAt == nil {
		return time.Time{}
	}
	return c.ClosedAt.Add(b.opt.ReopenWindow)
}

// ReopenCase reopens a closed case within the reopen window (R12). There is no
// way to reopen a case by mail (R13): only this call, from the command line
// (the portal action), reopens.
func (b *Book) ReopenCase(ctx context.Context, caseID int64, by string) error {
	err := b.tx(ctx, func(tx *sql.Tx) error {
		c, err := b.caseForDecider(ctx, tx, caseID, by)
		if err != nil {
			return err
		}
		if c.Status != StatusClosed {
			return fmt.Errorf("case %d is not closed", caseID)
		}
		if c.Imported {
			return refuse(R14, "case %d comes from the retired system and cannot be reopened: open a follow-up with \"casemail case followup %d\"", caseID, caseID)
		}
		now := b.now()
		if now.After(b.ReopenDeadline(c)) {
			days := int(now.Sub(*c.ClosedAt).Hours() / 24)
			return refuse(R12, "case %d was closed %d days ago; the reopen window is %d days: open a follow-up with \"casemail case followup %d\"",
				caseID, days, int(b.opt.ReopenWindow.Hours()/24), caseID)
		}
		if _, err := tx.ExecContext(ctx, b.query("case-reopen"), ms(now), caseID); err != nil {
			return fmt.Errorf("reopen case %d: %w", caseID, err)
		}
		if err := b.event(ctx, tx, caseID, by, EventReopened, ""); err != nil {
			return err
		}
		data := caseData(c)
		data["status"] = string(StatusOpen)
		return b.notifyFollowers(ctx, tx, c, templates.CaseReopened, by, data)
	})
	if err == nil {
		b.wake()
	}
	return err
}

// Escalate escalates a case to management (R15): only once its initial
// response time has passed, once, with one of EscalationReasons.
func (b *Book) Escalate(ctx context.Context, caseID int64, reason EscalationReason, by string) error {
	if reason.Description() == "" {
		return refuse(R15, "%q is not an escalation reason; use one of: %s", reason, EscalationReasonNames())
	}
	err := b.tx(ctx, func(tx *sql.Tx) error {
		c, err := b.caseForDecider(ctx, tx, caseID, by)
		if err != nil {
			return err
		}
		if c.Status == StatusClosed {
			return fmt.Errorf("case %d is closed", caseID)
		}
		if c.EscalatedAt != nil {
			return fmt.Errorf("case %d was already escalated on %s", caseID, c.EscalatedAt.Format("2006-01-02 15:04"))
		}
		wait, ok := b.opt.InitialResponse[c.Priority]
		if !ok {
			wait = 24 * time.Hour
		}
		now := b.now()
		if allowed := c.CreatedAt.Add(wait); now.Before(allowed) {
			return refuse(R15, "case %d can be escalated only after its initial response time (%s for %s), from %s",
				caseID, wait, c.Priority, allowed.Format("2006-01-02 15:04 MST"))
		}
		if _, err := tx.ExecContext(ctx, b.query("case-escalate"), ms(now), reason, caseID); err != nil {
			return fmt.Errorf("escalate case %d: %w", caseID, err)
		}
		if err := b.event(ctx, tx, caseID, by, EventEscalated, "%s", reason); err != nil {
			return err
		}
		data := caseData(c)
		data["escalation_reason"] = reason.Description()
		data["escalation_reason@fr"] = reason.DescriptionFR()
		if err := b.notifyFollowers(ctx, tx, c, templates.CaseEscalated, "", data); err != nil {
			return err
		}
		data = caseData(c)
		data["escalation_reason"], data["author"], data["assignee"] = reason.Description(), by, c.Assignee
		data["escalation_reason@fr"] = reason.DescriptionFR()
		return b.notifyAgents(ctx, tx, c, templates.AgentCaseEscalated, by, data, b.opt.EscalationNotify...)
	})
	if err == nil {
		b.wake()
	}
	return err
}

// FollowUp opens a new case linked to a closed (or imported) one (R14), in
// the same organisation and product, with the same watchers.
func (b *Book) FollowUp(ctx context.Context, caseID int64, by, title string) (Case, error) {
	var id int64
	err := b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = b.followUp(ctx, tx, caseID, by, title, "", 0)
		return err
	})
	if err != nil {
		return Case{}, err
	}
	b.wake()
	return b.Case(ctx, id)
}

func (b *Book) followUp(ctx context.Context, tx *sql.Tx, caseID int64, by, title, description string, messageID int64) (int64, error) {
	orig, err := b.caseForDecider(ctx, tx, caseID, by)
	if err != nil {
		return 0, err
	}
	if orig.Status != StatusClosed && !orig.Imported {
		return 0, fmt.Errorf("case %d is still open: comment on it instead of opening a follow-up", caseID)
	}
	requester := by
	if requester == "" {
		requester = orig.Requester
	}
	if err := b.checkOpen(ctx, tx, requester, orig.Org, orig.Product); err != nil {
		return 0, err
	}
	// The follow-up's title and text are the requester's language: they are
	// in every mail about the new case.
	fr := b.localeOf(ctx, tx, requester) == "fr"
	if title == "" {
		title = fmt.Sprintf("Follow-up of #%d: %s", caseID, orig.Title)
		if fr {
			title = fmt.Sprintf("Suivi de la demande n° %d : %s", caseID, orig.Title)
		}
	}
	if description == "" {
		description = fmt.Sprintf("Follow-up of case #%d.", caseID)
		if fr {
			description = fmt.Sprintf("Suite de la demande n° %d.", caseID)
		}
	}
	return b.openCase(ctx, tx, followUpOf(orig, requester, title, description), messageID)
}

// AddWatcher adds addr as a watcher of a case (R8) and tells them how to stop.
func (b *Book) AddWatcher(ctx context.Context, caseID int64, addr string) error {
	return b.AddWatcherBy(ctx, caseID, addr, "")
}

// AddWatcherBy is AddWatcher done by someone (an agent's #watch), whom the
// case's history names; "" is the administrator's console.
func (b *Book) AddWatcherBy(ctx context.Context, caseID int64, addr, by string) error {
	err := b.tx(ctx, func(tx *sql.Tx) error { return b.addWatcherTx(ctx, tx, caseID, addr, by) })
	if err == nil {
		b.wake()
	}
	return err
}

// addWatcherTx is AddWatcherBy inside the caller's transaction: the command
// line's own, or the record of an agent's mail with "#watch" (commands.go).
func (b *Book) addWatcherTx(ctx context.Context, tx *sql.Tx, caseID int64, addr, by string) error {
	a, err := checkAddr(addr)
	if err != nil {
		return invalidError{err}
	}
	c, err := b.caseTx(ctx, tx, caseID)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, b.query("watcher-add"), caseID, a, "manual", ms(b.now()))
	if err != nil {
		return fmt.Errorf("add watcher: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return invalid("%s already watches case %d", a, caseID)
	}
	if err := b.event(ctx, tx, caseID, by, EventWatcherAdded, "%s (manual)", a); err != nil {
		return err
	}
	data := caseData(c)
	data["watcher"] = a
	return b.enqueue(ctx, tx, notice{Event: string(templates.WatcherAdded), Template: templates.WatcherAdded, To: a, CaseID: caseID, Data: data})
}

// RemoveWatcher stops addr watching a case; ErrNotWatching when addr does
// not watch it.
func (b *Book) RemoveWatcher(ctx context.Context, caseID int64, addr string) error {
	return b.removeWatcher(ctx, caseID, addr, "", "manual")
}

// removeWatcher removes a watcher and records by whom and how ("manual" on
// the command line, "unsubscribe" at the watcher's own request).
func (b *Book) removeWatcher(ctx context.Context, caseID int64, addr, by, how string) error {
	return b.tx(ctx, func(tx *sql.Tx) error {
		if _, err := b.caseRow(ctx, tx, caseID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, b.query("watcher-remove"), caseID, normAddr(addr))
		if err != nil {
			return fmt.Errorf("remove watcher: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s does not watch case %d: %w", normAddr(addr), caseID, ErrNotWatching)
		}
		return b.event(ctx, tx, caseID, by, EventWatcherRemoved, "%s (%s)", normAddr(addr), how)
	})
}

func caseData(c Case) map[string]string {
	return map[string]string{
		"case_id":   fmt.Sprint(c.ID),
		"title":     c.Title,
		"org":       c.Org,
		"product":   c.Product,
		"priority":  c.Priority,
		"status":    string(c.Status),
		"requester": c.Requester,
	}
}

func validPriority(p string) bool {
	switch p {
	case "P1", "P2", "P3", "P4":
		return true
	}
	return false
}

// localeOf is the locale mail to addr is written in: their account's, else
// the default.
func (b *Book) localeOf(ctx context.Context, q querier, addr string) string {
	if a, err := b.account(ctx, q, addr); err == nil && a.Locale != "" {
		return a.Locale
	}
	return b.opt.DefaultLocale
}
