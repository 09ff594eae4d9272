package web

import (
	"bytes"
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	book  *casebook.Book
	clock *clock
	srv   *httptest.Server
	view  *Server
	logs  *bytes.Buffer
	ctx   context.Context
}

// newEnv: acme (owner ann, en; carl has open+view; dora has open only;
// entitled to cloud), globex (owner bob). An agent, and an unverified eve in acme.
func newEnv(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)}
	b, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{Now: clk.Now,
		InitialResponse: map[string]time.Duration{"P1": time.Hour, "P3": 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []casebook.Account{
		{Address: "ann@acme.test", Verified: true, Locale: "en"},
		{Address: "carl@acme.test", Verified: true, Locale: "en"},
		{Address: "dora@acme.test", Verified: true, Locale: "en"},
		{Address: "eve@acme.test", Locale: "en"},
		{Address: "bob@globex.test", Verified: true, Locale: "en"},
		{Address: "agent@support.test", Verified: true, Agent: true},
	} {
		must(b.AddAccount(ctx, a))
	}
	must(b.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	must(b.CreateOrg(ctx, casebook.Org{Slug: "globex", Owner: "bob@globex.test", Products: []string{"cloud"}}))
	must(b.Grant(ctx, "acme", "ann@acme.test", "carl@acme.test", []casebook.Perm{casebook.PermOpen, casebook.PermView}))
	must(b.Grant(ctx, "acme", "ann@acme.test", "dora@acme.test", []casebook.Perm{casebook.PermOpen}))
	must(b.Grant(ctx, "acme", "ann@acme.test", "eve@acme.test", []casebook.Perm{casebook.PermOpen}))
	logs := &bytes.Buffer{}
	e := &env{t: t, book: b, clock: clk, logs: logs, ctx: ctx}
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	view, err := New(Options{Book: b, PublicURL: e.srv.URL, Log: slog.New(slog.NewTextHandler(&syncWriter{w: logs}, nil)), DefaultLocale: "fr",
		PerAddress: 1000, PerClient: 1000}) // TestSignInRateLimited sets its own limits
	if err != nil {
		t.Fatal(err)
	}
	e.view = view
	e.srv.Config.Handler = view
	return e
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// client is one browser: its own cookies, no redirects followed silently.
type client struct {
	e    *env
	http *http.Client
	csrf string
}

func (e *env) anon() *client {
	jar, _ := cookiejar.New(nil)
	hc := e.srv.Client()
	c := *hc
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{e: e, http: &c}
}

var signinLinkRE = regexp.MustCompile(`/signin/([A-Za-z0-9_-]+)`)

// lastSignInToken reads the sign-in link queued for addr, as the mail shows it.
func (e *env) lastSignInToken(addr string) string {
	e.t.Helper()
	items, err := e.book.Outbox(e.ctx, casebook.OutboxPending)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].Template == "signin_link" && items[i].To == addr {
			return signinLinkRE.FindStringSubmatch(items[i].Data["link"])[1]
		}
	}
	return ""
}

// as signs in through the mailed link.
func (e *env) as(addr string) *client {
	e.t.Helper()
	c := e.anon()
	c.post("/signin", url.Values{"address": {addr}}, http.StatusOK)
	tok := e.lastSignInToken(addr)
	if tok == "" {
		e.t.Fatalf("no sign-in link for %s", addr)
	}
	c.get("/signin/"+tok, http.StatusOK)
	resp := c.post("/signin/confirm", url.Values{"token": {tok}}, http.StatusSeeOther)
	if resp.header.Get("Location") != "/cases" {
		e.t.Fatalf("sign-in went to %q", resp.header.Get("Location"))
	}
	page := c.get("/cases", http.StatusOK)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("no CSRF token on the page:\n%s", page.body)
	}
	c.csrf = m[1]
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request, want int) response {
	c.e.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if want != 0 && resp.StatusCode != want {
		c.e.t.Fatalf("%s %s: status %d, want %d\n%s", req.Method, req.URL.Path, resp.StatusCode, want, b)
	}
	return r
}

func (c *client) get(path string, want int) response {
	c.e.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req, want)
}

// post sends a form; the session's CSRF token is added unless the form has one.
func (c *client) post(path string, form url.Values, want int) response {
	c.e.t.Helper()
	if _, ok := form["csrf"]; !ok && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, want)
}

