package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/casemail/casemail/casebook"
)

// orgFor picks the organisation of a listing: --org, else the viewer's only
// organisation, else the only organisation there is (R7: always one).
func orgFor(e *env, org, viewer string) (string, error) {
	if org != "" {
		return org, nil
	}
	var choices []string
	if viewer != "" {
		s, err := e.book.Sender(e.ctx, viewer)
		if err != nil {
			return "", err
		}
		for _, m := range s.Orgs {
			choices = append(choices, m.Org)
		}
		if len(choices) == 0 {
			// Someone in no organisation sees the cases they submitted or
			// watch: the organisations of those (R7).
			if choices, err = participantOrgs(e, viewer); err != nil {
				return "", err
			}
		}
	} else {
		all, err := e.book.Orgs(e.ctx)
		if err != nil {
			return "", err
		}
		choices = all
	}
	switch len(choices) {
	case 1:
		return choices[0], nil
	case 0:
		return "", fmt.Errorf("there is no organisation to list: create one with \"casemail org create\"")
	}
	return "", usageError("listing is scoped to one organisation: add --org (one of %s)", strings.Join(choices, ", "))
}

func cmdCaseSearch(e *env, args []string) error {
	fs := e.flags("case search")
	org := fs.String("org", "", "organisation")
	as := fs.String("as", "", "search only what this user may see")
	asJSON := fs.Bool("json", false, "JSON output")
	pos, err := parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := orgFor(e, *org, *as)
	if err != nil {
		return err
	}
	cases, err := e.book.Search(e.ctx, casebook.ListFilter{Org: o, Viewer: *as}, strings.Join(pos, " "))
	if err != nil {
		return err
	}
	return printCases(e, cases, *asJSON)
}

func printCases(e *env, cases []casebook.Case, asJSON bool) error {
	if asJSON {
		return e.printJSON(cases)
	}
	if len(cases) == 0 {
		fmt.Fprintln(e.stdout, "no cases")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPRIO\tORG\tPRODUCT\tREQUESTER\tTITLE")
	for _, c := range cases {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, c.Priority, c.Org, c.Product, c.Requester, oneLine(c.Title, 60))
	}
	return tw.Flush()
}

