package message

import (
	"regexp"
)

// Delay warnings versus failures in a bounce that is no RFC 3464 DSN.

var warningRe = regexp.MustCompile(`(?i)\bdelay(?:ed)?\b|warning:|has not (?:yet )?been delivered|not yet been delivered|temporar(?:y|ily)|delivery status notification \(delay\)`)

// retryRe is a promise to keep trying: a delay warning even when it also
// says the mail "could not be delivered" (yet).
var retryRe = regexp.MustCompile(`(?i)will (?:continue to |keep )?(?:try|retry)|still trying|will be retried|retry timeout not yet|attempts will continue|will continue to (?:try|attempt|be made)`)

// permanentRe is failure wording; strongPermanentRe the part of it that a
// delay warning never says.
var permanentRe = regexp.MustCompile(`(?i)permanent(?:ly)?|user unknown|no such|unknown user|does not exist|giving up|retry time(?:out)? exceeded|could not be delivered|failed permanently|has been rejected|was rejected|undeliverable|undelivered`)

var strongPermanentRe = regexp.MustCompile(`(?i)permanent(?:ly)?|user unknown|no such|unknown user|does not exist|giving up|retry time(?:out)? exceeded|failed permanently`)

var warningSubject = regexp.MustCompile(`(?i)warning|delay|not yet delivered|still being retried`)

// isWarning tells a delay warning from a failure in a non-DSN bounce whose
// diagnostic text is text.
func isWarning(p *Parsed, text string) bool {
	subj := p.Subject
	// "Warning: user@host - User unknown!" (MDaemon) is a failure.
	if warningSubject.MatchString(subj) && !strongPermanentRe.MatchString(subj) {
		return true
	}
	if retryRe.MatchString(text) {
		return !strongPermanentRe.MatchString(text)
	}
	return warningRe.MatchString(text) && !permanentRe.MatchString(text)
}