func (e *env) open(by, title string, watchers ...string) casebook.Case {
	e.t.Helper()
	c, err := e.book.OpenCase(e.ctx, casebook.NewCase{Org: "acme", Product: "cloud", Title: title, Description: "about " + title, Requester: by, Watchers: watchers})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) status(id int64) casebook.Status {
	e.t.Helper()
	c, err := e.book.Case(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Status
}

func (e *env) link(a actionlink.Action, id int64, to string, ttl time.Duration) string {
	return actionlink.Path + actionlink.New(e.book.Secret()).Sign(actionlink.Link{Action: a, CaseID: id, Recipient: to, Expires: e.clock.Now().Add(ttl)})
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", body)
	}
	return m[1]
}

func TestSecurityHeaders(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.as("ann@acme.test")
		cs := e.open("ann@acme.test", "Headers")
		for _, path := range []string{"/signin", "/cases", "/case/1", "/new", "/access", e.link(actionlink.Close, cs.ID, "ann@acme.test", time.Hour), "/nope"} {
			r := c.get(path, 0)
			h := r.header
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
				t.Errorf("%s: CSP %q", path, csp)
			}
			if h.Get("Referrer-Policy") != "no-referrer" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: headers %v", path, h)
			}
			if strings.Contains(r.body, "<script") {
				t.Errorf("%s: the page has a script", path)
			}
		}
	})
}

// Sign-in by mail: the page never tells whether an address has an account;
// the link is single use and opening it (GET) spends nothing.
func TestSignIn(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.anon()
		known := c.post("/signin", url.Values{"address": {"ann@acme.test"}}, http.StatusOK)
		unknown := c.post("/signin", url.Values{"address": {"nobody@acme.test"}}, http.StatusOK)
		if known.body != unknown.body {
			t.Errorf("the page differs for a known and an unknown address")
		}
		if r := c.post("/signin", url.Values{"address": {"not an address"}}, http.StatusBadRequest); !strings.Contains(r.body, "pas une adresse") {
			t.Errorf("a bad address is not explained:\n%s", r.body)
		}
		tok := e.lastSignInToken("ann@acme.test")
		// GET never changes state: mail scanners open the link first.
		for range 3 {
			c.get("/signin/"+tok, http.StatusOK)
		}
		r := c.post("/signin/confirm", url.Values{"token": {tok}}, http.StatusSeeOther)
		var cookie *http.Cookie
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name == cookieName {
				cookie = ck
			}
		}
		if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie %+v: want HttpOnly, Secure (https public URL), SameSite=Lax", cookie)
		}
		if page := c.get("/cases", http.StatusOK); !strings.Contains(page.body, "ann@acme.test") {
			t.Fatal("not signed in")
		}
		// Single use.
		other := e.anon()
		if r := other.post("/signin/confirm", url.Values{"token": {tok}}, http.StatusForbidden); !strings.Contains(r.body, "not valid any more") && !strings.Contains(r.body, "plus valable") {
			t.Errorf("reused link: %s", r.body)
		}
		// Expired after 15 minutes.
		e.anon().post("/signin", url.Values{"address": {"carl@acme.test"}}, http.StatusOK)
		late := e.lastSignInToken("carl@acme.test")
		e.clock.Advance(16 * time.Minute)
		e.anon().post("/signin/confirm", url.Values{"token": {late}}, http.StatusForbidden)

		// Sign out ends the session on the server, not only in the browser.
		sid := cookie.Value
		csrf := csrfOf(t, c.get("/cases", http.StatusOK).body)
		c.post("/signout", url.Values{"csrf": {csrf}}, http.StatusSeeOther)
		if _, err := e.book.SessionAddress(e.ctx, sid); err == nil {
			t.Error("session still valid after sign out")
		}
		c.get("/cases", http.StatusSeeOther)

		// No token or cookie value in the log.
		for _, secret := range []string{tok, late, sid} {
			if strings.Contains(e.logs.String(), secret) {
				t.Errorf("the log holds a secret:\n%s", e.logs.String())
			}
		}
	})
}

// Ending an account's sessions (what disabling it does) signs it out at once.
func TestSessionEndedForAccount(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.as("carl@acme.test")
		// A sign-in link mailed before the account is disabled dies with it.
		e.anon().post("/signin", url.Values{"address": {"carl@acme.test"}}, http.StatusOK)
		pending := e.lastSignInToken("carl@acme.test")
		if _, err := e.book.DisableAccount(e.ctx, "carl@acme.test"); err != nil {
			t.Fatal(err)
		}
		c.get("/cases", http.StatusSeeOther)
		e.anon().post("/signin/confirm", url.Values{"token": {pending}}, http.StatusForbidden)
		// A disabled account is sent no new link (the page is the same).
		e.anon().post("/signin", url.Values{"address": {"carl@acme.test"}}, http.StatusOK)
		if tok := e.lastSignInToken("carl@acme.test"); tok != pending {
			t.Error("a disabled account was mailed a new sign-in link")
		}
	})
}

