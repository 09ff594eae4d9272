package outbound

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/casemail/casemail/casebook"
)

// MemQueue is an in-memory Queue for tests, benchmarks and the casebook's
// reference behaviour: it does what the SQL outbox must do, without SQL.
type MemQueue struct {
	mu      sync.Mutex
	rows    map[int64]*casebook.OutboxItem
	next    int64
	inbound map[int64][]string // case -> inbound Message-IDs, oldest first
	domain  string             // reply domain: sent rows join the thread as TOKEN@domain

	// Hooks for tests: when set and returning an error, the call fails.
	FailMarkSent func(id int64) error
	FailClaim    func() error
}

// NewMemQueue returns an empty queue; domain is outbound.reply_domain.
func NewMemQueue(domain string) *MemQueue {
	return &MemQueue{rows: map[int64]*casebook.OutboxItem{}, inbound: map[int64][]string{}, domain: domain}
}

// Add queues a row as the casebook would and returns its id. Status, NextAt
// and CreatedAt are filled in when empty.
func (q *MemQueue) Add(it casebook.OutboxItem) int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	it.ID = q.next
	if it.Status == "" {
		it.Status = casebook.OutboxPending
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = time.Now()
	}
	if it.NextAt.IsZero() {
		it.NextAt = it.CreatedAt
	}
	q.rows[it.ID] = &it
	return it.ID
}

// AddInbound records an inbound mail of a case for CaseThread.
func (q *MemQueue) AddInbound(caseID int64, messageID string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inbound[caseID] = append(q.inbound[caseID], messageID)
}

// Get returns a copy of a row.
func (q *MemQueue) Get(id int64) casebook.OutboxItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	return *q.rows[id]
}

// Count returns how many rows have status s.
func (q *MemQueue) Count(s casebook.OutboxStatus) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, r := range q.rows {
		if r.Status == s {
			n++
		}
	}
	return n
}

func (q *MemQueue) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]casebook.OutboxItem, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.FailClaim != nil {
		if err := q.FailClaim(); err != nil {
			return nil, err
		}
	}
	var due []*casebook.OutboxItem
	for _, r := range q.rows {
		if r.Status == casebook.OutboxPending && !r.NextAt.After(now) {
			due = append(due, r)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].NextAt.Equal(due[j].NextAt) {
			return due[i].NextAt.Before(due[j].NextAt)
		}
		return due[i].ID < due[j].ID
	})
	if len(due) > limit {
		due = due[:limit]
	}
	out := make([]casebook.OutboxItem, len(due))
	for i, r := range due {
		r.NextAt = now.Add(lease)
		out[i] = *r
	}
	return out, nil
}

func (q *MemQueue) row(id int64) (*casebook.OutboxItem, error) {
	r, ok := q.rows[id]
	if !ok {
		return nil, fmt.Errorf("outbox %d: no such row", id)
	}
	return r, nil
}

func (q *MemQueue) MarkSent(ctx context.Context, id int64, subject string, at time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.FailMarkSent != nil {
		if err := q.FailMarkSent(id); err != nil {
			return err
		}
	}
	r, err := q.row(id)
	if err != nil {
		return err
	}
	r.Status, r.Subject, r.SentAt = casebook.OutboxSent, subject, &at
	return nil
}

func (q *MemQueue) MarkRetry(ctx context.Context, id int64, lastErr string, next time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, err := q.row(id)
	if err != nil {
		return err
	}
	r.Attempts++
	r.LastError, r.NextAt = lastErr, next
	return nil
}

func (q *MemQueue) MarkFailed(ctx context.Context, id int64, lastErr string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, err := q.row(id)
	if err != nil {
		return err
	}
	r.Attempts++
	r.LastError, r.Status = lastErr, casebook.OutboxFailed
	return nil
}

// CaseThread returns the case's inbound Message-IDs, then its sent
// notifications in the order they were sent.
func (q *MemQueue) CaseThread(ctx context.Context, caseID int64) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := append([]string(nil), q.inbound[caseID]...)
	var sent []*casebook.OutboxItem
	for _, r := range q.rows {
		if r.CaseID != nil && *r.CaseID == caseID && r.Status == casebook.OutboxSent {
			sent = append(sent, r)
		}
	}
	sort.Slice(sent, func(i, j int) bool {
		if !sent[i].SentAt.Equal(*sent[j].SentAt) {
			return sent[i].SentAt.Before(*sent[j].SentAt)
		}
		return sent[i].ID < sent[j].ID
	})
	for _, r := range sent {
		out = append(out, r.Token+"@"+q.domain)
	}
	return out, nil
}
