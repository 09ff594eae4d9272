package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/senderauth"
	"github.com/casemail/casemail/templates"
)

// Decision is what the gateway does with one message; "casemail route test
// --json" prints it.
type Decision struct {
	Action  casebook.Action `json:"action"`
	CaseID  int64           `json:"case_id"`
	Org     string          `json:"org"`
	Product string          `json:"product"`
	Reasons []string        `json:"reasons"`
	Notify  []string        `json:"notify"` // who is mailed (casebook.Book.Audience); filled by Decide only
	// Auth is the sender authentication verdict the decision used (auth.go).
	Auth senderauth.Verdict `json:"auth"`

	delivery   casebook.Delivery
	why        []Reason // Reasons as codes, said in each locale (reasons.go)
	suppress   []string // addresses to suppress after a hard bounce or a complaint
	suppressAs string   // casebook.SuppressedBounce or SuppressedComplaint
	unwatch    int64    // case to stop the sender watching (unsubscribe)
}

// maxReceived is where a chain of Received fields means a mail loop.
const maxReceived = 40

// Decide returns the decision for raw, and who would be mailed, without
// applying anything.
func (g *Gateway) Decide(ctx context.Context, env Envelope, raw []byte) (Decision, *message.Parsed, error) {
	in := g.read(raw, env)
	g.authenticate(ctx, in, raw)
	d, err := g.decide(ctx, in)
	if err == nil {
		d.Notify, err = g.book.Audience(ctx, d.delivery)
	}
	return d, in.parsed, err
}

// decideRules is the one decision function of the rules; decide (auth.go)
// adds sender authentication. Its errors are temporary (storage).
func (g *Gateway) decideRules(ctx context.Context, in *inbound) (Decision, error) {
	d := &Decision{delivery: casebook.Delivery{Message: in.msg}}
	p := in.parsed
	set := d.set
	if in.notMail {
		return set(casebook.ActQuarantine, reason(RNotMail, strings.Join(p.Problems, "; "))), nil
	}
	if in.tooBig != nil {
		return set(casebook.ActRefuse, *in.tooBig), nil
	}

	// I5: machines get no answer and open nothing.
	switch {
	case p.Kind == message.KindBounce:
		return g.bounce(ctx, in, d)
	case len(p.HeaderValues("Received")) > maxReceived:
		return set(casebook.ActIgnore, reason(RReceivedLoop, len(p.HeaderValues("Received")))), nil
	case g.isOwn(p):
		return set(casebook.ActIgnore, reason(ROwnMail)), nil
	case p.Kind == message.KindAutoReply:
		return set(casebook.ActIgnore, reason(RAutoReply)), nil
	case p.Kind == message.KindList:
		return set(casebook.ActIgnore, reason(RListMail)), nil
	}
	sender := strings.ToLower(p.From)
	if sender == "" || p.FromErr != nil {
		return set(casebook.ActQuarantine, noSenderReason(p)), nil
	}
	if local, _, _ := strings.Cut(sender, "@"); slices.Contains([]string{"mailer-daemon", "postmaster"}, local) {
		// A report we could not read as a bounce is still a machine's (I5).
		return set(casebook.ActIgnore, reason(RMachine, local)), nil
	}

	// Unsubscribe (R8): the address is LOCAL+unsubscribe-TOKEN@reply_domain.
	for _, rcpt := range g.recipients(in) {
		kind, tok := address.Parse(rcpt, g.local, g.cfg.Outbound.ReplyDomain)
		if kind != address.Unsubscribe {
			continue
		}
		caseID, err := g.signer.Verify(tok, sender, g.now())
		if err != nil {
			return set(casebook.ActQuarantine, reason(RUnsubscribeToken, err.Error())), nil
		}
		d.unwatch, d.CaseID, d.delivery.CaseID = caseID, caseID, caseID
		return set(casebook.ActIgnore, reason(RUnsubscribed, sender, caseID)), nil
	}

	// An agent's internal note (agent.go).
	if dec, ok, err := g.agentNote(ctx, in, d, sender); ok || err != nil {
		return dec, err
	}

	// I6: which case, if any.
	c, why, err := g.whichCase(ctx, in, sender)
	if err != nil {
		return *d, err
	}
	if why.quarantine != nil {
		d.CaseID = why.claimed
		d.delivery.CaseID = 0 // never link a forged claim to the case
		d.delivery.Claimed = why.claimed
		return set(casebook.ActQuarantine, *why.quarantine), nil
	}
	if c != nil {
		d.add(why.how)
		return g.onCase(ctx, in, d, c, sender)
	}
	return g.newCase(ctx, in, d, sender)
}

