// Package web is casemail's customer view: the pages behind the signed
// action links of customer mail (package actionlink) and a small web view
// of one's cases, served by `casemail serve` on [http] listen.
//
// Pages are server-rendered html/template (HTML Living Standard), in French
// and English, usable without JavaScript. Sign-in is by a one-time link
// mailed to the address; the session is a cookie (RFC 6265: HttpOnly,
// SameSite=Lax, Secure when http.public_url is https). Every page asks the
// casebook, through the functions the command line uses, whether the person
// may see or do what they ask (R1–R20): an id in a URL grants nothing. A GET
// never changes anything, because mail scanners follow links: changes are
// POSTs carrying a CSRF token. Responses carry a strict
// Content-Security-Policy (CSP Level 3, frame-ancestors 'none') and
// Referrer-Policy: no-referrer, since links carry tokens; logs name the
// route pattern, never a path, token or cookie.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
)

//go:embed pages/*.html static/*
var assets embed.FS

// Options configure the customer view. Zero values take the defaults noted.
type Options struct {
	Book          *casebook.Book
	PublicURL     string        // http.public_url: base of every link; https makes the cookie Secure
	DefaultLocale string        // "fr" when empty
	Log           *slog.Logger  // discarded when nil
	SignInTTL     time.Duration // one-time sign-in link, default 15 min
	SessionTTL    time.Duration // default 7 days
	MaxUpload     int64         // attachments of one new case, default 10 MiB
	// Sign-in requests allowed per window, per address and per client.
	PerAddress, PerClient int           // default 3 and 10
	RateWindow            time.Duration // default 15 min
}

// Server is the customer view's http.Handler.
type Server struct {
	o      Options
	book   *casebook.Book
	links  *actionlink.Signer
	log    *slog.Logger
	pages  map[string]*template.Template
	mux    http.Handler
	secure bool
	byAddr *limiter
	byIP   *limiter
}

// cookieName is the session cookie; its value is never logged.
const cookieName = "casemail_session"

