package web

import (
	"errors"
	"net/http"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
)

// allowed is what the form behind a link may do: its own action, and a
// follow-up from a reopen link once the window has passed (R12, R14).
func allowed(link actionlink.Action, do string) bool {
	if string(link) == do {
		return link != actionlink.View
	}
	return link == actionlink.Reopen && do == string(actionlink.FollowUp)
}

// linkTarget checks a link and loads its case as its recipient may see it
// today (a revoked grant makes old links useless).
func (s *Server) linkTarget(w http.ResponseWriter, r *http.Request) (actionlink.Link, *viewer, *caseView, bool) {
	tok := r.PathValue("token")
	l, err := s.links.Verify(tok, s.book.Now())
	if err != nil {
		msg, status := "link_bad", http.StatusForbidden
		if errors.Is(err, actionlink.ErrExpired) {
			msg, status = "link_expired", http.StatusGone
		}
		s.render(w, r, nil, status, "message", pageData{Title: "error", Message: msg})
		return l, nil, nil, false
	}
	v, err := s.viewerOf(r.Context(), "", l.Recipient)
	if err != nil {
		s.fail(w, r, nil, err)
		return l, nil, nil, false
	}
	cv, ok := s.visibleCase(w, r, v, l.CaseID)
	return l, v, cv, ok
}

// linkPage shows what a link will do, with a button: it changes nothing.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	l, v, cv, ok := s.linkTarget(w, r)
	if !ok {
		return
	}
	d := s.caseData(v, cv)
	d.Title, d.Action, d.LinkFor = string(l.Action), string(l.Action), l.Recipient
	tok := r.PathValue("token")
	d.LinkToken, d.CSRF = tok, s.linkCSRF(tok)
	if l.Action == actionlink.View {
		d.Title = "case"
		s.render(w, r, v, http.StatusOK, "case", d)
		return
	}
	s.render(w, r, v, http.StatusOK, "link", d)
}

// linkDo performs a link's action for its recipient, as far as their rights
// go today; the casebook checks every rule.
func (s *Server) linkDo(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if !actionlink.Equal(r.PostFormValue("csrf"), s.linkCSRF(tok)) {
		s.render(w, r, nil, http.StatusForbidden, "message", pageData{Title: "error", Message: "csrf"})
		return
	}
	l, v, _, ok := s.linkTarget(w, r)
	if !ok {
		return
	}
	do := r.PostFormValue("do")
	if do == "" {
		do = string(l.Action)
	}
	if !allowed(l.Action, do) {
		s.render(w, r, v, http.StatusForbidden, "message", pageData{Title: "error", Message: "forbidden"})
		return
	}
	next, err := s.act(r, do, l.CaseID, l.Recipient)
	if errors.Is(err, casebook.ErrNotFound) {
		s.render(w, r, v, http.StatusNotFound, "message", pageData{Title: "not_found", Message: "not_found"})
		return
	}
	if err != nil {
		s.refusal(w, r, v, http.StatusConflict, err)
		return
	}
	d := pageData{Title: "done", Message: "done_" + do}
	if do != string(actionlink.Unwatch) {
		d.NextLink = s.viewLink(next, l.Recipient)
	}
	s.render(w, r, v, http.StatusOK, "message", d)
}
