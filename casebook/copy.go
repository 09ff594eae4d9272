package casebook

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// copyTables is every table in an order where a row's references are
// copied before it. TestCopyCoversEveryTable keeps it complete.
var copyTables = []string{
	"settings", "accounts", "orgs", "entitlements", "grants", "cases", "watchers", "suppressions",
	"raw_messages", "raw_chunks", "messages", "comments", "outbox", "checkpoints",
	"search", "portal_signins", "portal_sessions", "portal_attachments", "events", "replays",
}

// notCopied are tables of running gateways, not of the data: leases expire
// with the gateways that hold them, and a copy is made with them stopped.
var notCopied = []string{"leases"}

// CopiedTable is one table of a store copy, with what both stores hold
// after it: the same rows, the same checksum.
type CopiedTable struct {
	Table    string `json:"table"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"` // SHA-256 of every row, in key order
}

// CopyTo copies every row of b into dst, an empty store of the same schema
// version (a new PostgreSQL database), in one transaction of dst, then
// checks that both hold the same rows (counts and checksums). Stop the
// gateway first: rows written to b during the copy are not copied.
func (b *Book) CopyTo(ctx context.Context, dst *Book) ([]CopiedTable, error) {
	var n int
	if err := dst.db.QueryRowContext(ctx, dst.query("copy-rows-in-use")).Scan(&n); err != nil {
		return nil, fmt.Errorf("copy: check destination: %w", err)
	}
	if n > 0 {
		return nil, fmt.Errorf("copy: the destination already holds accounts, cases or messages: copy into an empty store")
	}
	err := dst.tx(ctx, func(tx *sql.Tx) error {
		// The destination's own fresh secret gives way to the source's:
		// reply tokens already mailed must stay valid.
		if _, err := tx.ExecContext(ctx, dst.query("copy-clear")); err != nil {
			return err
		}
		for _, t := range copyTables {
			if err := b.copyTable(ctx, tx, dst, t); err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
		}
		_, err := tx.ExecContext(ctx, dst.query("copy-after"))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	var out []CopiedTable
	for _, t := range copyTables {
		src, err := b.tableSum(ctx, b.rdb, t)
		if err != nil {
			return nil, fmt.Errorf("copy: check %s: %w", t, err)
		}
		got, err := dst.tableSum(ctx, dst.rdb, t)
		if err != nil {
			return nil, fmt.Errorf("copy: check %s: %w", t, err)
		}
		if src != got {
			return out, fmt.Errorf("copy: %s differs after the copy: %d rows %s in the source, %d rows %s in the destination",
				t, src.Rows, src.Checksum, got.Rows, got.Checksum)
		}
		out = append(out, src)
	}
	return out, nil
}

// copyTable copies every row of table from b into dst's transaction, with
// the table's copy-select and copy-insert queries (copy.sql).
func (b *Book) copyTable(ctx context.Context, tx *sql.Tx, dst *Book, table string) error {
	rows, err := b.rdb.QueryContext(ctx, b.query("copy-select-"+table))
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, dst.query("copy-insert-"+table))
	if err != nil {
		return err
	}
	defer stmt.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// tableSum counts the rows of table and hashes their values, so that two
// stores can be compared whatever types their drivers return. The sum of
// the rows' hashes does not depend on their order, which follows each
// store's collation.
func (b *Book) tableSum(ctx context.Context, q querier, table string) (CopiedTable, error) {
	rows, err := q.QueryContext(ctx, b.query("copy-select-"+table))
	if err != nil {
		return CopiedTable{}, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return CopiedTable{}, err
	}
	var sum [4]uint64
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return CopiedTable{}, err
		}
		h := sha256.New()
		for _, v := range vals {
			switch v := v.(type) {
			case nil:
				h.Write([]byte("\x00N"))
			case []byte:
				fmt.Fprintf(h, "\x00%d:%s", len(v), v)
			case string:
				// As the destination stores it (text.go): a SQLite store
				// written before text was cleaned may hold other bytes.
				v = validText(v)
				fmt.Fprintf(h, "\x00%d:%s", len(v), v)
			default:
				fmt.Fprintf(h, "\x00%v", v)
			}
		}
		d := h.Sum(nil)
		for i := range sum {
			sum[i] += binary.BigEndian.Uint64(d[8*i:])
		}
		n++
	}
	var total []byte
	for _, v := range sum {
		total = binary.BigEndian.AppendUint64(total, v)
	}
	return CopiedTable{Table: table, Rows: n, Checksum: hex.EncodeToString(total)}, rows.Err()
}
