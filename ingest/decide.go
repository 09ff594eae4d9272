package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/replytoken"
)

// Decision is what the gateway does with one message; "casemail route test
// --json" prints it.
type Decision struct {
	Action  casebook.Action `json:"action"`
	CaseID  int64           `json:"case_id"`
	Org     string          `json:"org"`
	Product string          `json:"product"`
	Reasons []string        `json:"reasons"`
	Notify  []string        `json:"notify"`

	delivery casebook.Delivery
	suppress []string // watcher addresses to suppress after a hard bounce
	unwatch  int64    // case to stop the sender watching (unsubscribe)
}

// maxReceived is where a chain of Received fields means a mail loop.
const maxReceived = 40

// Decide returns the decision for raw without applying anything.
func (g *Gateway) Decide(ctx context.Context, env Envelope, raw []byte) (Decision, *message.Parsed, error) {
	in := g.read(raw, env)
	d, err := g.decide(ctx, in)
	return d, in.parsed, err
}

// decide is the one decision function. Its errors are temporary (storage).
func (g *Gateway) decide(ctx context.Context, in *inbound) (Decision, error) {
	d := &Decision{delivery: casebook.Delivery{Message: in.msg}}
	p := in.parsed
	set := d.set
	if in.notMail {
		return set(casebook.ActQuarantine, "not a mail: "+strings.Join(p.Problems, "; ")), nil
	}
	if in.tooBig != "" {
		return set(casebook.ActRefuse, in.tooBig), nil
	}

	// I5: machines get no answer and open nothing.
	switch {
	case p.Kind == message.KindBounce:
		return g.bounce(ctx, in, d)
	case len(p.HeaderValues("Received")) > maxReceived:
		return set(casebook.ActIgnore, fmt.Sprintf("mail loop: %d Received fields (I5)", len(p.HeaderValues("Received")))), nil
	case g.isOwn(p):
		return set(casebook.ActIgnore, "our own mail came back (I5)"), nil
	case p.Kind == message.KindAutoReply:
		return set(casebook.ActIgnore, "auto-reply (RFC 3834): not answered (I5)"), nil
	case p.Kind == message.KindList:
		return set(casebook.ActIgnore, "list mail: not answered (I5)"), nil
	}
	sender := strings.ToLower(p.From)
	if sender == "" || p.FromErr != nil {
		return set(casebook.ActQuarantine, noSenderReason(p)), nil
	}
	if local, _, _ := strings.Cut(sender, "@"); slices.Contains([]string{"mailer-daemon", "postmaster"}, local) {
		// A report we could not read as a bounce is still a machine's (I5).
		return set(casebook.ActIgnore, "mail from "+local+": not answered (I5)"), nil
	}

	// Unsubscribe: LOCAL+unsubscribe-TOKEN@reply_domain.
	for _, rcpt := range g.recipients(in) {
		tok, ok := replytoken.FromAddress(rcpt, g.cfg.Outbound.ReplyDomain)
		if !ok || !strings.HasPrefix(tok, "unsubscribe-") {
			continue
		}
		caseID, err := g.signer.Verify(strings.TrimPrefix(tok, "unsubscribe-"), sender, g.now())
		if err != nil {
			return set(casebook.ActQuarantine, "unsubscribe request with an invalid token: "+err.Error()), nil
		}
		d.unwatch, d.CaseID, d.delivery.CaseID = caseID, caseID, caseID
		return set(casebook.ActIgnore, fmt.Sprintf("%s stopped watching case %d", sender, caseID)), nil
	}

	// I6: which case, if any.
	c, why, err := g.whichCase(ctx, in, sender)
	if err != nil {
		return *d, err
	}
	if why.quarantine != "" {
		d.CaseID = why.claimed
		d.delivery.CaseID = 0 // never link a forged claim to the case
		return set(casebook.ActQuarantine, why.quarantine), nil
	}
	if c != nil {
		d.Reasons = append(d.Reasons, why.how)
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
		g.notice(d, "notice_imported_case", sender, in, c)
		return set(casebook.ActRefuse, fmt.Sprintf("case %d was imported from the retired system: reply kept, not added (R14)", c.ID)), nil
	}
	if c.Status == casebook.StatusClosed {
		if g.cfg.Policy.ClosedReply == "followup" {
			d.delivery.Open = casebook.NewCase{FollowUpOf: c.ID, Requester: sender, Title: p.Subject, Description: p.Text, Locale: g.routeLocale(in)}
			d.Notify = []string{sender}
			return set(casebook.ActOpen, fmt.Sprintf("case %d is closed: a follow-up is opened (R14, policy.closed_reply = \"followup\")", c.ID)), nil
		}
		// R13: kept, not a comment, the case stays closed, the sender is told how to reopen.
		g.notice(d, "notice_closed_case", sender, in, c)
		d.delivery.Notice.Data["reopen_until"] = g.book.ReopenDeadline(*c).Format("2006-01-02")
		return set(casebook.ActRefuse, fmt.Sprintf("case %d is closed: a reply by mail never reopens it (R13)", c.ID)), nil
	}
	d.delivery.Author = sender
	d.delivery.Body = p.ReplyText
	d.delivery.FullText = p.Text
	d.delivery.AddWatchers = g.copied(in, c.Requester)
	d.Notify = followers(c, d.delivery.AddWatchers, sender)
	return set(casebook.ActComment, fmt.Sprintf("reply to case %d becomes a comment (R9)", c.ID)), nil
}

