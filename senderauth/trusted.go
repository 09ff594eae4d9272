package senderauth

import (
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// Trusted reads the verdict of a trusted MTA in front from the topmost
// Authentication-Results fields of header (a raw header block, or a whole
// message). A sender can write Authentication-Results fields too, so only
// the fields an MTA adds on the way in are read. The exact rule:
//
//  1. The header is read from the top (newest field first). The trusted
//     zone is the run of fields from the top that are all one of:
//     Authentication-Results with an authserv-id in trustedAuthservIDs
//     (compared without case); Received whose "by" host is a trusted
//     authserv-id (RFC 8601 section 2.5: the id is usually the host name);
//     or a delivery/trace field an MTA adds on the way in (Return-Path,
//     Delivered-To, X-Original-To, Received-SPF, ARC-Seal,
//     ARC-Message-Signature, ARC-Authentication-Results).
//  2. The zone ends at the first other field: an Authentication-Results
//     of another authserv-id, a Received by another host, any Received
//     once a trusted Authentication-Results was read (the MTA's results
//     are one block, above or below its own Received), or any other field
//     (From, Subject, DKIM-Signature, X-...). Everything below is ignored,
//     whatever it claims.
//  3. Within the zone, when two results for the same method disagree (SPF,
//     DMARC, or DKIM for the same signing domain), the least
//     favourable one wins, so a pass the sender wrote cannot override the
//     fail the MTA wrote. A trusted field that does not parse makes every
//     result permerror. Equal results keep the topmost one's identity.
//  4. A DMARC result whose header.from is not the mail's From domain counts
//     as fail. FromAligned is then computed as for Verify.
//
// This stops every forged field below the sender's first ordinary header
// field. It cannot tell a forgery placed at the very top of the sender's
// header from the MTA's own fields, which is why RFC 8601 section 5
// requires the MTA to delete incoming fields that carry its authserv-id;
// docs/authentication.md shows how.
//
// The error is non-nil only when header cannot be read; the verdict is then
// SourceNone and not aligned.
func Trusted(header []byte, trustedAuthservIDs []string) (Verdict, error) {
	vd := noVerdict()
	fs, err := readFields(header)
	if err != nil {
		return vd, fmt.Errorf("senderauth: trusted results: %w", err)
	}
	trusted := make(map[string]bool, len(trustedAuthservIDs))
	for _, id := range trustedAuthservIDs {
		if id = strings.ToLower(strings.TrimSpace(id)); id != "" {
			trusted[id] = true
		}
	}
	if from, err := fromDomain(fs); err == nil {
		vd.FromDomain = from
	}

	var m merged
	seen, broken := false, false
zone:
	for _, f := range fs {
		switch strings.ToLower(f.key) {
		case "authentication-results":
			id, rs, err := parseAuthResults(f.value)
			if !trusted[strings.ToLower(id)] {
				break zone
			}
			if vd.AuthservID == "" {
				vd.AuthservID = id
			}
			seen = true
			if err != nil {
				broken = true
				continue
			}
			for _, r := range rs {
				m.add(r)
			}
		case "received":
			// Milters (OpenDKIM, OpenDMARC) put their fields above the
			// MTA's own Received, other MTAs below it: once results were
			// read, the next Received is the mail's entry and what
			// follows it is the sender's.
			if seen || !trusted[receivedBy(f.value)] {
				break zone
			}
		case "return-path", "delivered-to", "x-original-to", "received-spf",
			"arc-seal", "arc-message-signature", "arc-authentication-results":
		default:
			break zone
		}
	}
	if !seen {
		return vd, nil
	}
	vd.Source = SourceTrustedHeader
	if broken {
		vd.SPF, vd.DMARC = PermError, PermError
		vd.DKIM = []DKIMResult{{Result: PermError, Reason: "unparseable trusted Authentication-Results"}}
		return vd, nil
	}
	m.into(&vd)
	vd.FromAligned = vd.aligned()
	return vd, nil
}

// receivedBy returns the host after "by" in a Received field, lower case.
func receivedBy(v string) string {
	v = stripComments(v)
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		v = v[:i] // the date
	}
	ws := strings.Fields(v)
	for i := 0; i+1 < len(ws); i++ {
		if strings.EqualFold(ws[i], "by") {
			return strings.ToLower(strings.TrimSuffix(ws[i+1], "."))
		}
	}
	return ""
}

// arResult is one resinfo of an Authentication-Results field.
type arResult struct {
	method string
	value  Result
	params map[string]string
}

