package ingest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/senderauth"
	"github.com/casemail/casemail/templates"
)

// Sender authentication (issue 13, docs/security.md): who really sent a
// mail, by SPF, DKIM and DMARC (RFC 7208, 6376, 7489), verified when
// casemail is the first hop or read from a trusted MTA's
// Authentication-Results (RFC 8601) behind one. The verdict is recorded
// beside the message (the raw mail stays as sent); authorise decides what
// a mail whose From domain is not authenticated may do.

// Auth modes ([auth] mode, [[route]] auth).
const (
	authOff     = "off"
	authRecord  = "record"
	authEnforce = "enforce"
)

// newVerifier returns the Verifier for [auth], nil when mode is off.
func newVerifier(cfg config.Auth) (*senderauth.Verifier, error) {
	if cfg.Mode == authOff {
		return nil, nil
	}
	v, err := senderauth.New(senderauth.Config{Resolver: cfg.Resolver, QueryTimeout: cfg.QueryTimeout.Duration, Timeout: cfg.Timeout.Duration})
	if err != nil {
		return nil, fmt.Errorf("ingest: [auth] resolver: %w", err)
	}
	return v, nil
}

// authenticate fills in.auth and the message record's verdict. raw is the
// mail as received (for a mail too big for memory, its first bytes only:
// DKIM then cannot pass on the body, which errs on the safe side; SPF is
// unaffected). Only the SMTP listener is a first hop (firstHop): behind
// LMTP, IMAP, a pipe or a relay the client is the MTA in front, whose
// verdict is trusted instead.
func (g *Gateway) authenticate(ctx context.Context, in *inbound, raw []byte) {
	in.auth = noVerdict()
	switch {
	case g.cfg.Auth.Mode == authOff || in.notMail:
		return
	case g.firstHop(in):
		mailFrom, _ := in.env.Sender()
		v, err := g.verifier.Verify(ctx, senderauth.Input{ClientIP: clientIP(in.env.RemoteAddr), HELO: in.env.HELO, MailFrom: mailFrom, Message: raw})
		if err != nil {
			g.log.Debug("sender authentication: header unreadable", "err", err)
		}
		in.auth = v
	case len(g.cfg.Auth.TrustedAuthservIDs) > 0:
		v, err := senderauth.Trusted(raw, g.cfg.Auth.TrustedAuthservIDs)
		if err != nil {
			g.log.Debug("sender authentication: header unreadable", "err", err)
		}
		in.auth = v
	}
	if !g.verdictExpected(in) {
		return
	}
	b, err := json.Marshal(in.auth)
	if err == nil {
		in.msg.Auth = b
	}
	in.msg.Unauthenticated = !in.auth.FromAligned
}

// noVerdict is the verdict when nothing was checked or trusted.
func noVerdict() senderauth.Verdict {
	return senderauth.Verdict{SPF: senderauth.None, DKIM: []senderauth.DKIMResult{}, DMARC: senderauth.None, Source: senderauth.SourceNone}
}

// verdictExpected reports whether in must carry a verdict: casemail
// verifies every mail to its SMTP listener, and behind an MTA whose
// authserv-id is trusted every mail passed its filters, so a mail without
// its Authentication-Results did not come through it (or the field was
// forged and ignored) and is not authenticated. Elsewhere, with nothing
// checked and nothing trusted, there is no verdict and nothing to enforce.
func (g *Gateway) verdictExpected(in *inbound) bool {
	if g.cfg.Auth.Mode == authOff || in.notMail {
		return false
	}
	return g.firstHop(in) || len(g.cfg.Auth.TrustedAuthservIDs) > 0
}

