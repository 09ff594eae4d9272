package casebook

import (
	"slices"
	"testing"
)

// R8: Audience names exactly who Record mails: the requester and the
// watchers, never a watcher suppressed after a hard bounce (not even on a
// follow-up), never the author of the change; a refusal notice goes to its
// sender.
func TestAudienceIsWhatRecordQueues(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		c := f.open(t, "acme", "ann@acme.test", "VM down", "carl@acme.test", "ext@partner.test")
		f.must(t, f.SuppressAddress(f.ctx, "carl@acme.test", SuppressedBounce, ""))
		closed := f.open(t, "acme", "ann@acme.test", "old", "carl@acme.test", "ext@partner.test")
		f.must(t, f.SuppressAddress(f.ctx, "carl@acme.test", SuppressedBounce, ""))
		f.must(t, f.CloseCase(f.ctx, closed.ID, ""))
		tests := []struct {
			name string
			d    Delivery
			want []string
		}{
			{"new case", Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "t", Requester: "ann@acme.test", Watchers: []string{"X@partner.test", "ann@acme.test", "x@partner.test"}}},
				[]string{"ann@acme.test", "x@partner.test"}},
			{"comment by the requester", Delivery{Action: ActComment, CaseID: c.ID, Author: "ann@acme.test", Body: "b"},
				[]string{"ext@partner.test"}},
			{"follow-up", Delivery{Action: ActOpen, Open: NewCase{FollowUpOf: closed.ID, Requester: "ann@acme.test", Title: "again"}},
				[]string{"ann@acme.test", "ext@partner.test"}},
			{"refusal notice", Delivery{Action: ActRefuse, Notice: &Notice{Template: "notice_unknown_sender", To: "Who@Else.test"}},
				[]string{"who@else.test"}},
			{"quarantine", Delivery{Action: ActQuarantine}, nil},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				f.clearOutbox(t)
				said, err := f.Audience(f.ctx, tc.d)
				f.must(t, err)
				tc.d.Message = f.inbound("aud" + string(rune('a'+i)))
				_, err = f.Record(f.ctx, tc.d)
				f.must(t, err)
				items, err := f.Outbox(f.ctx, OutboxPending)
				f.must(t, err)
				var queued []string
				for _, it := range items {
					queued = append(queued, it.To)
				}
				slices.Sort(said)
				slices.Sort(queued)
				if !slices.Equal(said, tc.want) || !slices.Equal(queued, tc.want) {
					t.Errorf("Audience %v, queued %v, want %v", said, queued, tc.want)
				}
			})
		}
	})
}
