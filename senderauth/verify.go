package senderauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
)

// Config sets up a Verifier.
type Config struct {
	// Resolver is the DNS server every lookup goes to ("127.0.0.1:5353",
	// or "192.0.2.53" for port 53); empty means the system's resolver.
	Resolver string
	// QueryTimeout bounds one DNS query (default 5s).
	QueryTimeout time.Duration
	// Timeout bounds one whole verification (default 20s): SPF may need
	// ten lookups, and a mail may carry several signatures.
	Timeout time.Duration
	// MaxSignatures is how many DKIM signatures are checked (default 5);
	// the rest are ignored so that a mail cannot make us do unbounded work.
	MaxSignatures int
	// Logger receives debug lines about DNS failures (default slog.Default).
	Logger *slog.Logger
}

// Verifier checks SPF, DKIM and DMARC through one configured resolver. It is
// safe for concurrent use.
type Verifier struct {
	res     *resolver
	timeout time.Duration
	maxSigs int
	log     *slog.Logger
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.MaxSignatures <= 0 {
		cfg.MaxSignatures = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	res, err := newResolver(cfg.Resolver, cfg.QueryTimeout)
	if err != nil {
		return nil, err
	}
	return &Verifier{res: res, timeout: cfg.Timeout, maxSigs: cfg.MaxSignatures, log: cfg.Logger}, nil
}

// Input is what the first hop knows about a mail.
type Input struct {
	ClientIP net.IP // the SMTP client's address
	HELO     string // its HELO/EHLO name
	MailFrom string // the envelope sender; "" for a null sender (<>)
	Message  []byte // the raw message as received
}

// Verify checks SPF for the client and envelope, every DKIM signature (up to
// MaxSignatures) and DMARC for the From domain. DNS failures give temperror
// in the verdict, never an error. The error is non-nil only when the header
// cannot be read; the verdict then still holds the SPF result, with
// permerror for what needed the header, and is not aligned.
func (v *Verifier) Verify(ctx context.Context, in Input) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()

	vd := Verdict{Source: SourceVerified, DKIM: []DKIMResult{}}
	vd.SPF, vd.SPFDomain, vd.SPFHelo = v.checkSPF(ctx, in)

	fs, err := readFields(in.Message)
	if err != nil {
		vd.DMARC = PermError
		return vd, fmt.Errorf("senderauth: verify: %w", err)
	}
	vd.DKIM = v.checkDKIM(ctx, in.Message, fs)

	from, ferr := fromDomain(fs)
	if ferr != nil {
		// RFC 7489 6.6.1: no single author domain, nothing can align.
		v.log.Debug("senderauth: no DMARC identity", "err", ferr)
		vd.DMARC = PermError
		return vd, nil
	}
	vd.FromDomain = from
	vd.DMARC, vd.DMARCPolicy = v.checkDMARC(ctx, &vd)
	vd.FromAligned = vd.aligned()
	return vd, nil
}

// checkSPF evaluates the MAIL FROM identity, or for a null sender the HELO
// identity as postmaster@helo (RFC 7208 section 2.4).
func (v *Verifier) checkSPF(ctx context.Context, in Input) (Result, string, bool) {
	sender, helo := in.MailFrom, strings.TrimSuffix(in.HELO, ".")
	byHelo := false
	if _, d, ok := strings.Cut(sender, "@"); !ok || d == "" {
		sender, byHelo = "postmaster@"+helo, true
	}
	local, domain, _ := strings.Cut(sender, "@")
	// DNS holds A-labels: an SMTPUTF8 sender's domain must be converted.
	domain = normDomain(domain)
	sender, helo = local+"@"+domain, normDomain(helo)
	if in.ClientIP == nil || domain == "" {
		return None, domain, byHelo
	}
	res, err := spf.CheckHostWithSender(in.ClientIP, helo, sender,
		spf.WithContext(ctx), spf.WithResolver(v.res))
	if res == spf.TempError {
		v.log.Debug("senderauth: SPF temperror", "domain", domain, "err", err)
	}
	return Result(res), domain, byHelo
}