// firstHop reports whether casemail is the mail's first hop: it came to the
// SMTP listener from a client that is not one of [auth] relays (the
// operator's MTA in front, whose verdict is read instead).
func (g *Gateway) firstHop(in *inbound) bool {
	if in.env.Transport != TransportSMTP {
		return false
	}
	ip, ok := netip.AddrFromSlice(clientIP(in.env.RemoteAddr))
	if !ok {
		// The listener always gives the client's address; an envelope
		// without one was made by a program (tests, tools) that has no
		// client to check SPF for.
		return false
	}
	ip = ip.Unmap()
	for _, p := range g.relays {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// outcomeAuth is the verdict an Outcome reports (for /metrics).
func (g *Gateway) outcomeAuth(in *inbound) *senderauth.Verdict {
	if !g.verdictExpected(in) {
		return nil
	}
	v := in.auth
	return &v
}

// clientIP is the address of an SMTP peer ("192.0.2.1:4711", "[::1]:25").
func clientIP(remote string) net.IP {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return net.ParseIP(host)
}

// authMode is the mode that applies to in: its route's exception, else
// "record" for an organisation in [auth] record_orgs (org is the case's or
// the new case's), else [auth] mode.
func (g *Gateway) authMode(in *inbound, org string) string {
	if r, _, ok := g.route(in); ok && r.Auth != "" {
		return r.Auth
	}
	if org != "" && slices.Contains(g.cfg.Auth.RecordOrgs, org) {
		return authRecord
	}
	return g.cfg.Auth.Mode
}

// authorise applies sender authentication to the decision of the rules.
// With no verdict expected (verdictExpected) or an authenticated From
// domain, the decision stands. Otherwise, under "enforce", a mail may
// not open a case, join a case by its subject tag or References, or make
// the sender answer (backscatter to a forged From): it is quarantined with
// the reason and the agents are warned. A valid reply token still threads
// (a capability the real recipient received) and the comment is marked
// unauthenticated. Under "record" nothing changes but the mark.
func (g *Gateway) authorise(in *inbound, d Decision) Decision {
	v := in.auth
	d.Auth = v
	if !g.verdictExpected(in) || v.FromAligned {
		return d
	}
	why := reason(RAuthFailed, cmp.Or(v.FromDomain, "(none)"), v.SPF, dkimSummary(v.DKIM), v.DMARC, v.Source)
	mode := g.authMode(in, d.Org)
	if mode != authEnforce {
		if mode == authRecord && (d.Action == casebook.ActOpen || d.Action == casebook.ActComment || d.delivery.Notice != nil) {
			d.add(reason(RAuthRecorded, why))
		}
		return d
	}
	if len(d.delivery.Commands) > 0 {
		// A forged From of an agent may not #close or #assign (issue 11):
		// a reply token lets the text through, never the commands.
		if d.Action == casebook.ActComment && g.replyToken(in, d.delivery.CaseID) {
			d.delivery.Commands = nil
			d.add(reason(RAuthNoCommands, why))
		} else {
			return g.quarantineUnauthenticated(in, d, why, reason(RNoCommands))
		}
	}
	switch {
	case d.Action == casebook.ActComment && g.replyToken(in, d.delivery.CaseID):
		d.add(reason(RAuthThreaded, why))
		return d
	case d.Action == casebook.ActRefuse && d.CaseID != 0 && g.replyToken(in, d.CaseID):
		// The token was mailed to the From address: the notice (closed
		// case, R13) goes where our mail went already, not to a stranger.
		return d
	case d.Action == casebook.ActOpen, d.Action == casebook.ActComment, d.delivery.Notice != nil:
		what := map[casebook.Action]Reason{casebook.ActOpen: reason(RMayNotOpen), casebook.ActComment: reason(RMayNotJoin, d.CaseID),
			casebook.ActRefuse: reason(RNoNotice)}[d.Action]
		return g.quarantineUnauthenticated(in, d, why, what)
	}
	return d
}

// quarantineUnauthenticated turns d into the quarantine of an
// unauthenticated mail: nothing opened, joined, answered or applied, the
// agents warned through the log and, when the From is a registered
// account, by mail (mailQuarantinedAlert).
func (g *Gateway) quarantineUnauthenticated(in *inbound, d Decision, why, what Reason) Decision {
	v := in.auth
	g.log.Warn("unauthenticated mail quarantined: an agent should look at it", "from", in.msg.From, "message_id", in.msg.MessageID,
		"spf", v.SPF, "dmarc", v.DMARC, "source", v.Source, "would", string(d.Action), "case", d.CaseID)
	full := reason(RAuthQuarantine, why, what)
	if d.delivery.Alert == nil {
		d.delivery.Alert = g.mailQuarantinedAlert(in, full)
	}
	d.delivery.Open = casebook.NewCase{}
	d.delivery.Notice = nil
	d.delivery.Commands, d.delivery.AssignOnReply = nil, false
	d.delivery.CaseID = 0 // never link a forged claim to the case
	d.delivery.Author, d.delivery.Body, d.delivery.FullText, d.delivery.AddWatchers = "", "", "", nil
	d.delivery.Internal = false
	return d.set(casebook.ActQuarantine, full)
}

// mailQuarantinedAlert tells the team of the route the mail came in on
// (else policy.default_team) that a customer's mail failed sender
// authentication: a legitimate customer whose domain's SPF is broken would
// otherwise get no answer, and nobody at support would know. The casebook
// sends it only when the From is a registered account, at most once an
// hour per address (casebook.Alert.About), and adds the stored message's
// id.
func (g *Gateway) mailQuarantinedAlert(in *inbound, why Reason) *casebook.Alert {
	author := in.msg.From
	if name := strings.TrimSpace(in.parsed.FromName); name != "" {
		author = name + " <" + author + ">"
	}
	data := map[string]string{"author": author, "subject": in.parsed.Subject, "reason": why.In("en")}
	for loc, r := range localized([]Reason{why}) {
		data["reason@"+loc] = r
	}
	r, _, _ := g.route(in)
	return &casebook.Alert{Template: templates.MailQuarantined, Data: data, About: in.msg.From, Team: r.Team}
}

// replyToken reports whether one of the mail's recipients is a reply (or
// an agent's internal-note) token for caseID valid for its From.
func (g *Gateway) replyToken(in *inbound, caseID int64) bool {
	for _, rcpt := range g.recipients(in) {
		kind, tok := address.Parse(rcpt, g.local, g.cfg.Outbound.ReplyDomain)
		if kind != address.Reply && kind != address.Note {
			continue
		}
		if id, err := g.signer.Verify(tok, strings.ToLower(in.parsed.From), g.now()); err == nil && id == caseID {
			return true
		}
	}
	return false
}

func dkimSummary(rs []senderauth.DKIMResult) string {
	if len(rs) == 0 {
		return "none"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r.Result)
		if r.Domain != "" {
			s[i] += "(" + r.Domain + ")"
		}
	}
	return strings.Join(s, ",")
}

// decide is the decision of the rules (decideRules), then of sender
// authentication (authorise).
func (g *Gateway) decide(ctx context.Context, in *inbound) (Decision, error) {
	d, err := g.decideRules(ctx, in)
	if err != nil {
		return d, err
	}
	return g.authorise(in, d), nil
}