func cmdCaseShow(e *env, args []string) error {
	fs := e.flags("case show")
	as := fs.String("as", "", "show only if this user may see the case, and only what they may see")
	asJSON := fs.Bool("json", false, "JSON output")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	c, err := e.book.Case(e.ctx, id)
	if err != nil {
		return err
	}
	atts, err := e.caseAttachments(c)
	if err != nil {
		return err
	}
	if *as != "" {
		ok, err := e.book.CanView(e.ctx, *as, c)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s may not see case %d", *as, id)
		}
		if agent, err := e.isAgent(*as); err != nil {
			return err
		} else if !agent {
			c, atts = forCustomer(c, atts)
		}
	}
	// Suppression is per address (issue 12): a suppressed requester hears
	// of nothing either; watchers carry theirs.
	reqSup, err := e.suppression(c.Requester)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(struct {
			casebook.Case
			Events              []casebook.Event      `json:"events"`
			Attachments         []attachment          `json:"attachments"`
			RequesterSuppressed *casebook.Suppression `json:"requester_suppressed,omitempty"`
		}{c, c.Events, atts, reqSup})
	}
	fmt.Fprintf(e.stdout, "Case #%d: %s\n", c.ID, c.Title)
	fmt.Fprintf(e.stdout, "Status:    %s", c.Status)
	if c.ClosedAt != nil {
		fmt.Fprintf(e.stdout, " (closed %s; reopen until %s)", c.ClosedAt.Format("2006-01-02 15:04"), e.book.ReopenDeadline(c).Format("2006-01-02 15:04"))
	}
	fmt.Fprintln(e.stdout)
	reqNote := ""
	if reqSup != nil {
		reqNote = " (no more mail: " + suppressionNote(reqSup) + ")"
	}
	fmt.Fprintf(e.stdout, "Org:       %s\nProduct:   %s\nPriority:  %s\nTeam:      %s\nAssignee:  %s\nRequester: %s%s\nOpened:    %s\n",
		c.Org, c.Product, c.Priority, dash(c.Team), dash(c.Assignee), c.Requester, reqNote, c.CreatedAt.Format("2006-01-02 15:04"))
	if c.FollowUpOf != nil {
		fmt.Fprintf(e.stdout, "Follow-up of: #%d\n", *c.FollowUpOf)
	}
	if c.EscalatedAt != nil {
		fmt.Fprintf(e.stdout, "Escalated: %s (%s)\n", c.EscalatedAt.Format("2006-01-02 15:04"), c.EscalationReason.Description())
	}
	for _, w := range c.WatcherDetails {
		note := ""
		if w.Suppressed {
			note = " (no more mail: " + w.Reason + ")"
		}
		fmt.Fprintf(e.stdout, "Watcher:   %s [%s]%s\n", w.Address, w.AddedBy, note)
	}
	for _, a := range atts {
		where := "opening mail"
		if a.CommentID != 0 {
			where = fmt.Sprintf("comment %d", a.CommentID)
		}
		fmt.Fprintf(e.stdout, "Attachment: %s (%s, %d bytes, %s)\n", a.Filename, a.ContentType, a.Size, where)
	}
	if strings.TrimSpace(c.Description) != "" { // a case opened by phone may have no text
		fmt.Fprintf(e.stdout, "\n%s\n", c.Description)
	}
	for _, cm := range c.Comments {
		who := cm.Author
		if cm.BySupport {
			who += " (support)"
		}
		if cm.Unauthenticated {
			who += " (UNAUTHENTICATED sender: threaded by its reply token, the From may be forged)"
		}
		kind := "comment"
		if cm.Internal {
			kind = "INTERNAL NOTE"
		}
		fmt.Fprintf(e.stdout, "\n--- %s %d by %s, %s\n%s\n", kind, cm.ID, who, cm.CreatedAt.Format("2006-01-02 15:04"), cm.Body)
	}
	if len(c.Events) > 0 {
		fmt.Fprintf(e.stdout, "\nHistory:\n")
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, ev := range c.Events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", ev.At.Format("2006-01-02 15:04"), dash(ev.By), ev.Kind, ev.Detail)
		}
		tw.Flush()
	}
	return nil
}

func cmdCaseComment(e *env, args []string) error {
	fs := e.flags("case comment")
	by := fs.String("by", "", "author's address")
	bodyFile := fs.String("body-file", "-", "file with the comment, - for stdin")
	internal := fs.Bool("internal", false, "an internal note: agents only, never mailed to the customer or watchers")
	asJSON := fs.Bool("json", false, "print the comment as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *by == "" {
		return usageError("case comment needs --by ADDR (the author)")
	}
	id, err := parseID(pos[0])
	if err != nil {
		return err
	}
	body, err := readBody(e, *bodyFile)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	add := e.book.AddComment
	if *internal {
		add = e.book.AddInternalNote
	}
	cm, err := add(e.ctx, id, *by, strings.TrimSpace(body))
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(cm)
	}
	if *internal {
		fmt.Fprintf(e.stdout, "internal note %d added to case %d (not mailed to the customer)\n", cm.ID, id)
		return nil
	}
	fmt.Fprintf(e.stdout, "comment %d added to case %d\n", cm.ID, id)
	return nil
}

// caseAction runs one of the simple by-ID actions; act returns what to say.
// With --json the case it changed is printed instead: the one named, or the
// one act sets e.changed to (a follow-up).
func caseAction(e *env, name string, args []string, extra func(fs flagSet), act func(id int64, by string) (string, error)) error {
	fs := e.flags(name)
	by := fs.String("by", "", "who does it")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	if extra != nil {
		extra(fs)
	}
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	msg, err := act(id, *by)
	if err != nil {
		return err
	}
	if *asJSON {
		if e.changed != 0 {
			id = e.changed
		}
		return e.printCase(id)
	}
	fmt.Fprintln(e.stdout, msg)
	return nil
}

