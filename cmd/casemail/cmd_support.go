package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

// The support side of the console (issue 11): the queue, opening a case for
// a caller, assigning, changing fields and the case's history.

func cmdCaseList(e *env, args []string) error {
	fs := e.flags("case list")
	org := fs.String("org", "", "only this organisation")
	team := fs.String("team", "", "only this team's cases")
	assignee := fs.String("assignee", "", "ADDR, me (the --as agent) or none")
	status := fs.String("status", "", "open or closed")
	priority := fs.String("priority", "", "P1..P4")
	older := fs.Duration("older-than", 0, "opened more than this long ago (e.g. 48h)")
	limit := fs.Int("limit", 0, "at most N cases")
	as := fs.String("as", "", "list what this user may see: a customer's cases (R7) or an agent's teams' queue")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *status != "" && *status != "open" && *status != "closed" {
		return usageError("--status must be open or closed, not %q", *status)
	}
	if *limit < 0 || *older < 0 {
		return usageError("--limit and --older-than must not be negative")
	}
	if err := e.open(); err != nil {
		return err
	}
	f := casebook.QueueFilter{Org: *org, Team: *team, Status: casebook.Status(*status), Priority: *priority, OlderThan: *older, Limit: *limit}
	switch *assignee {
	case "":
	case "me":
		if *as == "" {
			return usageError("--assignee me needs --as AGENT (who \"me\" is)")
		}
		f.Assignee = as
	default:
		a := *assignee
		if a == casebook.Nobody {
			a = ""
		}
		f.Assignee = &a
	}
	var cases []casebook.Case
	agent, err := e.isAgent(*as)
	if err != nil {
		return err
	}
	if *as == "" || agent {
		if agent {
			f.Teams, f.Viewer = e.teamsOf(*as), *as
		}
		if cases, err = e.book.Queue(e.ctx, f); err != nil {
			return err
		}
	} else {
		// A customer sees one organisation's cases, those they may (R7).
		o, err := orgFor(e, *org, *as)
		if err != nil {
			return err
		}
		all, err := e.book.List(e.ctx, casebook.ListFilter{Org: o, Status: f.Status, Viewer: *as})
		if err != nil {
			return err
		}
		cases = filterCases(all, f)
	}
	if *asJSON {
		return e.printJSON(cases)
	}
	return printQueue(e, cases)
}

// isAgent says whether addr is an agent's account ("" is the administrator, not an agent).
func (e *env) isAgent(addr string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	s, err := e.book.Sender(e.ctx, addr)
	if err != nil {
		return false, err
	}
	return s.Account != nil && s.Account.Agent && !s.Account.Disabled, nil
}

// teamsOf are the teams agent is a member of; nil (every team) when the
// configuration has no teams.
func (e *env) teamsOf(agent string) []string {
	if len(e.cfg.Teams) == 0 {
		return nil
	}
	teams := []string{}
	for _, t := range e.cfg.Teams {
		if slices.ContainsFunc(t.Members, func(m string) bool { return strings.EqualFold(m, agent) }) {
			teams = append(teams, t.Name)
		}
	}
	return teams
}

