package message

import (
	"errors"
	"fmt"
	"net/textproto"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
)

// Address fields (RFC 5322 section 3.4) are read here, from the raw field
// value, never from its RFC 2047 decoded form: the sender of a mail is the
// addr-spec between the angle brackets, or the bare addr-spec, and nothing
// else. A display name, a comment or an encoded word may show any text,
// including someone else's address, so none of them is ever read as an
// address (I6: a lenient reading that took "the first thing that looks like
// an address" let anyone write as anyone).

// Mailbox is one mailbox of an address field (RFC 5322 section 3.4).
type Mailbox struct {
	Name string // display name, RFC 2047 decoded; "" when none or unusable
	Addr string // the addr-spec as written, without CFWS, domain lower-cased
}

// Why a From field names no single sender. Parsed.FromErr wraps one of them.
var (
	ErrFromMissing  = errors.New("no From field")
	ErrFromNoAddr   = errors.New("no readable addr-spec")
	ErrFromSeveral  = errors.New("several addresses")
	ErrFromGroup    = errors.New("a group, not a mailbox")
	errUnterminated = errors.New("unterminated")
)

// maxAddrLen bounds an addr-spec: RFC 5321 4.5.3.1 allows 64 + 1 + 255
// octets; anything longer is no address a mail system uses.
const maxAddrLen = 320

// ParseSender reads the field values of From (or Sender): exactly one
// mailbox, or an error wrapping ErrFromMissing, ErrFromNoAddr,
// ErrFromSeveral or ErrFromGroup. values are the raw field values (RFC 2047
// not decoded), one per field present. problems lists what was repaired
// (a broken display name), the mailbox is still the sender.
func ParseSender(values []string) (m Mailbox, problems []string, err error) {
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return Mailbox{}, nil, ErrFromMissing
	case len(values) > 1:
		// RFC 5322 3.6: From appears once.
		return Mailbox{}, nil, fmt.Errorf("%d fields: %w", len(values), ErrFromSeveral)
	}
	l := ParseAddressList(values[0])
	switch {
	case l.Err != nil:
		return Mailbox{}, nil, fmt.Errorf("%w: %v", ErrFromNoAddr, l.Err)
	case l.Groups > 0:
		return Mailbox{}, nil, ErrFromGroup
	case len(l.Mailboxes)+len(l.Bad) > 1:
		return Mailbox{}, nil, fmt.Errorf("%d of them: %w", len(l.Mailboxes)+len(l.Bad), ErrFromSeveral)
	case len(l.Mailboxes) == 0:
		return Mailbox{}, nil, ErrFromNoAddr
	}
	return l.Mailboxes[0], l.Problems, nil
}

// AddressList is what one address field holds.
type AddressList struct {
	Mailboxes []Mailbox // every usable mailbox, group members included
	Groups    int       // groups seen (RFC 5322 3.4 group)
	Bad       []string  // elements that are no mailbox: skipped
	Problems  []string  // repairs made (broken display names)
	Err       error     // the field could not be split at all (unterminated quote, comment, <)
}

// ParseAddressList reads one raw address field value (RFC 5322 3.4
// address-list), leniently where that is safe: a broken display name is
// repaired or dropped, an element that is no mailbox is skipped and listed
// in Bad. An address is only ever taken from an angle-addr or a bare
// addr-spec. A quote, comment or angle bracket left open is an error: the
// field's structure is then unknown, and guessing it is how addresses get
// taken from display names.
func ParseAddressList(raw string) AddressList {
	var l AddressList
	toks, err := lex(raw)
	if err != nil {
		l.Err = err
		return l
	}
	var pending []token // a display-name fragment cut off by an unquoted comma
	for i := 0; i < len(toks); {
		j := i
		for j < len(toks) && !toks[j].is(',') && !toks[j].is(':') {
			j++
		}
		if j < len(toks) && toks[j].is(':') && !hasAngle(toks[i:j]) {
			// A group: display-name ":" [mailbox-list] ";" (RFC 5322 3.4).
			l.Groups++
			pending = nil
			k := j + 1
			for k < len(toks) && !toks[k].is(';') {
				k++
			}
			if k == len(toks) {
				l.Problems = append(l.Problems, "group without its closing ';'")
			}
			l.elements(toks[j+1:k], nil)
			i = k + 1
			continue
		}
		// An element ends at a comma outside the angle brackets (a ':'
		// after an angle-addr is junk inside the element).
		for j < len(toks) && !toks[j].is(',') {
			j++
		}
		pending = l.element(toks[i:j], pending)
		i = j + 1
	}
	if len(pending) > 0 {
		l.Bad = append(l.Bad, text(pending))
	}
	return l
}