// newCase routes a mail that belongs to no case.
func (g *Gateway) newCase(ctx context.Context, in *inbound, d *Decision, sender string) (Decision, error) {
	set := d.set
	p := in.parsed
	route, tag, ok := g.route(in)
	if !ok {
		return set(casebook.ActQuarantine, fmt.Sprintf("no route for %s", strings.Join(g.recipients(in), ", "))), nil
	}
	d.Product = route.Product
	if route.Action == "redirect" {
		// R5: this desk does not handle such requests.
		g.notice(d, route.Template, sender, in, nil)
		return set(casebook.ActRefuse, fmt.Sprintf("%s redirects elsewhere (R5)", route.Address)), nil
	}
	s, err := g.book.Sender(ctx, sender)
	if err != nil {
		return *d, err
	}
	if s.Account == nil {
		g.notice(d, "notice_unknown_sender", sender, in, nil)
		return set(casebook.ActRefuse, fmt.Sprintf("%s has no account (R1)", sender)), nil
	}
	if !s.Account.Verified {
		g.notice(d, "notice_unverified", sender, in, nil)
		return set(casebook.ActRefuse, fmt.Sprintf("%s has not verified its address (R2)", sender)), nil
	}
	// R4: the organisation comes from the route, a plus tag, or the sender's only organisation.
	org := route.Org
	if org == "" {
		org = tag
	}
	if org == "" {
		var orgs []string
		for _, m := range s.Orgs {
			if m.Open {
				orgs = append(orgs, m.Org)
			}
		}
		switch len(orgs) {
		case 0:
			g.notice(d, "notice_unknown_sender", sender, in, nil)
			return set(casebook.ActRefuse, fmt.Sprintf("%s may not open cases for any organisation (R19)", sender)), nil
		case 1:
			org = orgs[0]
		default:
			g.notice(d, "notice_which_org", sender, in, nil)
			var addrs []string
			for _, o := range orgs {
				addrs = append(addrs, o+": "+plusAddress(route.Address, o))
			}
			d.delivery.Notice.Data["addresses"] = strings.Join(addrs, "\n")
			return set(casebook.ActRefuse, fmt.Sprintf("%s belongs to %s and the mail does not say which (R4)", sender, strings.Join(orgs, ", "))), nil
		}
	}
	d.Org = org
	if err := g.book.CheckSender(ctx, s, org, route.Product); err != nil {
		tmpl := map[string]string{"R1": "notice_unknown_sender", "R2": "notice_unverified", "R3": "notice_not_entitled", "R19": "notice_unknown_sender"}[casebook.RuleOf(err)]
		if tmpl == "" {
			if errors.Is(err, casebook.ErrNotFound) {
				return set(casebook.ActQuarantine, fmt.Sprintf("route names organisation %q, which does not exist", org)), nil
			}
			return *d, err
		}
		g.notice(d, tmpl, sender, in, nil)
		d.delivery.Notice.Data["org"], d.delivery.Notice.Data["product"] = org, route.Product
		return set(casebook.ActRefuse, err.Error()+" ("+casebook.RuleOf(err)+")"), nil
	}
	priority := route.Priority
	if strings.Contains(strings.ToUpper(p.Subject), "[P1]") {
		priority = "P1" // R20: the urgent marker
	}
	watchers := g.copied(in, sender)
	d.delivery.Open = casebook.NewCase{Org: org, Product: route.Product, Team: route.Team, Priority: priority,
		Title: p.Subject, Description: strings.TrimSpace(p.Text), Requester: sender, Watchers: watchers, Locale: g.routeLocale(in)}
	d.Notify = append([]string{sender}, watchers...)
	return set(casebook.ActOpen, fmt.Sprintf("new case for %s / %s via %s (R6)", org, route.Product, route.Address)), nil
}

