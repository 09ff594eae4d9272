package main

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// httpLimits bound what one HTTP client can hold: /healthz, /metrics and
// the unsubscribe page face the network, and a client that sends its
// request a byte at a time, or never reads the answer, must not keep a
// connection (issue 10).
type httpLimits struct {
	ReadHeader time.Duration // the request line and headers
	Read       time.Duration // the whole request, body included
	Write      time.Duration // from the end of the request to the end of the answer
	Idle       time.Duration // a kept-alive connection between requests
	MaxConns   int           // connections served at once; more wait to be accepted
	MaxHeader  int           // bytes of request headers
}

// defaultHTTPLimits are generous for a health check, a metrics scrape or a
// person clicking a link, and small for anyone holding connections open.
var defaultHTTPLimits = httpLimits{
	ReadHeader: 10 * time.Second,
	Read:       30 * time.Second,
	Write:      30 * time.Second,
	Idle:       60 * time.Second,
	MaxConns:   64,
	MaxHeader:  64 << 10,
}

// newHTTPServer serves h on l within lim. The connection cap is on the
// listener: past it, new connections wait in the kernel's queue until one
// ends, which each timeout guarantees.
func newHTTPServer(h http.Handler, l net.Listener, lim httpLimits) (*http.Server, net.Listener) {
	srv := &http.Server{
		Handler:           securityHeaders(h),
		ReadHeaderTimeout: lim.ReadHeader,
		ReadTimeout:       lim.Read,
		WriteTimeout:      lim.Write,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    lim.MaxHeader,
	}
	return srv, netutil.LimitListener(l, lim.MaxConns)
}

// securityHeaders forbids framing every page (clickjacking the unsubscribe
// button): X-Frame-Options for old browsers, CSP frame-ancestors for the
// rest; and no MIME sniffing of what we serve.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