// elements reads a comma-separated mailbox list (the members of a group).
func (l *AddressList) elements(toks []token, pending []token) {
	for i := 0; i <= len(toks); {
		j := i
		for j < len(toks) && !toks[j].is(',') {
			j++
		}
		pending = l.element(toks[i:j], pending)
		i = j + 1
	}
	if len(pending) > 0 {
		l.Bad = append(l.Bad, text(pending))
	}
}

// element reads one mailbox. pending is a phrase-only element before it
// ("Doe, John <j@x>": a display name with an unquoted comma); a phrase-only
// element is returned to become the next one's pending.
func (l *AddressList) element(el []token, pending []token) []token {
	var comment string
	var toks []token
	for _, t := range el {
		if t.kind == tComment {
			if comment == "" {
				comment = t.val
			}
			continue
		}
		toks = append(toks, t)
	}
	if len(toks) == 0 {
		return pending // an empty element (obs-addr-list ", ,") or a lone comment
	}
	angles := 0
	at := -1
	for i, t := range toks {
		if t.kind == tAngle {
			angles++
			at = i
		}
	}
	switch {
	case angles > 1:
		// Several angle-addrs, one display name: several addresses.
		for _, t := range toks {
			if t.kind == tAngle {
				l.Bad = append(l.Bad, t.raw)
			}
		}
		return nil
	case angles == 1:
		addr, ok := parseAddrSpec(toks[at].val)
		if !ok {
			l.Bad = append(l.Bad, text(append(pending, toks...)))
			return nil
		}
		phrase := toks[:at]
		if len(pending) > 0 {
			l.Problems = append(l.Problems, fmt.Sprintf("unquoted comma in the display name of <%s>", addr))
			phrase = append(append(append([]token{}, pending...), token{kind: tAtom, raw: ","}), phrase...)
		}
		if rest := toks[at+1:]; len(rest) > 0 {
			l.Problems = append(l.Problems, fmt.Sprintf("text after <%s> ignored: %q", addr, text(rest)))
		}
		l.Mailboxes = append(l.Mailboxes, Mailbox{Name: l.displayName(phrase, addr), Addr: addr})
		return nil
	}
	if len(pending) > 0 {
		// A phrase fragment not followed by an angle-addr: the fragment
		// was no display name.
		l.Bad = append(l.Bad, text(pending))
	}
	if addr, ok := parseAddrSpec(text(el)); ok {
		m := Mailbox{Addr: addr}
		if comment != "" {
			// The old form "addr (Name)": the comment is the name.
			m.Name = l.checkName(enmime.DecodeRFC2047(comment), addr)
		}
		l.Mailboxes = append(l.Mailboxes, m)
		return nil
	}
	if isPhrase(toks) {
		return toks
	}
	l.Bad = append(l.Bad, text(toks))
	return nil
}

