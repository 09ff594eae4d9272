package ingest

import (
	"context"
	"errors"
	"slices"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/replytoken"
)

// caseClaim says how a mail was tied to a case, or why it was quarantined.
type caseClaim struct {
	how        Reason  // for the decision's reasons
	quarantine *Reason // set: the mail claims a case it may not join (I6)
	claimed    int64
}

// whichCase finds the case a mail belongs to (I6), in this order: a signed
// reply token in a recipient address; a Message-ID of the case in
// In-Reply-To/References, from a participant; a subject tag, from a
// participant. A claim the sender may not make is a quarantine, never a
// comment on someone else's case.
func (g *Gateway) whichCase(ctx context.Context, in *inbound, sender string) (*casebook.Case, caseClaim, error) {
	// 1. Reply token: support+TOKEN@reply_domain, bound to the recipient of the notification.
	for _, rcpt := range g.recipients(in) {
		kind, tok := address.Parse(rcpt, g.local, g.cfg.Outbound.ReplyDomain)
		if kind != address.Reply {
			continue
		}
		id, err := g.signer.Verify(tok, sender, g.now())
		switch {
		case err == nil:
			// A valid token proves who the notification went to, not that
			// they still take part: a watcher removed since, or a member
			// whose grant was revoked, is refused like any outsider (I6).
			return g.participant(ctx, id, sender, reason(RReplyToken, id))
		case errors.Is(err, replytoken.ErrExpired), errors.Is(err, replytoken.ErrMalformed):
			// An expired token falls back to the thread and the tag, which
			// check participation; a malformed one is a plus tag (support+acme@).
			continue
		default:
			return nil, caseClaim{quarantine: &Reason{Code: RBadReplyToken, Args: []any{rcpt, sender, err.Error()}}}, nil
		}
	}
	// 2. Threading headers, newest reference first.
	refs := slices.Clone(in.parsed.References)
	slices.Reverse(refs)
	if in.parsed.InReplyTo != "" {
		refs = append([]string{in.parsed.InReplyTo}, refs...)
	}
	for _, ref := range refs {
		id, ok, err := g.book.CaseOfMessageID(ctx, ref)
		if err != nil {
			return nil, caseClaim{}, err
		}
		if ok {
			return g.participant(ctx, id, sender, reason(RThreadHeaders, id))
		}
	}
	// 3. Subject tag, only from a participant.
	if id, ok := g.tag.Find(in.parsed.Subject); ok {
		return g.participant(ctx, id, sender, reason(RSubjectTag, id))
	}
	return nil, caseClaim{}, nil
}

// participant returns the case if sender takes part in it (requester,
// watcher, member allowed to view, agent); a claim by anyone else is
// quarantined.
func (g *Gateway) participant(ctx context.Context, id int64, sender string, how Reason) (*casebook.Case, caseClaim, error) {
	c, err := g.book.Case(ctx, id)
	if errors.Is(err, casebook.ErrNotFound) {
		return nil, caseClaim{quarantine: &Reason{Code: RClaimMissing, Args: []any{how}}, claimed: id}, nil
	}
	if err != nil {
		return nil, caseClaim{}, err
	}
	ok, err := g.book.CanView(ctx, sender, c)
	if err != nil {
		return nil, caseClaim{}, err
	}
	if !ok {
		return nil, caseClaim{quarantine: &Reason{Code: RNotParticipant, Args: []any{how, sender}}, claimed: id}, nil
	}
	return &c, caseClaim{how: how}, nil
}
