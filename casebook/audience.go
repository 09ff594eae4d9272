package casebook

import (
	"context"
	"errors"
	"slices"

	"github.com/casemail/casemail/templates"
)

// Audience answers "who hears about this?" for a decision not yet
// recorded: the addresses Record would queue a notification for if it
// recorded d now. "casemail route test" prints it; Record queues through the
// same functions (audience, newCaseWatchers, followUpOf, noticeAllowed, and
// hold for the limits of limits.go), so the two cannot disagree.
//
// Customers and watchers come first, then the agents (agentAudience): the
// assignee, else the case's team, never the author nor a customer.
func (b *Book) Audience(ctx context.Context, d Delivery) ([]string, error) {
	out, err := b.followerAudience(ctx, d)
	if err != nil {
		return nil, err
	}
	agents, err := b.agentAudience(ctx, b.rdb, d)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		// An agent's address can be suppressed too; enqueue's hold drops it.
		if _, err := b.suppression(ctx, b.rdb, a); err == nil {
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// followerAudience is the customers and watchers Record would mail for d.
func (b *Book) followerAudience(ctx context.Context, d Delivery) ([]string, error) {
	q := b.rdb
	if d.Notice != nil {
		ok, err := b.noticeAllowed(ctx, q, d.Notice.To)
		if err != nil || !ok {
			return nil, err
		}
		return b.notHeld(ctx, q, notice{Template: d.Notice.Template, CaseID: d.CaseID}, []string{normAddr(d.Notice.To)})
	}
	switch d.Action {
	case ActOpen:
		nc := d.Open
		if nc.FollowUpOf != 0 {
			orig, err := b.caseTx(ctx, q, nc.FollowUpOf)
			if err != nil {
				return nil, err
			}
			nc = followUpOf(orig, nc.Requester, "", "")
		}
		// The case has no number yet: only the limit on new people applies.
		return b.notHeld(ctx, q, notice{Template: templates.CaseOpened}, audience(Case{Requester: normAddr(nc.Requester), WatcherDetails: newCaseWatchers(nc)}, ""))
	case ActComment:
		if d.Internal {
			return nil, nil // I3: an internal note is for agents only
		}
		c, err := b.caseTx(ctx, q, d.CaseID)
		if err != nil {
			return nil, err
		}
		return b.notHeld(ctx, q, notice{Template: templates.CommentAdded, CaseID: c.ID}, audience(c, d.Author))
	}
	return nil, nil
}

// audience is who hears about a change to c (R8): its requester and every
// watcher whose address is not suppressed (suppressions.go), less the
// author of the change, requester first. A suppressed requester is dropped
// later, by hold, with the reason in the message's record.
func audience(c Case, author string) []string {
	out := []string{normAddr(c.Requester)}
	for _, w := range c.WatcherDetails {
		if a := normAddr(w.Address); !w.Suppressed && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return slices.DeleteFunc(out, func(a string) bool { return a == "" || a == normAddr(author) })
}

// newCaseWatchers are the watchers a new case starts with (R8): the people
// copied, once each, never the requester.
func newCaseWatchers(nc NewCase) []Watcher {
	var out []Watcher
	for _, w := range nc.Watchers {
		w = normAddr(w)
		if w == "" || w == normAddr(nc.Requester) || slices.ContainsFunc(out, func(x Watcher) bool { return x.Address == w }) {
			continue
		}
		out = append(out, Watcher{Address: w, AddedBy: "cc"})
	}
	return out
}

// followUpOf is the follow-up of orig (R14): same organisation, product and
// team, and everyone who followed orig and still gets mail, the former
// requester included when someone else asks for the follow-up.
func followUpOf(orig Case, requester, title, description string) NewCase {
	var watchers []string
	for _, w := range orig.WatcherDetails {
		if !w.Suppressed {
			watchers = append(watchers, w.Address)
		}
	}
	if normAddr(requester) != normAddr(orig.Requester) {
		watchers = append(watchers, orig.Requester)
	}
	return NewCase{Org: orig.Org, Product: orig.Product, Team: orig.Team, Priority: orig.Priority,
		Title: title, Description: description, Requester: requester, Watchers: watchers, FollowUpOf: orig.ID}
}
