// Package casebook is casemail's domain and its storage: accounts,
// organisations, shared access, cases, comments, watchers, the record of every
// inbound message and the outbox of notifications. The rules R1–R20 that
// concern stored state are enforced here, not by the callers: the command
// line and the mail side both go through a Book.
//
// Storage is SQLite (WAL, foreign keys, one writer) through mattn/go-sqlite3,
// or PostgreSQL through pgx (postgres.go; its writers, in any number of
// gateways, take one advisory lock per transaction). The schema is in
// migrations/*.sql and every query in queries.sql, portal.sql and copy.sql,
// a set of files per store behind the same Book. Text is stored as valid
// UTF-8 without NUL on both (text.go); raw mail bytes are kept exactly.
//
// Rules: see docs/rules.md
package casebook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // the SQLite driver, and its error codes
)

// Options are the policy knobs the rules need.
type Options struct {
	Now             func() time.Time         // the clock; time.Now when nil
	ReopenWindow    time.Duration            // R12; 14 days when zero
	InitialResponse map[string]time.Duration // R15, per priority
	DefaultPriority string                   // P3 when empty
	DefaultLocale   string                   // fr when empty
	NoticesPerHour  int                      // refusal notices to one sender per hour; 0 = no limit
	MessageIDDomain string                   // notifications' Message-IDs are <token@domain>
	Holder          string                   // this gateway's lease holder id (leases.go); NewHolder("") when empty

	// The support side (agents.go): who at support hears of a case.
	Teams            []Team
	DefaultTeam      string        // the team of a case whose route names none
	EscalationNotify []string      // also told of every escalation (R15)
	SupportName      string        // the display name of outbound.from: an agent without a name answers as it
	BatchMax         int           // RecordRaw: most mails per commit; 64 when zero
	BatchWait        time.Duration // RecordRaw: how long a batch waits for more mails; none when zero

	// Limits against loops and backscatter (limits.go); 0 disables one.
	LoopWindow              time.Duration // window of MaxMailComments and MaxCaseNotifications
	MaxMailComments         int           // comments by mail per author and case in LoopWindow (checked again in Record)
	MaxCaseNotifications    int           // notifications per recipient and case in LoopWindow
	MaxNewRecipientsPerHour int           // mail to people who never wrote, all together
	TeamAddresses           []string      // told about suspected loops; empty: the case's assignee or team, else every agent
}

// Book is the casebook over one SQLite database. It is safe for concurrent use.
type Book struct {
	db      *sql.DB // the one writer
	rdb     *sql.DB // readers: WAL lets them run beside the writer
	d       dialect
	q       map[string]string
	opt     Options
	secret  []byte
	onWrite func() // told after a commit that added outbox rows
	path    string

	// The outcome of the last write, for health checks: a full disk must
	// not look healthy.
	writeMu      sync.Mutex
	lastWriteErr error
	lastWriteAt  time.Time

	// The group-commit writer of RecordRaw (batch.go).
	batchq     chan *batchReq // unbuffered: a request is taken or refused, never stranded
	closed     chan struct{}
	closeOnce  sync.Once
	writerOnce sync.Once
	writerDone chan struct{}
	statsMu    sync.Mutex
	stats      BatchStats
}

