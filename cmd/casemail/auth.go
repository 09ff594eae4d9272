package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"strings"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/senderauth"
)

// authSummary is the sender authentication line of "message show" (issue
// 13): the results, where they come from, and a plain mark when the From
// domain was not authenticated; "" when nothing was checked.
func authSummary(m casebook.Message) string {
	if len(m.Auth) == 0 {
		return ""
	}
	var v senderauth.Verdict
	if err := json.Unmarshal(m.Auth, &v); err != nil {
		return "unreadable verdict: " + err.Error()
	}
	dk := []string{}
	for _, d := range v.DKIM {
		dk = append(dk, fmt.Sprintf("%s (%s)", d.Result, d.Domain))
	}
	if len(dk) == 0 {
		dk = append(dk, "none")
	}
	s := fmt.Sprintf("spf=%s dkim=%s dmarc=%s, %s", v.SPF, strings.Join(dk, ","), v.DMARC, v.Source)
	if v.Source == senderauth.SourceNone && !m.Unauthenticated {
		return s + " — nothing checked"
	}
	if m.Unauthenticated || !v.FromAligned {
		return s + " — UNAUTHENTICATED: the From address may be forged"
	}
	return s + " — authenticated"
}

// firstHop are the flags of "parse" and "route test" that make casemail
// verify a saved mail as its SMTP listener would have (issue 13): the
// client's address and HELO name; the MAIL FROM is --mail-from, else the
// mail's Return-Path.
type firstHop struct {
	clientIP, helo, mailFrom *string
}

func firstHopFlags(fs *flag.FlagSet) firstHop {
	return firstHop{
		clientIP: fs.String("client-ip", "", "verify SPF, DKIM and DMARC as the first hop, for this SMTP client address"),
		helo:     fs.String("helo", "", "with --client-ip: the client's HELO name"),
		mailFrom: fs.String("mail-from", "", "with --client-ip: the MAIL FROM (default: the Return-Path)"),
	}
}

// envelope returns the envelope of a saved mail for route test: the SMTP
// listener's with --client-ip, else a pipe's (whose verdict is the trusted
// MTA's Authentication-Results).
func (f firstHop) envelope(raw []byte, rcpts []string) (ingest.Envelope, error) {
	mailFrom, null := message.ReturnPath(raw)
	if *f.mailFrom != "" {
		mailFrom, null = strings.Trim(*f.mailFrom, "<>"), *f.mailFrom == "<>"
	}
	env := ingest.Envelope{Transport: ingest.TransportPipe, Recipients: rcpts, MailFrom: mailFrom, NullSender: null}
	if *f.clientIP == "" {
		return env, nil
	}
	ip := net.ParseIP(*f.clientIP)
	if ip == nil {
		return env, usageError("--client-ip %q is not an IP address", *f.clientIP)
	}
	env.Transport, env.RemoteAddr, env.HELO = ingest.TransportSMTP, net.JoinHostPort(ip.String(), "25"), *f.helo
	return env, nil
}

// verdict is what "casemail parse" prints as "auth": verified with
// --client-ip, else the trusted MTA's Authentication-Results; nothing when
// [auth] mode is "off".
func (f firstHop) verdict(ctx context.Context, e *env, raw []byte) (senderauth.Verdict, error) {
	none := senderauth.Verdict{SPF: senderauth.None, DKIM: []senderauth.DKIMResult{}, DMARC: senderauth.None, Source: senderauth.SourceNone}
	if err := e.loadConfig(); err != nil {
		if *f.clientIP == "" {
			return none, nil // parse reads a mail without a config, as before
		}
		return none, err
	}
	a := e.cfg.Auth
	if a.Mode == "off" {
		return none, nil
	}
	env, err := f.envelope(raw, nil)
	if err != nil {
		return none, err
	}
	if env.Transport != ingest.TransportSMTP {
		v, _ := senderauth.Trusted(raw, a.TrustedAuthservIDs)
		return v, nil
	}
	vf, err := senderauth.New(senderauth.Config{Resolver: a.Resolver, QueryTimeout: a.QueryTimeout.Duration, Timeout: a.Timeout.Duration})
	if err != nil {
		return none, fmt.Errorf("[auth] resolver: %w", err)
	}
	mailFrom := env.MailFrom
	if env.NullSender {
		mailFrom = ""
	}
	v, _ := vf.Verify(ctx, senderauth.Input{ClientIP: net.ParseIP(*f.clientIP), HELO: env.HELO, MailFrom: mailFrom, Message: raw})
	return v, nil
}

func mustJSON(v senderauth.Verdict) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
