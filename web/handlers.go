package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/message"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if _, err := s.viewer(r); err == nil {
		http.Redirect(w, r, "/cases", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// --- sign-in ---

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusOK, "signin", pageData{Title: "sign_in", Nav: "signin"})
}

// signinRequest mails a link when the address has an account, and answers
// the same page whether or not it has one.
func (s *Server) signinRequest(w http.ResponseWriter, r *http.Request) {
	addr := strings.ToLower(strings.TrimSpace(r.PostFormValue("address")))
	if p, err := mail.ParseAddress(addr); err != nil || p.Address != addr {
		s.render(w, r, nil, http.StatusBadRequest, "signin", pageData{Title: "sign_in", Message: "address_invalid", Form: map[string]string{"address": addr}})
		return
	}
	now := s.book.Now()
	// Both limits count every request, known address or not, so the limit
	// says nothing about accounts either.
	okIP := s.byIP.allow(clientIP(r), now)
	okAddr := s.byAddr.allow(addr, now)
	if !okIP || !okAddr {
		s.render(w, r, nil, http.StatusTooManyRequests, "signin", pageData{Title: "sign_in", Message: "rate_limited"})
		return
	}
	if _, err := s.book.RequestSignIn(r.Context(), addr, s.o.SignInTTL, func(tok string) string { return s.url("/signin/" + tok) }); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.render(w, r, nil, http.StatusOK, "message", pageData{Title: "sign_in", Message: "signin_sent"})
}

// signinConfirm is the page of the mailed link: a button, because mail
// scanners open links and must not spend the token.
func (s *Server) signinConfirm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusOK, "signin_confirm", pageData{Title: "sign_in", LinkToken: r.PathValue("token")})
}

