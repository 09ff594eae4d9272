package senderauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// resolver does every DNS lookup of one verification: one server (or the
// system's), a timeout per query, and errors that the SPF, DKIM and DMARC
// libraries classify correctly. It satisfies spf.DNSResolver.
type resolver struct {
	r       *net.Resolver
	timeout time.Duration
}

// newResolver returns a resolver that sends every query to addr
// ("host:port", or "host" for port 53), or to the system's resolver when
// addr is empty.
func newResolver(addr string, timeout time.Duration) (*resolver, error) {
	if addr == "" {
		return &resolver{r: &net.Resolver{}, timeout: timeout}, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		// A bare address ("127.0.0.1", "::1") means the DNS port.
		if net.ParseIP(strings.Trim(addr, "[]")) == nil && strings.Contains(addr, ":") {
			return nil, fmt.Errorf("senderauth: resolver %q: %w", addr, err)
		}
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "53")
	}
	var d net.Dialer
	return &resolver{
		r: &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
		timeout: timeout,
	}, nil
}

// fqdn makes a name absolute so that resolv.conf search domains are never
// appended: "_dmarc.acme.test" must not be retried as
// "_dmarc.acme.test.corp.internal" after an NXDOMAIN.
func fqdn(name string) string {
	if strings.HasSuffix(name, ".") {
		return name
	}
	return name + "."
}

// classify keeps err a *net.DNSError, because the libraries test for that
// concrete type, and marks timeouts and cancellations temporary so that
// they become temperror and never a permanent "no record".
func classify(ctx context.Context, name string, err error) error {
	if err == nil {
		return nil
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		c := *de
		if c.IsTimeout || ctx.Err() != nil {
			c.IsTemporary = true
		}
		return &c
	}
	return &net.DNSError{Err: err.Error(), Name: name, IsTemporary: true,
		IsTimeout: errors.Is(err, context.DeadlineExceeded)}
}

func (r *resolver) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, r.timeout)
}

func (r *resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	txt, err := r.r.LookupTXT(ctx, fqdn(name))
	return txt, classify(ctx, name, err)
}

func (r *resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	mx, err := r.r.LookupMX(ctx, fqdn(name))
	return mx, classify(ctx, name, err)
}

func (r *resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	ips, err := r.r.LookupIPAddr(ctx, fqdn(host))
	return ips, classify(ctx, host, err)
}

func (r *resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := r.ctx(ctx)
	defer cancel()
	names, err := r.r.LookupAddr(ctx, addr)
	return names, classify(ctx, addr, err)
}

// txtFunc adapts LookupTXT to the context-free callback of the dkim and
// dmarc packages, bound to the verification's context.
func (r *resolver) txtFunc(ctx context.Context) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		txt, err := r.LookupTXT(ctx, name)
		if err != nil {
			// The libraries type-assert the error itself, not a wrapper.
			return nil, err
		}
		return txt, nil
	}
}
