// This file: leases, so that any number of gateways can share one store
// (issue 14). A lease is a named right that one holder has until it
// expires, unless the holder renews it: each IMAP mailbox is polled by the
// holder of imap/NAME/FOLDER, and each gateway renews its heartbeat
// gateway/HOLDER, by which the others know that its claimed outbox rows
// are still its own (ReclaimOutbox). Expiry is compared with the clock of
// the gateway that asks: gateways sharing a store keep NTP time.

package casebook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Lease is who holds a name, and until when.
type Lease struct {
	Name       string    `json:"name"`
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// HeartbeatLease is the name of a gateway's heartbeat lease.
func HeartbeatLease(holder string) string { return "gateway/" + holder }

// NewHolder is a holder id unique to this process, NAME/PID-RANDOM (NAME
// defaults to the host name): two gateways started with the same
// configuration never share a lease.
func NewHolder(name string) string {
	if name == "" {
		name, _ = os.Hostname()
		if name == "" {
			name = "casemail"
		}
	}
	r := make([]byte, 4)
	rand.Read(r)
	return fmt.Sprintf("%s/%d-%s", name, os.Getpid(), hex.EncodeToString(r))
}

// Holder is the id this Book claims outbox rows with (Options.Holder).
func (b *Book) Holder() string { return b.opt.Holder }

// Lease takes the lease name for holder until now+ttl when it is free or
// expired, or renews it when holder has it already; held tells whether
// holder has it now. Either way the lease returned is the current one (who
// holds it, until when). One statement decides, so two gateways asking at
// once never both get it.
func (b *Book) Lease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return Lease{}, false, fmt.Errorf("lease %q for %q: a name, a holder and a positive duration are required", name, holder)
	}
	now := b.now()
	res, err := b.db.ExecContext(ctx, b.query("lease-take"), name, holder, ms(now), ms(now.Add(ttl)))
	b.noteWrite(err)
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: %w", name, err)
	}
	l, err := b.leaseOf(ctx, name)
	if err != nil {
		return Lease{}, false, err
	}
	return l, n > 0 && l.Holder == holder, nil
}

func (b *Book) leaseOf(ctx context.Context, name string) (Lease, error) {
	// The writer's connection: the row just written, whatever the readers see.
	rows, err := b.db.QueryContext(ctx, b.query("lease-get"), name)
	if err != nil {
		return Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	ls, err := scanLeases(rows)
	if err != nil {
		return Lease{}, fmt.Errorf("read lease %s: %w", name, err)
	}
	if len(ls) == 0 {
		return Lease{}, notFound("there is no lease %s", name)
	}
	return ls[0], nil
}

// ReleaseLease gives up name if holder has it, so that another gateway
// takes it at once rather than after its expiry.
func (b *Book) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := b.exec(ctx, "lease-release", name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Leases lists the leases not expired at now, by name, for /healthz.
func (b *Book) Leases(ctx context.Context) ([]Lease, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("leases-live"), ms(b.now()))
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	ls, err := scanLeases(rows)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return ls, nil
}

func scanLeases(rows *sql.Rows) ([]Lease, error) {
	defer rows.Close()
	ls := []Lease{}
	for rows.Next() {
		var l Lease
		var acquired, expires int64
		if err := rows.Scan(&l.Name, &l.Holder, &acquired, &expires); err != nil {
			return nil, err
		}
		l.AcquiredAt, l.ExpiresAt = fromMS(acquired), fromMS(expires)
		ls = append(ls, l)
	}
	return ls, rows.Err()
}