func (s *Server) signinUse(w http.ResponseWriter, r *http.Request) {
	addr, err := s.book.UseSignIn(r.Context(), r.PostFormValue("token"))
	if errors.Is(err, casebook.ErrSignInInvalid) {
		s.render(w, r, nil, http.StatusForbidden, "signin", pageData{Title: "sign_in", Message: "signin_bad"})
		return
	}
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	sid, err := s.book.NewSession(r.Context(), addr, s.o.SessionTTL)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: sid, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.o.SessionTTL.Seconds())})
	s.log.Info("signed in", "address", addr)
	http.Redirect(w, r, "/cases", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	v, err := s.viewer(r)
	if err == nil {
		if !actionlink.Equal(r.PostFormValue("csrf"), s.csrf(v)) {
			s.render(w, r, v, http.StatusForbidden, "message", pageData{Title: "error", Message: "csrf"})
			return
		}
		if err := s.book.EndSession(r.Context(), v.Session); err != nil {
			s.fail(w, r, v, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// --- lists (R7, R10) ---

// cases lists "my cases" (submitted or watched, in every organisation) or
// one organisation's cases (only with the view permission, R7), optionally
// searched (R10) within the same scope.
func (s *Server) cases(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx := r.Context()
	q := r.URL.Query()
	d := pageData{Title: "my_cases", Nav: "mine", Scope: "mine", Query: strings.TrimSpace(q.Get("q")), Orgs: v.Sender.Orgs}
	for _, m := range v.Sender.Orgs {
		if m.View {
			d.ViewOrg = append(d.ViewOrg, m.Org)
		}
	}
	var orgs []string
	if q.Get("scope") == "org" {
		d.Scope, d.Title, d.Nav = "org", "org_cases", "org"
		d.Org = q.Get("org")
		if d.Org == "" && len(d.ViewOrg) > 0 {
			d.Org = d.ViewOrg[0]
		}
		if !slices.Contains(d.ViewOrg, d.Org) {
			// R7: only members allowed to view see an organisation's cases.
			d.Message = "scope_org_only"
			s.render(w, r, v, http.StatusForbidden, "cases", d)
			return
		}
		orgs = []string{d.Org}
	} else {
		part, err := s.book.ParticipantOrgs(ctx, v.Addr)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		orgs = part
	}
	for _, org := range orgs {
		f := casebook.ListFilter{Org: org, Viewer: v.Addr}
		var list []casebook.Case
		var err error
		if d.Query != "" {
			list, err = s.book.Search(ctx, f, d.Query)
		} else {
			list, err = s.book.List(ctx, f)
		}
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		for _, c := range list {
			if d.Scope == "mine" && !isMine(c, v.Addr) {
				continue
			}
			at, err := s.book.LastActivity(ctx, c.ID)
			if err != nil {
				s.fail(w, r, v, err)
				return
			}
			d.Rows = append(d.Rows, caseRow{Case: c, LastActivity: at})
		}
	}
	sort.SliceStable(d.Rows, func(i, j int) bool { return d.Rows[i].LastActivity.After(d.Rows[j].LastActivity) })
	s.render(w, r, v, http.StatusOK, "cases", d)
}

// isMine: submitted or watched by addr (R7 "my cases").
func isMine(c casebook.Case, addr string) bool {
	if strings.EqualFold(c.Requester, addr) {
		return true
	}
	for _, w := range c.Watchers {
		if strings.EqualFold(w, addr) {
			return true
		}
	}
	return false
}

// --- a case ---

// visibleCase loads a case the viewer may see, or answers 404 (the same for
// a case that does not exist and one they may not see: R7).
func (s *Server) visibleCase(w http.ResponseWriter, r *http.Request, v *viewer, id int64) (*caseView, bool) {
	c, err := s.book.Case(r.Context(), id)
	if err == nil {
		var ok bool
		ok, err = s.book.CanView(r.Context(), v.Addr, c)
		if err == nil && !ok {
			err = casebook.ErrNotFound
		}
	}
	if errors.Is(err, casebook.ErrNotFound) {
		s.render(w, r, v, http.StatusNotFound, "message", pageData{Title: "not_found", Message: "not_found"})
		return nil, false
	}
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	files, err := s.book.Attachments(r.Context(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	mailFiles, err := s.mailFiles(r.Context(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	// Internal notes are for agents only (I3): never on a customer's page.
	public := c.Comments[:0:0]
	names := map[string]string{}
	for _, cm := range c.Comments {
		if cm.Internal {
			continue
		}
		if cm.BySupport {
			cm.Author = s.agentName(r.Context(), names, cm.Author)
		}
		public = append(public, cm)
	}
	c.Comments = public
	decide, err := s.book.MayDecide(r.Context(), v.Addr, c)
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	return &caseView{Case: c, MayDecide: decide, Files: files, MailFiles: mailFiles}, true
}

// agentName signs a support answer as its mail did: the agent's name, or
// nothing beside the Support badge. Customers are never given an agent's
// own address, which would let them write past the gateway.
func (s *Server) agentName(ctx context.Context, seen map[string]string, addr string) string {
	if n, ok := seen[addr]; ok {
		return n
	}
	name := ""
	if a, err := s.book.Account(ctx, addr); err == nil {
		name = strings.TrimSpace(a.Name)
	} else if !errors.Is(err, casebook.ErrNotFound) {
		s.log.Warn("name of an agent", "err", err)
	}
	seen[addr] = name
	return name
}

// mailFiles lists the attachments of the mails that opened or commented on
// a case; they stay in the raw mails, read again here.
func (s *Server) mailFiles(ctx context.Context, caseID int64) ([]mailFile, error) {
	mails, err := s.book.CaseMails(ctx, caseID)
	if err != nil {
		return nil, err
	}
	var out []mailFile
	for _, m := range mails {
		p, err := s.parseMail(ctx, m, 1) // names and sizes only
		if err != nil {
			s.log.Warn("attachments of a case mail", "message", m.MessageID, "err", err)
			continue
		}
		for i, a := range p.Attachments {
			if a.Inline {
				continue
			}
			out = append(out, mailFile{MessageID: m.MessageID, Index: i, Filename: a.Filename, Size: a.Size})
		}
	}
	return out, nil
}

func (s *Server) parseMail(ctx context.Context, m casebook.CaseMail, maxBytes int64) (*message.Parsed, error) {
	var buf bytes.Buffer
	if err := s.book.WriteRaw(ctx, m.RawSHA256, &buf); err != nil {
		return nil, err
	}
	return message.Parse(buf.Bytes(), message.Options{MaxAttachmentBytes: maxBytes})
}

// mailFile serves an attachment of one of a case's mails to someone who may
// see the case; the mail must be one of that case's.
func (s *Server) mailFile(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := pathID(r, "id")
	if _, ok := s.visibleCase(w, r, v, id); !ok {
		return
	}
	mails, err := s.book.CaseMails(r.Context(), id)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	msgID, n := pathID(r, "msg"), pathID(r, "n")-1
	for _, m := range mails {
		if m.MessageID != msgID {
			continue
		}
		p, err := s.parseMail(r.Context(), m, 0)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		if n >= 0 && n < int64(len(p.Attachments)) {
			a := p.Attachments[n]
			serveDownload(w, a.Filename, a.Content)
			return
		}
	}
	s.render(w, r, v, http.StatusNotFound, "message", pageData{Title: "not_found", Message: "not_found"})
}

// serveDownload sends a file as a download, never rendered in our origin.
func serveDownload(w http.ResponseWriter, name string, data []byte) {
	if name == "" {
		name = "attachment"
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

func pathID(r *http.Request, name string) int64 {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, v *viewer) {
	cv, ok := s.visibleCase(w, r, v, pathID(r, "id"))
	if !ok {
		return
	}
	s.render(w, r, v, http.StatusOK, "case", s.caseData(v, cv))
}

// caseData says which actions the page offers; the casebook decides again
// when one is used.
func (s *Server) caseData(v *viewer, cv *caseView) pageData {
	c := cv.Case
	now := s.book.Now()
	d := pageData{Title: "case", Case: cv, Can: map[string]bool{}, Reasons: reasonKeys()}
	switch {
	case !cv.MayDecide:
		// A watcher follows; the customer or support decides (R11).
	case c.Status == casebook.StatusOpen:
		d.Can["close"] = true
		d.When = s.book.EscalationAllowedAt(c)
		d.Can["escalate"] = c.EscalatedAt == nil && !now.Before(d.When)
		d.Can["escalate_later"] = c.EscalatedAt == nil && now.Before(d.When)
	case c.Imported || now.After(s.book.ReopenDeadline(c)):
		d.Can["followup"] = true
		d.Can["window_over"] = !c.Imported
	default:
		d.Can["reopen"] = true
		d.Can["followup"] = true
		d.When = s.book.ReopenDeadline(c)
	}
	for _, w := range c.Watchers {
		if strings.EqualFold(w, v.Addr) {
			d.Can["unwatch"] = true
		}
	}
	return d
}

func reasonKeys() []string {
	keys := make([]string, len(casebook.EscalationReasons))
	for i, r := range casebook.EscalationReasons {
		keys[i] = string(r)
	}
	return keys
}

// act performs one action on a case as addr, through the casebook's
// functions (the rules are theirs). It returns the case to show next.
func (s *Server) act(r *http.Request, action string, caseID int64, addr string) (int64, error) {
	ctx := r.Context()
	switch action {
	case "close":
		return caseID, s.book.CloseCase(ctx, caseID, addr)
	case "reopen":
		return caseID, s.book.ReopenCase(ctx, caseID, addr)
	case "escalate":
		return caseID, s.book.Escalate(ctx, caseID, casebook.EscalationReason(r.PostFormValue("reason")), addr)
	case "followup":
		c, err := s.book.FollowUp(ctx, caseID, addr, "")
		return c.ID, err
	case "unwatch":
		c, err := s.book.Case(ctx, caseID)
		if err != nil {
			return caseID, err
		}
		if !isMine(c, addr) || strings.EqualFold(c.Requester, addr) {
			return caseID, &casebook.RuleError{Rule: "R7", Msg: "not a watcher"}
		}
		return caseID, s.book.RemoveWatcher(ctx, caseID, addr)
	}
	return caseID, casebook.ErrNotFound
}

func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := pathID(r, "id")
	if _, ok := s.visibleCase(w, r, v, id); !ok {
		return
	}
	action := r.PathValue("action")
	next, err := s.act(r, action, id, v.Addr)
	if errors.Is(err, casebook.ErrNotFound) {
		s.render(w, r, v, http.StatusNotFound, "message", pageData{Title: "not_found", Message: "not_found"})
		return
	}
	if err != nil {
		s.refusal(w, r, v, http.StatusConflict, err)
		return
	}
	if action == "unwatch" {
		s.render(w, r, v, http.StatusOK, "message", pageData{Title: "done", Message: "done_unwatch"})
		return
	}
	http.Redirect(w, r, "/case/"+strconv.FormatInt(next, 10), http.StatusSeeOther)
}

// file serves an attachment to someone who may see its case.
func (s *Server) file(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := pathID(r, "id")
	if _, ok := s.visibleCase(w, r, v, id); !ok {
		return
	}
	a, data, err := s.book.AttachmentData(r.Context(), pathID(r, "file"))
	if err != nil || a.CaseID != id {
		// An attachment of another case is not reachable through this one.
		s.render(w, r, v, http.StatusNotFound, "message", pageData{Title: "not_found", Message: "not_found"})
		return
	}
	serveDownload(w, a.Filename, data)
}

// --- open a case (R1–R4, R19, R3, R20) ---

// choices are the organisation/product pairs addr may open cases for: the
// organisations where it may open (R19) and their entitled products (R3).
func (s *Server) choices(r *http.Request, v *viewer) ([]choice, error) {
	var out []choice
	for _, m := range v.Sender.Orgs {
		if !m.Open {
			continue
		}
		o, err := s.book.Org(r.Context(), m.Org)
		if err != nil {
			return nil, err
		}
		for _, p := range o.Products {
			out = append(out, choice{Value: o.Slug + "/" + p, Org: o.Slug, Product: p})
		}
	}
	return out, nil
}

func (s *Server) newForm(w http.ResponseWriter, r *http.Request, v *viewer) {
	ch, err := s.choices(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.render(w, r, v, http.StatusOK, "new", pageData{Title: "new_case", Nav: "new", Choices: ch, Form: map[string]string{"priority": "P3"}})
}

func (s *Server) newCase(w http.ResponseWriter, r *http.Request, v *viewer) {
	form := map[string]string{}
	for _, k := range []string{"target", "priority", "title", "description", "watchers"} {
		form[k] = r.PostFormValue(k)
	}
	ch, err := s.choices(r, v)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	again := func(status int, detail string) {
		s.render(w, r, v, status, "new", pageData{Title: "new_case", Nav: "new", Choices: ch, Form: form, Detail: detail})
	}
	org, product, _ := strings.Cut(form["target"], "/")
	var watchers []string
	for _, f := range strings.FieldsFunc(form["watchers"], func(r rune) bool { return r == '\n' || r == ',' || r == ';' || r == ' ' || r == '\r' }) {
		a, err := mail.ParseAddress(f)
		if err != nil {
			again(http.StatusBadRequest, f+" : "+tr(s.locale(r, v), "address_invalid"))
			return
		}
		watchers = append(watchers, a.Address)
	}
	var files []casebook.NewAttachment
	if r.MultipartForm != nil {
		for _, fh := range r.MultipartForm.File["files"] {
			f, err := fh.Open()
			if err != nil {
				s.fail(w, r, v, err)
				return
			}
			data, err := io.ReadAll(io.LimitReader(f, s.o.MaxUpload+1))
			f.Close()
			if err != nil {
				s.fail(w, r, v, err)
				return
			}
			if fh.Filename == "" && len(data) == 0 {
				continue
			}
			ct := fh.Header.Get("Content-Type")
			if ct == "" {
				ct = "application/octet-stream"
			}
			files = append(files, casebook.NewAttachment{Filename: filepath.Base(fh.Filename), ContentType: ct, Data: data})
		}
	}
	if strings.TrimSpace(form["title"]) == "" {
		again(http.StatusBadRequest, tr(s.locale(r, v), "title")+" ?")
		return
	}
	// The casebook checks R1–R4, R19 and R3 whatever the form offered.
	c, err := s.book.OpenCaseWithFiles(r.Context(), casebook.NewCase{Org: org, Product: product, Priority: form["priority"],
		Title: form["title"], Description: form["description"], Requester: v.Addr, Watchers: watchers, Locale: v.Account.Locale}, files)
	if err != nil {
		if casebook.RuleOf(err) != "" {
			msg, ok := ruleMessages[s.locale(r, v)][casebook.RuleOf(err)]
			if !ok {
				msg = err.Error()
			}
			again(http.StatusForbidden, msg)
			return
		}
		if errors.Is(err, casebook.ErrNotFound) {
			again(http.StatusBadRequest, tr(s.locale(r, v), "organisation")+" ?")
			return
		}
		again(http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, "/case/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
}

// --- shared access (R16–R18) ---

func (s *Server) owned(v *viewer) []string {
	var out []string
	for _, m := range v.Sender.Orgs {
		if m.Owner {
			out = append(out, m.Org)
		}
	}
	return out
}

// access shows an owner the grants of one organisation; anyone else only
// learns that the owner manages them (R17: a grantee never sees controls).
func (s *Server) access(w http.ResponseWriter, r *http.Request, v *viewer) {
	owned := s.owned(v)
	org := r.URL.Query().Get("org")
	if org == "" && len(owned) > 0 {
		org = owned[0]
	}
	if !slices.Contains(owned, org) {
		s.render(w, r, v, http.StatusForbidden, "message", pageData{Title: "shared_access", Nav: "access", Message: "only_owner"})
		return
	}
	s.accessPage(w, r, v, http.StatusOK, org, "", "")
}

func (s *Server) accessPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, org, message, detail string) {
	gs, err := s.book.Grants(r.Context(), org)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	s.render(w, r, v, status, "access", pageData{Title: "shared_access", Nav: "access", Org: org, Owned: s.owned(v), Grants: gs, Message: message, Detail: detail})
}

func (s *Server) grant(w http.ResponseWriter, r *http.Request, v *viewer) {
	org := r.PostFormValue("org")
	var perms []casebook.Perm
	for _, p := range r.PostForm["perm"] {
		perms = append(perms, casebook.Perm(p))
	}
	s.accessChange(w, r, v, org, "done_grant", s.book.Grant(r.Context(), org, v.Addr, r.PostFormValue("grantee"), perms))
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request, v *viewer) {
	org := r.PostFormValue("org")
	s.accessChange(w, r, v, org, "done_revoke", s.book.Revoke(r.Context(), org, v.Addr, r.PostFormValue("grantee")))
}

// accessChange shows the outcome of a grant or revoke the casebook decided
// (R16–R18: only the owner; never re-granted; external grants stripped).
func (s *Server) accessChange(w http.ResponseWriter, r *http.Request, v *viewer, org, done string, err error) {
	if !slices.Contains(s.owned(v), org) {
		if err == nil {
			err = &casebook.RuleError{Rule: "R16", Msg: "not the owner"}
		}
		s.refusal(w, r, v, http.StatusForbidden, err)
		return
	}
	if err != nil {
		msg, ok := ruleMessages[s.locale(r, v)][casebook.RuleOf(err)]
		if !ok {
			msg = err.Error()
		}
		s.accessPage(w, r, v, http.StatusBadRequest, org, "", msg)
		return
	}
	s.accessPage(w, r, v, http.StatusOK, org, done, "")
}
