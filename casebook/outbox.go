package casebook

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/templates"
)

// notice is one notification to queue.
type notice struct {
	Event    string
	Template templates.Name
	To       string
	CaseID   int64
	Data     map[string]string
	Locale   string // the route's locale; the recipient's own wins
}

var tokenEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// enqueue writes one outbox row in tx (I3). The locale is the recipient's,
// else the route's, else the default.
func (b *Book) enqueue(ctx context.Context, tx *sql.Tx, n notice) error {
	locale := n.Locale
	if a, err := b.account(ctx, tx, n.To); err == nil && a.Locale != "" {
		locale = a.Locale
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if locale == "" {
		locale = b.opt.DefaultLocale
	}
	if why, _, err := b.hold(ctx, tx, n, 0); err != nil {
		return err
	} else if why != "" {
		if h, ok := ctx.Value(heldKey{}).(*heldList); ok {
			h.why = append(h.why, why)
		}
		return nil
	}
	raw := make([]byte, 15)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	token := strings.ToLower(tokenEnc.EncodeToString(raw))
	if subj, ok := n.Data["subject"]; ok && subj != capTitle(subj) {
		// The subject a notice quotes becomes our Subject: capped like a
		// title (a 100 KB subject must not be mailed back).
		capped := maps.Clone(n.Data)
		capped["subject"] = capTitle(subj)
		n.Data = capped
	}
	local, err := b.localize(ctx, tx, n.Data, locale, n.To)
	if err != nil {
		return fmt.Errorf("queue %s for %s: %w", n.Template, n.To, err)
	}
	data, err := json.Marshal(local)
	if err != nil {
		return err
	}
	var caseID any
	if n.CaseID != 0 {
		caseID = n.CaseID
	}
	now := ms(b.now())
	if _, err := tx.ExecContext(ctx, b.query("outbox-insert"), n.Event, n.Template, normAddr(n.To), locale, caseID, token, string(data), now, now); err != nil {
		return fmt.Errorf("queue %s for %s: %w", n.Template, n.To, err)
	}
	return nil
}

// noticeAllowed applies the per-sender rate limit of refusal notices (I5):
// every mail to someone not on a case counts, whatever its template, and
// every plus tag of an address shares its quota.
func (b *Book) noticeAllowed(ctx context.Context, q querier, to string) (bool, error) {
	if b.opt.NoticesPerHour <= 0 {
		return true, nil
	}
	var n int
	k, like, lo, hi := keyArgs(LimitKey(to))
	err := q.QueryRowContext(ctx, b.query("outbox-notices-to-since"), k, like, ms(b.now().Add(-time.Hour)), lo, hi).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("count notices: %w", err)
	}
	return n < b.opt.NoticesPerHour, nil
}

func (b *Book) wake() {
	if b.onWrite != nil {
		b.onWrite()
	}
}

