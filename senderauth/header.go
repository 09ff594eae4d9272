package senderauth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// field is one header field, in message order (topmost first), with its
// value unfolded.
type field struct {
	key   string // canonical, e.g. "Authentication-Results"
	value string
}

// readFields reads the header block of raw (a whole message, or only its
// header). A header without the blank line that ends it is accepted.
func readFields(raw []byte) ([]field, error) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("senderauth: reading header: %w", err)
	}
	var fs []field
	for it := h.Fields(); it.Next(); {
		fs = append(fs, field{key: it.Key(), value: unfold(it.Value())})
	}
	return fs, nil
}

func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "")
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", ""))
}

// normDomain lower-cases a domain, drops a trailing dot and turns U-labels
// into A-labels, so that "Exämple.TEST." and "xn--exmple-cua.test" compare
// equal. It returns "" for something that is not a domain.
func normDomain(d string) string {
	d = strings.TrimSuffix(strings.TrimSpace(d), ".")
	if d == "" {
		return ""
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		// Not IDNA-valid; keep the lower-cased ASCII form so that a
		// comparison can still fail cleanly.
		return strings.ToLower(d)
	}
	return strings.ToLower(a)
}

// orgDomain is the organizational domain of RFC 7489 section 3.2: the
// public suffix plus one label.
func orgDomain(d string) string {
	o, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return o
}

// relaxedAligned: both domains share an organizational domain
// (RFC 7489 section 3.1).
func relaxedAligned(a, b string) bool {
	a, b = normDomain(a), normDomain(b)
	return a != "" && b != "" && orgDomain(a) == orgDomain(b)
}

func strictAligned(a, b string) bool {
	a, b = normDomain(a), normDomain(b)
	return a != "" && a == b
}

// fromDomain returns the domain of the mail's single author. A mail with no
// From field, several From fields or several addresses in it has no
// DMARC identity (RFC 7489 section 6.6.1): the error says which.
func fromDomain(fs []field) (string, error) {
	var values []string
	for _, f := range fs {
		if f.key == "From" {
			values = append(values, f.value)
		}
	}
	switch len(values) {
	case 0:
		return "", errors.New("no From field")
	case 1:
	default:
		return "", fmt.Errorf("%d From fields", len(values))
	}
	addrs, err := mail.ParseAddressList(values[0])
	if err != nil {
		return "", fmt.Errorf("From %q: %w", values[0], err)
	}
	if len(addrs) != 1 {
		return "", fmt.Errorf("From has %d addresses", len(addrs))
	}
	return addrDomain(addrs[0].Address)
}

func addrDomain(addr string) (string, error) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", fmt.Errorf("address %q has no domain", addr)
	}
	d := normDomain(addr[i+1:])
	if d == "" {
		return "", fmt.Errorf("address %q has no domain", addr)
	}
	return d, nil
}

// tags parses a DKIM tag list ("v=1; a=rsa-sha256; d=x"), RFC 6376
// section 3.2. Whitespace is removed from values, as every tag we read
// (d, s, h, l, c) may not contain any.
func tags(s string) map[string]string {
	m := make(map[string]string)
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, dup := m[k]; dup {
			continue
		}
		m[k] = strings.Join(strings.Fields(v), "")
	}
	return m
}

// singletons are the fields RFC 5322 section 3.6 allows at most once. A
// signature that covers one of them must cover every instance, or the
// copy a mail reader displays may be the unsigned one.
var singletons = map[string]bool{
	"date": true, "from": true, "sender": true, "reply-to": true, "to": true,
	"cc": true, "bcc": true, "message-id": true, "in-reply-to": true,
	"references": true, "subject": true,
}

// uncoveredSingleton returns the first singleton field that h= lists but
// that the header carries more often than h= lists it, or "".
func uncoveredSingleton(fs []field, signed []string) string {
	listed := make(map[string]int)
	for _, k := range signed {
		k = strings.ToLower(strings.TrimSpace(k))
		if singletons[k] {
			listed[k]++
		}
	}
	present := make(map[string]int)
	for _, f := range fs {
		present[strings.ToLower(f.key)]++
	}
	for _, k := range signed {
		k = strings.ToLower(strings.TrimSpace(k))
		if singletons[k] && present[k] > listed[k] {
			return k
		}
	}
	return ""
}
