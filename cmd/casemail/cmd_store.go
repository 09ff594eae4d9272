package main

import (
	"fmt"
	"strings"

	"github.com/casemail/casemail/casebook"
)

// cmdStoreCopy moves an installation from its SQLite file into an empty
// PostgreSQL database, and checks both hold the same rows.
func cmdStoreCopy(e *env, args []string) error {
	fs := e.flags("store copy")
	from := fs.String("from", "", "the source: sqlite:PATH")
	to := fs.String("to", "", "the destination: postgres://USER@HOST/DB (an empty database)")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return usageError("--from must be sqlite:PATH, not %q", *from)
	}
	if !casebook.IsPostgres(*to) {
		return usageError("--to must be a PostgreSQL URL (postgres://…), not %q", *to)
	}
	src, err := casebook.Open(path, casebook.Options{})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := casebook.Open(*to, casebook.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	tables, err := src.CopyTo(e.ctx, dst)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(tables)
	}
	for _, t := range tables {
		fmt.Fprintf(e.stdout, "%-20s %8d rows  sha256-sum %s\n", t.Table, t.Rows, t.Checksum)
	}
	fmt.Fprintln(e.stdout, "copied: every table has the same rows and checksum in both stores")
	return nil
}