// ClaimOutbox returns up to limit pending rows due at now and pushes their
// next attempt to now+lease, so that no other worker takes them meanwhile;
// they are claimed by this Book's holder (Options.Holder). One statement
// claims them: two gateways on one PostgreSQL store never get the same row
// (FOR UPDATE SKIP LOCKED).
func (b *Book) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxItem, error) {
	rows, err := b.db.QueryContext(ctx, b.query("outbox-claim"), ms(now), ms(now.Add(lease)), b.opt.Holder, limit)
	if err != nil {
		b.noteWrite(err)
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	items, err := scanOutbox(rows)
	b.noteWrite(err)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	// RETURNING keeps no order: oldest first, as they were chosen.
	slices.SortFunc(items, func(a, c OutboxItem) int { return cmp.Compare(a.ID, c.ID) })
	return items, nil
}

// ReclaimOutbox makes due at now the rows claimed by a gateway that is gone
// (its heartbeat lease, HeartbeatLease, expired or was never taken), so
// that they are sent at once rather than after the whole claim. The rows
// of a live gateway are left alone: every gateway may call it, at start
// and periodically. The heartbeats of gone gateways are then deleted.
func (b *Book) ReclaimOutbox(ctx context.Context, now time.Time) (int64, error) {
	res, err := b.db.ExecContext(ctx, b.query("outbox-reclaim"), ms(now))
	b.noteWrite(err)
	if err != nil {
		return 0, fmt.Errorf("reclaim outbox: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("reclaim outbox: %w", err)
	}
	if err := b.exec(ctx, "leases-prune", ms(now)); err != nil {
		return n, fmt.Errorf("reclaim outbox: %w", err)
	}
	return n, nil
}

// MarkSent records that row id was accepted by the relay.
func (b *Book) MarkSent(ctx context.Context, id int64, subject string, at time.Time) error {
	return b.exec(ctx, "outbox-sent", subject, ms(at), id)
}

// MarkRetry records a temporary failure; the row is due again at next.
func (b *Book) MarkRetry(ctx context.Context, id int64, lastErr string, next time.Time) error {
	return b.exec(ctx, "outbox-retry", lastErr, ms(next), id)
}

// MarkFailed records a permanent failure.
func (b *Book) MarkFailed(ctx context.Context, id int64, lastErr string) error {
	return b.exec(ctx, "outbox-failed", lastErr, id)
}

func (b *Book) exec(ctx context.Context, q string, args ...any) error {
	_, err := b.db.ExecContext(ctx, b.query(q), args...)
	b.noteWrite(err)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// Outbox lists notifications, optionally of one status, oldest first.
func (b *Book) Outbox(ctx context.Context, status OutboxStatus) ([]OutboxItem, error) {
	return b.outboxRows(ctx, b.rdb, "outbox-list", string(status))
}

// OutboxByToken finds the notification whose Message-ID or return path
// carries token (a reply or a bounce to it).
func (b *Book) OutboxByToken(ctx context.Context, token string) (OutboxItem, error) {
	items, err := b.outboxRows(ctx, b.rdb, "outbox-by-token", strings.ToLower(token))
	if err != nil {
		return OutboxItem{}, err
	}
	if len(items) == 0 {
		return OutboxItem{}, notFound("there is no notification with token %s", token)
	}
	return items[0], nil
}

// outboxRows reads the notifications of the named query.
func (b *Book) outboxRows(ctx context.Context, q querier, query string, args ...any) ([]OutboxItem, error) {
	return b.outboxSQL(ctx, q, b.query(query), args...)
}

func (b *Book) outboxSQL(ctx context.Context, q querier, query string, args ...any) ([]OutboxItem, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return scanOutbox(rows)
}

// scanOutbox reads (and closes) rows of the outbox columns the outbox-* queries select.
func scanOutbox(rows *sql.Rows) ([]OutboxItem, error) {
	defer rows.Close()
	items := []OutboxItem{}
	for rows.Next() {
		var it OutboxItem
		var caseID, sent sql.NullInt64
		var data string
		var next, created int64
		if err := rows.Scan(&it.ID, &it.Event, &it.Template, &it.To, &it.Locale, &caseID, &it.Token, &data, &it.Status,
			&it.Attempts, &next, &it.LastError, &it.Subject, &created, &sent, &it.ClaimedBy); err != nil {
			return nil, err
		}
		if caseID.Valid {
			it.CaseID = &caseID.Int64
		}
		it.NextAt, it.CreatedAt, it.SentAt = fromMS(next), fromMS(created), fromNullMS(sent)
		if err := json.Unmarshal([]byte(data), &it.Data); err != nil {
			return nil, fmt.Errorf("outbox row %d: %w", it.ID, err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// MessageIDOf is the Message-ID (without <>) a notification is sent with.
func (b *Book) MessageIDOf(token string) string {
	return address.MessageID(token, b.opt.MessageIDDomain)
}

// CaseThread lists the Message-IDs (without <>) of a case's mails, oldest
// first: its inbound mails and the notifications already sent.
func (b *Book) CaseThread(ctx context.Context, caseID int64) ([]string, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("case-thread"), caseID)
	if err != nil {
		return nil, fmt.Errorf("thread of case %d: %w", caseID, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var kind, ref string
		var at int64
		if err := rows.Scan(&kind, &ref, &at); err != nil {
			return nil, err
		}
		if kind == "out" {
			ref = b.MessageIDOf(ref)
		}
		ids = append(ids, ref)
	}
	return ids, rows.Err()
}

// OutboxStats counts notifications by status; OldestPending is the creation
// time of the oldest pending one (zero when none), for health checks.
type OutboxStats struct {
	Pending, Sent, Failed int
	OldestPending         time.Time
}

// Stats returns the outbox counts.
func (b *Book) Stats(ctx context.Context) (OutboxStats, error) {
	var s OutboxStats
	rows, err := b.rdb.QueryContext(ctx, b.query("outbox-stats"))
	if err != nil {
		return s, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int
		var oldest int64
		if err := rows.Scan(&status, &n, &oldest); err != nil {
			return s, err
		}
		switch OutboxStatus(status) {
		case OutboxPending:
			s.Pending, s.OldestPending = n, fromMS(oldest)
		case OutboxSent:
			s.Sent = n
		case OutboxFailed:
			s.Failed = n
		}
	}
	return s, rows.Err()
}
