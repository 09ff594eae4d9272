package casebook

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Text the casebook stores is valid UTF-8 without NUL, on both stores
// alike. PostgreSQL refuses invalid UTF-8 and U+0000 in text columns, so a
// mail with such bytes in its subject, a display name, a filename or a
// body would be answered 451 again and again and never kept; SQLite takes
// any bytes, and the two stores must read back the same. Every string
// parameter of every query (a write, and the lookups that compare with
// what was written) goes through validText in one place, the connection
// (textConn.CheckNamedValue). []byte parameters (raw mail, attachments,
// the secret) are bytes and stay exact.

// validText makes s valid UTF-8 without NUL: each run of invalid bytes,
// and each NUL, becomes U+FFFD, which a reader sees as "something was
// here" where dropping would silently join words.
func validText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// textConnector opens connections of drv that clean string parameters.
type textConnector struct {
	drv driver.Driver
	dsn string
}

func (c textConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	var err error
	if dc, ok := c.drv.(driver.DriverContext); ok {
		var cn driver.Connector
		if cn, err = dc.OpenConnector(c.dsn); err == nil {
			conn, err = cn.Connect(ctx)
		}
	} else {
		conn, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return textConn{conn}, nil
}

func (c textConnector) Driver() driver.Driver { return c.drv }

// textConn is a driver connection whose string parameters are validText;
// everything else is the driver's own.
type textConn struct{ driver.Conn }

// CheckNamedValue cleans a string (or a type whose kind is string), then
// lets the driver check the value as it would have.
func (c textConn) CheckNamedValue(nv *driver.NamedValue) error {
	switch v := nv.Value.(type) {
	case string:
		nv.Value = validText(v)
	case nil, []byte, int64, int, bool, float64:
	default:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.String {
			s := rv.String()
			if clean := validText(s); clean != s {
				nv.Value = clean
			}
		}
	}
	if nvc, ok := c.Conn.(driver.NamedValueChecker); ok {
		return nvc.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql's default conversion
}

func (c textConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // drivers without BeginTx
}

func (c textConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c textConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c textConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c textConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c textConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c textConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