func TestSignInRateLimited(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		tests := []struct {
			name  string
			addrs []string
			last  int
		}{
			{"per address", []string{"ann@acme.test", "ann@acme.test", "ann@acme.test", "ANN@acme.test"}, http.StatusTooManyRequests},
			{"per client", []string{"a1@x.test", "a2@x.test", "a3@x.test", "a4@x.test", "a5@x.test", "a6@x.test"}, http.StatusTooManyRequests},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e.view.byIP = newLimiter(5, time.Minute)
				e.view.byAddr = newLimiter(3, time.Minute)
				c := e.anon()
				for i, a := range tc.addrs {
					want := http.StatusOK
					if i == len(tc.addrs)-1 {
						want = tc.last
					}
					c.post("/signin", url.Values{"address": {a}}, want)
				}
			})
		}
	})
}

func TestLocale(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		tests := []struct{ accept, want string }{
			{"fr-FR,fr;q=0.9,en;q=0.8", "Se connecter"},
			{"de-DE, en;q=0.5", "Sign in"},
			{"", "Se connecter"}, // the default
			{"en;q=0.2, fr;q=0.8", "Se connecter"},
		}
		for _, tc := range tests {
			req, _ := http.NewRequest("GET", e.srv.URL+"/signin", nil)
			req.Header.Set("Accept-Language", tc.accept)
			if r := e.anon().do(req, http.StatusOK); !strings.Contains(r.body, tc.want) {
				t.Errorf("Accept-Language %q: page lacks %q", tc.accept, tc.want)
			}
		}
		// The account's locale wins over the browser's.
		c := e.as("ann@acme.test")
		req, _ := http.NewRequest("GET", e.srv.URL+"/cases", nil)
		req.Header.Set("Accept-Language", "fr")
		if r := c.do(req, http.StatusOK); !strings.Contains(r.body, "My cases") {
			t.Errorf("account locale en not used")
		}
	})
}

// R7: my cases are those I submitted or watch; my organisation's cases need
// the view permission. R10: search is scoped the same way.
func TestListsAndSearch(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		e.open("ann@acme.test", "Checkout broken")
		e.open("dora@acme.test", "Invoice wrong")
		e.open("ann@acme.test", "Slow checkout page", "dora@acme.test")
		tests := []struct {
			name, who, path string
			status          int
			want, notWant   []string
		}{
			{"R7 my cases: submitted and watched", "dora@acme.test", "/cases", 200, []string{"Invoice wrong", "Slow checkout page"}, []string{"Checkout broken"}},
			{"R7 no view permission", "dora@acme.test", "/cases?scope=org&org=acme", 403, nil, []string{"Checkout broken"}},
			{"R7 view permission", "carl@acme.test", "/cases?scope=org&org=acme", 200, []string{"Checkout broken", "Invoice wrong", "Slow checkout page"}, nil},
			{"R7 owner", "ann@acme.test", "/cases?scope=org", 200, []string{"Checkout broken", "Invoice wrong"}, nil},
			{"R7 another organisation", "bob@globex.test", "/cases?scope=org&org=acme", 403, nil, []string{"Checkout broken"}},
			{"R7 another organisation: mine", "bob@globex.test", "/cases", 200, nil, []string{"Checkout broken", "Invoice wrong"}},
			{"R10 search in the organisation", "carl@acme.test", "/cases?scope=org&org=acme&q=checkout", 200, []string{"Checkout broken", "Slow checkout page"}, []string{"Invoice wrong"}},
			{"R10 search in my cases", "dora@acme.test", "/cases?q=checkout", 200, []string{"Slow checkout page"}, []string{"Checkout broken", "Invoice wrong"}},
			{"R10 punctuation is no error", "ann@acme.test", "/cases?q=%22%29%28*", 200, nil, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := e.as(tc.who).get(tc.path, tc.status)
				for _, w := range tc.want {
					if !strings.Contains(r.body, w) {
						t.Errorf("page lacks %q", w)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(r.body, w) {
						t.Errorf("page shows %q", w)
					}
				}
			})
		}
		// Newest activity first: a comment moves a case up.
		e.clock.Advance(time.Minute)
		if _, err := e.book.AddComment(e.ctx, 1, "agent@support.test", "Looking into it"); err != nil {
			t.Fatal(err)
		}
		body := e.as("ann@acme.test").get("/cases", 200).body
		if strings.Index(body, "Checkout broken") > strings.Index(body, "Slow checkout page") {
			t.Error("the case with the latest activity is not first")
		}
	})
}

