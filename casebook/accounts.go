package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
)

// AddAccount registers a person. Addresses are compared case-insensitively.
func (b *Book) AddAccount(ctx context.Context, a Account) error {
	addr, err := checkAddr(a.Address)
	if err != nil {
		return err
	}
	if a.Locale != "" && a.Locale != "fr" && a.Locale != "en" {
		return fmt.Errorf("locale must be fr or en, not %q", a.Locale)
	}
	_, err = b.db.ExecContext(ctx, b.query("account-insert"), addr, a.Name, boolInt(a.Verified), boolInt(a.Agent), a.Locale, ms(b.now()))
	if err != nil {
		if isUnique(err) {
			return fmt.Errorf("account %s already exists", addr)
		}
		return fmt.Errorf("add account %s: %w", addr, err)
	}
	return nil
}

// Account returns the account of addr, or an error wrapping ErrNotFound.
func (b *Book) Account(ctx context.Context, addr string) (Account, error) {
	return b.account(ctx, b.rdb, addr)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (b *Book) account(ctx context.Context, q querier, addr string) (Account, error) {
	cache := readCacheOf(ctx)
	if a, ok := cache.account(normAddr(addr)); ok {
		return a, nil
	}
	var a Account
	var verified, agent, disabled int
	var created int64
	err := q.QueryRowContext(ctx, b.query("account-get"), normAddr(addr)).Scan(&a.Address, &a.Name, &verified, &agent, &a.Locale, &created, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("there is no account %s", normAddr(addr))
	}
	if err != nil {
		return a, fmt.Errorf("read account %s: %w", addr, err)
	}
	a.Verified, a.Agent, a.CreatedAt, a.Disabled = verified == 1, agent == 1, fromMS(created), disabled == 1
	cache.putAccount(normAddr(addr), a)
	return a, nil
}

// CreateOrg creates an organisation owned by an existing account, entitled to
// the given products (R3).
func (b *Book) CreateOrg(ctx context.Context, o Org) error {
	if o.Slug == "" || strings.ContainsAny(o.Slug, " @+/") {
		return fmt.Errorf("organisation slug %q must be one word without spaces, @, + or /", o.Slug)
	}
	return b.tx(ctx, func(tx *sql.Tx) error {
		owner, err := b.account(ctx, tx, o.Owner)
		if err != nil {
			return fmt.Errorf("owner: %w", err)
		}
		if _, err := tx.ExecContext(ctx, b.query("org-insert"), o.Slug, o.Name, owner.Address, ms(b.now())); err != nil {
			if isUnique(err) {
				return fmt.Errorf("organisation %s already exists", o.Slug)
			}
			return fmt.Errorf("create organisation %s: %w", o.Slug, err)
		}
		for _, p := range o.Products {
			if _, err := tx.ExecContext(ctx, b.query("entitlement-insert"), o.Slug, p); err != nil {
				return fmt.Errorf("entitle %s to %s: %w", o.Slug, p, err)
			}
		}
		return nil
	})
}

// Org returns an organisation with its entitlements.
func (b *Book) Org(ctx context.Context, slug string) (Org, error) { return b.org(ctx, b.rdb, slug) }

func (b *Book) org(ctx context.Context, q querier, slug string) (Org, error) {
	cache := readCacheOf(ctx)
	if o, ok := cache.org(slug); ok {
		return o, nil
	}
	var o Org
	err := q.QueryRowContext(ctx, b.query("org-get"), slug).Scan(&o.Slug, &o.Name, &o.Owner)
	if errors.Is(err, sql.ErrNoRows) {
		return o, notFound("there is no organisation %s", slug)
	}
	if err != nil {
		return o, fmt.Errorf("read organisation %s: %w", slug, err)
	}
	rows, err := q.QueryContext(ctx, b.query("entitlements-of"), slug)
	if err != nil {
		return o, err
	}
	defer rows.Close()
	o.Products = []string{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return o, err
		}
		o.Products = append(o.Products, p)
	}
	if err := rows.Err(); err != nil {
		return o, err
	}
	cache.putOrg(o)
	return o, nil
}