// parseAuthResults parses an Authentication-Results value (RFC 8601
// section 2.2). Comments are removed first: authres.Parse splits on ";",
// and mailers write comments such as "(2048-bit key; unprotected)".
func parseAuthResults(v string) (string, []arResult, error) {
	parts := splitOutsideQuotes(stripComments(v), ';')
	id, _, err := authres.Parse(parts[0])
	if err != nil {
		// Still say whose field it is: a trusted id with an unknown
		// version must not be skipped as if it were someone else's.
		if ws := strings.Fields(parts[0]); len(ws) > 0 {
			id = ws[0]
		}
		return id, nil, fmt.Errorf("authserv-id %q: %w", parts[0], err)
	}
	var out []arResult
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" || strings.EqualFold(p, "none") {
			continue
		}
		_, rs, err := authres.Parse(id + "; " + p)
		if err != nil {
			return id, nil, fmt.Errorf("result %q: %w", p, err)
		}
		if len(rs) != 1 {
			continue
		}
		r := arResult{params: resinfoParams(p)}
		switch x := rs[0].(type) {
		case *authres.SPFResult:
			r.method, r.value = "spf", Result(x.Value)
		case *authres.DKIMResult:
			r.method, r.value = "dkim", Result(x.Value)
		case *authres.DMARCResult:
			r.method, r.value = "dmarc", Result(x.Value)
		default:
			continue // iprev, arc, auth...: not part of the verdict
		}
		if r.value == "hardfail" { // RFC 4408 spelling
			r.value = Fail
		}
		out = append(out, r)
	}
	return id, out, nil
}

// resinfoParams reads the "ptype.property=value" pairs of one resinfo.
func resinfoParams(p string) map[string]string {
	m := make(map[string]string)
	for i, w := range strings.Fields(p) {
		if i == 0 {
			continue // method=result
		}
		k, v, ok := strings.Cut(w, "=")
		if ok {
			m[strings.ToLower(k)] = strings.Trim(v, `"`)
		}
	}
	return m
}

// stripComments replaces RFC 5322 comments (nested, with quoted-pairs) by a
// space, leaving quoted strings alone. It works on bytes: the delimiters
// are ASCII, and other bytes (UTF-8 or not) pass through untouched.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case depth == 0 && c == '"':
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case !quoted && depth > 0 && c == ')':
			if depth--; depth == 0 {
				b.WriteByte(' ')
			}
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func splitOutsideQuotes(s string, sep rune) []string {
	var out []string
	start, quoted, escaped := 0, false, false
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// rank orders results from most to least favourable, for rule 3.
var rank = map[Result]int{Pass: 0, None: 1, Neutral: 2, SoftFail: 3, Policy: 4,
	TempError: 5, PermError: 6, Fail: 7}

func worse(a, b Result) Result {
	ra, oka := rank[a]
	rb, okb := rank[b]
	if !oka {
		ra = rank[PermError] // an unknown value is no pass
	}
	if !okb {
		rb = rank[PermError]
	}
	if rb > ra {
		return b
	}
	return a
}

// merged collects the trusted results of one zone.
type merged struct {
	spf, dmarc           Result
	spfDomain, dmarcFrom string
	spfHelo              bool
	dkim                 []DKIMResult
}

func (m *merged) add(r arResult) {
	switch r.method {
	case "spf":
		d, helo := r.params["smtp.mailfrom"], false
		if d == "" {
			d, helo = r.params["smtp.helo"], true
		}
		if i := strings.LastIndexByte(d, '@'); i >= 0 {
			d = d[i+1:]
		}
		if m.spf == "" || worse(m.spf, r.value) != m.spf {
			m.spf, m.spfDomain, m.spfHelo = r.value, normDomain(d), helo
		}
	case "dmarc":
		if m.dmarc == "" || worse(m.dmarc, r.value) != m.dmarc {
			m.dmarc, m.dmarcFrom = r.value, normDomain(r.params["header.from"])
		}
	case "dkim":
		d := DKIMResult{Domain: normDomain(r.params["header.d"]), Selector: r.params["header.s"],
			Result: r.value, Reason: r.params["reason"]}
		if d.Domain == "" {
			if i := strings.LastIndexByte(r.params["header.i"], '@'); i >= 0 {
				d.Domain = normDomain(r.params["header.i"][i+1:])
			}
		}
		for i, e := range m.dkim {
			// Per domain, not per selector: a forged pass without header.s
			// must not stand beside the MTA's fail for the same domain.
			if e.Domain == d.Domain {
				if worse(e.Result, d.Result) != e.Result {
					m.dkim[i] = d
				}
				return
			}
		}
		m.dkim = append(m.dkim, d)
	}
}

func (m *merged) into(vd *Verdict) {
	vd.SPF, vd.SPFDomain, vd.SPFHelo = orNone(m.spf), m.spfDomain, m.spfHelo
	vd.DMARC = orNone(m.dmarc)
	if m.dmarc != "" && m.dmarcFrom != "" && m.dmarcFrom != vd.FromDomain {
		// The MTA judged another From than the one we read: no pass.
		vd.DMARC = Fail
	}
	vd.DKIM = []DKIMResult{}
	for _, d := range m.dkim {
		if d.Result != None { // "dkim=none": no signature, nothing to list
			vd.DKIM = append(vd.DKIM, d)
		}
	}
}

func orNone(r Result) Result {
	if r == "" {
		return None
	}
	return r
}
