package casebook

import (
	"context"
	"fmt"
	"time"
)

// EventKind names one kind of change in a case's history.
type EventKind string

// The kinds of event "case show" lists. Detail says more, in words an agent reads.
const (
	EventOpened         EventKind = "opened"          // detail: "mail", "cli", or "follow-up of #N by mail|cli"
	EventComment        EventKind = "comment"         // detail: "public" or "internal", and the comment id
	EventClosed         EventKind = "closed"          // R11
	EventReopened       EventKind = "reopened"        // R12
	EventEscalated      EventKind = "escalated"       // R15; detail: the reason
	EventAssigned       EventKind = "assigned"        // detail: the agent, or "none"
	EventPriority       EventKind = "priority"        // detail: "P3 -> P2"
	EventProduct        EventKind = "product"         // detail: "old -> new"
	EventOrg            EventKind = "org"             // detail: "old -> new"
	EventTitle          EventKind = "title"           // detail: "old -> new"
	EventTeam           EventKind = "team"            // detail: "old -> new"
	EventWatcherAdded   EventKind = "watcher_added"   // R8; detail: the address and how (cc, manual)
	EventWatcherRemoved EventKind = "watcher_removed" // R8; detail: the address and how (manual, unsubscribe)
	EventRefused        EventKind = "mail_refused"    // a mail that claimed the case was refused; detail: message id, reason
	EventQuarantined    EventKind = "mail_quarantined"
	EventReleased       EventKind = "mail_released" // a quarantined mail added after an agent checked it
)

// Event is one entry of a case's history: what changed, who did it and when.
type Event struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"` // an address, or "" for the administrator's console
	Kind   EventKind `json:"kind"`
	Detail string    `json:"detail"`
}

// event records one change to a case inside the transaction that makes it,
// so the history can never disagree with the case.
func (b *Book) event(ctx context.Context, q querier, caseID int64, by string, kind EventKind, format string, a ...any) error {
	detail := fmt.Sprintf(format, a...)
	if _, err := q.ExecContext(ctx, b.query("event-insert"), caseID, ms(b.now()), normAddr(by), string(kind), detail); err != nil {
		return fmt.Errorf("record %s on case %d: %w", kind, caseID, err)
	}
	return nil
}

// Events returns a case's history, oldest first.
func (b *Book) Events(ctx context.Context, caseID int64) ([]Event, error) {
	return b.events(ctx, b.rdb, caseID)
}

func (b *Book) events(ctx context.Context, q querier, caseID int64) ([]Event, error) {
	rows, err := q.QueryContext(ctx, b.query("events-of"), caseID)
	if err != nil {
		return nil, fmt.Errorf("history of case %d: %w", caseID, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&at, &e.By, &e.Kind, &e.Detail); err != nil {
			return nil, fmt.Errorf("history of case %d: %w", caseID, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
