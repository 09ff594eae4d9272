// Package message reads one inbound mail: it parses raw RFC 5322 / MIME
// bytes with enmime into a Parsed value (what "casemail parse --json"
// prints) and classifies it as normal mail, an auto-reply (RFC 3834, and
// other automatic mail: read receipts, calendar replies, challenges), a
// bounce (RFC 3464 DSN, one of the common non-standard formats, or a
// feedback-loop complaint) or list mail (RFC 2369 / RFC 2919), so that
// ingest never answers machines (I5).
//
// Parse never panics on malformed input: whatever was wrong is read as well
// as possible and described in Parsed.Problems. Only input that is not a mail
// at all (empty, or no header field at the start) is an error.
//
// RFCs followed: RFC 5322 (message format, 998-byte line limit), RFC 2045-2049
// (MIME), RFC 2047 (encoded words), RFC 2231 (parameter values), RFC 3834
// (Auto-Submitted), RFC 3464 / RFC 3463 (delivery status notifications and
// status codes), RFC 6522 (multipart/report), RFC 5965 (feedback reports),
// RFC 8098 (disposition notifications), RFC 6047 (iMIP), RFC 2369 / RFC 2919
// (list headers).
//
// Rules: see docs/rules.md
package message

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/htmlindex"
)

// Kind is what a mail is, for ingest's purposes (I5).
type Kind string

const (
	KindNormal    Kind = "normal"
	KindAutoReply Kind = "auto_reply"
	KindBounce    Kind = "bounce"
	KindList      Kind = "list"
)

// Parsed is what casemail reads in a mail. The JSON tags are the public
// contract of "casemail parse --json" (every --json output is stable, README).
type Parsed struct {
	From        string       `json:"from"` // bare address, domain lower-cased
	FromName    string       `json:"from_name,omitempty"`
	To          []string     `json:"to"`
	Cc          []string     `json:"cc"`
	ReplyTo     []string     `json:"reply_to,omitempty"`
	Subject     string       `json:"subject"`     // RFC 2047 decoded
	MessageID   string       `json:"message_id"`  // without <>, "" if missing
	InReplyTo   string       `json:"in_reply_to"` // first msg-id, without <>
	References  []string     `json:"references"`
	Date        string       `json:"date"` // RFC 3339, "" if missing or unparseable
	Text        string       `json:"text"` // text part, or the HTML as text when there is none
	ReplyText   string       `json:"reply_text"`
	HTML        string       `json:"html"`
	Attachments []Attachment `json:"attachments"`
	Kind        Kind         `json:"kind"`
	Bounce      *Bounce      `json:"bounce,omitempty"`
	Problems    []string     `json:"problems"`

	// FromErr says why From names no single sender (several addresses, a
	// group, no addr-spec); From is then "". Ingest quarantines such a
	// mail (I6).
	FromErr error `json:"-"`
	// Sender is the addr-spec of the Sender field, "" when absent or
	// unusable. It is never the sender of the mail: From is.
	Sender string `json:"-"`

	// Locale is the first language tag of Content-Language, else of
	// Accept-Language ("fr", "en-GB"), "" when neither is present. It is a
	// hint for which template language to answer in.
	Locale string `json:"-"`

	header textproto.MIMEHeader // top-level header, values RFC 2047 decoded
}

// Attachment is one non-body part: an attachment, an inline part with a
// name, or a nested message/rfc822.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"` // decoded size in bytes
	Content     []byte `json:"-"`    // nil when over Options.MaxAttachmentBytes
	Inline      bool   `json:"-"`    // Content-Disposition: inline
	ContentID   string `json:"-"`    // for cid: links in the HTML
}

// Options tune Parse.
type Options struct {
	// MaxAttachmentBytes caps the content kept per attachment; a larger
	// attachment keeps its name and size but not its content, and a problem
	// says so. 0 means no cap.
	MaxAttachmentBytes int64
	// CharsetDetection turns enmime's charset guessing on for parts that
	// declare a charset. Parts that declare none are always guessed. Off is
	// the right default, see parser below.
	CharsetDetection bool
	// MailFrom is the SMTP envelope sender when the caller knows it ("" or
	// "<>" for the null sender): the mail is classified as ClassifyEnvelope
	// would. nil: unknown, as Classify.
	MailFrom *string
}

