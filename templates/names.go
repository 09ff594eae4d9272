package templates

import "strings"

// Name names a template: one of the built-in ones below, one per event or
// notice, or a route's own (R5). It is the file name of its parts
// (LOCALE/NAME.subject.tmpl...) and the template column of the outbox.
type Name string

// The built-in templates. The casebook picks the event templates, ingest
// the notices; outbound reads the difference (IsNotice).
const (
	CaseOpened          Name = "case_opened"           // acknowledgement to the requester (R20 for P1)
	CaseOpenedWatcher   Name = "case_opened_watcher"   // R8
	CommentAdded        Name = "comment_added"         // R9
	CaseClosed          Name = "case_closed"           // R11, R12
	CaseReopened        Name = "case_reopened"         // R12
	CaseEscalated       Name = "case_escalated"        // R15
	WatcherAdded        Name = "watcher_added"         // R8
	FollowUpOpened      Name = "followup_opened"       // R14
	NoticeUnknownSender Name = "notice_unknown_sender" // R1, R19
	NoticeUnverified    Name = "notice_unverified"     // R2
	NoticeNotEntitled   Name = "notice_not_entitled"   // R3
	NoticeWhichOrg      Name = "notice_which_org"      // R4
	NoticeRedirect      Name = "notice_redirect"       // R5
	NoticeClosedCase    Name = "notice_closed_case"    // R13
	NoticeImportedCase  Name = "notice_imported_case"  // R14
	SigninLink          Name = "signin_link"           // the customer view's one-time sign-in link
	LoopSuspected       Name = "agent_loop_suspected"  // I5: to the team, once per case
)

// caseNames are the templates that tell about a case; every other one
// answers an inbound mail.
var caseNames = []Name{CaseOpened, CaseOpenedWatcher, CommentAdded, CaseClosed, CaseReopened, CaseEscalated, WatcherAdded, FollowUpOpened}

// Names lists the built-in templates, one per event or notice.
var Names = []string{
	string(CaseOpened), string(CaseOpenedWatcher), string(CommentAdded), string(CaseClosed),
	string(CaseReopened), string(CaseEscalated), string(WatcherAdded), string(FollowUpOpened),
	string(NoticeUnknownSender), string(NoticeUnverified), string(NoticeNotEntitled), string(NoticeWhichOrg),
	string(NoticeRedirect), string(NoticeClosedCase), string(NoticeImportedCase), string(SigninLink),
	string(LoopSuspected),
}

// fallbackName is what a route's unknown template name renders as (R5).
const fallbackName = NoticeRedirect

// IsNotice reports whether n answers an inbound mail rather than telling
// about a case: a refusal, a redirect or a route's own template. Such mail
// is an auto-reply (RFC 3834) and carries no reply token.
func (n Name) IsNotice() bool {
	if strings.HasPrefix(string(n), "notice_") {
		return true
	}
	for _, c := range caseNames {
		if n == c {
			return false
		}
	}
	return true
}
