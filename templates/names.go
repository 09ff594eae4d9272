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

	// Agent mail (issue 11): to the case's assignee, else its team, never
	// to a customer or watcher. Each carries the agent's reply token and
	// the internal-note address, but the command notice, which answers
	// an agent's mail.
	AgentCaseOpened     Name = "agent_case_opened"     // a new case, with the customer's text and attachments
	AgentCommentAdded   Name = "agent_comment_added"   // R9: a customer's or watcher's comment, or a colleague's note
	AgentCaseEscalated  Name = "agent_case_escalated"  // R15, also to policy.escalation_notify
	AgentRefused        Name = "agent_refused"         // a mail that claimed the case was refused or quarantined
	AgentCaseAssigned   Name = "agent_case_assigned"   // the case has a new assignee
	AgentCommandRefused Name = "agent_command_refused" // a #command in an agent's reply could not be applied
	LoopSuspected       Name = "agent_loop_suspected"  // I5: to the team, once per case
	// MailQuarantined: a registered customer's mail was quarantined because
	// its sender failed authentication (issue 13): who it claims to be
	// from, its subject, why, and the stored message ("message_id") an
	// agent releases. At most once an hour per claimed address, so a forger
	// repeating a customer's address cannot flood the team.
	MailQuarantined Name = "agent_mail_quarantined"

	// CasePriorityChanged tells the requester and watchers that support
	// changed a case's priority ("casemail case set --priority"): what it
	// was (previous_priority) and what it is (priority).
	CasePriorityChanged Name = "case_priority_changed"
)

// caseNames are the templates that tell about a case; every other one
// answers an inbound mail.
var caseNames = []Name{CaseOpened, CaseOpenedWatcher, CommentAdded, CaseClosed, CaseReopened, CaseEscalated, WatcherAdded, FollowUpOpened, CasePriorityChanged,
	AgentCaseOpened, AgentCommentAdded, AgentCaseEscalated, AgentRefused, AgentCaseAssigned}

// agentNames are the templates that go to agents only: none of them is
// ever sent to a customer or watcher.
var agentNames = []Name{AgentCaseOpened, AgentCommentAdded, AgentCaseEscalated, AgentRefused, AgentCaseAssigned, AgentCommandRefused, LoopSuspected, MailQuarantined}

// Names lists the built-in templates, one per event or notice.
var Names = []string{
	string(CaseOpened), string(CaseOpenedWatcher), string(CommentAdded), string(CaseClosed),
	string(CaseReopened), string(CaseEscalated), string(WatcherAdded), string(FollowUpOpened),
	string(NoticeUnknownSender), string(NoticeUnverified), string(NoticeNotEntitled), string(NoticeWhichOrg),
	string(NoticeRedirect), string(NoticeClosedCase), string(NoticeImportedCase), string(SigninLink),
	string(AgentCaseOpened), string(AgentCommentAdded), string(AgentCaseEscalated), string(AgentRefused),
	string(AgentCaseAssigned), string(AgentCommandRefused), string(LoopSuspected), string(MailQuarantined),
	string(CasePriorityChanged),
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

// ForAgents reports whether n is mail for agents, never for a customer:
// it may name commands and internal addresses a customer must not see.
func (n Name) ForAgents() bool {
	for _, a := range agentNames {
		if n == a {
			return true
		}
	}
	return false
}