// An id in a URL grants nothing: the case page, its actions and its files
// answer 404 to whoever may not see the case (R7).
func TestCasePageRules(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.as("ann@acme.test")
		cs := e.open("ann@acme.test", "Secret plans")
		if _, err := e.book.AddComment(e.ctx, cs.ID, "agent@support.test", "Support answer"); err != nil {
			t.Fatal(err)
		}
		// I3: an agent's internal note is never shown to a customer.
		if _, err := e.book.AddInternalNote(e.ctx, cs.ID, "agent@support.test", "Note interne : client VIP"); err != nil {
			t.Fatal(err)
		}
		page := c.get("/case/1", 200).body
		for _, w := range []string{"Secret plans", "Support answer", `class="comment support"`, "Close the case"} {
			if !strings.Contains(page, w) {
				t.Errorf("case page lacks %q", w)
			}
		}
		if strings.Contains(page, "client VIP") {
			t.Error("the customer's case page shows an internal note (I3)")
		}
		if strings.Index(page, "Support answer") > strings.Index(page, "about Secret plans") {
			t.Error("thread is not newest first (R9)")
		}
		bob := e.as("bob@globex.test")
		dora := e.as("dora@acme.test")
		for _, tc := range []struct {
			who    *client
			method string
			path   string
		}{
			{bob, "GET", "/case/1"},
			{dora, "GET", "/case/1"},
			{bob, "GET", "/case/999"},
			{bob, "POST", "/case/1/close"},
			{dora, "POST", "/case/1/close"},
			{bob, "GET", "/case/1/file/1"},
		} {
			var r response
			if tc.method == "GET" {
				r = tc.who.get(tc.path, http.StatusNotFound)
			} else {
				r = tc.who.post(tc.path, url.Values{}, http.StatusNotFound)
			}
			if strings.Contains(r.body, "Secret plans") {
				t.Errorf("%s %s leaks the case", tc.method, tc.path)
			}
		}
		if e.status(cs.ID) != casebook.StatusOpen {
			t.Fatal("an outsider closed the case")
		}
		// Signed out: every page sends to sign-in.
		for _, p := range []string{"/cases", "/case/1", "/new", "/access"} {
			if r := e.anon().get(p, http.StatusSeeOther); r.header.Get("Location") != "/signin" {
				t.Errorf("%s signed out: %q", p, r.header.Get("Location"))
			}
		}
	})
}

func multipartForm(t *testing.T, fields map[string]string, file, content string) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if file != "" {
		fw, _ := w.CreateFormFile("files", file)
		fw.Write([]byte(content))
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

// Opening a case from the web checks R1–R4, R19 and R3 on the server, and
// attachments are downloadable by those who may see the case.
func TestOpenCase(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		tests := []struct {
			name, who, target, priority string
			csrf                        bool
			status                      int
			want                        string
		}{
			{"owner opens with a file", "ann@acme.test", "acme/cloud", "P3", true, http.StatusSeeOther, ""},
			{"R20 P1 shows the urgent instructions", "carl@acme.test", "acme/cloud", "P1", true, http.StatusSeeOther, ""},
			{"R19 another organisation", "bob@globex.test", "acme/cloud", "P3", true, http.StatusForbidden, "may not open cases for this organisation"},
			{"R3 not entitled", "ann@acme.test", "acme/erp", "P3", true, http.StatusForbidden, "not entitled"},
			{"R2 unverified", "eve@acme.test", "acme/cloud", "P3", true, http.StatusForbidden, "verify your email"},
			{"R4 unknown organisation", "ann@acme.test", "nope/cloud", "P3", true, http.StatusBadRequest, ""},
			{"CSRF missing", "ann@acme.test", "acme/cloud", "P3", false, http.StatusForbidden, "expired"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := e.as(tc.who)
				fields := map[string]string{"target": tc.target, "priority": tc.priority, "title": "Help " + tc.name, "description": "Details", "watchers": "carl@acme.test"}
				if tc.csrf {
					fields["csrf"] = c.csrf
				}
				body, ctype := multipartForm(t, fields, "log.txt", "stack trace")
				req, _ := http.NewRequest("POST", e.srv.URL+"/new", body)
				req.Header.Set("Content-Type", ctype)
				r := c.do(req, tc.status)
				if tc.want != "" && !strings.Contains(r.body, tc.want) {
					t.Errorf("page lacks %q:\n%s", tc.want, r.body)
				}
				if tc.status != http.StatusSeeOther {
					return
				}
				page := c.get(r.header.Get("Location"), 200).body
				if !strings.Contains(page, "log.txt") || !strings.Contains(page, "carl@acme.test") {
					t.Errorf("case page lacks the file or the watcher:\n%s", page)
				}
				if (tc.priority == "P1") != strings.Contains(page, "Urgent incident (P1)") {
					t.Errorf("R20: urgent instructions shown = %v for %s", !(tc.priority == "P1"), tc.priority)
				}
			})
		}
		// The file downloads for someone allowed, never renders in our origin.
		c := e.as("carl@acme.test")
		r := c.get("/case/1/file/1", 200)
		if r.body != "stack trace" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") || r.header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("download: %q %v", r.body, r.header)
		}
		// A file of case 1 is not reachable through case 2.
		c.get("/case/2/file/1", http.StatusNotFound)
		e.as("dora@acme.test").get("/case/1/file/1", http.StatusNotFound)
		// The form offers only what the user may open for (R19, R3).
		if form := e.as("bob@globex.test").get("/new", 200).body; strings.Contains(form, "acme") || !strings.Contains(form, "globex") {
			t.Errorf("bob's form offers acme or lacks globex")
		}
	})
}