// Open opens (creating if needed) the database at path and applies pending
// migrations.
func Open(path string, opt Options) (*Book, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ReopenWindow == 0 {
		opt.ReopenWindow = 14 * 24 * time.Hour
	}
	if opt.DefaultPriority == "" {
		opt.DefaultPriority = "P3"
	}
	if opt.DefaultLocale == "" {
		opt.DefaultLocale = "fr"
	}
	if opt.MessageIDDomain == "" {
		opt.MessageIDDomain = "localhost"
	}
	if opt.Holder == "" {
		opt.Holder = NewHolder("")
	}
	if IsPostgres(path) {
		return openPostgres(path, opt)
	}
	q, err := sqliteDialect.queries()
	if err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// _txlock=immediate: a write transaction takes the lock at BEGIN, so two
	// writers never deadlock upgrading read locks (SQLITE_BUSY mid-transaction).
	dsn := "file:" + path + "?_journal_mode=WAL&_foreign_keys=on&_busy_timeout=10000&_txlock=immediate&_synchronous=NORMAL&_stmt_cache_size=64"
	db := sqliteDialect.open(dsn)
	// One writing connection: SQLite has one writer anyway, and this keeps
	// every transaction serialised in Go rather than in busy retries.
	db.SetMaxOpenConns(1)
	b := &Book{db: db, d: sqliteDialect, q: q, opt: opt, path: path, batchq: make(chan *batchReq), closed: make(chan struct{})}
	if err := b.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Reads that need no transaction use their own connections, so that the
	// decisions of concurrent deliveries do not queue behind each write.
	rdb := sqliteDialect.open("file:" + path + "?_foreign_keys=on&_busy_timeout=10000&_query_only=1&_stmt_cache_size=64")
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	b.rdb = rdb
	if b.secret, err = b.loadSecret(context.Background()); err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return b, nil
}

// createPrivate creates a missing database file readable by its owner only:
// it holds the reply-token secret and every raw mail. SQLite gives the -wal
// and -shm files the mode of the database file, whatever the umask.
func createPrivate(path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

// Path is the database file, or the PostgreSQL URL without its password.
func (b *Book) Path() string {
	if b.d.name == "postgres" {
		return redactDSN(b.path)
	}
	return b.path
}

// ReadableByOthers lists the database files (the database, its -wal and
// -shm) that users other than the owner may read, for a warning at start:
// an existing store keeps the mode it was created with.
func (b *Book) ReadableByOthers() []string {
	var open []string
	for _, p := range []string{b.path, b.path + "-wal", b.path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s (%s)", p, st.Mode().Perm()))
		}
	}
	return open
}

// LastWriteError is the error of the last write to the store, nil when it
// succeeded (or none was made yet), with when it happened. Refusals by the
// rules and cancelled requests say nothing about the store and are not
// counted.
func (b *Book) LastWriteError() (error, time.Time) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	return b.lastWriteErr, b.lastWriteAt
}

// noteWrite records the outcome of a write for LastWriteError.
func (b *Book) noteWrite(err error) {
	if err != nil && !storeFailure(err) {
		return
	}
	b.writeMu.Lock()
	b.lastWriteErr, b.lastWriteAt = err, time.Now()
	b.writeMu.Unlock()
}

// storeFailure tells a store that cannot write (disk full, I/O error, read
// only, closed) from a refusal: a rule, a constraint, a cancelled context.
func storeFailure(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || RuleOf(err) != "" || errors.Is(err, ErrNotFound) {
		return false
	}
	if constraint, ok := pgConstraint(err); ok {
		return !constraint
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code != sqlite3.ErrConstraint
	}
	return errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed")
}

// readers is the size of the read pool.
const readers = 4

// Close waits for the batch being committed, then closes the database.
func (b *Book) Close() error {
	b.closeOnce.Do(func() { close(b.closed) })
	b.writerOnce.Do(func() {}) // no writer starts after Close
	if b.writerDone != nil {
		<-b.writerDone
	}
	return errors.Join(b.rdb.Close(), b.db.Close())
}

// OnOutbox registers f to be called after a commit that queued notifications,
// so the send worker can wake up at once.
func (b *Book) OnOutbox(f func()) { b.onWrite = f }

// Secret is the key of reply tokens, generated on first open and kept with the data.
func (b *Book) Secret() []byte { return b.secret }

func (b *Book) now() time.Time { return b.opt.Now() }

func (b *Book) query(name string) string {
	s, ok := b.q[name]
	if !ok {
		panic("casebook: no query named " + name)
	}
	return s
}

