package casebook

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Rule names a domain rule (R1-R20) or invariant (I1-I6) that refuses an
// action (RuleError.Rule; RuleOf gives it as a string).
type Rule string

// The rules the casebook refuses by.
const (
	R1  Rule = "R1"  // registered sender
	R2  Rule = "R2"  // verified address
	R3  Rule = "R3"  // entitlement
	R4  Rule = "R4"  // one organisation, chosen on purpose
	R7  Rule = "R7"  // only participants see a case
	R11 Rule = "R11" // the customer or support closes
	R12 Rule = "R12" // reopen window
	R13 Rule = "R13" // no reopening by mail
	R14 Rule = "R14" // imported cases are read-only
	R15 Rule = "R15" // escalation
	R16 Rule = "R16" // only the owner grants
	R17 Rule = "R17" // shared access is not passed on
	R18 Rule = "R18" // external grants are stripped, not deleted
	R19 Rule = "R19" // acting with shared access
	I6  Rule = "I6"  // threads cannot be forged
)

// The rules for opening a case (docs/rules.md: R1-R4, R19), one function
// each, named after what the rule says. MayOpen applies them in order for
// mail, CheckOpen for the command line, and Record again inside its
// transaction, since the state may have changed since the decision.

// registeredSender: only a known account may open a case (R1).
func registeredSender(s Sender) error {
	if s.Account == nil {
		return refuse(R1, "%s has no account: only registered users can open cases", s.Address)
	}
	if s.Account.Disabled {
		return refuse(R1, "the account %s is disabled: it can no longer open cases", s.Address)
	}
	return nil
}

// verifiedAddress: an account whose address is not verified cannot open a
// case (R2).
func verifiedAddress(s Sender) error {
	if !s.Account.Verified {
		return refuse(R2, "%s has not verified its email address", s.Address)
	}
	return nil
}

// WhichOrgError is the R4 refusal of a sender in several organisations
// whose mail does not say which one: Orgs are the ones to choose from.
type WhichOrgError struct {
	Sender string
	Orgs   []string
}

func (e *WhichOrgError) Error() string {
	return fmt.Sprintf("%s belongs to %s and the mail does not say which", e.Sender, strings.Join(e.Orgs, ", "))
}

// Unwrap makes RuleOf answer R4.
func (e *WhichOrgError) Unwrap() error { return &RuleError{Rule: R4, Msg: e.Error()} }

// oneOrganisation: a case belongs to exactly one organisation, chosen on
// purpose, never guessed (R4): the one the mail names (its route or plus
// tag), else the sender's only organisation it may open cases for.
func oneOrganisation(s Sender, named string) (string, error) {
	if named != "" {
		return named, nil
	}
	var orgs []string
	for _, m := range s.Orgs {
		if m.Open {
			orgs = append(orgs, m.Org)
		}
	}
	switch len(orgs) {
	case 0:
		return "", refuse(R19, "%s may not open cases for any organisation", s.Address)
	case 1:
		return orgs[0], nil
	}
	return "", &WhichOrgError{Sender: s.Address, Orgs: orgs}
}

// mayOpenFor: a member opens cases for an organisation only with the
// permission to (R19; the owner has it).
func mayOpenFor(s Sender, org string) error {
	if m, ok := s.Member(org); !ok || !m.Open {
		return refuse(R19, "%s may not open cases for %s", s.Address, org)
	}
	return nil
}

// entitled: the organisation must be entitled to support for the product
// (R3).
func entitled(o Org, product string) error {
	if !slices.Contains(o.Products, product) {
		return refuse(R3, "%s is not entitled to support for %s", o.Slug, product)
	}
	return nil
}

// MayOpen applies the rules for opening a case, in order: R1, R2, R4, R19,
// R3. named is the organisation the mail names, "" when it names none. It
// returns the organisation of the case, or the first rule that refuses
// (a *RuleError, or a *WhichOrgError for R4), or ErrNotFound when the
// organisation named does not exist; once the organisation is known (R4)
// it is returned with the refusal too.
func (b *Book) MayOpen(ctx context.Context, s Sender, named, product string) (string, error) {
	return b.mayOpen(ctx, b.rdb, s, named, product)
}

func (b *Book) mayOpen(ctx context.Context, q querier, s Sender, named, product string) (string, error) {
	if err := registeredSender(s); err != nil {
		return "", err
	}
	if err := verifiedAddress(s); err != nil {
		return "", err
	}
	org, err := oneOrganisation(s, named)
	if err != nil {
		return "", err
	}
	o, err := b.org(ctx, q, org)
	if err != nil {
		return org, err
	}
	if err := mayOpenFor(s, org); err != nil {
		return org, err
	}
	if err := entitled(o, product); err != nil {
		return org, err
	}
	return org, nil
}
