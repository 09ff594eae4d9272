package actionlink

import (
	"strings"
	"time"
)

// Path is where the web view serves action links: Path + token.
const Path = "/a/"

// Mail data keys the links are put under; templates test them with "with",
// so a mail without a public URL simply has no links.
const (
	KeyView     = "link_view"
	KeyReopen   = "link_reopen"
	KeyClose    = "link_close"
	KeyEscalate = "link_escalate"
	KeyFollowUp = "link_followup"
	KeyUnwatch  = "link_unwatch"
)

// Keys lists every data key MailLinks may set.
var Keys = []string{KeyView, KeyReopen, KeyClose, KeyEscalate, KeyFollowUp, KeyUnwatch}

// MailLinks returns the function the outbound composer calls for every mail
// about a case: the links signed for that mail's recipient, valid for ttl,
// under baseURL (http.public_url). Which links it gives follows the case as
// the mail's data describes it: an open case can be closed and escalated; a
// closed one reopened while the reopen window lasts (R12), else only
// followed up (R14); only a watcher can stop watching (the requester is not
// one). The pages behind the links check the rules again when used.
func MailLinks(s *Signer, baseURL string, ttl time.Duration) func(caseID int64, recipient string, data map[string]string, now time.Time) map[string]string {
	base := strings.TrimRight(baseURL, "/")
	return func(caseID int64, recipient string, data map[string]string, now time.Time) map[string]string {
		if base == "" || caseID <= 0 || strings.TrimSpace(recipient) == "" {
			return nil
		}
		link := func(a Action) string {
			return base + Path + s.Sign(Link{Action: a, CaseID: caseID, Recipient: recipient, Expires: now.Add(ttl)})
		}
		out := map[string]string{KeyView: link(View)}
		requester := data["requester"]
		if requester != "" && !strings.EqualFold(strings.TrimSpace(requester), strings.TrimSpace(recipient)) {
			// A watcher follows the case; the customer decides its course
			// (R11, R12, R14, R15): the page offers more to a watcher who
			// may, once signed in.
			out[KeyUnwatch] = link(Unwatch)
			return out
		}
		if data["status"] == "closed" || data["imported"] == "true" {
			if data["imported"] != "true" && !windowPassed(data["reopen_until"], now) {
				out[KeyReopen] = link(Reopen)
			}
			out[KeyFollowUp] = link(FollowUp)
		} else {
			out[KeyClose] = link(Close)
			out[KeyEscalate] = link(Escalate)
		}
		return out
	}
}

// windowPassed says whether a reopen deadline (YYYY-MM-DD, included) is
// behind now; an unreadable or missing one leaves the page to decide.
func windowPassed(until string, now time.Time) bool {
	d, err := time.Parse("2006-01-02", strings.TrimSpace(until))
	if err != nil {
		return false
	}
	return now.After(d.Add(24 * time.Hour))
}
