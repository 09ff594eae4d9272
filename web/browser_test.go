package web_test

import (
	"context"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
	"github.com/casemail/casemail/web"
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

// sent is one mail of the outgoing Maildir, as its recipient reads it.
type sent struct {
	file, to, subject, replyTo, text string
}

func maildir(t *testing.T, dir string) []sent {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	var out []sent
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := message.Parse(b, message.Options{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		s := sent{file: filepath.Base(f), subject: p.Subject, text: p.Text}
		if len(p.To) > 0 {
			s.to = p.To[0]
		}
		if len(p.ReplyTo) > 0 {
			s.replyTo = p.ReplyTo[0]
		}
		out = append(out, s)
	}
	return out
}

// seenMail is the set of mails already in the Maildir: waitMail looks only
// at newer ones (file names do not sort by arrival).
func seenMail(t *testing.T, dir string) map[string]bool {
	seen := map[string]bool{}
	for _, m := range maildir(t, dir) {
		seen[m.file] = true
	}
	return seen
}

// waitMail waits for a mail to "to", not in seen, whose text contains "has".
func waitMail(t *testing.T, dir, to, has string, seen map[string]bool) sent {
	t.Helper()
	var got sent
	defer func() {
		if t.Failed() {
			for _, m := range maildir(t, dir) {
				t.Logf("mail to %s: %s\n%s", m.to, m.subject, m.text)
			}
		}
	}()
	testenv.WaitFor(t, 20*time.Second, "a mail to "+to+" with "+has, func() bool {
		for _, m := range maildir(t, dir) {
			if m.to == to && !seen[m.file] && strings.Contains(m.text, has) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// linkAfter returns the first URL under base that follows label in text.
func linkAfter(t *testing.T, text, label, base string) string {
	t.Helper()
	i := strings.Index(text, label)
	if i < 0 {
		t.Fatalf("mail lacks %q:\n%s", label, text)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(base) + `/[A-Za-z0-9/_-]+`).FindString(text[i:])
	if m == "" {
		t.Fatalf("no link after %q:\n%s", label, text[i:])
	}
	return m
}

// The customer story of issue 15 in a real headless Chromium: sign in by
// the mailed link, open a case with a file, see it in "My cases"; a
// colleague with view access sees it in the organisation's cases, one
// without does not; support closes it; the R13 notice's link reopens it
// within 14 days and, after them, offers a follow-up; escalation with a
// reason after the initial response time; the owner grants and revokes
// shared access. Every step asserts on the page and saves a screenshot
// (under the test's temp dir, and CASEMAIL_SCREENSHOTS when set).
func TestBrowserStory(t *testing.T) {
	stores.Each(t, func(t *testing.T) {
		if testing.Short() {
			t.Skip("drives a real browser")
		}
		chromium := testenv.NeedTool(t, "chromium", "chromium")
		dir := t.TempDir()
		clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
		cfg := config.Default()
		cfg.SMTP.Domains = []string{"support.test"}
		cfg.Outbound.Transport = "maildir:" + filepath.Join(dir, "sent")
		cfg.Outbound.From = "Support <support@support.test>"
		cfg.Outbound.ReplyDomain = "support.test"
		cfg.Routes = []config.Route{{Address: "support@support.test", Product: "cloud"}}
		cfg.Policy.Locale = "en"
		ir := map[string]time.Duration{}
		for k, v := range cfg.Policy.InitialResponse {
			ir[k] = v.Duration
		}
		book, err := casebook.Open(stores.Location(t, "cm.db"), casebook.Options{Now: clk.Now, InitialResponse: ir, MessageIDDomain: "support.test", DefaultLocale: "en"})
		if err != nil {
			t.Fatal(err)
		}
		defer book.Close()
		ctx := context.Background()
		for _, a := range []casebook.Account{
			{Address: "ann@acme.test", Name: "Ann", Verified: true, Locale: "en"},
			{Address: "carl@acme.test", Verified: true, Locale: "en"},
			{Address: "dora@acme.test", Verified: true, Locale: "en"},
			{Address: "agent@support.test", Verified: true, Agent: true},
		} {
			if err := book.AddAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if err := book.CreateOrg(ctx, casebook.Org{Slug: "acme", Name: "Acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
			t.Fatal(err)
		}
		for addr, perms := range map[string][]casebook.Perm{"carl@acme.test": {casebook.PermOpen, casebook.PermView}, "dora@acme.test": {casebook.PermOpen}} {
			if err := book.Grant(ctx, "acme", "ann@acme.test", addr, perms); err != nil {
				t.Fatal(err)
			}
		}

		srv := httptest.NewUnstartedServer(nil)
		base := "http://" + srv.Listener.Addr().String()
		cfg.HTTP.PublicURL = base
		log := testenv.Logger(t)
		view, err := web.New(web.Options{Book: book, PublicURL: base, DefaultLocale: "en", Log: log})
		if err != nil {
			t.Fatal(err)
		}
		srv.Config.Handler = web.Mount(view, http.NotFoundHandler())
		srv.Start()
		defer srv.Close()

		// The worker as `casemail serve` wires it, on the test's clock (rows
		// are due by the casebook's time).
		set, err := templates.New("", "en")
		if err != nil {
			t.Fatal(err)
		}
		comp, err := outbound.NewComposer(cfg, set, replytoken.New(book.Secret()))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := outbound.OpenTransport(cfg.Outbound, log)
		if err != nil {
			t.Fatal(err)
		}
		worker, err := outbound.NewWorker(outbound.Options{Queue: book, Composer: comp, NewTransport: func() (outbound.Transport, error) { return tr, nil },
			Log: log, Now: clk.Now, Poll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		worker.SetLinks(actionlink.MailLinks(actionlink.New(book.Secret()), base, 30*24*time.Hour))
		book.OnOutbox(worker.Notify)
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go worker.Run(wctx)
		gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), log)
		if err != nil {
			t.Fatal(err)
		}
		sentDir := filepath.Join(dir, "sent")

		// The browser, with the flags a root container needs.
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1000, 900), chromedp.Flag("lang", "en-GB"),
		}
		actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
		defer cancelA()
		bctx, cancelB := chromedp.NewContext(actx)
		defer cancelB()
		bctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
		defer cancelT()

		shots := filepath.Join(t.TempDir(), "screenshots")
		os.MkdirAll(shots, 0o755)
		n := 0
		step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(bctx, actions...); err != nil {
				body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
				t.Fatalf("step %s: %v\npage:\n%s", name, err, body)
			}
			png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			n++
			file := fmt.Sprintf("%02d-%s.png", n, name)
			os.WriteFile(filepath.Join(shots, file), png, 0o644)
			if d := os.Getenv("CASEMAIL_SCREENSHOTS"); d != "" {
				os.WriteFile(filepath.Join(d, file), png, 0o644)
			}
		}
		defer func() { t.Logf("screenshots in %s", shots) }()
		// pageHas asserts on the page's visible text.
		pageHas := func(want ...string) chromedp.Action[chromedp.Void] {
			return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				// Polled: after a click the next page may still be loading.
				deadline := time.Now().Add(15 * time.Second)
				for {
					body, err := chromedp.Text(chromedp.CSS("body"))(ctx, tg)
					missing := ""
					for _, w := range want {
						if !strings.Contains(body, w) {
							missing = w
							break
						}
					}
					if err == nil && missing == "" {
						return chromedp.Void{}, nil
					}
					if time.Now().After(deadline) {
						return chromedp.Void{}, fmt.Errorf("page lacks %q (%v):\n%s", missing, err, body)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
		pageLacks := func(unwanted ...string) chromedp.Action[chromedp.Void] {
			return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
				body, err := chromedp.Text(chromedp.CSS("body"))(ctx, tg)
				if err != nil {
					return chromedp.Void{}, err
				}
				for _, w := range unwanted {
					if strings.Contains(body, w) {
						return chromedp.Void{}, fmt.Errorf("page shows %q:\n%s", w, body)
					}
				}
				return chromedp.Void{}, nil
			}
		}
		signIn := func(who string) {
			t.Helper()
			before := seenMail(t, sentDir)
			step("sign-in-"+strings.Split(who, "@")[0],
				chromedp.Navigate(base+"/signin"),
				chromedp.SendKeys(chromedp.CSS("#address"), who),
				chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)),
				chromedp.WaitVisible(chromedp.CSS("p.msg")),
				pageHas("If this address has an account, a sign-in link is on its way"))
			mail := waitMail(t, sentDir, who, "/signin/", before)
			link := linkAfter(t, mail.text, "open this link", base)
			step("sign-in-link-"+strings.Split(who, "@")[0],
				chromedp.Navigate(link),
				pageHas("Sign in to follow your support requests?"),
				chromedp.Click(chromedp.CSS(`form[action="/signin/confirm"] button`)),
				chromedp.WaitVisible(chromedp.CSS("h1")),
				pageHas("My cases", "Signed in as", who))
		}
		signOut := func() {
			t.Helper()
			if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`form.signout button`)), chromedp.WaitVisible(chromedp.CSS("#address"))); err != nil {
				t.Fatalf("sign out: %v", err)
			}
		}

		// 1. Ann signs in through the link read from the Maildir.
		signIn("ann@acme.test")

		// 2. She opens a case with an attachment.
		logFile := filepath.Join(t.TempDir(), "checkout-error.log")
		os.WriteFile(logFile, []byte("payment gateway timeout at step 3\n"), 0o644)
		step("open-case",
			chromedp.Navigate(base+"/new"),
			pageHas("Open a case", "acme — cloud", "Urgent incident (P1)"),
			chromedp.SetValue(chromedp.CSS("#priority"), "P2"),
			chromedp.SendKeys(chromedp.CSS("#title"), "Checkout fails at step 3"),
			chromedp.SendKeys(chromedp.CSS("#description"), "Since this morning every payment times out."),
			chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{logFile}),
			chromedp.Click(chromedp.CSS(`form[action="/new"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS("dl.facts")),
			pageHas("#1 Checkout fails at step 3", "checkout-error.log", "Open", "P2", "Close the case", "Since this morning"))
		ack := waitMail(t, sentDir, "ann@acme.test", "Checkout fails", nil)

		// 3. The case is under "My cases".
		step("my-cases",
			chromedp.Navigate(base+"/cases"),
			pageHas("My cases", "Checkout fails at step 3", "Open", "P2", "cloud"))
		signOut()

		// 4. Carl, with view access, sees it under the organisation's cases.
		signIn("carl@acme.test")
		step("org-cases-with-view",
			chromedp.Click(chromedp.CSS(`nav a[href="/cases?scope=org"]`)),
			chromedp.WaitVisible(chromedp.CSS("table.cases")),
			pageHas("My organisation's cases: acme", "Checkout fails at step 3"))
		signOut()

		// ...Dora, without it, does not.
		signIn("dora@acme.test")
		step("org-cases-without-view",
			pageLacks("My organisation's cases", "Checkout fails"),
			chromedp.Navigate(base+"/cases?scope=org&org=acme"),
			pageHas("You may not see this organisation's cases"),
			pageLacks("Checkout fails"))
		signOut()

		// 5. Support closes the case; Ann replies by mail and gets the R13 notice.
		clk.Advance(time.Hour)
		if err := book.CloseCase(ctx, 1, "agent@support.test"); err != nil {
			t.Fatal(err)
		}
		before := seenMail(t, sentDir)
		raw := "From: Ann <ann@acme.test>\r\nTo: " + ack.replyTo + "\r\nSubject: Re: " + ack.subject +
			"\r\nMessage-ID: <reply-1@acme.test>\r\nDate: " + time.Now().Format(time.RFC1123Z) + "\r\n\r\nStill failing!\r\n"
		out, err := gw.Receive(ctx, ingest.Envelope{Transport: ingest.TransportSMTP, MailFrom: "ann@acme.test", Recipients: []string{ack.replyTo}}, strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("reply to the closed case: %+v", out)
		notice := waitMail(t, sentDir, "ann@acme.test", "does not reopen it", before)
		if strings.Contains(notice.text, "portal") || strings.Contains(notice.text, "casemail") {
			t.Errorf("the R13 notice names the portal or a command:\n%s", notice.text)
		}
		reopen := linkAfter(t, notice.text, "then write to us again", base)

		// 6. Within the window, the notice's link reopens the case.
		step("reopen-link",
			chromedp.Navigate(reopen),
			pageHas("Reopen the case", "This link was sent to ann@acme.test", "It can be reopened until"))
		step("reopened",
			chromedp.Click(chromedp.CSS(`main form button`)),
			chromedp.WaitVisible(chromedp.CSS("p.msg")),
			pageHas("The case is open again"))
		if c, _ := book.Case(ctx, 1); c.Status != casebook.StatusOpen {
			t.Fatalf("case 1 is %s after the reopen link", c.Status)
		}

		// 7. Closed again; after the 14 days the same link is refused and offers a follow-up.
		if err := book.CloseCase(ctx, 1, "agent@support.test"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(15 * 24 * time.Hour)
		step("reopen-after-window",
			chromedp.Navigate(reopen),
			pageHas("are over", "Open a follow-up case"),
			pageLacks("Reopen the case"))
		before = seenMail(t, sentDir)
		step("followup-opened",
			chromedp.Click(chromedp.CSS(`main form button`)),
			chromedp.WaitVisible(chromedp.CSS("p.msg")),
			pageHas("The follow-up case is open"))
		followAck := waitMail(t, sentDir, "ann@acme.test", "Escalate it to a manager", before)

		// 8. Escalation: refused before the initial response time, with the date;
		// after it, with one of the six reasons.
		escalate := linkAfter(t, followAck.text, "Escalate it to a manager", base)
		step("escalate-too-early",
			chromedp.Navigate(escalate),
			pageHas("can be escalated once its initial response time has passed, from"))
		clk.Advance(25 * time.Hour)
		step("escalate-form",
			chromedp.Navigate(escalate),
			pageHas("Agent communication skills", "Agent technical knowledge", "Pending callback or update",
				"Change in the issue's urgency", "Resolution not meeting expectations", "Time to resolution"))
		step("escalated",
			chromedp.Click(chromedp.CSS(`#reason-time_to_resolution`)),
			chromedp.Click(chromedp.CSS(`main form button`)),
			chromedp.WaitVisible(chromedp.CSS("p.msg")),
			pageHas("The case has been escalated"))
		if c, _ := book.Case(ctx, 2); c.EscalationReason != "time_to_resolution" {
			t.Fatalf("case 2 escalation %q", c.EscalationReason)
		}

		// 9. The owner grants shared access, then revokes it.
		signIn("ann@acme.test") // the session of step 1 lasted 7 days
		step("shared-access",
			chromedp.Click(chromedp.CSS(`nav a[href="/access?org=acme"]`)),
			chromedp.WaitVisible(chromedp.CSS("#grantee")),
			pageHas("Shared access: acme", "carl@acme.test", "dora@acme.test"))
		step("granted",
			chromedp.SendKeys(chromedp.CSS("#grantee"), "dora@acme.test"),
			chromedp.Click(chromedp.CSS(`form[action="/access/grant"] button`)),
			chromedp.WaitVisible(chromedp.CSS("p.msg")),
			pageHas("Shared access granted."))
		if g := grantOf(t, book, "dora@acme.test"); len(g.Perms) != 2 || g.Revoked {
			t.Fatalf("dora's grant %+v", g)
		}
		step("revoked",
			chromedp.Click(chromedp.CSS(`button[aria-label="Revoke dora@acme.test"]`)),
			chromedp.WaitVisible(chromedp.CSS("p.msg")),
			pageHas("Shared access revoked.", "dora@acme.test", "revoked"))
		if g := grantOf(t, book, "dora@acme.test"); !g.Revoked {
			t.Fatalf("dora's grant %+v", g)
		}

		// And the case page as a phone shows it.
		step("case-on-a-phone",
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+"/case/2"),
			pageHas("Follow-up of case", "Time to resolution"))
	})
}

func grantOf(t *testing.T, b *casebook.Book, who string) casebook.Grant {
	t.Helper()
	gs, err := b.Grants(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Grantee == who {
			return g
		}
	}
	t.Fatalf("no grant for %s", who)
	return casebook.Grant{}
}