// onCase handles a reply to an existing case.
func (g *Gateway) onCase(ctx context.Context, in *inbound, d *Decision, c *casebook.Case, sender string) (Decision, error) {
	set := d.set
	d.CaseID, d.Org, d.Product = c.ID, c.Org, c.Product
	d.delivery.CaseID = c.ID
	p := in.parsed
	if c.Imported {
		// R14: the retired system's cases are read-only: invite a follow-up.
		g.notice(d, templates.NoticeImportedCase, sender, in, c)
		return set(casebook.ActRefuse, reason(RImported, c.ID)), nil
	}
	if c.Status == casebook.StatusClosed {
		if g.cfg.Policy.ClosedReply == "followup" {
			d.delivery.Open = casebook.NewCase{FollowUpOf: c.ID, Requester: sender, Title: p.Subject, Description: p.Text, Locale: g.routeLocale(in)}
			return set(casebook.ActOpen, reason(RFollowUp, c.ID)), nil
		}
		// R13: kept, not a comment, the case stays closed, the sender is told how to reopen.
		g.notice(d, templates.NoticeClosedCase, sender, in, c)
		d.delivery.Notice.Data["reopen_until"] = g.book.ReopenDeadline(*c).Format("2006-01-02")
		return set(casebook.ActRefuse, reason(RClosedCase, c.ID)), nil
	}
	if dec, ok, err := g.agentReply(ctx, in, d, c, sender); ok || err != nil {
		return dec, err // an agent answers, with commands (agent.go)
	}
	// I5: a loop between auto-responders that do not say so.
	if why, err := g.suspectedLoop(ctx, in, c, sender); err != nil || why != nil {
		if err != nil {
			return *d, err
		}
		d.delivery.Alert = loopAlert(c, sender, *why)
		return set(casebook.ActQuarantine, reason(RLoopSuspected, *why)), nil
	}
	d.delivery.Author = sender
	d.delivery.Body = p.ReplyText
	d.delivery.FullText = p.Text
	d.delivery.AddWatchers = g.watchersFrom(in, d, c.Requester)
	return set(casebook.ActComment, reason(RComment, c.ID)), nil
}

// newCase routes a mail that belongs to no case: the rules in the order
// they apply, each decided by the function named after it.
func (g *Gateway) newCase(ctx context.Context, in *inbound, d *Decision, sender string) (Decision, error) {
	set := d.set
	p := in.parsed
	route, tag, ok := g.route(in)
	if !ok {
		return set(casebook.ActQuarantine, reason(RNoRoute, strings.Join(g.recipients(in), ", "))), nil
	}
	d.Product = route.Product
	if redirectsElsewhere(route) {
		g.notice(d, templates.Name(route.Template), sender, in, nil)
		return set(casebook.ActRefuse, reason(RRedirect, route.Address)), nil
	}
	s, err := g.book.Sender(ctx, sender)
	if err != nil {
		return *d, err
	}
	org, err := g.book.MayOpen(ctx, s, cmp.Or(route.Org, tag), route.Product) // R1, R2, R4, R19, R3
	d.Org = org
	if err != nil {
		return g.refuseOpening(d, err, in, sender, route)
	}
	watchers := g.watchersFrom(in, d, sender) // R8
	d.delivery.Open = casebook.NewCase{Org: org, Product: route.Product, Team: route.Team, Priority: urgentPriority(route, p.Subject),
		Title: p.Subject, Description: strings.TrimSpace(p.Text), Requester: sender, Watchers: watchers, Locale: g.routeLocale(in)}
	return set(casebook.ActOpen, reason(RNewCase, org, route.Product, route.Address)), nil
}

