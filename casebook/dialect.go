package casebook

import (
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3"
)

// The SQL of each store: migrations/*.sql and its named queries. The Go code
// is the same for both; a dialect only says which files to read and how to
// reach the database.
//
//go:embed migrations/*.sql queries.sql portal.sql copy.sql postgres/migrations/*.sql postgres/queries.sql postgres/portal.sql postgres/copy.sql
var sqlFiles embed.FS

// dialect is one store's SQL.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // the database/sql driver, wrapped by open
	dir    string // where its SQL files are in sqlFiles
	// writeLock: runTx takes the store-wide write lock (query write-lock)
	// after BEGIN. SQLite's BEGIN IMMEDIATE is that lock already.
	writeLock bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", driver: "sqlite3", dir: "."}
	postgresDialect = dialect{name: "postgres", driver: "pgx", dir: "postgres", writeLock: true}
)

// IsPostgres tells a PostgreSQL connection string (postgres:// or
// postgresql://) from a SQLite file path.
func IsPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// open is sql.Open of the dialect's driver, its string parameters made
// valid text (text.go).
func (d dialect) open(dsn string) *sql.DB {
	var drv driver.Driver = &sqlite3.SQLiteDriver{}
	if d.driver == postgresDialect.driver {
		drv = stdlib.GetDefaultDriver()
	}
	return sql.OpenDB(textConnector{drv: drv, dsn: dsn})
}

func (d dialect) file(name string) string {
	if d.dir == "." {
		return name
	}
	return d.dir + "/" + name
}

// queries reads the named queries of queries.sql, portal.sql and copy.sql.
func (d dialect) queries() (map[string]string, error) {
	q := map[string]string{}
	for _, f := range []string{"queries.sql", "portal.sql", "copy.sql"} {
		src, err := sqlFiles.ReadFile(d.file(f))
		if err != nil {
			return nil, fmt.Errorf("%s queries: %w", d.name, err)
		}
		for name, body := range parseQueries(string(src)) {
			if _, dup := q[name]; dup {
				return nil, fmt.Errorf("%s queries: %s is named twice", d.name, name)
			}
			q[name] = body
		}
	}
	return q, nil
}

// parseQueries reads "-- name: NAME" sections, skipping comment lines.
func parseQueries(src string) map[string]string {
	q := map[string]string{}
	name := ""
	var body strings.Builder
	flush := func() {
		if name != "" {
			q[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	for _, line := range strings.Split(src, "\n") {
		if n, ok := strings.CutPrefix(line, "-- name: "); ok {
			flush()
			name = strings.TrimSpace(n)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	flush()
	return q
}

// migrations lists the dialect's migration files in order.
func (d dialect) migrations() ([]string, error) {
	files, err := fs.Glob(sqlFiles, d.file("migrations/*.sql"))
	if err != nil {
		return nil, err
	}
	if err := uniqueMigrations(files); err != nil {
		return nil, err
	}
	return files, nil
}