// migrate applies the dialect's migrations/NNNN_*.sql in order, each in
// its own transaction with the new schema version (PRAGMA user_version in
// SQLite, the schema_version table in PostgreSQL).
func (b *Book) migrate(ctx context.Context) error {
	// Under the write lock (runTx), and the version read again in each
	// migration's transaction: two gateways starting together on one new
	// PostgreSQL database apply each migration once.
	err := b.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, b.query("schema-version-init"))
		return err
	})
	if err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	files, err := b.d.migrations()
	if err != nil {
		return err
	}
	for _, f := range files {
		base := path.Base(f)
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", f)
		}
		src, err := sqlFiles.ReadFile(f)
		if err != nil {
			return err
		}
		err = b.tx(ctx, func(tx *sql.Tx) error {
			var version int
			if err := tx.QueryRowContext(ctx, b.query("schema-version-get")).Scan(&version); err != nil {
				return fmt.Errorf("read schema version: %w", err)
			}
			if n <= version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(src)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(b.query("schema-version-set"), n))
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// uniqueMigrations refuses two migration files with the same number: two
// branches each adding migration N would otherwise apply only one of them,
// silently, and the other never.
func uniqueMigrations(files []string) error {
	sort.Strings(files)
	seen := map[int]string{}
	for _, f := range files {
		base := path.Base(f)
		n, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", f)
		}
		if prev, ok := seen[n]; ok {
			return fmt.Errorf("migrations %s and %s have the same number: renumber one", prev, base)
		}
		seen[n] = base
	}
	return nil
}

// tx runs f in one transaction: committed when f returns nil, rolled back
// otherwise. Its outcome is noted for LastWriteError.
func (b *Book) tx(ctx context.Context, f func(tx *sql.Tx) error) error {
	err := b.runTx(ctx, f)
	b.noteWrite(err)
	return err
}

func (b *Book) runTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if b.d.writeLock {
		// The rules read before they write (loop limits, notice caps, the
		// R12 reopen window, dedupe by fingerprint, migrations) and are
		// only right with one writer at a time. One process has one
		// writing connection; several gateways on one PostgreSQL queue
		// here, at the start of each write transaction, until the one
		// before commits (READ COMMITTED then shows them its rows).
		if _, err := tx.ExecContext(ctx, b.query("write-lock")); err != nil {
			tx.Rollback()
			return fmt.Errorf("take the write lock: %w", err)
		}
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (b *Book) loadSecret(ctx context.Context) ([]byte, error) {
	var s []byte
	err := b.tx(ctx, func(tx *sql.Tx) error {
		fresh := make([]byte, 32)
		if _, err := rand.Read(fresh); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, b.query("setting-put"), "reply_token_secret", fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, b.query("setting-get"), "reply_token_secret").Scan(&s)
	})
	if err != nil {
		return nil, fmt.Errorf("reply token secret: %w", err)
	}
	return s, nil
}

// ms and fromMS convert times to the stored Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// ErrNotFound is returned (wrapped) when a case, account, organisation or
// message does not exist.
var ErrNotFound = errors.New("not found")

type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

func notFound(format string, a ...any) error {
	return &notFoundError{fmt.Sprintf(format, a...)}
}

// RuleError is a refusal by one of the rules; Rule names it (e.g. "R12") and
// the message is one sentence a user can act on.
type RuleError struct {
	Rule Rule
	Msg  string
	// format and args make Msg; In (localize.go) renders them in another
	// language.
	format string
	args   []any
}

func (e *RuleError) Error() string { return e.Msg }

func refuse(rule Rule, format string, a ...any) error {
	return &RuleError{Rule: rule, Msg: fmt.Sprintf(format, a...), format: format, args: a}
}

// RuleOf returns the rule that refused err, or "".
func RuleOf(err error) string {
	var re *RuleError
	if errors.As(err, &re) {
		return string(re.Rule)
	}
	return ""
}

func normAddr(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
