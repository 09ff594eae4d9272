package casebook

import (
	"context"
	"slices"
)

// The record of one mail reads the same sender account up to five times
// and its organisation twice (the open check, the notice's locale, the
// audience, the agents' view), each read a round trip to the store inside
// the group-commit writer, which is serial: on PostgreSQL those round trips,
// not the SQL, were most of a mail's time in the writer (issue 14). The
// record path never writes accounts or organisations (only the admin calls
// do, each in its own transaction), so within one mail's record the first
// read stands for the others. The cache lives in the context recordTx
// gives its callees and dies with that record.

type readCacheKey struct{}

type readCache struct {
	accounts map[string]Account
	orgs     map[string]Org
}

// withReadCache returns a context whose account and org reads are kept for
// the rest of one record.
func withReadCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, readCacheKey{}, &readCache{accounts: map[string]Account{}, orgs: map[string]Org{}})
}

func readCacheOf(ctx context.Context) *readCache {
	c, _ := ctx.Value(readCacheKey{}).(*readCache)
	return c
}

func (c *readCache) account(addr string) (Account, bool) {
	if c == nil {
		return Account{}, false
	}
	a, ok := c.accounts[addr]
	return a, ok
}

func (c *readCache) putAccount(addr string, a Account) {
	if c != nil {
		c.accounts[addr] = a
	}
}

// org returns a copy: a caller may append to Products.
func (c *readCache) org(slug string) (Org, bool) {
	if c == nil {
		return Org{}, false
	}
	o, ok := c.orgs[slug]
	o.Products = slices.Clone(o.Products)
	return o, ok
}

func (c *readCache) putOrg(o Org) {
	if c != nil {
		o.Products = slices.Clone(o.Products)
		c.orgs[o.Slug] = o
	}
}