// New returns the customer view.
func New(o Options) (*Server, error) {
	if o.Book == nil {
		return nil, errors.New("web: a casebook is required")
	}
	if o.DefaultLocale != "en" {
		o.DefaultLocale = "fr"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SignInTTL, 15*time.Minute)
	def(&o.SessionTTL, 7*24*time.Hour)
	def(&o.RateWindow, 15*time.Minute)
	if o.MaxUpload <= 0 {
		o.MaxUpload = 10 << 20
	}
	if o.PerAddress <= 0 {
		o.PerAddress = 3
	}
	if o.PerClient <= 0 {
		o.PerClient = 10
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	s := &Server{
		o: o, book: o.Book, links: actionlink.New(o.Book.Secret()), log: o.Log.With("component", "web"),
		secure: strings.HasPrefix(o.PublicURL, "https://"),
		byAddr: newLimiter(o.PerAddress, o.RateWindow), byIP: newLimiter(o.PerClient, o.RateWindow),
	}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Patterns lists the routes the view serves, for the server that mounts it.
var Patterns = []string{
	"GET /{$}", "GET /static/", "GET /signin", "POST /signin", "GET /signin/{token}", "POST /signin/confirm",
	"POST /signout", "GET /cases", "GET /new", "POST /new", "GET /case/{id}", "POST /case/{id}/{action}",
	"GET /case/{id}/file/{file}", "GET /case/{id}/mail/{msg}/{n}", "GET /access", "POST /access/grant", "POST /access/revoke",
	"GET " + actionlink.Path + "{token}", "POST " + actionlink.Path + "{token}",
}

func (s *Server) routes() {
	m := http.NewServeMux()
	h := map[string]http.HandlerFunc{
		"GET /{$}":                            s.home,
		"GET /static/":                        s.static,
		"GET /signin":                         s.signinForm,
		"POST /signin":                        s.signinRequest,
		"GET /signin/{token}":                 s.signinConfirm,
		"POST /signin/confirm":                s.signinUse,
		"POST /signout":                       s.signout,
		"GET /cases":                          s.user(s.cases),
		"GET /new":                            s.user(s.newForm),
		"POST /new":                           s.user(s.newCase),
		"GET /case/{id}":                      s.user(s.casePage),
		"POST /case/{id}/{action}":            s.user(s.caseAction),
		"GET /case/{id}/file/{file}":          s.user(s.file),
		"GET /case/{id}/mail/{msg}/{n}":       s.user(s.mailFile),
		"GET /access":                         s.user(s.access),
		"POST /access/grant":                  s.user(s.grant),
		"POST /access/revoke":                 s.user(s.revoke),
		"GET " + actionlink.Path + "{token}":  s.linkPage,
		"POST " + actionlink.Path + "{token}": s.linkDo,
	}
	for _, p := range Patterns {
		m.HandleFunc(p, h[p])
	}
	// Beside the CSRF tokens: a POST another site's page makes the browser
	// send (Sec-Fetch-Site / Origin) is refused, sign-in forms included, so
	// no one can sign a visitor in to their own account (login CSRF).
	s.mux = http.NewCrossOriginProtection().Handler(m)
}

// ServeHTTP sets the headers every response carries and logs the request
// by its route pattern (never its path: links carry tokens).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	pattern := r.Pattern
	if pattern == "" {
		pattern = "(no route)"
	}
	s.log.Info("http", "method", r.Method, "route", pattern, "status", sw.status, "ms", time.Since(start).Milliseconds())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Mount returns a handler serving the customer view's routes and handing
// every other request to next (health, metrics, unsubscribe).
func Mount(view *Server, next http.Handler) http.Handler {
	m := http.NewServeMux()
	for _, p := range Patterns {
		m.Handle(p, view)
	}
	m.Handle("/", next)
	return m
}

// ctxKey carries the signed-in address through a request.
type ctxKey struct{}

// viewer is who a page is for.
type viewer struct {
	Addr    string
	Session string // cookie value, for the CSRF token; never logged
	Account casebook.Account
	Sender  casebook.Sender
}

// CanViewOrg says whether the viewer may list some organisation's cases (R7).
func (v *viewer) CanViewOrg() bool {
	for _, m := range v.Sender.Orgs {
		if m.View {
			return true
		}
	}
	return false
}

// user wraps a handler that needs a session: without one, the sign-in page.
func (s *Server) user(next func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := s.viewer(r)
		if err != nil {
			if !errors.Is(err, casebook.ErrNoSession) {
				s.fail(w, r, nil, err)
				return
			}
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			if err := r.ParseMultipartForm(s.o.MaxUpload); err != nil && !errors.Is(err, http.ErrNotMultipart) {
				s.render(w, r, v, http.StatusRequestEntityTooLarge, "message", pageData{Title: "too_large", Message: "too_large"})
				return
			}
			if !actionlink.Equal(r.PostFormValue("csrf"), s.csrf(v)) {
				s.render(w, r, v, http.StatusForbidden, "message", pageData{Title: "error", Message: "csrf"})
				return
			}
		}
		next(w, r, v)
	}
}

func (s *Server) viewer(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, casebook.ErrNoSession
	}
	return s.viewerOf(r.Context(), c.Value, "")
}

// viewerOf loads the person of a session (sid) or of a signed link (addr).
func (s *Server) viewerOf(ctx context.Context, sid, addr string) (*viewer, error) {
	if sid != "" {
		var err error
		if addr, err = s.book.SessionAddress(ctx, sid); err != nil {
			return nil, err
		}
	}
	v := &viewer{Addr: addr, Session: sid}
	snd, err := s.book.Sender(ctx, addr)
	if err != nil {
		return nil, err
	}
	v.Sender = snd
	if snd.Account != nil {
		v.Account = *snd.Account
	}
	return v, nil
}

// csrf is the token of a session's forms: tied to the session, so another
// site cannot know it.
func (s *Server) csrf(v *viewer) string {
	if v == nil || v.Session == "" {
		return ""
	}
	return s.links.Sum("csrf session", v.Session)
}

// linkCSRF is the token of an action link's form.
func (s *Server) linkCSRF(token string) string { return s.links.Sum("csrf link", token) }

// clientIP is the remote address without its port, for the per-client limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, assets, strings.TrimPrefix(r.URL.Path, "/"))
}

// fail shows an unexpected error: its detail goes to the log, not the page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	s.log.Error("page failed", "route", r.Pattern, "err", err)
	s.render(w, r, v, http.StatusInternalServerError, "message", pageData{Title: "error", Message: "internal"})
}

func (s *Server) url(path string) string { return s.o.PublicURL + path }

// viewLink is a fresh view link for a recipient, shown after an action.
func (s *Server) viewLink(caseID int64, addr string) string {
	return actionlink.Path + s.links.Sign(actionlink.Link{Action: actionlink.View, CaseID: caseID, Recipient: addr, Expires: s.book.Now().Add(24 * time.Hour)})
}
