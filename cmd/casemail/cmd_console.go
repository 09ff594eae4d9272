package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

// The administrator's console (issue 11): accounts, organisations,
// quarantine and replay, the outbox.

func cmdAccountList(e *env, args []string) error {
	fs := e.flags("account list")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	as, err := e.book.Accounts(e.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(as)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tNAME\tVERIFIED\tAGENT\tLOCALE\tDISABLED")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\t%v\n", a.Address, dash(a.Name), a.Verified, a.Agent, dash(a.Locale), a.Disabled)
	}
	return tw.Flush()
}

// accountView is what "account show" prints: the account and what it
// belongs to. Other parts of an account's state go here as new fields.
type accountView struct {
	casebook.Account
	Orgs []casebook.Membership `json:"orgs"`
	// Suppressed is set while no notification goes to the address (a hard
	// bounce or a complaint, issue 12): "account unsuppress" lifts it.
	Suppressed *casebook.Suppression `json:"suppressed,omitempty"`
}

func (e *env) accountView(addr string) (accountView, error) {
	a, err := e.book.Account(e.ctx, addr)
	if err != nil {
		return accountView{}, err
	}
	s, err := e.book.Sender(e.ctx, addr)
	if err != nil {
		return accountView{}, err
	}
	v := accountView{Account: a, Orgs: s.Orgs}
	if v.Orgs == nil {
		v.Orgs = []casebook.Membership{}
	}
	if v.Suppressed, err = e.suppression(addr); err != nil {
		return accountView{}, err
	}
	return v, nil
}