// ErrNotMail is returned by Parse for input that is not a mail at all.
var ErrNotMail = errors.New("not a mail")

// Header returns the first value of a top-level header field, RFC 2047
// decoded, "" when absent.
func (p *Parsed) Header(name string) string {
	if p.header == nil {
		return ""
	}
	return p.header.Get(name)
}

// HeaderValues returns every value of a top-level header field.
func (p *Parsed) HeaderValues(name string) []string {
	if p.header == nil {
		return nil
	}
	return p.header.Values(name)
}

// The parsers are built once: enmime.Parser is read-only after NewParser.
//
// Charset detection is off for parts that declare a charset. Measured on
// the 536 mail files of testdata/corpora
// (TestCharsetDetectionChoice): the decoded text differs in 3. In two the
// sender mislabelled the charset (UTF-8 and Big5 sent as Latin-1) and
// detection was right; in one (chardet-detection.raw, declared correctly)
// detection was wrong and turned "ö" into "Ã¶". The mislabelled cases are
// the sender's error and rare; a correctly declared UTF-8 body garbled is
// ours, and detection costs over half of enmime's CPU (BenchmarkParse:
// 2-3x faster without it). Parts that declare no charset (or US-ASCII)
// are UTF-8 when they are valid UTF-8, else detected: see charset.go.
var (
	parserTrust = enmime.NewParser(enmime.DisableCharacterDetection(true), enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
		enmime.SetCustomParseMediaType(parseMediaType))
	parserDetect = enmime.NewParser(enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
		enmime.SetCustomParseMediaType(parseMediaType))
)

// maxLineLen is RFC 5322 section 2.1.1's limit, excluding CRLF.
const maxLineLen = 998

// fieldLine matches the start of a header field: RFC 5322 section 2.2,
// field-name is printable ASCII except ':'.
var fieldLine = regexp.MustCompile(`^[!-9;-~]+[ \t]*:`)

// Parse reads a raw mail. It returns ErrNotMail (wrapped) only for input
// with no header at all: empty or whitespace-only input, or input whose
// first line is not a header field (binary garbage, a bare text file).
// Everything else is read as well as possible, and what was malformed is
// listed in Problems. Kind and Bounce are filled by classifying the mail
// with opt.MailFrom, the envelope sender when the caller knows it. A mail
// over MaxInMemoryParse, or whose MIME structure is over enmime's budget,
// is read by ParseLarge instead (limits.go).
func Parse(raw []byte, opt Options) (*Parsed, error) {
	if len(raw) > MaxInMemoryParse {
		return ParseLarge(bytes.NewReader(raw), opt) // limits.go
	}
	return parse(raw, opt, 0)
}

// maxNestedBody bounds how deep parse looks for the text of a mail whose
// whole body is a message/rfc822 (a message forwarded as the body).
const maxNestedBody = 3

func parse(raw []byte, opt Options, depth int) (*Parsed, error) {
	p := newParsed()

	hdr, body, err := p.prepare(raw)
	if err != nil {
		return nil, err
	}
	if why := overBudget(bodyOf(hdr, body)); why != "" {
		return parseBounded(raw, opt, why) // limits.go: enmime's cost is not linear
	}
	parser := parserTrust
	if opt.CharsetDetection {
		parser = parserDetect
	}
	env, err := readEnvelope(parser, readerOf(hdr, body))
	if err != nil {
		// enmime gives up on a few structural errors (a multipart without a
		// usable boundary); read the body as one text part instead.
		p.problemf("MIME structure unreadable (%v): body read as plain text", err)
		env, err = readEnvelope(parser, plainTextReader(hdr, body))
		if err != nil {
			return nil, fmt.Errorf("read as plain text: %w", err)
		}
	} else if lostBody(env) {
		// A multipart whose boundary never matches (a boundary over
		// RFC 2046's 70 characters, a mangled one): enmime returns no
		// part at all, and the customer's text would be lost.
		p.problemf("no MIME part found in the multipart body: body read as plain text")
		if e, err := readEnvelope(parser, plainTextReader(hdr, body)); err == nil {
			env = e
		}
	}
	p.fill(env, opt)
	if p.Text == "" && p.HTML == "" && env.Root.ContentType == "message/rfc822" && depth < maxNestedBody {
		// The whole body is a message: its text is what was sent.
		if inner, err := parse(env.Root.Content, Options{MaxAttachmentBytes: opt.MaxAttachmentBytes}, depth+1); err == nil {
			p.Text, p.HTML = inner.Text, inner.HTML
		}
	}
	classify(p, opt.MailFrom)
	return p, nil
}

