package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/casemail/casemail/casebook"
)

func cmdAccountAdd(e *env, args []string) error {
	fs := e.flags("account add")
	name := fs.String("name", "", "display name")
	verified := fs.Bool("verified", false, "the address is verified (R2)")
	agent := fs.Bool("agent", false, "support staff")
	locale := fs.String("locale", "", "fr or en")
	asJSON := fs.Bool("json", false, "print the account as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.open(); err != nil {
		return err
	}
	a := casebook.Account{Address: pos[0], Name: *name, Verified: *verified, Agent: *agent, Locale: *locale}
	if err := e.book.AddAccount(e.ctx, a); err != nil {
		return err
	}
	if *asJSON {
		v, err := e.accountView(pos[0])
		if err != nil {
			return err
		}
		return e.printJSON(v)
	}
	fmt.Fprintf(e.stdout, "account %s added\n", strings.ToLower(pos[0]))
	return nil
}

func cmdOrgCreate(e *env, args []string) error {
	fs := e.flags("org create")
	owner := fs.String("owner", "", "owner's address")
	name := fs.String("name", "", "display name")
	var entitle listFlag
	fs.Var(&entitle, "entitle", "product the organisation is entitled to (repeatable)")
	asJSON := fs.Bool("json", false, "print the organisation as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *owner == "" {
		return usageError("org create needs --owner ADDR")
	}
	if err := e.open(); err != nil {
		return err
	}
	var products []string
	for _, p := range entitle {
		products = append(products, strings.Split(p, ",")...)
	}
	if err := e.book.CreateOrg(e.ctx, casebook.Org{Slug: pos[0], Name: *name, Owner: *owner, Products: products}); err != nil {
		return err
	}
	if *asJSON {
		o, err := e.book.Org(e.ctx, pos[0])
		if err != nil {
			return err
		}
		return e.printJSON(o)
	}
	fmt.Fprintf(e.stdout, "organisation %s created, owned by %s\n", pos[0], *owner)
	return nil
}

func cmdAccessGrant(e *env, args []string) error {
	fs := e.flags("access grant")
	org := fs.String("org", "", "organisation")
	by := fs.String("by", "", "the owner granting")
	perm := fs.String("perm", "", "open,view")
	asJSON := fs.Bool("json", false, "print the grant as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *org == "" || *by == "" || *perm == "" {
		return usageError("access grant needs --org SLUG --by OWNER --perm open,view")
	}
	var perms []casebook.Perm
	for _, p := range strings.Split(*perm, ",") {
		perms = append(perms, casebook.Perm(strings.TrimSpace(p)))
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.book.Grant(e.ctx, *org, *by, pos[0], perms); err != nil {
		return err
	}
	if *asJSON {
		return e.printGrant(*org, pos[0])
	}
	fmt.Fprintf(e.stdout, "%s may now %s for %s\n", pos[0], *perm, *org)
	return nil
}

func cmdAccessRevoke(e *env, args []string) error {
	fs := e.flags("access revoke")
	org := fs.String("org", "", "organisation")
	by := fs.String("by", "", "the owner revoking")
	asJSON := fs.Bool("json", false, "print the grant as JSON")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *org == "" || *by == "" {
		return usageError("access revoke needs --org SLUG --by OWNER")
	}
	if err := e.open(); err != nil {
		return err
	}
	if err := e.book.Revoke(e.ctx, *org, *by, pos[0]); err != nil {
		return err
	}
	if *asJSON {
		return e.printGrant(*org, pos[0])
	}
	fmt.Fprintf(e.stdout, "shared access of %s to %s revoked\n", pos[0], *org)
	return nil
}

func cmdAccessList(e *env, args []string) error {
	fs := e.flags("access list")
	org := fs.String("org", "", "organisation")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *org == "" {
		return usageError("access list needs --org SLUG")
	}
	if err := e.open(); err != nil {
		return err
	}
	gs, err := e.book.Grants(e.ctx, *org)
	if err != nil {
		return err
	}
	if *asJSON {
		if gs == nil {
			gs = []casebook.Grant{}
		}
		return e.printJSON(gs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GRANTEE\tPERMS\tSOURCE\tREVOKED")
	for _, g := range gs {
		var ps []string
		for _, p := range g.Perms {
			ps = append(ps, string(p))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", g.Grantee, strings.Join(ps, ","), g.Source, g.Revoked)
	}
	return tw.Flush()
}

// printGrant prints one grant of org as JSON: what grant and revoke changed.
func (e *env) printGrant(org, grantee string) error {
	gs, err := e.book.Grants(e.ctx, org)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if strings.EqualFold(g.Grantee, grantee) {
			return e.printJSON(g)
		}
	}
	return fmt.Errorf("no grant of %s to %s", org, grantee)
}
