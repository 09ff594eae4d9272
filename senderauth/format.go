package senderauth

import (
	"strings"

	"github.com/emersion/go-msgauth/authres"
)

// FormatResults formats the value of the Authentication-Results field
// (RFC 8601) casemail adds to a mail it verified itself, e.g.
//
//	support.example.test; spf=pass smtp.mailfrom=acme.test;
//	 dkim=pass header.d=acme.test header.s=s1; dmarc=pass header.from=acme.test
//
// as one line; the header writer folds it. A verdict that was not verified
// (read from a trusted header, or none) gives "authservID; none": casemail
// only vouches for what it checked.
func FormatResults(authservID string, v Verdict) string {
	id := clean(authservID)
	if v.Source != SourceVerified {
		return authres.Format(id, nil)
	}
	spf := &authres.SPFResult{Value: authres.ResultValue(v.SPF)}
	if v.SPFHelo {
		spf.Helo = clean(v.SPFDomain)
	} else {
		spf.From = clean(v.SPFDomain)
	}
	rs := []authres.Result{spf}
	if len(v.DKIM) == 0 {
		rs = append(rs, &authres.GenericResult{Method: "dkim", Value: authres.ResultNone})
	}
	for _, d := range v.DKIM {
		p := map[string]string{"header.d": clean(d.Domain), "header.s": clean(d.Selector)}
		if d.Result != Pass {
			p["reason"] = clean(d.Reason)
		}
		rs = append(rs, &authres.GenericResult{Method: "dkim", Value: authres.ResultValue(d.Result), Params: p})
	}
	rs = append(rs, &authres.DMARCResult{Value: authres.ResultValue(v.DMARC), From: clean(v.FromDomain)})
	return strings.ReplaceAll(strings.TrimRight(authres.Format(id, rs), " "), " ;", ";")
}

// clean keeps header injection out: values come from the mail (d=, s=) and
// from library errors, and a CR or LF would end the field.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