// Grant gives grantee shared access to org with perms (R16). Only the
// organisation's owner may grant (support staff cannot grant on the
// customer's behalf), and a user who has shared access cannot pass it on (R17).
func (b *Book) Grant(ctx context.Context, org, by, grantee string, perms []Perm) error {
	return b.grant(ctx, org, by, grantee, perms, "owner")
}

// GrantExternal records access that came from elsewhere (R18: e.g. a cloud
// project); the owner can strip it but not delete it.
func (b *Book) GrantExternal(ctx context.Context, org, grantee string, perms []Perm, source string) error {
	if source == "" || source == "owner" {
		return fmt.Errorf("an external grant needs its source")
	}
	return b.grant(ctx, org, "", grantee, perms, source)
}

func (b *Book) grant(ctx context.Context, org, by, grantee string, perms []Perm, source string) error {
	for _, p := range perms {
		if p != PermOpen && p != PermView {
			return fmt.Errorf("unknown permission %q (use open, view)", p)
		}
	}
	if len(perms) == 0 {
		return fmt.Errorf("a grant needs at least one permission (open, view)")
	}
	return b.tx(ctx, func(tx *sql.Tx) error {
		o, err := b.org(ctx, tx, org)
		if err != nil {
			return err
		}
		if source == "owner" && normAddr(by) != normAddr(o.Owner) {
			if err := b.checkNoRegrant(ctx, tx, org, o.Owner, by); err != nil {
				return err
			}
			// R16: nobody but the owner grants, support staff included.
			return refuse(R16, "only the account owner of %s (%s) can grant shared access; %s cannot", org, o.Owner, normAddr(by))
		}
		g, err := b.account(ctx, tx, grantee)
		if err != nil {
			return fmt.Errorf("grantee: %w", err)
		}
		if g.Address == normAddr(o.Owner) {
			return fmt.Errorf("%s owns %s already", g.Address, org)
		}
		now := ms(b.now())
		_, err = tx.ExecContext(ctx, b.query("grant-upsert"), org, g.Address, normAddr(by), boolInt(slices.Contains(perms, PermOpen)), boolInt(slices.Contains(perms, PermView)), source, now, now)
		return err
	})
}

// checkNoRegrant refuses a grant by someone who holds shared access to org
// (R17): access is received from the owner, never passed on. It is its own
// rule, not folded into R16, so the refusal tells the grantee why their own
// access does not let them share it.
func (b *Book) checkNoRegrant(ctx context.Context, q querier, org, owner, by string) error {
	g, err := b.grantOf(ctx, q, org, by)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("shared access of %s: %w", normAddr(by), err)
	}
	if g.Revoked || len(g.Perms) == 0 {
		return nil // no access left to pass on: R16 answers
	}
	return refuse(R17, "%s has shared access to %s and cannot pass it on: only the account owner (%s) can grant it", g.Grantee, org, owner)
}

// Revoke withdraws grantee's shared access to org (R18). Only the owner may.
// A grant that came from elsewhere is stripped of every permission but stays
// listed for audit; an owner's grant is marked revoked (also kept).
func (b *Book) Revoke(ctx context.Context, org, by, grantee string) error {
	return b.tx(ctx, func(tx *sql.Tx) error {
		o, err := b.org(ctx, tx, org)
		if err != nil {
			return err
		}
		if normAddr(by) != normAddr(o.Owner) {
			return refuse(R18, "only the account owner of %s (%s) can revoke shared access", org, o.Owner)
		}
		g, err := b.grantOf(ctx, tx, org, grantee)
		if err != nil {
			return err
		}
		q := "grant-revoke"
		if g.Source != "owner" {
			q = "grant-strip"
		}
		_, err = tx.ExecContext(ctx, b.query(q), ms(b.now()), org, g.Grantee)
		return err
	})
}