// redirectsElsewhere: some requests do not belong to this desk at all; their
// route answers with a templated redirect and opens nothing (R5).
func redirectsElsewhere(r config.Route) bool { return r.Action == "redirect" }

// urgentPriority: a route or the [P1] marker in the subject gives a case the
// top priority (R20); otherwise the route's priority, or the default.
func urgentPriority(r config.Route, subject string) string {
	if strings.Contains(strings.ToUpper(subject), "[P1]") {
		return "P1"
	}
	return r.Priority
}

// noticeOf is the notice that answers each refusal of MayOpen.
var noticeOf = map[casebook.Rule]templates.Name{
	casebook.R1:  templates.NoticeUnknownSender,
	casebook.R2:  templates.NoticeUnverified,
	casebook.R3:  templates.NoticeNotEntitled,
	casebook.R4:  templates.NoticeWhichOrg,
	casebook.R19: templates.NoticeUnknownSender,
}

// refuseOpening answers a refusal by the rules for opening a case with its
// notice; an organisation that does not exist is the operator's mistake,
// kept in quarantine.
func (g *Gateway) refuseOpening(d *Decision, err error, in *inbound, sender string, route config.Route) (Decision, error) {
	rule := casebook.RuleOf(err)
	tmpl, ok := noticeOf[casebook.Rule(rule)]
	if !ok {
		if errors.Is(err, casebook.ErrNotFound) {
			return d.set(casebook.ActQuarantine, reason(ROrgMissing, err.Error(), d.Org)), nil
		}
		return *d, err
	}
	g.notice(d, tmpl, sender, in, nil)
	d.delivery.Notice.Data["org"], d.delivery.Notice.Data["product"] = d.Org, route.Product
	var which *casebook.WhichOrgError
	if errors.As(err, &which) {
		var addrs []string
		for _, o := range which.Orgs {
			addrs = append(addrs, o+": "+address.Tag(route.Address, o))
		}
		d.delivery.Notice.Data["addresses"] = strings.Join(addrs, "\n")
	}
	return d.set(casebook.ActRefuse, reason(ROpenRefused, err, rule)), nil
}

// set records the action and one more reason.
func (d *Decision) set(a casebook.Action, r Reason) Decision {
	d.Action, d.delivery.Action = a, a
	d.add(r)
	return *d
}

// add records one more reason: in English in Reasons and Delivery.Reason,
// in every locale in Delivery.ReasonIn (reasons.go).
func (d *Decision) add(r Reason) {
	d.why = append(d.why, r)
	d.Reasons = append(d.Reasons, r.In("en"))
	d.delivery.Reason, d.delivery.ReasonIn = strings.Join(d.Reasons, reasonSep("en")), localized(d.why)
}

// notice attaches a refusal notice to the sender.
func (g *Gateway) notice(d *Decision, template templates.Name, to string, in *inbound, c *casebook.Case) {
	data := map[string]string{"subject": in.parsed.Subject, "in_reply_to": in.parsed.MessageID, "references": strings.Join(append(in.parsed.References, in.parsed.MessageID), " ")}
	if c != nil {
		data["case_id"], data["title"], data["org"], data["product"], data["status"] = fmt.Sprint(c.ID), c.Title, c.Org, c.Product, string(c.Status)
	}
	d.delivery.Notice = &casebook.Notice{Template: template, To: to, Locale: g.routeLocale(in), Data: data}
}