// checkDKIM verifies each DKIM-Signature and applies our two policies: l=
// and singleton fields added above the signed ones (see the package comment).
func (v *Verifier) checkDKIM(ctx context.Context, raw []byte, fs []field) []DKIMResult {
	var sigs []map[string]string
	for _, f := range fs {
		if strings.EqualFold(f.key, "DKIM-Signature") {
			sigs = append(sigs, tags(f.value))
		}
	}
	out := []DKIMResult{}
	if len(sigs) == 0 {
		return out
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT:        v.res.txtFunc(ctx),
		MaxVerifications: v.maxSigs,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		// The library could not even read the mail: no signature counts.
		for i, t := range sigs {
			if i == v.maxSigs {
				break
			}
			out = append(out, DKIMResult{Domain: normDomain(t["d"]), Selector: t["s"],
				Result: PermError, Reason: err.Error()})
		}
		return out
	}
	for i, vf := range verifs {
		r := DKIMResult{Domain: normDomain(vf.Domain), Result: dkimResult(vf.Err)}
		if vf.Err != nil {
			r.Reason = vf.Err.Error()
		}
		if i < len(sigs) {
			t := sigs[i]
			r.Selector = t["s"]
			if r.Domain == "" {
				r.Domain = normDomain(t["d"])
			}
			if _, ok := t["l"]; ok && r.Result != TempError {
				r.Result, r.Reason = Policy, "body length tag l= leaves the rest of the body unsigned"
			} else if k := uncoveredSingleton(fs, strings.Split(t["h"], ":")); k != "" && r.Result == Pass {
				r.Result, r.Reason = Policy, "an unsigned "+k+" field was added"
			}
		}
		out = append(out, r)
	}
	return out
}

func dkimResult(err error) Result {
	switch {
	case err == nil:
		return Pass
	case dkim.IsTempFail(err):
		return TempError
	case dkim.IsPermFail(err):
		return PermError
	default:
		// Body hash or signature mismatch (STACK-NOTES pitfall 18).
		return Fail
	}
}

// checkDMARC finds the From domain's policy (RFC 7489 section 6.6.3) and
// evaluates identifier alignment. The verdict's SPF and DKIM are filled in.
func (v *Verifier) checkDMARC(ctx context.Context, vd *Verdict) (Result, string) {
	from := vd.FromDomain
	rec, res := v.lookupDMARC(ctx, from)
	atOrg := false
	if rec == nil && res == None {
		if org := orgDomain(from); org != from {
			rec, res = v.lookupDMARC(ctx, org)
			atOrg = true
		}
	}
	if rec == nil {
		return res, ""
	}
	policy := rec.Policy
	if atOrg && rec.SubdomainPolicy != "" {
		policy = rec.SubdomainPolicy
	}
	if vd.SPF == Pass && idAligned(vd.SPFDomain, from, rec.SPFAlignment) {
		return Pass, string(policy)
	}
	for _, d := range vd.DKIM {
		if d.Result == Pass && idAligned(d.Domain, from, rec.DKIMAlignment) {
			return Pass, string(policy)
		}
	}
	// Without an aligned pass, a check that could not be made might have
	// given one: temperror, so the mail is retried rather than failed.
	if vd.SPF == TempError {
		return TempError, string(policy)
	}
	for _, d := range vd.DKIM {
		if d.Result == TempError {
			return TempError, string(policy)
		}
	}
	return Fail, string(policy)
}

func idAligned(a, from string, mode dmarc.AlignmentMode) bool {
	if mode == dmarc.AlignmentStrict {
		return strictAligned(a, from)
	}
	return relaxedAligned(a, from)
}

// lookupDMARC returns the one DMARC record of domain. No record, or several
// (RFC 7489 6.6.3 step 2), is none; a record that does not parse is
// permerror; a DNS failure of any kind other than "no such name or data"
// is temperror, so that a broken lookup never downgrades a p=reject
// domain to "no DMARC".
func (v *Verifier) lookupDMARC(ctx context.Context, domain string) (*dmarc.Record, Result) {
	txts, err := v.res.LookupTXT(ctx, "_dmarc."+domain)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound && !de.IsTemporary {
			return nil, None
		}
		v.log.Debug("senderauth: DMARC lookup failed", "domain", domain, "err", err)
		return nil, TempError
	}
	var recs []string
	for _, t := range txts {
		// "v=DMARC1" must come first (RFC 7489 section 6.4).
		if k, val, ok := strings.Cut(strings.SplitN(t, ";", 2)[0], "="); ok &&
			strings.TrimSpace(k) == "v" && strings.TrimSpace(val) == "DMARC1" {
			recs = append(recs, t)
		}
	}
	if len(recs) != 1 {
		return nil, None
	}
	rec, err := dmarc.Parse(recs[0])
	if err != nil {
		v.log.Debug("senderauth: bad DMARC record", "domain", domain, "err", err)
		return nil, PermError
	}
	return rec, None
}
