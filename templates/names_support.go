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
var peopleKeys = []string{"requester_display", "author_display", "org_display", "requester_of", "recipient_known", "previous_priority"}

// CasePriorityChanged tells the requester and watchers that support changed
// a case's priority ("casemail case set --priority"): what it was
// (previous_priority) and what it is (priority).
const CasePriorityChanged Name = "case_priority_changed"

// The support side's names and keys join the lists here rather than in
// their literals, which other parts of issue 11 extend at the same time.
func init() {
	for _, k := range peopleKeys {
		if !slices.Contains(Keys, k) {
			Keys = append(Keys, k)
		}
	}
	caseNames = append(caseNames, CasePriorityChanged)
	Names = append(Names, string(CasePriorityChanged))
}