// readEnvelope reads the MIME parts, applies fixTree (RFC 2045 5.2
// defaults, undeclared charsets) and builds the envelope from them.
func readEnvelope(parser *enmime.Parser, r *bytes.Reader) (*enmime.Envelope, error) {
	root, err := parser.ReadParts(r)
	if err != nil {
		return nil, err
	}
	fixTree(root)
	return parser.EnvelopeFromPart(root)
}

// lostBody reports a multipart mail in which enmime found no part while
// its body holds text.
func lostBody(env *enmime.Envelope) bool {
	r := env.Root
	return strings.HasPrefix(r.ContentType, "multipart/") && r.FirstChild == nil &&
		env.Text == "" && env.HTML == "" && len(env.Attachments)+len(env.Inlines)+len(env.OtherParts) == 0
}

// plainTextReader is the mail with Content-Type removed from its header
// (only there: the body is kept as it is), so that the body reads as
// one text/plain part.
func plainTextReader(hdr, body []byte) *bytes.Reader {
	if body == nil {
		end := headerEnd(hdr)
		hdr, body = hdr[:end], hdr[end:]
	}
	return readerOf(stripContentType(hdr), body)
}

func readerOf(hdr, body []byte) *bytes.Reader {
	// Two slices joined only here, so the body is not copied for the
	// common case where the header needed no repair.
	if len(body) == 0 {
		return bytes.NewReader(hdr)
	}
	if len(hdr) == 0 {
		return bytes.NewReader(body)
	}
	b := make([]byte, 0, len(hdr)+len(body))
	b = append(append(b, hdr...), body...)
	return bytes.NewReader(b)
}

// prepare finds the header section, repairs what enmime would trip over and
// records it. hdr and body together are the message to parse; when the
// header needed no repair, hdr is raw and body is nil (no copy).
func (p *Parsed) prepare(raw []byte) (hdr, body []byte, err error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, nil, fmt.Errorf("empty input: %w", ErrNotMail)
	}
	if len(trimmed) != len(raw) {
		p.problemf("leading whitespace before the header removed")
	}
	// An mbox "From " separator line (RFC 4155) is not a header field.
	if bytes.HasPrefix(trimmed, []byte("From ")) {
		if i := bytes.IndexByte(trimmed, '\n'); i >= 0 {
			trimmed = trimmed[i+1:]
			p.problemf("mbox \"From \" line before the header removed")
		}
	}
	if loneCRHeader(trimmed) {
		trimmed = crToCRLF(trimmed)
		p.problemf("bare CR line ends (classic Mac OS or mixed); read as CRLF")
	}
	first := trimmed
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if !fieldLine.Match(first) {
		return nil, nil, fmt.Errorf("first line is not a header field: %w", ErrNotMail)
	}

	end := headerEnd(trimmed)
	h := trimmed[:end]
	repaired := false
	if c, problems := capHeader(h); c != nil { // limits.go
		h, repaired = c, true
		p.Problems = append(p.Problems, problems...)
	}

	if n := bytes.Count(trimmed, []byte{0}); n > 0 {
		p.problemf("%d NUL byte(s) in the message; removed from the header", n)
		if bytes.IndexByte(h, 0) >= 0 {
			h = bytes.ReplaceAll(h, []byte{0}, nil)
			repaired = true
		}
	}
	if fixed, n := repairStrayLines(h); n > 0 {
		h, repaired = fixed, true
		p.problemf("%d header line(s) neither a field nor a continuation: kept as text", n)
	}
	if long := longLines(h); long > 0 {
		p.problemf("%d header line(s) longer than %d bytes (RFC 5322 2.1.1); read anyway", long, maxLineLen)
	}
	if !isASCII(h) {
		if utf8.Valid(h) {
			p.problemf("8-bit header bytes (not RFC 2047 encoded); read as UTF-8")
		} else {
			cs := headerCharset(h)
			h = decodeHeader8bit(h, cs)
			repaired = true
			p.problemf("8-bit header bytes (not RFC 2047 encoded, not UTF-8); lines that are not UTF-8 read as %s", cs)
		}
	}
	if !repaired {
		return trimmed, nil, nil
	}
	return h, trimmed[end:], nil
}