// Actions from the case page go through the casebook's rules: close (R11),
// reopen within 14 days (R12), follow-up (R14), escalate after the initial
// response time with one of the six reasons (R15).
func TestCaseActions(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		c := e.as("ann@acme.test")
		cs := e.open("ann@acme.test", "Act on me")
		id := "/case/1"
		// R15: before the initial response time (24 h for P3) the page says when.
		page := c.get(id, 200).body
		if !strings.Contains(page, "once its initial response time has passed, from 2026-11-03 09:00 UTC") {
			t.Errorf("R15: page does not say when escalation opens:\n%s", page)
		}
		c.post(id+"/escalate", url.Values{"reason": {"knowledge"}}, http.StatusConflict)
		e.clock.Advance(25 * time.Hour)
		c.post(id+"/escalate", url.Values{"reason": {"bribery"}}, http.StatusConflict)
		c.post(id+"/escalate", url.Values{"reason": {"knowledge"}}, http.StatusSeeOther)
		if got, _ := e.book.Case(e.ctx, cs.ID); got.EscalationReason != "knowledge" {
			t.Fatalf("R15: escalation reason %q", got.EscalationReason)
		}
		c.post(id+"/close", url.Values{}, http.StatusSeeOther) // R11
		if e.status(cs.ID) != casebook.StatusClosed {
			t.Fatal("R11: not closed")
		}
		c.post(id+"/reopen", url.Values{}, http.StatusSeeOther) // R12 within the window
		c.post(id+"/close", url.Values{}, http.StatusSeeOther)
		e.clock.Advance(15 * 24 * time.Hour)
		c = e.as("ann@acme.test")                                           // the session lasted 7 days
		page = c.post(id+"/reopen", url.Values{}, http.StatusConflict).body // R12 after it
		if !strings.Contains(page, "follow-up") {
			t.Errorf("R12 refusal does not offer a follow-up:\n%s", page)
		}
		if !strings.Contains(c.get(id, 200).body, "Open a follow-up case") {
			t.Error("R14: case page after the window lacks the follow-up")
		}
		r := c.post(id+"/followup", url.Values{}, http.StatusSeeOther)
		if r.header.Get("Location") != "/case/2" || !strings.Contains(c.get("/case/2", 200).body, "Follow-up of case") {
			t.Errorf("R14: follow-up went to %q", r.header.Get("Location"))
		}
		// CSRF: a form without the token changes nothing.
		c.post("/case/2/close", url.Values{"csrf": {"forged"}}, http.StatusForbidden)
		if e.status(2) != casebook.StatusOpen {
			t.Error("closed without a CSRF token")
		}
	})
}

