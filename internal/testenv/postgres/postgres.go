// Package postgres starts a throw-away PostgreSQL cluster for tests: initdb
// in a temporary directory and pg_ctl listening only on a Unix socket in
// that directory, never the system service. One cluster serves a test
// package (started on first use, stopped by Stop in TestMain); each test
// gets its own empty database, dropped when it ends.
//
// When CI=true missing PostgreSQL binaries fail the test; elsewhere it
// skips. initdb refuses to run as root, so as root the cluster runs as the
// "postgres" user (runuser), which then owns the temporary directory.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Cluster is one running PostgreSQL server.
type Cluster struct {
	Dir  string // data directory and Unix socket; removed by Stop
	Port int    // names the socket file (.s.PGSQL.PORT); nothing listens on TCP

	bin   string // directory of initdb and pg_ctl
	runAs []string
	admin *sql.DB
	n     atomic.Int64
}

const superuser = "casemail"

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	sharedMu   sync.Mutex
)

// ErrMissing is returned when no PostgreSQL binaries are installed.
var ErrMissing = errors.New("PostgreSQL not installed (apt-get install postgresql)")

// findBin returns the directory holding initdb and pg_ctl: Debian keeps
// them out of PATH, under /usr/lib/postgresql/VERSION/bin.
func findBin() string {
	if d := os.Getenv("CASEMAIL_PG_BIN"); d != "" {
		return d
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		return filepath.Dir(m[len(m)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// Start initialises and starts a new cluster. Most tests want DSN instead.
func Start(ctx context.Context) (*Cluster, error) {
	bin := findBin()
	if bin == "" {
		return nil, ErrMissing
	}
	// A short directory: the socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("/tmp", "pg.")
	if err != nil {
		return nil, fmt.Errorf("postgres: temp dir: %w", err)
	}
	c := &Cluster{Dir: dir, Port: 5432, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("postgres: chown: %w", err)
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(ctx, "initdb", "-D", data, "-U", superuser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres: initdb: %w\n%s", err, out)
	}
	// Unix socket only (no TCP port to collide with); durability off: the
	// cluster is thrown away with the test run.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off", c.Port, dir)
	if out, err := c.run(ctx, "pg_ctl", "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "log"), "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("postgres: pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	c.admin, err = sql.Open("pgx", c.dsn("postgres"))
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := c.admin.PingContext(ctx); err != nil {
		c.Stop()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return c, nil
}

func (c *Cluster) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	argv := append(append([]string{}, c.runAs...), append([]string{filepath.Join(c.bin, tool)}, args...)...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

func (c *Cluster) dsn(db string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", superuser, db, c.Dir, c.Port)
}

// NewDatabase creates an empty database and returns its DSN.
func (c *Cluster) NewDatabase(ctx context.Context) (name, dsn string, err error) {
	name = fmt.Sprintf("t%d", c.n.Add(1))
	// FILE_COPY: copying template1's files is faster than WAL_LOG for a
	// small database with fsync off.
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+name+" STRATEGY = FILE_COPY"); err != nil {
		return "", "", fmt.Errorf("postgres: create database: %w", err)
	}
	return name, c.dsn(name), nil
}

// DropDatabase drops a database of NewDatabase, closing its connections.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	_, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	out, err := c.run(context.Background(), "pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.Dir)
	if err != nil {
		return fmt.Errorf("postgres: pg_ctl stop: %w\n%s", err, out)
	}
	return nil
}

// DSN returns the connection string of a new empty database in the test
// package's cluster, started on first use; the database is dropped when the
// test ends. It skips the test when PostgreSQL is not installed, or fails it
// when CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() {
		sharedMu.Lock()
		defer sharedMu.Unlock()
		shared, sharedErr = Start(context.Background())
	})
	if errors.Is(sharedErr, ErrMissing) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true forbids skipping", sharedErr)
		}
		t.Skipf("%v: skipping the PostgreSQL run", sharedErr)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	name, dsn, err := shared.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shared.DropDatabase(context.Background(), name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// StopShared stops the cluster DSN started, if any. Call it from TestMain
// after m.Run, or the server outlives the test binary.
func StopShared() {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		shared = nil
	}
}

// Main runs a package's tests and then stops the cluster DSN started, if
// any: the whole TestMain of a package whose tests use DSN.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}