// headerEnd returns the offset just past the blank line ending the header,
// or len(b) when there is no body.
func headerEnd(b []byte) int {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return len(b)
		}
		line := bytes.TrimRight(b[i:i+j], "\r")
		i += j + 1
		if len(line) == 0 {
			return i
		}
	}
	return len(b)
}

func longLines(h []byte) int {
	n := 0
	for _, l := range bytes.Split(h, []byte("\n")) {
		if len(bytes.TrimRight(l, "\r")) > maxLineLen {
			n++
		}
	}
	return n
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

var ctCharset = regexp.MustCompile(`(?im)^content-type:.*(?:\r?\n[ \t].*)*?charset\s*=\s*"?([A-Za-z0-9_.:+-]+)`)

// headerCharset guesses the charset of raw 8-bit header bytes: senders that
// do this usually use the body's charset; otherwise windows-1252, the
// superset of Latin-1 that mail from Western Europe uses.
func headerCharset(h []byte) string {
	if m := ctCharset.FindSubmatch(h); m != nil {
		name := strings.ToLower(string(m[1]))
		if name != "us-ascii" && name != "utf-8" && name != "utf8" {
			if _, err := htmlindex.Get(name); err == nil {
				return name
			}
		}
	}
	return "windows-1252"
}

var ctHeader = regexp.MustCompile(`(?im)^content-type:.*(?:\r?\n[ \t].*)*\r?\n?`)

func stripContentType(h []byte) []byte {
	return ctHeader.ReplaceAll(h, nil)
}

func (p *Parsed) problemf(format string, args ...any) {
	p.Problems = append(p.Problems, fmt.Sprintf(format, args...))
}

// newParsed returns an empty Parsed whose lists are empty, not nil (the
// JSON contract prints [] rather than null).
func newParsed() *Parsed {
	return &Parsed{To: []string{}, Cc: []string{}, References: []string{}, Attachments: []Attachment{}, Problems: []string{}}
}

// fill copies the envelope's fields into p.
func (p *Parsed) fill(env *enmime.Envelope, opt Options) {
	p.fillHeader(env)
	p.Text = env.Text
	p.HTML = env.HTML
	p.attachments(env, opt)
	p.envErrors(env)
}

// fillHeader reads the top-level header fields. Both Parse and ParseLarge
// use it, so a mail reads the same whatever its size.
func (p *Parsed) fillHeader(env *enmime.Envelope) {
	// Address fields: a character split across encoded words is joined
	// before enmime's address parser decodes the words one by one.
	for _, k := range []string{"From", "To", "Cc", "Reply-To", "Sender"} {
		for i, v := range env.Root.Header[k] {
			env.Root.Header[k][i] = mergeWords(v)
		}
	}
	// Values are decoded here rather than by enmime: decodeWords joins
	// encoded words that split a character (header.go).
	p.header = textproto.MIMEHeader{}
	for k, vs := range env.Root.Header {
		if slices.ContainsFunc(vs, func(v string) bool { return strings.Contains(v, "=?") }) {
			d := make([]string, len(vs))
			for i, v := range vs {
				d[i] = decodeWords(v)
			}
			vs = d
		}
		p.header[textproto.CanonicalMIMEHeaderKey(k)] = vs
	}

	p.readAddresses(env) // from.go: addresses only from addr-specs (I6)
	p.Subject = strings.TrimSpace(p.header.Get("Subject"))

	ids := msgIDs(env.GetHeader("Message-Id"))
	switch {
	case len(ids) > 0:
		p.MessageID = ids[0]
	case env.GetHeader("Message-Id") != "":
		p.MessageID = strings.TrimSpace(env.GetHeader("Message-Id"))
		p.problemf("Message-ID without <>: read as %q", p.MessageID)
	default:
		p.problemf("no Message-ID")
	}
	if irt := msgIDs(env.GetHeader("In-Reply-To")); len(irt) > 0 {
		p.InReplyTo = irt[0]
	}
	p.References = msgIDs(strings.Join(env.GetHeaderValues("References"), " "))

	if d := env.GetHeader("Date"); d != "" {
		if t, err := parseDate(d); err == nil {
			p.Date = t.Format(time.RFC3339)
		} else {
			p.problemf("unparseable Date %q: left empty", d)
		}
	}

	p.Locale = firstLang(env.GetHeader("Content-Language"))
	if p.Locale == "" {
		p.Locale = firstLang(env.GetHeader("Accept-Language"))
	}

}

// envErrors adds enmime's parse errors to Problems, but for the two that
// are no defect.
func (p *Parsed) envErrors(env *enmime.Envelope) {
	for _, e := range env.Errors {
		if e.Name == enmime.ErrorPlainTextFromHTML && !e.Severe {
			continue // expected for HTML-only mail, not a defect
		}
		if e.Name == enmime.ErrorMissingRecipient {
			continue
		}
		p.Problems = append(p.Problems, e.Error())
	}
}

var addrSpec = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?`)

var msgIDRe = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDs returns the msg-ids (RFC 5322 3.6.4) in v without their <>.
func msgIDs(v string) []string {
	out := []string{}
	for _, m := range msgIDRe.FindAllStringSubmatch(v, -1) {
		out = append(out, m[1])
	}
	return out
}

var extraDateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04 -0700",
	time.RFC3339,
}

func parseDate(s string) (time.Time, error) {
	t, err := mail.ParseDate(s)
	if err == nil {
		return t, nil
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range extraDateLayouts {
		if t, e := time.Parse(l, s); e == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

func firstLang(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// attachments lists every part that is not the text or HTML body:
// attachments, inline parts (images), other parts (message/rfc822,
// message/delivery-status, ...).
func (p *Parsed) attachments(env *enmime.Envelope, opt Options) {
	seen := map[*enmime.Part]bool{}
	add := func(part *enmime.Part) {
		if seen[part] {
			return
		}
		seen[part] = true
		if part.Disposition == "inline" && part.FileName == "" &&
			(part.ContentType == "text/plain" || part.ContentType == "text/html") {
			return // an inline body part, already in Text / HTML
		}
		a := Attachment{
			Filename:    part.FileName,
			ContentType: part.ContentType,
			Size:        int64(len(part.Content)),
			Inline:      part.Disposition == "inline",
			ContentID:   part.ContentID,
		}
		if a.ContentType == "" {
			a.ContentType = "application/octet-stream"
		}
		if opt.MaxAttachmentBytes > 0 && a.Size > opt.MaxAttachmentBytes {
			p.problemf("attachment %q (%d bytes) over the %d-byte cap: content dropped", a.Filename, a.Size, opt.MaxAttachmentBytes)
		} else {
			a.Content = part.Content
		}
		p.Attachments = append(p.Attachments, a)
	}
	for _, part := range env.Attachments {
		add(part)
	}
	for _, part := range env.Inlines {
		add(part)
	}
	for _, part := range env.OtherParts {
		add(part)
	}
}
