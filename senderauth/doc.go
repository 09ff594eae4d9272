// Package senderauth answers "who really sent this mail": it verifies SPF
// (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) when casemail is the
// first hop, reads the Authentication-Results fields (RFC 8601) that a
// trusted MTA in front added when it is not, and formats casemail's own
// Authentication-Results field for a mail it verified.
//
// The package only produces a Verdict; it decides nothing. The ingest
// package decides what an unauthenticated mail may do (issue 13).
//
// Rules that are ours, not the libraries':
//   - A DNS failure or timeout is temperror, never pass.
//   - A DKIM signature with a body length tag (l=) does not vouch for the
//     whole body, so it is reported as "policy" and never aligns the From
//     domain (RFC 6376 section 8.2).
//   - A DKIM signature whose h= lists a field that may appear only once
//     (RFC 5322 section 3.6: From, Subject, To, ...) while the mail carries
//     more instances of it than the signature covers is reported as
//     "policy": a reader sees the unsigned copy (RFC 6376 section 8.15).
//   - A mail with other than exactly one From address has dmarc=permerror
//     and is never aligned (RFC 7489 section 6.6.1).
//
// See Trusted for the exact rule on which Authentication-Results fields
// are believed.
package senderauth
