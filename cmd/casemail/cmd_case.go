package main

import (
	"fmt"
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

func cmdCaseList(e *env, args []string) error {
	fs := e.flags("case list")
	org := fs.String("org", "", "organisation")
	status := fs.String("status", "", "open or closed")
	as := fs.String("as", "", "list only what this user may see")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *status != "" && *status != "open" && *status != "closed" {
		return usageError("--status must be open or closed, not %q", *status)
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := orgFor(e, *org, *as)
	if err != nil {
		return err
	}
	cases, err := e.book.List(e.ctx, casebook.ListFilter{Org: o, Status: casebook.Status(*status), Viewer: *as})
	if err != nil {
		return err
	}
	return printCases(e, cases, *asJSON)
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
	as := fs.String("as", "", "show only if this user may see the case")
	asJSON := fs.Bool("json", false, "JSON output")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	c, err := e.book.Case(e.ctx, id)
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
	}
	if *asJSON {
		return e.printJSON(c)
	}
	fmt.Fprintf(e.stdout, "Case #%d: %s\n", c.ID, c.Title)
	fmt.Fprintf(e.stdout, "Status:    %s", c.Status)
	if c.ClosedAt != nil {
		fmt.Fprintf(e.stdout, " (closed %s; reopen until %s)", c.ClosedAt.Format("2006-01-02 15:04"), e.book.ReopenDeadline(c).Format("2006-01-02 15:04"))
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "Org:       %s\nProduct:   %s\nPriority:  %s\nRequester: %s\nOpened:    %s\n", c.Org, c.Product, c.Priority, c.Requester, c.CreatedAt.Format("2006-01-02 15:04"))
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
	fmt.Fprintf(e.stdout, "\n%s\n", c.Description)
	for _, cm := range c.Comments {
		who := cm.Author
		if cm.BySupport {
			who += " (support)"
		}
		if cm.Unauthenticated {
			who += " (UNAUTHENTICATED sender: threaded by its reply token, the From may be forged)"
		}
		fmt.Fprintf(e.stdout, "\n--- comment %d by %s, %s\n%s\n", cm.ID, who, cm.CreatedAt.Format("2006-01-02 15:04"), cm.Body)
	}
	return nil
}

func cmdCaseComment(e *env, args []string) error {
	fs := e.flags("case comment")
	by := fs.String("by", "", "author's address")
	bodyFile := fs.String("body-file", "-", "file with the comment, - for stdin")
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
	cm, err := e.book.AddComment(e.ctx, id, *by, strings.TrimSpace(body))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "comment %d added to case %d\n", cm.ID, id)
	return nil
}

// caseAction runs one of the simple by-ID actions.
func caseAction(e *env, name string, args []string, extra func(fs flagSet), act func(id int64, by string) (string, error)) error {
	fs := e.flags(name)
	by := fs.String("by", "", "who does it")
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
			return fmt.Sprintf("case %d opened as a follow-up of case %d", c.ID, id), err
		})
}

func cmdCaseWatchers(e *env, args []string) error {
	fs := e.flags("case watchers")
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
	switch pos[1] {
	case "add":
		if err := e.book.AddWatcher(e.ctx, id, pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s now watches case %d\n", pos[2], id)
	case "remove":
		if err := e.book.RemoveWatcher(e.ctx, id, pos[2]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s no longer watches case %d\n", pos[2], id)
	default:
		return usageError("case watchers ID add|remove ADDR: %q is neither add nor remove", pos[1])
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