func (b *Book) grantOf(ctx context.Context, q querier, org, grantee string) (Grant, error) {
	row := q.QueryRowContext(ctx, b.query("grant-get"), org, normAddr(grantee))
	g, err := scanGrant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return g, notFound("%s has no shared access to %s", normAddr(grantee), org)
	}
	return g, err
}

// Grants lists every grant of org, revoked and stripped ones included (R18).
func (b *Book) Grants(ctx context.Context, org string) ([]Grant, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("grants-of-org"), org)
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	defer rows.Close()
	var gs []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanGrant(s scanner) (Grant, error) {
	var g Grant
	var open, view, revoked int
	var created int64
	if err := s.Scan(&g.Org, &g.Grantee, &g.GrantedBy, &open, &view, &g.Source, &revoked, &created); err != nil {
		return g, err
	}
	g.Perms = []Perm{}
	if open == 1 {
		g.Perms = append(g.Perms, PermOpen)
	}
	if view == 1 {
		g.Perms = append(g.Perms, PermView)
	}
	g.Revoked, g.CreatedAt = revoked == 1, fromMS(created)
	return g, nil
}

// Membership is what an address may do in one organisation.
type Membership struct {
	Org   string `json:"org"`
	Owner bool   `json:"owner"`
	Open  bool   `json:"open"` // may open cases (R19)
	View  bool   `json:"view"` // may see the organisation's cases (R7, R19)
}

// Sender is what the casebook knows of a mail's sender.
type Sender struct {
	Address string
	Account *Account // nil: unknown (R1)
	Orgs    []Membership
}

// Sender looks up addr: its account and the organisations it belongs to.
func (b *Book) Sender(ctx context.Context, addr string) (Sender, error) {
	return b.sender(ctx, b.rdb, addr)
}

func (b *Book) sender(ctx context.Context, q querier, addr string) (Sender, error) {
	s := Sender{Address: normAddr(addr)}
	a, err := b.account(ctx, q, addr)
	if errors.Is(err, ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	s.Account = &a
	rows, err := q.QueryContext(ctx, b.query("memberships"), s.Address)
	if err != nil {
		return s, fmt.Errorf("memberships of %s: %w", s.Address, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Membership
		var owner, open, view int
		if err := rows.Scan(&m.Org, &owner, &open, &view); err != nil {
			return s, err
		}
		m.Owner, m.Open, m.View = owner == 1, open == 1, view == 1
		s.Orgs = append(s.Orgs, m)
	}
	return s, rows.Err()
}

// Member returns addr's membership of org, if any.
func (s Sender) Member(org string) (Membership, bool) {
	for _, m := range s.Orgs {
		if m.Org == org {
			return m, true
		}
	}
	return Membership{}, false
}

// CheckOpen says whether addr may open a case for org and product: a known
// account (R1) with a verified address (R2), a member of org allowed to open
// cases (R4, R19), in an organisation entitled to the product (R3).
func (b *Book) CheckOpen(ctx context.Context, addr, org, product string) error {
	return b.checkOpen(ctx, b.rdb, addr, org, product)
}

func (b *Book) checkOpen(ctx context.Context, q querier, addr, org, product string) error {
	s, err := b.sender(ctx, q, addr)
	if err != nil {
		return err
	}
	if org == "" {
		return fmt.Errorf("a case needs an organisation")
	}
	_, err = b.mayOpen(ctx, q, s, org, product)
	return err
}

func checkAddr(a string) (string, error) {
	p, err := mail.ParseAddress(a)
	if err != nil || p.Name != "" {
		return "", fmt.Errorf("%q is not an email address", a)
	}
	return normAddr(p.Address), nil
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || pgUnique(err))
}

// Orgs lists the slugs of every organisation.
func (b *Book) Orgs(ctx context.Context) ([]string, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("orgs-all"))
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