// Action links: GET shows a confirmation and changes nothing; the POST needs
// the page's CSRF token; expired, forged and foreign links do nothing; a link
// acts only for its recipient, as far as their rights go today.
func TestActionLinks(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		cs := e.open("ann@acme.test", "Linked case", "carl@acme.test")
		closeLink := e.link(actionlink.Close, cs.ID, "ann@acme.test", time.Hour)
		anon := e.anon()
		for range 3 {
			page := anon.get(closeLink, 200).body
			if !strings.Contains(page, "Close the case") || !strings.Contains(page, "ann@acme.test") {
				t.Fatalf("confirmation page:\n%s", page)
			}
		}
		if e.status(cs.ID) != casebook.StatusOpen {
			t.Fatal("GET changed the case")
		}
		anon.post(closeLink, url.Values{"do": {"close"}}, http.StatusForbidden) // no CSRF
		anon.post(closeLink, url.Values{"do": {"close"}, "csrf": {"x"}}, http.StatusForbidden)
		// A link for one action cannot do another.
		csrf := csrfOf(t, anon.get(closeLink, 200).body)
		anon.post(closeLink, url.Values{"do": {"unwatch"}, "csrf": {csrf}}, http.StatusForbidden)
		// Someone else signed in (bob) using ann's link acts as ann, not as bob.
		bob := e.as("bob@globex.test")
		r := bob.post(closeLink, url.Values{"do": {"close"}, "csrf": {csrf}}, http.StatusOK)
		if e.status(cs.ID) != casebook.StatusClosed || !strings.Contains(r.body, "The case is closed") {
			t.Fatalf("close by link: %s", r.body)
		}

		tests := []struct {
			name   string
			link   string
			status int
		}{
			{"expired", e.link(actionlink.Reopen, cs.ID, "ann@acme.test", -time.Minute), http.StatusGone},
			{"forged", closeLink[:len(closeLink)-2] + "AA", http.StatusForbidden},
			{"other secret", actionlink.Path + actionlink.New([]byte("not the casebook's secret at all!")).Sign(actionlink.Link{Action: actionlink.Reopen, CaseID: cs.ID, Recipient: "ann@acme.test", Expires: e.clock.Now().Add(time.Hour)}), http.StatusForbidden},
			{"R7 recipient who may not see the case", e.link(actionlink.Reopen, cs.ID, "bob@globex.test", time.Hour), http.StatusNotFound},
			{"no such case", e.link(actionlink.View, 999, "ann@acme.test", time.Hour), http.StatusNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				anon.get(tc.link, tc.status)
				anon.post(tc.link, url.Values{"csrf": {e.view.linkCSRF(strings.TrimPrefix(tc.link, actionlink.Path))}}, tc.status)
				if e.status(cs.ID) != casebook.StatusClosed {
					t.Fatal("a refused link changed the case")
				}
			})
		}

		// A revoked grant makes old links useless: carl (view) watches no case
		// of dora's, he saw it through his grant.
		dcase := e.open("dora@acme.test", "Dora's case")
		carlView := e.link(actionlink.View, dcase.ID, "carl@acme.test", time.Hour)
		if !strings.Contains(anon.get(carlView, 200).body, "Dora&#39;s case") {
			t.Fatal("view link with a grant")
		}
		if err := e.book.Revoke(e.ctx, "acme", "ann@acme.test", "carl@acme.test"); err != nil {
			t.Fatal(err)
		}
		anon.get(carlView, http.StatusNotFound)

		// Stop watching: only for a watcher.
		unwatch := e.link(actionlink.Unwatch, cs.ID, "carl@acme.test", time.Hour)
		csrf = csrfOf(t, anon.get(unwatch, 200).body)
		anon.post(unwatch, url.Values{"csrf": {csrf}}, http.StatusOK)
		if got, _ := e.book.Case(e.ctx, cs.ID); len(got.Watchers) != 0 {
			t.Errorf("still watching: %v", got.Watchers)
		}
	})
}

// R12 by link: within 14 days the reopen link reopens; after, it is refused
// and the page offers the follow-up (R14) with a button that works.
func TestReopenLinkWindow(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		cs := e.open("ann@acme.test", "Window")
		if err := e.book.CloseCase(e.ctx, cs.ID, ""); err != nil {
			t.Fatal(err)
		}
		anon := e.anon()
		reopen := e.link(actionlink.Reopen, cs.ID, "ann@acme.test", 30*24*time.Hour)
		page := anon.get(reopen, 200).body
		if !strings.Contains(page, "Reopen the case") {
			t.Fatalf("reopen page:\n%s", page)
		}
		anon.post(reopen, url.Values{"do": {"reopen"}, "csrf": {csrfOf(t, page)}}, 200)
		if e.status(cs.ID) != casebook.StatusOpen {
			t.Fatal("R12: not reopened within the window")
		}
		if err := e.book.CloseCase(e.ctx, cs.ID, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(14*24*time.Hour + time.Minute)
		page = anon.get(reopen, 200).body
		if !strings.Contains(page, "are over") || !strings.Contains(page, "Open a follow-up case") || strings.Contains(page, `value="reopen"`) {
			t.Fatalf("after the window:\n%s", page)
		}
		// Forcing the reopen anyway is refused by the casebook.
		anon.post(reopen, url.Values{"do": {"reopen"}, "csrf": {csrfOf(t, page)}}, http.StatusConflict)
		r := anon.post(reopen, url.Values{"do": {"followup"}, "csrf": {csrfOf(t, page)}}, 200)
		if !strings.Contains(r.body, "follow-up case is open") {
			t.Fatalf("follow-up by link:\n%s", r.body)
		}
		if f, err := e.book.Case(e.ctx, 2); err != nil || f.FollowUpOf == nil || *f.FollowUpOf != cs.ID {
			t.Fatalf("R14: follow-up %+v %v", f, err)
		}
	})
}

