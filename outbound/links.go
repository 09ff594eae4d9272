package outbound

import "time"

// LinkFunc returns the links a mail about caseID shows its recipient (the
// customer's signed actions, see package actionlink), given the mail's data;
// they are added to the data the template sees.
type LinkFunc func(caseID int64, recipient string, data map[string]string, now time.Time) map[string]string

// SetLinks makes every mail about a case carry the links f returns. Call it
// before Run.
func (w *Worker) SetLinks(f LinkFunc) { w.o.Composer.Links = f }

// withLinks returns a copy of data with links added; the item's own data is
// never changed (it is the record of what the event said).
func withLinks(data, links map[string]string) map[string]string {
	out := make(map[string]string, len(data)+len(links))
	for k, v := range data {
		out[k] = v
	}
	for k, v := range links {
		out[k] = v
	}
	return out
}