// displayName decodes a phrase (RFC 5322 3.2.5, RFC 2047 encoded words); a
// phrase with specials in it is repaired and noted.
func (l *AddressList) displayName(phrase []token, addr string) string {
	if len(phrase) == 0 {
		return ""
	}
	var parts []string
	for _, t := range phrase {
		switch t.kind {
		case tQuoted:
			parts = append(parts, enmime.DecodeRFC2047(t.val))
		case tWord:
			parts = append(parts, enmime.DecodeRFC2047(t.raw))
		default:
			parts = append(parts, t.raw)
		}
	}
	if !isPhrase(phrase) {
		l.Problems = append(l.Problems, fmt.Sprintf("malformed display name of <%s>: read as text", addr))
	}
	// Adjacent encoded words join without the space between them (RFC 2047 6.2).
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && phrase[i].space && !(phrase[i].kind == tWord && phrase[i-1].kind == tWord) {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return l.checkName(strings.Join(strings.Fields(b.String()), " "), addr)
}

// looksLikeAddr finds something shaped like an address in a decoded name.
var looksLikeAddr = regexp.MustCompile(`[^\s<>()"',;:@]+@[^\s<>()"',;:@]+`)

// checkName drops a display name that shows an address other than the
// sender's: it is how impersonation is dressed up for the reader.
func (l *AddressList) checkName(name, addr string) string {
	for _, m := range looksLikeAddr.FindAllString(name, -1) {
		if !strings.EqualFold(strings.Trim(m, ".[]"), addr) {
			l.Problems = append(l.Problems, fmt.Sprintf("display name %q of <%s> shows another address: not used", name, addr))
			return ""
		}
	}
	return name
}

// parseAddrSpec checks and normalises an addr-spec (RFC 5322 3.4.1), possibly
// with CFWS and an obsolete route ("@a,@b:") as found between angle
// brackets. The local part is kept as written (quoted or not), the domain
// lower-cased.
func parseAddrSpec(s string) (string, bool) {
	toks, err := lex(s)
	if err != nil {
		return "", false
	}
	var t []token
	for _, x := range toks {
		if x.kind != tComment {
			t = append(t, x)
		}
	}
	// obs-route: "@domain,@domain:" before the addr-spec.
	if len(t) > 0 && t[0].is('@') {
		i := 0
		for i < len(t) && !t[i].is(':') {
			i++
		}
		if i == len(t) {
			return "", false
		}
		t = t[i+1:]
	}
	at := -1
	for i, x := range t {
		if x.is('@') {
			if at >= 0 {
				return "", false
			}
			at = i
		}
	}
	if at <= 0 || at != len(t)-2 {
		return "", false
	}
	var local strings.Builder
	for i, x := range t[:at] {
		if x.kind != tAtom && x.kind != tWord && x.kind != tQuoted {
			return "", false
		}
		// Words of a local part are joined by dots ("a . b" is obsolete
		// but valid), never by space alone: "alice smith@x" is no address.
		if i > 0 && !strings.HasSuffix(t[i-1].raw, ".") && !strings.HasPrefix(x.raw, ".") {
			return "", false
		}
		local.WriteString(x.raw)
	}
	lp := local.String()
	if len(t[:at]) == 1 && t[0].kind == tQuoted && isDotAtom(t[0].val) && !strings.Contains(t[0].raw, `\`) {
		lp = t[0].val // "joe"@x is joe@x (RFC 5321 4.1.2): one spelling
	}
	if !validLocal(lp) {
		return "", false
	}
	d := t[at+1]
	var domain string
	switch d.kind {
	case tAtom:
		if !validDomain(d.raw) {
			return "", false
		}
		domain = strings.ToLower(d.raw)
	case tLiteral:
		domain = d.raw
	default:
		return "", false
	}
	addr := lp + "@" + domain
	if len(addr) > maxAddrLen || !utf8.ValidString(addr) {
		return "", false
	}
	return addr, true
}

// validLocal: dot-atom, quoted strings, or the obsolete mix of both joined
// by dots (RFC 5322 3.4.1, 4.4). Consecutive dots (obs-local-part, still
// issued by some providers) are accepted.
func validLocal(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case !isAtext(c) && c != '.':
			return false
		}
	}
	return !inQuote
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) && s[i] != '.' {
			return false
		}
	}
	return true
}

// validDomain: dot-separated labels of letters, digits, '-' and '_'
// (RFC 5321 4.1.2, plus UTF-8 for RFC 6531 internationalised domains).
func validDomain(s string) bool {
	if s == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return false
			}
		}
	}
	return true
}

func hasAngle(toks []token) bool {
	for _, t := range toks {
		if t.kind == tAngle {
			return true
		}
	}
	return false
}

// isPhrase reports a valid display name: words only (RFC 5322 3.2.5, with
// the obsolete '.' in it).
func isPhrase(toks []token) bool {
	for _, t := range toks {
		if t.kind != tAtom && t.kind != tQuoted && t.kind != tWord && t.kind != tComment {
			return false
		}
	}
	return true
}

func text(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 && t.space {
			b.WriteByte(' ')
		}
		b.WriteString(t.raw)
	}
	return b.String()
}

type tokKind uint8

const (
	tAtom    tokKind = iota // atext and '.', UTF-8 included (RFC 6532)
	tWord                   // an RFC 2047 encoded word
	tQuoted                 // quoted-string; val unescaped
	tComment                // comment; val is its text
	tAngle                  // "<...>"; val is what is between
	tLiteral                // domain literal "[...]"
	tSpecial                // any other special: , : ; @ > ] ) \
)

type token struct {
	kind  tokKind
	raw   string // as written
	val   string
	space bool // whitespace before it
}

func (t token) is(c byte) bool { return t.kind == tSpecial && t.raw == string(c) }

// encodedWordToken is an RFC 2047 encoded word as one token, so that a ':' or
// ',' in it is never read as structure. It may not hold what opens or
// closes a quote, comment or angle-addr: those keep their RFC 5322 meaning,
// or "=?x?q?\"?= <a@b>" would read differently here and in any other parser.
var encodedWordToken = regexp.MustCompile(`^=\?[^?\s"()<>\\]+\?[bBqQ]\?[^?\s"()<>\\]*\?=`)

// lex splits a field value into RFC 5322 lexical tokens. Quoted strings,
// comments (nested), angle-addrs and domain literals are single tokens, so
// what is inside them is never read as structure.
func lex(s string) ([]token, error) {
	var out []token
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			space = true
			i++
			continue
		case c == '"':
			end, val, ok := quoted(s, i)
			if !ok {
				return nil, fmt.Errorf("quoted string %w", errUnterminated)
			}
			out = append(out, token{kind: tQuoted, raw: s[i:end], val: val, space: space})
			i = end
		case c == '(':
			end, ok := comment(s, i)
			if !ok {
				return nil, fmt.Errorf("comment %w", errUnterminated)
			}
			out = append(out, token{kind: tComment, raw: s[i:end], val: s[i+1 : end-1], space: space})
			i = end
		case c == '<':
			end, ok := angle(s, i)
			if !ok {
				return nil, fmt.Errorf("'<' %w", errUnterminated)
			}
			out = append(out, token{kind: tAngle, raw: s[i:end], val: s[i+1 : end-1], space: space})
			i = end
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 || strings.ContainsAny(s[i+1:i+end], "[\\") {
				return nil, fmt.Errorf("domain literal %w", errUnterminated)
			}
			out = append(out, token{kind: tLiteral, raw: s[i : i+end+1], val: s[i+1 : i+end], space: space})
			i += end + 1
		case c == '=' && encodedWordToken.MatchString(s[i:]):
			w := encodedWordToken.FindString(s[i:])
			out = append(out, token{kind: tWord, raw: w, space: space})
			i += len(w)
		case isAtext(c) || c == '.':
			j := i
			for j < len(s) && (isAtext(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{kind: tAtom, raw: s[i:j], space: space})
			i = j
		default:
			out = append(out, token{kind: tSpecial, raw: s[i : i+1], space: space})
			i++
		}
		space = false
	}
	return out, nil
}

// quoted returns the end of the quoted-string starting at s[i] and its
// unescaped content.
func quoted(s string, i int) (int, string, bool) {
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if j+1 < len(s) {
				j++
				b.WriteByte(s[j])
			}
		case '"':
			return j + 1, b.String(), true
		default:
			b.WriteByte(s[j])
		}
	}
	return 0, "", false
}

// comment returns the end of the (nested) comment starting at s[i].
func comment(s string, i int) (int, bool) {
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// angle returns the end of the angle-addr starting at s[i]; a '>' inside a
// quoted local part or a comment does not end it.
func angle(s string, i int) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '"':
			end, _, ok := quoted(s, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '(':
			end, ok := comment(s, j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '>':
			return j + 1, true
		}
	}
	return 0, false
}

// isAtext: RFC 5322 3.2.3 atext, with UTF-8 bytes (RFC 6532 3.2).
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// readAddresses fills the address fields of p from the raw (not RFC 2047
// decoded) header fields of env: From must be one mailbox (else FromErr
// says why and From stays empty); Sender, To, Cc and Reply-To keep their
// valid addr-specs, what is not one is skipped and listed in Problems.
func (p *Parsed) readAddresses(env *enmime.Envelope) {
	var raw textproto.MIMEHeader
	if env.Root != nil {
		raw = env.Root.Header
	}
	m, problems, err := ParseSender(raw.Values("From"))
	p.Problems = append(p.Problems, problems...)
	if err != nil {
		p.FromErr = err
		p.problemf("no usable From address: %v", err)
	} else {
		p.From, p.FromName = m.Addr, m.Name
	}
	if v := raw.Values("Sender"); len(v) > 0 {
		if m, problems, err := ParseSender(v); err != nil {
			p.problemf("Sender field unusable: %v", err)
		} else {
			p.Problems = append(p.Problems, problems...)
			p.Sender = m.Addr
		}
	}
	p.To = p.addrList(raw, "To")
	p.Cc = p.addrList(raw, "Cc")
	if rt := p.addrList(raw, "Reply-To"); len(rt) > 0 {
		p.ReplyTo = rt
	}
}

// addrList reads every field called name: the addr-specs, and a problem for
// each element that is none (such an address never becomes a watcher).
func (p *Parsed) addrList(raw textproto.MIMEHeader, name string) []string {
	out := []string{}
	for _, v := range raw.Values(name) {
		l := ParseAddressList(v)
		if l.Err != nil {
			p.problemf("malformed %s %q (%v): no address read from it", name, v, l.Err)
			continue
		}
		p.Problems = append(p.Problems, l.Problems...)
		for _, b := range l.Bad {
			p.problemf("%s: %q is no address (RFC 5322 3.4): skipped", name, b)
		}
		for _, m := range l.Mailboxes {
			out = append(out, m.Addr)
		}
	}
	return out
}