// R15 by link: the page says from when; after that, the six reasons.
func TestEscalateLink(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		cs := e.open("ann@acme.test", "Escalate me")
		anon := e.anon()
		link := e.link(actionlink.Escalate, cs.ID, "ann@acme.test", 30*24*time.Hour)
		page := anon.get(link, 200).body
		if !strings.Contains(page, "from 2026-11-03 09:00 UTC") || strings.Contains(page, `name="reason"`) {
			t.Fatalf("before the initial response time:\n%s", page)
		}
		anon.post(link, url.Values{"reason": {"urgency"}, "csrf": {e.view.linkCSRF(strings.TrimPrefix(link, actionlink.Path))}}, http.StatusConflict)
		e.clock.Advance(24 * time.Hour)
		page = anon.get(link, 200).body
		if n := strings.Count(page, `name="reason"`); n != 6 {
			t.Fatalf("R15: %d reasons offered, want 6", n)
		}
		anon.post(link, url.Values{"reason": {"urgency"}, "csrf": {csrfOf(t, page)}}, 200)
		if got, _ := e.book.Case(e.ctx, cs.ID); got.EscalationReason != "urgency" {
			t.Fatalf("not escalated: %+v", got)
		}
	})
}

// Shared access (R16–R18): the owner grants and revokes; a grantee never
// sees the controls and cannot pass access on; external grants are stripped,
// never deleted.
func TestSharedAccess(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		if err := e.book.GrantExternal(e.ctx, "acme", "bob@globex.test", []casebook.Perm{casebook.PermView}, "cloud project p-123"); err != nil {
			t.Fatal(err)
		}
		ann := e.as("ann@acme.test")
		page := ann.get("/access?org=acme", 200).body
		for _, w := range []string{"carl@acme.test", "cloud project p-123", "Grant access"} {
			if !strings.Contains(page, w) {
				t.Errorf("access page lacks %q", w)
			}
		}
		// R16: the owner grants dora the view permission: she now sees the organisation's cases.
		ann.post("/access/grant", url.Values{"org": {"acme"}, "grantee": {"dora@acme.test"}, "perm": {"open", "view"}}, 200)
		dora := e.as("dora@acme.test")
		dora.get("/cases?scope=org&org=acme", 200)
		// R18: revoke, and the grant stays listed.
		ann.post("/access/revoke", url.Values{"org": {"acme"}, "grantee": {"dora@acme.test"}}, 200)
		dora.get("/cases?scope=org&org=acme", http.StatusForbidden)
		// R18: an external grant is stripped and still listed.
		page = ann.post("/access/revoke", url.Values{"org": {"acme"}, "grantee": {"bob@globex.test"}}, 200).body
		if !strings.Contains(page, "bob@globex.test") || !strings.Contains(page, "kept for audit") {
			t.Errorf("R18: external grant not shown stripped:\n%s", page)
		}
		// R17: a grantee sees no controls and cannot grant.
		carl := e.as("carl@acme.test")
		if p := carl.get("/access?org=acme", http.StatusForbidden).body; strings.Contains(p, "Grant access") {
			t.Error("R17: grantee sees the grant form")
		}
		if p := carl.get("/cases", 200).body; strings.Contains(p, "/access") {
			t.Error("R17: grantee sees the shared access menu")
		}
		carl.post("/access/grant", url.Values{"org": {"acme"}, "grantee": {"eve@acme.test"}, "perm": {"view"}}, http.StatusForbidden)
		// R16: someone of another organisation neither.
		e.as("bob@globex.test").post("/access/revoke", url.Values{"org": {"acme"}, "grantee": {"carl@acme.test"}}, http.StatusForbidden)
		gs, _ := e.book.Grants(e.ctx, "acme")
		for _, g := range gs {
			if g.Grantee == "eve@acme.test" && len(g.Perms) != 1 {
				t.Errorf("R17: eve's grant changed: %+v", g)
			}
			if g.Grantee == "carl@acme.test" && g.Revoked {
				t.Error("R16: bob revoked carl")
			}
		}
		// CSRF on a grant.
		ann.post("/access/grant", url.Values{"org": {"acme"}, "grantee": {"eve@acme.test"}, "perm": {"view"}, "csrf": {"nope"}}, http.StatusForbidden)
	})
}