// suppression is addr's suppression, nil when mail goes to it.
func (e *env) suppression(addr string) (*casebook.Suppression, error) {
	s, err := e.book.Suppression(e.ctx, addr)
	if errors.Is(err, casebook.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// suppressionNote is how "account show" and "case show" print a suppression.
func suppressionNote(s *casebook.Suppression) string {
	note := s.Reason + " on " + s.CreatedAt.UTC().Format("2006-01-02")
	if s.Detail != "" {
		note += ": " + s.Detail
	}
	return note
}

func (e *env) printAccount(v accountView, asJSON bool) error {
	if asJSON {
		return e.printJSON(v)
	}
	fmt.Fprintf(e.stdout, "Account:  %s\nName:     %s\nVerified: %v\nAgent:    %v\nLocale:   %s\nDisabled: %v\nSince:    %s\n",
		v.Address, dash(v.Name), v.Verified, v.Agent, dash(v.Locale), v.Disabled, v.CreatedAt.Format("2006-01-02"))
	for _, m := range v.Orgs {
		var rights []string
		for _, r := range []struct {
			on   bool
			name string
		}{{m.Owner, "owner"}, {m.Open, "open"}, {m.View, "view"}} {
			if r.on {
				rights = append(rights, r.name)
			}
		}
		fmt.Fprintf(e.stdout, "Org:      %s (%s)\n", m.Org, strings.Join(rights, ", "))
	}
	if v.Suppressed != nil {
		fmt.Fprintf(e.stdout, "Suppressed: no notification of any case (%s); casemail account unsuppress %s lifts it\n", suppressionNote(v.Suppressed), v.Address)
	}
	return nil
}

func cmdAccountShow(e *env, args []string) error {
	fs := e.flags("account show")
	asJSON := fs.Bool("json", false, "JSON output")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	v, err := e.accountView(pos[0])
	if errors.Is(err, casebook.ErrNotFound) {
		// A watcher copied on a case may have no account: its suppression
		// still shows.
		s, serr := e.suppression(pos[0])
		if serr != nil || s == nil {
			return errors.Join(err, serr)
		}
		if *asJSON {
			return e.printJSON(struct {
				Address    string                `json:"address"`
				Suppressed *casebook.Suppression `json:"suppressed"`
			}{s.Address, s})
		}
		fmt.Fprintf(e.stdout, "Account:  %s (none)\nSuppressed: no notification of any case (%s); casemail account unsuppress %s lifts it\n", s.Address, suppressionNote(s), s.Address)
		return nil
	}
	if err != nil {
		return err
	}
	return e.printAccount(v, *asJSON)
}

// cmdAccountUnsuppress lifts the suppression of an address after a hard
// bounce or a complaint (issue 12): it gets notifications again.
func cmdAccountUnsuppress(e *env, args []string) error {
	fs := e.flags("account unsuppress")
	asJSON := fs.Bool("json", false, "JSON output")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	s, err := e.book.Suppression(e.ctx, pos[0])
	if err != nil {
		return err
	}
	if err := e.book.Unsuppress(e.ctx, pos[0]); err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(struct {
			Address      string `json:"address"`
			Unsuppressed bool   `json:"unsuppressed"`
			Was          string `json:"was"`
		}{s.Address, true, s.Reason})
	}
	fmt.Fprintf(e.stdout, "%s gets notifications again (was suppressed: %s)\n", s.Address, suppressionNote(&s))
	return nil
}

func cmdAccountSet(e *env, args []string) error {
	fs := e.flags("account set")
	name := fs.String("name", "", "display name")
	locale := fs.String("locale", "", "fr or en")
	agent := fs.Bool("agent", false, "support staff (--agent=false: no longer)")
	asJSON := fs.Bool("json", false, "print the account as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var ch casebook.AccountChanges
	if flagGiven(fs, "name") {
		ch.Name = name
	}
	if flagGiven(fs, "locale") {
		ch.Locale = locale
	}
	if flagGiven(fs, "agent") {
		ch.Agent = agent
	}
	if ch == (casebook.AccountChanges{}) {
		return usageError("account set needs --name, --locale or --agent")
	}
	if err := e.open(); err != nil {
		return err
	}
	if _, err := e.book.UpdateAccount(e.ctx, pos[0], ch); err != nil {
		return err
	}
	v, err := e.accountView(pos[0])
	if err != nil {
		return err
	}
	return e.printAccount(v, *asJSON)
}

func cmdAccountDisable(e *env, args []string) error {
	fs := e.flags("account disable")
	asJSON := fs.Bool("json", false, "print the account as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	if _, err := e.book.DisableAccount(e.ctx, pos[0]); err != nil {
		return err
	}
	v, err := e.accountView(pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(v)
	}
	fmt.Fprintf(e.stdout, "account %s disabled: it can no longer open cases; its cases and comments stay\n", v.Address)
	return nil
}

func cmdOrgList(e *env, args []string) error {
	fs := e.flags("org list")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	slugs, err := e.book.Orgs(e.ctx)
	if err != nil {
		return err
	}
	orgs := []casebook.Org{}
	for _, s := range slugs {
		o, err := e.book.Org(e.ctx, s)
		if err != nil {
			return err
		}
		orgs = append(orgs, o)
	}
	if *asJSON {
		return e.printJSON(orgs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tOWNER\tPRODUCTS")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Slug, dash(o.Name), o.Owner, strings.Join(o.Products, ","))
	}
	return tw.Flush()
}

func (e *env) printOrg(o casebook.Org, asJSON bool) error {
	if asJSON {
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "Organisation: %s\nName:         %s\nOwner:        %s\nProducts:     %s\n", o.Slug, dash(o.Name), o.Owner, strings.Join(o.Products, ", "))
	return nil
}

func cmdOrgShow(e *env, args []string) error {
	fs := e.flags("org show")
	asJSON := fs.Bool("json", false, "JSON output")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := e.book.Org(e.ctx, pos[0])
	if err != nil {
		return err
	}
	return e.printOrg(o, *asJSON)
}

func cmdOrgSet(e *env, args []string) error {
	fs := e.flags("org set")
	name := fs.String("name", "", "display name")
	owner := fs.String("owner", "", "the new owner's address (an account)")
	asJSON := fs.Bool("json", false, "print the organisation as JSON")
	var entitle listFlag
	fs.Var(&entitle, "entitle", "add a product the organisation is entitled to (repeatable, R3)")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	ch := casebook.OrgChanges{Owner: *owner}
	if flagGiven(fs, "name") {
		ch.Name = name
	}
	for _, p := range entitle {
		ch.Entitle = append(ch.Entitle, strings.Split(p, ",")...)
	}
	if ch.Name == nil && ch.Owner == "" && len(ch.Entitle) == 0 {
		return usageError("org set needs --name, --owner or --entitle")
	}
	if err := e.open(); err != nil {
		return err
	}
	o, err := e.book.UpdateOrg(e.ctx, pos[0], ch)
	if err != nil {
		return err
	}
	return e.printOrg(o, *asJSON)
}

// storedMail reads a recorded message's raw bytes.
func (e *env) storedMail(id int64) (casebook.Message, []byte, error) {
	m, err := e.book.Message(e.ctx, id)
	if errors.Is(err, casebook.ErrNotFound) {
		return m, nil, fmt.Errorf("there is no message %d", id)
	}
	if err != nil {
		return m, nil, err
	}
	var buf bytes.Buffer
	if err := e.book.WriteRaw(e.ctx, m.RawSHA256, &buf); err != nil {
		return m, nil, err
	}
	return m, buf.Bytes(), nil
}

func (e *env) printReplayed(r casebook.Replayed, asJSON bool, say string) error {
	if asJSON {
		return e.printJSON(r)
	}
	fmt.Fprintln(e.stdout, say)
	return nil
}

func cmdMessageRelease(e *env, args []string) error {
	fs := e.flags("message release")
	toCase := fs.String("case", "", "add the mail as a comment on this case")
	newCase := fs.Bool("new-case", false, "open a new case with the mail, for its sender")
	org := fs.String("org", "", "with --new-case: the organisation (default: the sender's only one)")
	product := fs.String("product", "", "with --new-case: the product (default: the route's)")
	by := fs.String("by", "", "the agent who checked the mail")
	asJSON := fs.Bool("json", false, "print the message's outcomes as JSON")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	if (*toCase == "") == !*newCase {
		return usageError("message release needs --case N or --new-case (one of them)")
	}
	m, raw, err := e.storedMail(id)
	if err != nil {
		return err
	}
	p, err := ingest.Parse(raw, message.Options{})
	if err != nil {
		return fmt.Errorf("message %d cannot be read as a mail (%v): it cannot be released", id, err)
	}
	if *newCase {
		nc := casebook.NewCase{Org: *org, Product: *product, Title: p.Subject, Description: p.Text, Team: e.cfg.Policy.DefaultTeam, Watchers: p.Cc}
		if err := e.releaseRoute(&nc, m); err != nil {
			return err
		}
		r, err := e.book.Release(e.ctx, id, 0, nc, "", "", *by)
		if err != nil {
			return err
		}
		return e.printReplayed(r, *asJSON, fmt.Sprintf("message %d released: case %d opened for %s", id, *r.CaseID, m.From))
	}
	cid, err := parseID(*toCase)
	if err != nil {
		return err
	}
	r, err := e.book.Release(e.ctx, id, cid, casebook.NewCase{}, p.ReplyText, p.Text, *by)
	if err != nil {
		return err
	}
	return e.printReplayed(r, *asJSON, fmt.Sprintf("message %d released: added to case %d as a comment by %s", id, cid, m.From))
}

// releaseRoute fills what a released mail's new case needs and the command
// line did not say: the route of its recipients (product, team), the
// sender's only organisation (R4).
func (e *env) releaseRoute(nc *casebook.NewCase, m casebook.Message) error {
	for _, r := range e.cfg.Routes {
		if !addrIn(r.Address, m.Recipients) {
			continue
		}
		if nc.Product == "" {
			nc.Product = r.Product
		}
		if r.Team != "" {
			nc.Team = r.Team
		}
		if nc.Locale == "" {
			nc.Locale = r.Locale
		}
		break
	}
	if nc.Org == "" {
		s, err := e.book.Sender(e.ctx, m.From)
		if err != nil {
			return err
		}
		if len(s.Orgs) != 1 {
			return usageError("message release --new-case: %s is in %d organisations: add --org", m.From, len(s.Orgs))
		}
		nc.Org = s.Orgs[0].Org
	}
	if nc.Product == "" {
		return usageError("message release --new-case: no route names a product for %s: add --product", strings.Join(m.Recipients, ", "))
	}
	return nil
}

func addrIn(a string, list []string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(a)) {
			return true
		}
	}
	return false
}

func cmdMessageReplay(e *env, args []string) error {
	fs := e.flags("message replay")
	dry := fs.Bool("dry-run", false, "print the new decision, apply nothing")
	asJSON := fs.Bool("json", false, "print the message's outcomes as JSON")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	m, raw, err := e.storedMail(id)
	if err != nil {
		return err
	}
	gw, err := e.gateway()
	if err != nil {
		return err
	}
	env := ingest.Envelope{Transport: ingest.Transport(m.Transport), Recipients: m.Recipients, MailFrom: m.MailFrom, RemoteAddr: "replay"}
	if m.MailFrom == "<>" {
		env.MailFrom, env.NullSender = "", true
	}
	d, _, err := gw.Decide(e.ctx, env, raw)
	if err != nil {
		return err
	}
	r, err := e.book.Replay(e.ctx, id, d.Delivery(), *dry)
	if err != nil {
		return err
	}
	// A dry run applies nothing, also when the casebook found nothing to do.
	same := *dry && !r.DryRun
	r.DryRun = r.DryRun || *dry
	var say string
	switch {
	case r.Effected && !r.Changed:
		say = fmt.Sprintf("message %d already %s: replaying it changes nothing", id, describe(r))
	case same:
		say = fmt.Sprintf("message %d would still be %s (dry run: nothing applied)", id, describe(r))
	case r.DryRun:
		say = fmt.Sprintf("message %d would now be %s (dry run: nothing applied)", id, describe(r))
	case r.Changed:
		say = fmt.Sprintf("message %d replayed: %s (it was %s)", id, describe(r), r.Message.Outcome)
	default:
		say = fmt.Sprintf("message %d replayed: still %s, nothing recorded", id, describe(r))
	}
	return e.printReplayed(r, *asJSON, say)
}

func describe(r casebook.Replayed) string {
	s := string(r.Outcome)
	if r.CaseID != nil {
		s += fmt.Sprintf(" (case %d)", *r.CaseID)
	}
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

func cmdOutboxRetry(e *env, args []string) error {
	fs := e.flags("outbox retry")
	failed := fs.Bool("failed", false, "every failed notification")
	asJSON := fs.Bool("json", false, "print the notifications as JSON")
	pos, err := parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if (len(pos) == 1) == *failed {
		return usageError("outbox retry needs one notification ID or --failed")
	}
	if err := e.open(); err != nil {
		return err
	}
	var items []casebook.OutboxItem
	if *failed {
		if items, err = e.book.RetryFailed(e.ctx); err != nil {
			return err
		}
	} else {
		id, err := parseID(pos[0])
		if err != nil {
			return err
		}
		it, err := e.book.RetryOutbox(e.ctx, id)
		if err != nil {
			return err
		}
		items = []casebook.OutboxItem{it}
	}
	if *asJSON {
		return e.printJSON(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "no failed notifications")
		return nil
	}
	for _, it := range items {
		fmt.Fprintf(e.stdout, "notification %d (%s to %s) will be sent again\n", it.ID, it.Template, it.To)
	}
	return nil
}
