package ingest

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/config"
)

// recipients are the addresses a mail was delivered to: the envelope's, else
// its To and Cc.
func (g *Gateway) recipients(in *inbound) []string {
	if len(in.env.Recipients) > 0 {
		return in.env.Recipients
	}
	return append(append([]string{}, in.parsed.To...), in.parsed.Cc...)
}

// route returns the first route matching a recipient, with the plus tag of
// the matching address (support+acme@... names the organisation, R4).
func (g *Gateway) route(in *inbound) (config.Route, string, bool) {
	rcpts := g.recipients(in)
	for _, r := range g.cfg.Routes {
		for _, a := range rcpts {
			if base, tag := address.Split(a); strings.EqualFold(base, r.Address) {
				return r, tag, true
			}
		}
	}
	return config.Route{}, "", false
}

func (g *Gateway) routeLocale(in *inbound) string {
	if r, _, ok := g.route(in); ok && r.Locale != "" {
		return r.Locale
	}
	return ""
}

// AcceptRecipient answers the SMTP listener at RCPT time: an address of a
// route (with any plus tag), or a reply, bounce or unsubscribe address on
// the reply domain.
func (g *Gateway) AcceptRecipient(_ context.Context, addr string) error {
	base, _ := address.Split(addr)
	for _, r := range g.cfg.Routes {
		if strings.EqualFold(base, r.Address) {
			return nil
		}
	}
	if kind, _ := address.Parse(addr, g.local, g.cfg.Outbound.ReplyDomain); kind != address.None {
		return nil
	}
	return fmt.Errorf("no route for %s", addr)
}

func fromAddress(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}