// bounce handles a non-delivery report: never answered (I5). A hard bounce
// suppresses the recipient of one of our notifications only when it comes
// back to that notification's own return path (its MAC checked: the
// Message-ID's token is no secret, other recipients see it in References)
// and names, as its Final-Recipient, the address that notification went
// to: a forged DSN cannot silence another watcher.
func (g *Gateway) bounce(ctx context.Context, in *inbound, d *Decision) (Decision, error) {
	set := d.set
	b := in.parsed.Bounce
	var tokens []string
	for _, r := range g.recipients(in) {
		if kind, detail := address.Parse(r, g.local, g.cfg.Outbound.ReplyDomain); kind == address.Bounce {
			if tok, ok := g.signer.CheckReturnPath(detail); ok {
				tokens = append(tokens, tok)
			}
		}
	}
	tokens = append(tokens, g.complaintTokens(b)...) // complaint.go
	for _, tok := range tokens {
		it, err := g.book.OutboxByToken(ctx, tok)
		if errors.Is(err, casebook.ErrNotFound) {
			continue
		}
		if err != nil {
			return *d, err
		}
		if it.CaseID != nil {
			d.CaseID = *it.CaseID
		}
		switch {
		case b == nil:
			return set(casebook.ActIgnore, reason(RUnreadableBounce, it.ID, it.To)), nil
		case b.Complaint:
			return g.complaint(d, b, it), nil // complaint.go
		case !slices.ContainsFunc(b.Recipients, func(r string) bool { return strings.EqualFold(strings.TrimSpace(r), it.To) }):
			return set(casebook.ActIgnore, reason(RBounceOther, it.ID, strings.Join(b.Recipients, ", "), it.To)), nil
		case b.Permanent:
			d.suppress, d.suppressAs = append(d.suppress, it.To), casebook.SuppressedBounce
			return set(casebook.ActIgnore, reason(RHardBounce, it.ID, it.To)), nil
		}
		return set(casebook.ActIgnore, reason(RSoftBounce, it.ID, it.To)), nil
	}
	if b != nil && b.Complaint {
		return set(casebook.ActIgnore, reason(RStrayComplaint)), nil
	}
	return set(casebook.ActIgnore, reason(RBounce)), nil
}

// sideEffects applies what a decision does beside its record; each is
// idempotent, so a retried message repeats them harmlessly.
func (g *Gateway) sideEffects(ctx context.Context, in *inbound, d Decision) error {
	for _, addr := range d.suppress {
		if err := g.book.SuppressAddress(ctx, addr, cmp.Or(d.suppressAs, casebook.SuppressedBounce), strings.Join(d.Reasons, "; ")); err != nil {
			return err
		}
	}
	if d.unwatch != 0 {
		if err := g.book.Unsubscribe(ctx, d.unwatch, in.parsed.From); err != nil && !errors.Is(err, casebook.ErrNotFound) {
			return err
		}
	}
	return nil
}

// isOwn reports mail we sent coming back: our From, or a Message-ID on our reply domain.
func (g *Gateway) isOwn(p *message.Parsed) bool {
	if strings.EqualFold(p.From, fromAddress(g.cfg.Outbound.From)) {
		return true
	}
	_, ours := address.MessageToken(p.MessageID, g.cfg.Outbound.ReplyDomain)
	return ours
}

// copied is everyone on Cc, and on To except our own addresses (R8).
func (g *Gateway) copied(in *inbound, except string) []string {
	var out []string
	for _, a := range append(append([]string{}, in.parsed.To...), in.parsed.Cc...) {
		a = strings.ToLower(a)
		if a == "" || a == strings.ToLower(except) || g.isOurs(a) || slices.Contains(out, a) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// isOurs reports an address of the gateway itself: a route (with any plus
// tag), our From, or anything on the reply domain.
func (g *Gateway) isOurs(addr string) bool {
	addr = strings.ToLower(addr)
	if base, _ := address.Split(addr); g.own[addr] || g.own[base] {
		return true
	}
	_, domain, _ := strings.Cut(addr, "@")
	return strings.EqualFold(domain, g.cfg.Outbound.ReplyDomain)
}
