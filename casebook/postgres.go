package casebook

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// openPostgres opens the casebook in the PostgreSQL database of dsn
// (postgres://…) and applies pending migrations.
func openPostgres(dsn string, opt Options) (*Book, error) {
	q, err := postgresDialect.queries()
	if err != nil {
		return nil, err
	}
	db := postgresDialect.open(dsn)
	// One writing connection, as with SQLite: the rules that read before
	// they write (limits, R12 reopen) rely on writes being serialised, and
	// the group commit (batch.go) is where the write rate comes from.
	// Between gateways the write lock (runTx) serialises them anyway, so
	// more writing connections would only wait on it.
	db.SetMaxOpenConns(1)
	b := &Book{db: db, d: postgresDialect, q: q, opt: opt, path: dsn, batchq: make(chan *batchReq), closed: make(chan struct{})}
	if err := b.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", redactDSN(dsn), err)
	}
	rdb := postgresDialect.open(dsn)
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	b.rdb = rdb
	if b.secret, err = b.loadSecret(context.Background()); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", redactDSN(dsn), err)
	}
	return b, nil
}

// redactDSN hides the password of a connection string in messages and logs.
func redactDSN(dsn string) string {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "postgres://…"
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// pgConstraint tells a PostgreSQL integrity violation (class 23: unique,
// foreign key, check), a refusal rather than a store that cannot write.
func pgConstraint(err error) (constraint, isPG bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false, false
	}
	return len(pe.Code) == 5 && pe.Code[:2] == "23", true
}

// pgUnique tells a PostgreSQL unique violation.
func pgUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