// A POST made by another site's page is refused before any handler runs,
// sign-in included (login CSRF).
func TestCrossOriginPostRefused(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		e.anon().post("/signin", url.Values{"address": {"ann@acme.test"}}, http.StatusOK)
		tok := e.lastSignInToken("ann@acme.test")
		c := e.anon()
		req, _ := http.NewRequest("POST", e.srv.URL+"/signin/confirm", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		c.do(req, http.StatusForbidden)
		// The token was not spent: the real owner still signs in with it.
		e.anon().post("/signin/confirm", url.Values{"token": {tok}}, http.StatusSeeOther)
	})
}

// GET never changes anything (mail scanners and previews fetch every link):
// fetching every page and every action link leaves cases, watchers, grants
// and the outbox as they were.
func TestGetChangesNothing(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		open := e.open("ann@acme.test", "Open one", "carl@acme.test")
		closed := e.open("ann@acme.test", "Closed one", "carl@acme.test")
		if err := e.book.CloseCase(e.ctx, closed.ID, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(48 * time.Hour) // escalation allowed
		ann := e.as("ann@acme.test")
		snapshot := func() string {
			var b strings.Builder
			for _, id := range []int64{open.ID, closed.ID} {
				c, err := e.book.Case(e.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%d %s %v %v %s|", c.ID, c.Status, c.Watchers, c.EscalatedAt, c.EscalationReason)
			}
			gs, _ := e.book.Grants(e.ctx, "acme")
			fmt.Fprintf(&b, "%v|", gs)
			items, _ := e.book.Outbox(e.ctx, "")
			fmt.Fprintf(&b, "%d", len(items))
			return b.String()
		}
		before := snapshot()
		paths := []string{"/", "/cases", "/cases?scope=org", "/cases?q=one", "/new", "/access?org=acme",
			"/case/1", "/case/2", "/case/1/close", "/case/2/reopen", "/signin"}
		for _, a := range actionlink.Actions {
			for _, id := range []int64{open.ID, closed.ID} {
				for _, to := range []string{"ann@acme.test", "carl@acme.test"} {
					paths = append(paths, e.link(a, id, to, time.Hour))
				}
			}
		}
		for _, p := range paths {
			ann.get(p, 0)
			e.anon().get(p, 0)
		}
		if after := snapshot(); after != before {
			t.Errorf("GET changed state:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// A support answer on a customer's page is signed as in the mail that
// carried it: the agent's name, or only the Support badge; never the
// agent's own address, which customers are not given (docs/agents.md).
func TestSupportAnswerNamesNoAgentAddress(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		if err := e.book.AddAccount(e.ctx, casebook.Account{Address: "agnes@support.test", Name: "Agnes Martin", Verified: true, Agent: true}); err != nil {
			t.Fatal(err)
		}
		cs := e.open("ann@acme.test", "VPN down")
		for _, by := range []string{"agnes@support.test", "agent@support.test"} {
			if _, err := e.book.AddComment(e.ctx, cs.ID, by, "Answer by "+strings.Split(by, "@")[0]); err != nil {
				t.Fatal(err)
			}
		}
		pages := map[string]string{
			"case page": e.as("ann@acme.test").get("/case/1", 200).body,
			"view link": e.anon().get(e.link(actionlink.View, cs.ID, "ann@acme.test", time.Hour), 200).body,
		}
		for name, page := range pages {
			for _, w := range []string{"Answer by agnes", "Answer by agent", "Agnes Martin"} {
				if !strings.Contains(page, w) {
					t.Errorf("%s lacks %q", name, w)
				}
			}
			for _, addr := range []string{"agnes@support.test", "agent@support.test"} {
				if strings.Contains(page, addr) {
					t.Errorf("%s shows the agent's address %s", name, addr)
				}
			}
		}
	})
}

// I3: an internal note is invisible to customers, also as activity: it
// neither dates a case's "last activity" nor moves it up the customer's list.
func TestInternalNoteIsNoActivity(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		e := newEnv(t)
		cs := e.open("ann@acme.test", "VPN down") // 09:00
		e.clock.Advance(2 * time.Hour)
		if _, err := e.book.AddInternalNote(e.ctx, cs.ID, "agent@support.test", "Customer is on the old firmware"); err != nil {
			t.Fatal(err)
		}
		page := e.as("ann@acme.test").get("/cases", 200).body
		if !strings.Contains(page, "VPN down") {
			t.Fatalf("the list lacks the case:\n%s", page)
		}
		if strings.Contains(page, "11:00") || !strings.Contains(page, "09:00") {
			t.Errorf("last activity is the internal note's time, not the opening's:\n%s", page)
		}
	})
}