// set records the action and one more reason.
func (d *Decision) set(a casebook.Action, reason string) Decision {
	d.Action = a
	d.Reasons = append(d.Reasons, reason)
	d.delivery.Action, d.delivery.Reason = a, strings.Join(d.Reasons, "; ")
	return *d
}

// notice attaches a refusal notice to the sender.
func (g *Gateway) notice(d *Decision, template, to string, in *inbound, c *casebook.Case) {
	data := map[string]string{"subject": in.parsed.Subject, "in_reply_to": in.parsed.MessageID, "references": strings.Join(append(in.parsed.References, in.parsed.MessageID), " ")}
	if c != nil {
		data["case_id"], data["title"], data["org"], data["product"], data["status"] = fmt.Sprint(c.ID), c.Title, c.Org, c.Product, string(c.Status)
	}
	d.delivery.Notice = &casebook.Notice{Template: template, To: to, Locale: g.routeLocale(in), Data: data}
	d.Notify = []string{to}
}

// bounce handles a non-delivery report: never answered (I5); a hard bounce of
// one of our notifications suppresses its recipient.
func (g *Gateway) bounce(ctx context.Context, in *inbound, d *Decision) (Decision, error) {
	set := d.set
	b := in.parsed.Bounce
	var tokens []string
	for _, r := range in.env.Recipients {
		if tok, ok := replytoken.FromAddress(r, g.cfg.Outbound.ReplyDomain); ok && strings.HasPrefix(strings.ToLower(r), "bounce+") {
			tokens = append(tokens, tok)
		}
	}
	if b != nil && b.OriginalMessageID != "" {
		if local, domain, ok := strings.Cut(b.OriginalMessageID, "@"); ok && strings.EqualFold(domain, g.cfg.Outbound.ReplyDomain) {
			tokens = append(tokens, local)
		}
	}
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
		if b != nil && b.Permanent {
			d.suppress = append(d.suppress, it.To)
			return set(casebook.ActIgnore, fmt.Sprintf("hard bounce of notification %d to %s: no more mail to that address", it.ID, it.To)), nil
		}
		return set(casebook.ActIgnore, fmt.Sprintf("temporary bounce of notification %d to %s", it.ID, it.To)), nil
	}
	return set(casebook.ActIgnore, "bounce: not answered (I5)"), nil
}

// sideEffects applies what a decision does beside its record; each is
// idempotent, so a retried message repeats them harmlessly.
func (g *Gateway) sideEffects(ctx context.Context, in *inbound, d Decision) error {
	for _, addr := range d.suppress {
		if err := g.book.SuppressAddress(ctx, addr, "hard bounce: "+strings.Join(d.Reasons, "; ")); err != nil {
			return err
		}
	}
	if d.unwatch != 0 {
		err := g.book.RemoveWatcher(ctx, d.unwatch, in.parsed.From)
		if err != nil && !strings.Contains(err.Error(), "does not watch") && !errors.Is(err, casebook.ErrNotFound) {
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
	_, domain, _ := strings.Cut(p.MessageID, "@")
	return domain != "" && strings.EqualFold(domain, g.cfg.Outbound.ReplyDomain)
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
	if g.own[addr] || g.own[stripPlus(addr)] {
		return true
	}
	_, domain, _ := strings.Cut(addr, "@")
	return strings.EqualFold(domain, g.cfg.Outbound.ReplyDomain)
}

func followers(c *casebook.Case, added []string, exclude string) []string {
	var out []string
	for _, a := range append(append([]string{c.Requester}, c.Watchers...), added...) {
		if a != exclude && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
