package casebook

import (
	"context"
	"errors"
)

// ErrNotWatching is returned (wrapped) by RemoveWatcher for an address that
// does not watch the case.
var ErrNotWatching = errors.New("not a watcher of the case")

// Unsubscribe stops addr watching a case at the watcher's own request (R8):
// the unsubscribe address of watcher mail (RFC 2369) or its one-click link
// (RFC 8058); the caller has checked the signed token that names caseID.
// Asking again is not an error, since the watcher is gone as asked: a
// requester, who cannot stop following their own case, is not a watcher
// either. The error is ErrNotFound when the case does not exist.
func (b *Book) Unsubscribe(ctx context.Context, caseID int64, addr string) error {
	if err := b.removeWatcher(ctx, caseID, addr, addr, "unsubscribe"); err != nil && !errors.Is(err, ErrNotWatching) {
		return err
	}
	return nil
}