// filterCases applies the queue's filters to a customer's listing, in the
// queue's order: most urgent first, then oldest.
func filterCases(all []casebook.Case, f casebook.QueueFilter) []casebook.Case {
	out := []casebook.Case{}
	for _, c := range all {
		switch {
		case f.Team != "" && c.Team != f.Team,
			f.Assignee != nil && !strings.EqualFold(c.Assignee, *f.Assignee),
			f.Priority != "" && c.Priority != f.Priority,
			f.OlderThan > 0 && time.Since(c.CreatedAt) < f.OlderThan:
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b casebook.Case) int {
		if a.Priority != b.Priority {
			return strings.Compare(a.Priority, b.Priority)
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

func printQueue(e *env, cases []casebook.Case) error {
	if len(cases) == 0 {
		fmt.Fprintln(e.stdout, "no cases")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAGE\tPRIO\tORG\tTEAM\tASSIGNEE\tLAST ACTIVITY\tTITLE")
	for _, c := range cases {
		status := ""
		if c.Status == casebook.StatusClosed {
			status = "(closed) "
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", c.ID, age(now.Sub(c.CreatedAt)), c.Priority, c.Org, dash(c.Team), dash(c.Assignee),
			c.LastActivity.Local().Format("2006-01-02 15:04"), status, oneLine(c.Title, 60))
	}
	return tw.Flush()
}

// age is a duration as a person reads a queue: 40m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdCaseOpen(e *env, args []string) error {
	fs := e.flags("case open")
	org := fs.String("org", "", "organisation")
	product := fs.String("product", "", "product (R3)")
	requester := fs.String("requester", "", "the customer the case is for (R1-R3 apply to them)")
	title := fs.String("title", "", "title")
	bodyFile := fs.String("body-file", "", "file with the description, - for stdin")
	priority := fs.String("priority", "", "P1..P4; the default priority when omitted")
	by := fs.String("by", "", "the agent typing it (a phone call, a walk-in)")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	var watchers listFlag
	fs.Var(&watchers, "watcher", "someone to keep informed (repeatable)")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--org", *org}, {"--product", *product}, {"--requester", *requester}, {"--title", *title}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return usageError("case open needs %s", strings.Join(missing, ", "))
	}
	body := ""
	if *bodyFile != "" {
		var err error
		if body, err = readBody(e, *bodyFile); err != nil {
			return err
		}
	}
	if err := e.open(); err != nil {
		return err
	}
	var ws []string
	for _, w := range watchers {
		ws = append(ws, strings.Split(w, ",")...)
	}
	c, err := e.book.OpenCase(e.ctx, casebook.NewCase{Org: *org, Product: *product, Team: e.cfg.Policy.DefaultTeam, Priority: *priority,
		Title: strings.TrimSpace(*title), Description: strings.TrimSpace(body), Requester: *requester, Watchers: ws, By: *by, Locale: e.cfg.Policy.Locale})
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(c)
	}
	fmt.Fprintf(e.stdout, "case %d opened for %s (%s, %s, %s)\n", c.ID, c.Requester, c.Org, c.Product, c.Priority)
	return nil
}

func cmdCaseAssign(e *env, args []string) error {
	fs := e.flags("case assign")
	to := fs.String("to", "", "the agent, or none")
	by := fs.String("by", "", "the agent doing it")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	if *to == "" {
		return usageError("case assign needs --to ADDR or --to none")
	}
	c, err := e.book.Assign(e.ctx, id, *to, *by)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(c)
	}
	if c.Assignee == "" {
		fmt.Fprintf(e.stdout, "case %d is assigned to nobody\n", id)
	} else {
		fmt.Fprintf(e.stdout, "case %d is assigned to %s\n", id, c.Assignee)
	}
	return nil
}

func cmdCaseSet(e *env, args []string) error {
	fs := e.flags("case set")
	var f casebook.CaseFields
	fs.StringVar(&f.Priority, "priority", "", "P1..P4")
	fs.StringVar(&f.Product, "product", "", "product (the organisation must be entitled to it, R3)")
	fs.StringVar(&f.Org, "org", "", "organisation")
	fs.StringVar(&f.Title, "title", "", "title")
	fs.StringVar(&f.Team, "team", "", "team")
	by := fs.String("by", "", "the agent doing it")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	if f.Team != "" && len(e.cfg.Teams) > 0 {
		if _, ok := e.cfg.Team(f.Team); !ok {
			return fmt.Errorf("there is no team %q in the configuration", f.Team)
		}
	}
	c, err := e.book.Set(e.ctx, id, f, *by)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(c)
	}
	fmt.Fprintf(e.stdout, "case %d: %s, %s, %s, team %s: %s\n", c.ID, c.Org, c.Product, c.Priority, dash(c.Team), c.Title)
	return nil
}

// attachment is one file a customer or agent sent on a case.
type attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	CommentID   int64  `json:"comment_id"` // 0: the mail that opened the case
}

// caseAttachments reads the attachments of a case's mails from their raw
// bytes, where they are kept (the casebook stores no second copy).
func (e *env) caseAttachments(c casebook.Case) ([]attachment, error) {
	msgs, err := e.book.CaseMessages(e.ctx, c.ID)
	if err != nil {
		return nil, err
	}
	commentOf := map[int64]int64{}
	for _, cm := range c.Comments {
		if cm.MessageID != 0 {
			commentOf[cm.MessageID] = cm.ID
		}
	}
	out := []attachment{}
	for _, m := range msgs {
		var buf bytes.Buffer
		if err := e.book.WriteRaw(e.ctx, m.RawSHA256, &buf); err != nil {
			return nil, err
		}
		p, err := ingest.Parse(buf.Bytes(), message.Options{MaxAttachmentBytes: 1})
		if err != nil {
			continue // a mail we could not read has no attachments to list; "message show" says why
		}
		for _, a := range p.Attachments {
			out = append(out, attachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, CommentID: commentOf[m.ID]})
		}
	}
	return out, nil
}

// forCustomer removes what only agents see from a case (I3): internal
// notes, their attachments and their history.
func forCustomer(c casebook.Case, atts []attachment) (casebook.Case, []attachment) {
	hidden := map[int64]bool{}
	c.Comments = slices.DeleteFunc(slices.Clone(c.Comments), func(cm casebook.Comment) bool {
		hidden[cm.ID] = cm.Internal
		return cm.Internal
	})
	atts = slices.DeleteFunc(atts, func(a attachment) bool { return hidden[a.CommentID] })
	c.Events = slices.DeleteFunc(slices.Clone(c.Events), func(ev casebook.Event) bool {
		return ev.Kind == casebook.EventComment && strings.HasPrefix(ev.Detail, "internal")
	})
	return c, atts
}
