package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casemail/casemail/templates"
)

// Suppression reasons: why an address gets no more notifications.
const (
	SuppressedBounce    = "hard bounce" // a permanent DSN about one of our notifications
	SuppressedComplaint = "complaint"   // a feedback-loop report (RFC 5965) about one
)

// Suppression is an address that gets no notification of any case until an
// administrator lifts it (issue 12): after a hard bounce, mail to it fails
// anyway; after a complaint, more mail would hurt the domain's reputation.
type Suppression struct {
	Address   string    `json:"address"`
	Reason    string    `json:"reason"` // SuppressedBounce or SuppressedComplaint
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// SuppressAddress stops every notification to addr, of every case, until
// Unsuppress; those still pending fail with the reason. reason is
// SuppressedBounce or SuppressedComplaint; detail says which notification
// came back. Suppressing an address again keeps the first record, so a
// retried bounce changes nothing.
func (b *Book) SuppressAddress(ctx context.Context, addr, reason, detail string) error {
	if normAddr(addr) == "" {
		return fmt.Errorf("suppress: empty address")
	}
	return b.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, b.query("suppression-add"), normAddr(addr), reason, detail, ms(b.now())); err != nil {
			return fmt.Errorf("suppress %s: %w", addr, err)
		}
		if _, err := tx.ExecContext(ctx, b.query("outbox-fail-suppressed"), "address suppressed ("+reason+"): not sent", normAddr(addr)); err != nil {
			return fmt.Errorf("suppress %s: pending notifications: %w", addr, err)
		}
		return nil
	})
}

// Suppression returns addr's suppression, ErrNotFound when it gets mail.
func (b *Book) Suppression(ctx context.Context, addr string) (Suppression, error) {
	return b.suppression(ctx, b.rdb, addr)
}

func (b *Book) suppression(ctx context.Context, q querier, addr string) (Suppression, error) {
	var s Suppression
	var created int64
	err := q.QueryRowContext(ctx, b.query("suppression-get"), normAddr(addr)).Scan(&s.Address, &s.Reason, &s.Detail, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("%s is not suppressed: %w", normAddr(addr), ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("look up suppression of %s: %w", normAddr(addr), err)
	}
	s.CreatedAt = fromMS(created)
	return s, nil
}

// Unsuppress lifts addr's suppression (an administrator's decision, once
// the mailbox works again or the person asked for mail again). The error
// is ErrNotFound (wrapped) when addr was not suppressed.
func (b *Book) Unsuppress(ctx context.Context, addr string) error {
	return b.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, b.query("suppression-remove"), normAddr(addr))
		if err != nil {
			return fmt.Errorf("unsuppress %s: %w", addr, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s is not suppressed: %w", normAddr(addr), ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, b.query("watcher-unsuppress"), normAddr(addr)); err != nil {
			return fmt.Errorf("unsuppress %s: %w", addr, err)
		}
		return nil
	})
}

// suppressedWhy says why n must not go to its recipient because the
// address is suppressed, "" when it is not. hold calls it first, so both
// Audience and Record (enqueue) leave suppressed addresses out. A sign-in
// link is the one exception: the person asked for it on the web just now.
func (b *Book) suppressedWhy(ctx context.Context, q querier, n notice) (string, error) {
	if n.Template == templates.SigninLink {
		return "", nil
	}
	s, err := b.suppression(ctx, q, n.To)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s to %s: address suppressed since %s (%s; casemail account unsuppress lifts it)",
		n.Template, s.Address, s.CreatedAt.UTC().Format("2006-01-02"), s.Reason), nil
}
