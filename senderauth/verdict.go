package senderauth

// Result is one RFC 8601 result value: "pass", "fail", "softfail",
// "neutral", "none", "temperror", "permerror" or "policy".
type Result string

// The result values this package produces (RFC 8601 section 2.7).
const (
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	Neutral   Result = "neutral"
	None      Result = "none"
	TempError Result = "temperror"
	PermError Result = "permerror"
	// Policy: the signature verified but does not vouch for the mail as a
	// reader sees it (l= tag, an unsigned extra From); RFC 8601 2.7.1.
	Policy Result = "policy"
)

// Source says where a Verdict comes from.
type Source string

const (
	// SourceVerified: casemail checked SPF, DKIM and DMARC itself.
	SourceVerified Source = "verified"
	// SourceTrustedHeader: read from a trusted MTA's Authentication-Results.
	SourceTrustedHeader Source = "trusted_header"
	// SourceNone: nothing was checked and nothing trusted was found.
	SourceNone Source = "none"
)

// DKIMResult is the result of one DKIM-Signature.
type DKIMResult struct {
	Domain   string `json:"domain"`   // d=
	Selector string `json:"selector"` // s=
	Result   Result `json:"result"`
	// Reason says why a signature did not pass, for logs and the agents.
	Reason string `json:"reason,omitempty"`
}

// Verdict is what is known about who sent a mail.
type Verdict struct {
	SPF  Result       `json:"spf"`
	DKIM []DKIMResult `json:"dkim"`
	// DMARC is none when the From domain publishes no DMARC record.
	DMARC       Result `json:"dmarc"`
	FromAligned bool   `json:"from_aligned"`
	Source      Source `json:"source"`

	// FromDomain is the domain of the single From address, lower case,
	// A-labels; empty when the mail has none or several.
	FromDomain string `json:"from_domain,omitempty"`
	// SPFDomain is the domain SPF vouched for: the MAIL FROM's, or the HELO
	// name for a null sender.
	SPFDomain string `json:"spf_domain,omitempty"`
	// SPFHelo is true when SPF checked the HELO identity (null sender).
	SPFHelo bool `json:"-"`
	// DMARCPolicy is the policy the From domain asks for (none,
	// quarantine, reject), the subdomain policy where it applies.
	DMARCPolicy string `json:"dmarc_policy,omitempty"`
	// AuthservID is the trusted MTA whose fields were read (trusted_header).
	AuthservID string `json:"authserv_id,omitempty"`
}

// noVerdict is the verdict when nothing was checked.
func noVerdict() Verdict {
	return Verdict{SPF: None, DKIM: []DKIMResult{}, DMARC: None, Source: SourceNone}
}

// aligned computes FromAligned: DMARC pass; or, when the From domain has no
// usable DMARC record (none, permerror), an SPF or DKIM pass for a domain
// aligned in relaxed mode. fail and temperror never align.
func (v *Verdict) aligned() bool {
	if v.FromDomain == "" {
		return false
	}
	switch v.DMARC {
	case Pass:
		return true
	case None, PermError:
	default:
		return false
	}
	if v.SPF == Pass && relaxedAligned(v.SPFDomain, v.FromDomain) {
		return true
	}
	for _, d := range v.DKIM {
		if d.Result == Pass && relaxedAligned(d.Domain, v.FromDomain) {
			return true
		}
	}
	return false
}
