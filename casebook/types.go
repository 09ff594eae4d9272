package casebook

import (
	"encoding/json"
	"time"

	"github.com/casemail/casemail/templates"
)

// Account is a person who writes to support: a customer, or an agent.
type Account struct {
	Address   string    `json:"address"`
	Name      string    `json:"name,omitempty"`
	Verified  bool      `json:"verified"`
	Agent     bool      `json:"agent"` // support staff: their comments are support comments
	Locale    string    `json:"locale,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled"` // may no longer open cases or comment; history kept
}

// Org is a customer organisation.
type Org struct {
	Slug     string   `json:"slug"`
	Name     string   `json:"name,omitempty"`
	Owner    string   `json:"owner"`
	Products []string `json:"products"` // R3: products the organisation is entitled to
}

// Perm is one shared-access permission (R16).
type Perm string

const (
	PermOpen Perm = "open" // may open cases for the organisation
	PermView Perm = "view" // may see and follow the organisation's cases
)

// Grant is shared access to an organisation (R16–R19).
type Grant struct {
	Org       string    `json:"org"`
	Grantee   string    `json:"grantee"`
	GrantedBy string    `json:"granted_by"`
	Perms     []Perm    `json:"perms"`
	Source    string    `json:"source"` // "owner", or where an external grant came from (R18)
	Revoked   bool      `json:"revoked"`
	CreatedAt time.Time `json:"created_at"`
}

// Status of a case.
type Status string

const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Case is one support request (R6).
type Case struct {
	ID               int64             `json:"id"`
	Status           Status            `json:"status"`
	Org              string            `json:"org"`
	Product          string            `json:"product"`
	Team             string            `json:"team"`
	Assignee         string            `json:"assignee"` // the agent working the case, "" when nobody
	Priority         string            `json:"priority"`
	Title            string            `json:"title"`
	Description      string            `json:"description"`
	Requester        string            `json:"requester"`
	Watchers         []string          `json:"watchers"`
	WatcherDetails   []Watcher         `json:"watcher_details,omitempty"`
	Comments         []Comment         `json:"comments,omitempty"` // newest first (R9)
	Fields           map[string]string `json:"fields,omitempty"`   // optional fields, e.g. cloud_project
	Imported         bool              `json:"imported"`           // from a retired read-only system (R14)
	CreatedAt        time.Time         `json:"created_at"`
	ClosedAt         *time.Time        `json:"closed_at"`
	ReopenedAt       *time.Time        `json:"reopened_at,omitempty"`
	FollowUpOf       *int64            `json:"follow_up_of"`
	EscalatedAt      *time.Time        `json:"escalated_at,omitempty"`
	EscalationReason EscalationReason  `json:"escalation_reason,omitempty"`
	LastActivity     time.Time         `json:"last_activity"`    // the newest event, or the opening
	Events           []Event           `json:"events,omitempty"` // oldest first; set by Case, not by listings
}

// Watcher is someone notified of every update (R8).
type Watcher struct {
	Address    string `json:"address"`
	AddedBy    string `json:"added_by"` // "cc" or "manual"
	Suppressed bool   `json:"suppressed"`
	Reason     string `json:"suppressed_reason,omitempty"` // why no more mail goes to them (hard bounce)
}

// Comment is one entry in a case's history (R9).
type Comment struct {
	ID        int64     `json:"id"`
	CaseID    int64     `json:"-"`
	Author    string    `json:"author"`
	BySupport bool      `json:"by_support"`
	Body      string    `json:"body"`                 // the new text only
	FullText  string    `json:"full_text,omitempty"`  // the whole mail text, quotes included
	MessageID int64     `json:"message_id,omitempty"` // inbound message record, 0 when typed on the command line
	CreatedAt time.Time `json:"created_at"`
	Internal  bool      `json:"internal"` // a note for agents only (I3: never mailed to a customer or watcher)
	// Unauthenticated: from a mail whose From domain failed sender
	// authentication, threaded by its reply token (issue 13).
	Unauthenticated bool `json:"unauthenticated,omitempty"`
}

// Outcome of an inbound message (I4).
type Outcome string

const (
	OutcomeCaseOpened   Outcome = "case_opened"
	OutcomeCommentAdded Outcome = "comment_added"
	OutcomeRefused      Outcome = "refused"
	OutcomeQuarantined  Outcome = "quarantined"
	OutcomeIgnored      Outcome = "ignored"
)

// Outcomes lists every outcome, for counters that start at zero.
var Outcomes = []Outcome{OutcomeCaseOpened, OutcomeCommentAdded, OutcomeRefused, OutcomeQuarantined, OutcomeIgnored}

// Message is the record of one inbound mail.
type Message struct {
	ID          int64     `json:"id"`
	MessageID   string    `json:"message_id"`
	Fingerprint string    `json:"fingerprint"`
	From        string    `json:"from"`
	MailFrom    string    `json:"mail_from"`
	Recipients  []string  `json:"recipients"`
	Subject     string    `json:"subject"`
	ReceivedAt  time.Time `json:"received_at"`
	Transport   string    `json:"transport"`
	Outcome     Outcome   `json:"outcome"`
	Reason      string    `json:"reason"`
	CaseID      *int64    `json:"case_id"`
	RawSHA256   string    `json:"raw_sha256"`
	Size        int64     `json:"size"`
	Problems    []string  `json:"problems,omitempty"`
	// Auth is the sender authentication verdict (senderauth.Verdict as
	// JSON, issue 13); empty when nothing was checked.
	Auth json.RawMessage `json:"auth,omitempty"`
	// Unauthenticated: a verdict was available and the From domain did not
	// pass it, yet the mail was let through (a reply token, record mode).
	Unauthenticated bool `json:"unauthenticated,omitempty"`
}

// OutboxStatus of a notification.
type OutboxStatus string

const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
)

// OutboxItem is one notification to send, written in the same transaction as
// the change that causes it (I3).
type OutboxItem struct {
	ID       int64          `json:"id"`
	Event    string         `json:"event"`    // what happened, e.g. "comment_added"
	Template templates.Name `json:"template"` // which template renders it
	To       string         `json:"to"`
	Locale   string         `json:"locale"`
	CaseID   *int64         `json:"case_id"`
	// Token is random and unique: the notification's Message-ID is
	// <Token@reply_domain> and its return path bounce+Token@reply_domain, so a
	// reply or a bounce finds this row.
	Token     string            `json:"token"`
	Data      map[string]string `json:"data,omitempty"` // what the template shows, fixed at the time of the event
	Status    OutboxStatus      `json:"status"`
	Attempts  int               `json:"attempts"`
	NextAt    time.Time         `json:"next_attempt_at"`
	LastError string            `json:"last_error"`
	Subject   string            `json:"subject"` // set once sent
	CreatedAt time.Time         `json:"created_at"`
	SentAt    *time.Time        `json:"sent_at,omitempty"`
	// ClaimedBy is the gateway (its lease holder id) that last claimed the
	// row to send it: the one sending it now, or the one that sent it.
	ClaimedBy string `json:"claimed_by,omitempty"`
}
