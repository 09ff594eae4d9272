package ingest

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"

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
			if base, tag := splitPlus(a); strings.EqualFold(base, r.Address) {
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
	base, _ := splitPlus(addr)
	for _, r := range g.cfg.Routes {
		if strings.EqualFold(base, r.Address) {
			return nil
		}
	}
	if _, ok := strings.CutSuffix(strings.ToLower(addr), "@"+strings.ToLower(g.cfg.Outbound.ReplyDomain)); ok && strings.Contains(addr, "+") {
		return nil
	}
	return fmt.Errorf("no route for %s", addr)
}

// splitPlus splits local+tag@domain into local@domain and tag.
func splitPlus(addr string) (string, string) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr, ""
	}
	local, domain := addr[:at], addr[at:]
	if plus := strings.IndexByte(local, '+'); plus >= 0 {
		return local[:plus] + domain, local[plus+1:]
	}
	return addr, ""
}

func stripPlus(addr string) string { base, _ := splitPlus(addr); return base }

// plusAddress is route@domain with a plus tag: support+acme@example.test.
func plusAddress(route, tag string) string {
	at := strings.LastIndexByte(route, '@')
	if at < 0 {
		return route
	}
	return route[:at] + "+" + tag + route[at:]
}

func fromAddress(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return from
}

// isOursLocal reports whether addr's local part (before +) is our From's, so
// that only our own reply addresses are read as reply tokens.
func isOursLocal(addr, from string) bool {
	local, _, _ := strings.Cut(stripPlus(strings.ToLower(addr)), "@")
	ours, _, _ := strings.Cut(strings.ToLower(fromAddress(from)), "@")
	return local == ours || slices.Contains([]string{"bounce"}, local)
}
