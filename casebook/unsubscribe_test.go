package casebook

import (
	"errors"
	"testing"
)

// R8: a watcher who asks to stop is gone, and asking again is no error;
// removing someone who does not watch is ErrNotWatching for the command
// line; an unknown case is ErrNotFound.
func TestUnsubscribe(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test")
		tests := []struct {
			name    string
			caseID  int64
			addr    string
			wantErr error
		}{
			{"watcher", c.ID, "carl@acme.test", nil},
			{"again", c.ID, "CARL@acme.test", nil},
			{"the requester", c.ID, "ann@acme.test", nil},
			{"no such case", c.ID + 100, "carl@acme.test", ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if err := f.Unsubscribe(f.ctx, tc.caseID, tc.addr); !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("Unsubscribe = %v, want %v", err, tc.wantErr)
				}
			})
		}
		if got, _ := f.Case(f.ctx, c.ID); len(got.Watchers) != 0 {
			t.Errorf("still watching: %v", got.Watchers)
		}
		if err := f.RemoveWatcher(f.ctx, c.ID, "carl@acme.test"); !errors.Is(err, ErrNotWatching) {
			t.Errorf("RemoveWatcher of a former watcher = %v, want ErrNotWatching", err)
		}
	})
}
