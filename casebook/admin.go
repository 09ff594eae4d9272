package casebook

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Accounts lists every account, by address.
func (b *Book) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("accounts-all"))
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	out := []Account{}
	for rows.Next() {
		var a Account
		var verified, agent, disabled int
		var created int64
		if err := rows.Scan(&a.Address, &a.Name, &verified, &agent, &a.Locale, &created, &disabled); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		a.Verified, a.Agent, a.CreatedAt, a.Disabled = verified == 1, agent == 1, fromMS(created), disabled == 1
		out = append(out, a)
	}
	return out, rows.Err()
}

// AccountChanges are what "account set" changes; nil fields stay as they are.
type AccountChanges struct {
	Name   *string
	Locale *string
	Agent  *bool
}

// UpdateAccount changes an account's name, locale or agent flag.
func (b *Book) UpdateAccount(ctx context.Context, addr string, ch AccountChanges) (Account, error) {
	var a Account
	err := b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = b.account(ctx, tx, addr); err != nil {
			return err
		}
		if ch.Name != nil {
			a.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.Locale != nil {
			if *ch.Locale != "" && *ch.Locale != "fr" && *ch.Locale != "en" {
				return fmt.Errorf("locale must be fr or en, not %q", *ch.Locale)
			}
			a.Locale = *ch.Locale
		}
		if ch.Agent != nil {
			a.Agent = *ch.Agent
		}
		if _, err := tx.ExecContext(ctx, b.query("account-update"), a.Name, a.Locale, boolInt(a.Agent), a.Address); err != nil {
			return fmt.Errorf("change account %s: %w", a.Address, err)
		}
		return nil
	})
	return a, err
}

// DisableAccount stops an account opening cases or acting as an agent; its
// cases, comments and grants stay, for the record.
func (b *Book) DisableAccount(ctx context.Context, addr string) (Account, error) {
	a, err := b.Account(ctx, addr)
	if err != nil {
		return a, err
	}
	if err := b.exec(ctx, "account-disable", a.Address); err != nil {
		return a, fmt.Errorf("disable account %s: %w", a.Address, err)
	}
	// The customer view's sessions and sign-in links end with the account.
	if err := b.EndSessions(ctx, a.Address); err != nil {
		return a, err
	}
	a.Disabled = true
	return a, nil
}

// OrgChanges are what "org set" changes: empty fields stay as they are;
// Entitle adds products (R3), never removes one, since open cases use them.
type OrgChanges struct {
	Name    *string
	Owner   string
	Entitle []string
}

// UpdateOrg changes an organisation's name or owner and adds entitlements.
func (b *Book) UpdateOrg(ctx context.Context, slug string, ch OrgChanges) (Org, error) {
	err := b.tx(ctx, func(tx *sql.Tx) error {
		o, err := b.org(ctx, tx, slug)
		if err != nil {
			return err
		}
		if ch.Name != nil {
			o.Name = strings.TrimSpace(*ch.Name)
		}
		if ch.Owner != "" {
			owner, err := b.account(ctx, tx, ch.Owner)
			if err != nil {
				return fmt.Errorf("owner: %w", err)
			}
			o.Owner = owner.Address
		}
		if _, err := tx.ExecContext(ctx, b.query("org-update"), o.Name, o.Owner, slug); err != nil {
			return fmt.Errorf("change organisation %s: %w", slug, err)
		}
		for _, p := range ch.Entitle {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, b.query("entitlement-insert"), slug, p); err != nil {
				return fmt.Errorf("entitle %s to %s: %w", slug, p, err)
			}
		}
		return nil
	})
	if err != nil {
		return Org{}, err
	}
	return b.Org(ctx, slug)
}

// RetryOutbox makes one notification that failed, or waits for its next
// attempt, due now. A sent one is not sent again.
func (b *Book) RetryOutbox(ctx context.Context, id int64) (OutboxItem, error) {
	items, err := b.outboxRows(ctx, b.rdb, "outbox-get", id)
	if err != nil {
		return OutboxItem{}, err
	}
	if len(items) == 0 {
		return OutboxItem{}, notFound("there is no notification %d", id)
	}
	if items[0].Status == OutboxSent {
		return items[0], fmt.Errorf("notification %d was sent on %s: nothing to retry", id, items[0].SentAt.Format("2006-01-02 15:04"))
	}
	if err := b.exec(ctx, "outbox-requeue", ms(b.now()), id); err != nil {
		return OutboxItem{}, err
	}
	b.wake()
	items, err = b.outboxRows(ctx, b.rdb, "outbox-get", id)
	if err != nil {
		return OutboxItem{}, err
	}
	return items[0], nil
}

// RetryFailed makes every failed notification due now and returns them.
func (b *Book) RetryFailed(ctx context.Context) ([]OutboxItem, error) {
	var items []OutboxItem
	err := b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = b.outboxRows(ctx, tx, "outbox-requeue-failed", ms(b.now()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retry failed notifications: %w", err)
	}
	if len(items) > 0 {
		b.wake()
	}
	slices.SortFunc(items, func(x, y OutboxItem) int { return cmp.Compare(x.ID, y.ID) })
	return items, nil
}