type flagSet = interface {
	String(name, value, usage string) *string
}

func cmdCaseClose(e *env, args []string) error {
	return caseAction(e, "case close", args, nil, func(id int64, by string) (string, error) {
		return fmt.Sprintf("case %d closed", id), e.book.CloseCase(e.ctx, id, by)
	})
}

func cmdCaseReopen(e *env, args []string) error {
	return caseAction(e, "case reopen", args, nil, func(id int64, by string) (string, error) {
		return fmt.Sprintf("case %d reopened", id), e.book.ReopenCase(e.ctx, id, by)
	})
}

func cmdCaseEscalate(e *env, args []string) error {
	var reason *string
	return caseAction(e, "case escalate", args, func(fs flagSet) { reason = fs.String("reason", "", "escalation reason") },
		func(id int64, by string) (string, error) {
			if *reason == "" {
				return "", usageError("case escalate needs --reason (%s)", casebook.EscalationReasonNames())
			}
			r := casebook.EscalationReason(*reason)
			return fmt.Sprintf("case %d escalated (%s)", id, r.Description()), e.book.Escalate(e.ctx, id, r, by)
		})
}

func cmdCaseFollowup(e *env, args []string) error {
	var title *string
	return caseAction(e, "case followup", args, func(fs flagSet) { title = fs.String("title", "", "title of the follow-up") },
		func(id int64, by string) (string, error) {
			if by == "" {
				return "", usageError("case followup needs --by ADDR (who opens the follow-up)")
			}
			c, err := e.book.FollowUp(e.ctx, id, by, *title)
			e.changed = c.ID
			return fmt.Sprintf("case %d opened as a follow-up of case %d", c.ID, id), err
		})
}

func cmdCaseWatchers(e *env, args []string) error {
	fs := e.flags("case watchers")
	asJSON := fs.Bool("json", false, "print the case as JSON")
	pos, err := parse(fs, args, 3, 3)
	if err != nil {
		return err
	}
	id, err := parseID(pos[0])
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	var msg string
	switch pos[1] {
	case "add":
		if err := e.book.AddWatcher(e.ctx, id, pos[2]); err != nil {
			return err
		}
		msg = fmt.Sprintf("%s now watches case %d", pos[2], id)
	case "remove":
		if err := e.book.RemoveWatcher(e.ctx, id, pos[2]); err != nil {
			return err
		}
		msg = fmt.Sprintf("%s no longer watches case %d", pos[2], id)
	default:
		return usageError("case watchers ID add|remove ADDR: %q is neither add nor remove", pos[1])
	}
	if *asJSON {
		return e.printCase(id)
	}
	fmt.Fprintln(e.stdout, msg)
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// printCase prints a case as JSON, as "case show --json" does: what a
// command that changed it prints with --json.
func (e *env) printCase(id int64) error {
	c, err := e.book.Case(e.ctx, id)
	if err != nil {
		return err
	}
	return e.printJSON(c)
}

// participantOrgs are the organisations of the cases addr submitted or watches.
func participantOrgs(e *env, addr string) ([]string, error) {
	all, err := e.book.Queue(e.ctx, casebook.QueueFilter{})
	if err != nil {
		return nil, err
	}
	var orgs []string
	for _, c := range all {
		if slices.Contains(orgs, c.Org) {
			continue
		}
		if strings.EqualFold(c.Requester, addr) || slices.ContainsFunc(c.Watchers, func(w string) bool { return strings.EqualFold(w, addr) }) {
			orgs = append(orgs, c.Org)
		}
	}
	slices.Sort(orgs)
	return orgs, nil
}
