package casebook

import "errors"

// IsPermanent reports whether err is the casebook refusing a decision for
// good rather than failing to store it: a rule refuses it (*RuleError,
// *WhichOrgError) or what it names does not exist (ErrNotFound). Deciding
// again may give another decision, but retrying the same one never
// succeeds, so a caller turns it into an outcome (I4), never into a
// temporary failure that makes the sender retry for days (I1).
func IsPermanent(err error) bool {
	var re *RuleError
	return errors.As(err, &re) || errors.Is(err, ErrNotFound)
}
