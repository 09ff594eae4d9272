package templates

import "slices"

// The keys that name people and organisations in customer mail (issue 11),
// which the casebook fills per recipient: the requester's and the author's
// name, falling back to the address ("requester_display",
// "author_display"), the organisation's name, falling back to the slug
// ("org_display"), and "requester_of", set only when the recipient is not
// the requester, so a watcher reads "la demande d'Alice", not "votre demande";
// "recipient_known" when the recipient has an account, so a refusal under
// R19 says the account may not open cases there, not that there is none.
var peopleKeys = []string{"requester_display", "author_display", "org_display", "requester_of", "recipient_known"}

func init() {
	for _, k := range peopleKeys {
		if !slices.Contains(Keys, k) {
			Keys = append(Keys, k)
		}
	}
}
