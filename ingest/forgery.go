package ingest

import "github.com/casemail/casemail/message"

// noSenderReason is the quarantine reason for a mail whose From names no
// single sender: several addresses, a group, or no readable addr-spec
// (RFC 5322 3.6.2). Such a mail opens nothing and threads nothing (I6): the
// sender is the From addr-spec and nothing else, never an address guessed
// from a display name, a comment or an encoded word (issue 10).
func noSenderReason(p *message.Parsed) Reason {
	if p.FromErr != nil {
		return reason(RNoSenderBecause, p.FromErr.Error())
	}
	return reason(RNoSender)
}
