package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	gomsg "github.com/emersion/go-message"
	gotextproto "github.com/emersion/go-message/textproto"
	"github.com/inbucket/html2text"
	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
)

// Bounds of the streaming path. Together they cap what ParseLarge holds,
// whatever the size of the mail (issue 6: a 25 MB attachment must be
// received in 64 MB of RSS).
const (
	// LargeHeaderMax is the most of the header section read into memory
	// (go-message's default limit too); what follows is read as body.
	LargeHeaderMax = 1 << 20
	// LargeTextMax caps the decoded text kept for each of Text and HTML.
	LargeTextMax = 4 << 20
	// largeKeepMax is the total attachment content kept: enough for the
	// small parts the bounce detector reads (message/delivery-status,
	// returned headers), not for files.
	largeKeepMax = 1 << 20
)

// ParseLarge reads a mail from r as a stream: the result has the same
// fields as Parse, but memory stays bounded by the limits above instead of
// growing with the mail. The header fields are read exactly as Parse reads
// them; the MIME tree (RFC 2045, RFC 2046) is walked with go-message, the
// text and HTML bodies are decoded up to LargeTextMax each (a problem says
// when one was cut), and attachments are decoded only to count their size:
// their content is kept only while small (a problem says "content kept in
// the raw message only" otherwise). r is read to its end.
//
// Like Parse it never panics, returns ErrNotMail (wrapped) only for input
// with no header at all, and lists what was malformed in Problems. A read
// error from r ends the walk with a problem; callers that read from storage
// should check their own read error.
func ParseLarge(r io.Reader, opt Options) (*Parsed, error) {
	p := newParsed()
	br := bufio.NewReaderSize(r, 64<<10)
	head, cut, err := readHeaderSection(br)
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	hdr, rest, err := p.prepare(head)
	if err != nil {
		return nil, err
	}
	// prepare's repairs (bare CR line ends, a header without its blank
	// line) can move the end of the header: what follows it is body.
	var body io.Reader = br
	if rest != nil {
		hdr = append(hdr, rest...)
	}
	if end := headerEnd(hdr); end < len(hdr) {
		body = io.MultiReader(bytes.NewReader(hdr[end:]), br)
		hdr = hdr[:end]
	}
	if cut {
		p.problemf("header section over %d bytes: the rest read as body", LargeHeaderMax)
	}

	// The header fields go through enmime as in Parse, without the body
	// and with Content-Type renamed, so that enmime reads no MIME
	// structure but joins continuation lines exactly as Parse does.
	env, err := readEnvelope(parserTrust, bytes.NewReader(append(ctFieldName.ReplaceAll(hdr, []byte(hiddenCT+":")), '\r', '\n')))
	if err != nil {
		return nil, fmt.Errorf("read header fields: %w", err)
	}
	p.fillHeader(env)
	p.envErrors(env)
	if v := p.header[hiddenCT]; len(v) > 0 {
		p.header["Content-Type"] = v
	}
	delete(p.header, hiddenCT)

	// The raw MIME fields, for the walk.
	mime, _ := enmime.ReadHeader(bufio.NewReader(bytes.NewReader(hdr)), discardErrors{})

	w := &walker{p: p, opt: opt, keep: largeKeepMax}
	top := gotextproto.Header{}
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-Id"} {
		if v := mime.Get(k); v != "" {
			top.Set(k, v)
		}
	}
	ct, _ := w.mediaType(top.Get("Content-Type"))
	w.alternative = ct == "multipart/alternative"
	w.entity(top, body, 0)
	if w.guard != nil && w.guard.cut {
		p.problemf("a part header over %d lines or %d bytes: the rest of the mail kept in the raw message only", MaxHeaderFields, MaxPartHeaderBytes)
	}
	// Whatever follows the MIME structure (an epilogue, or what was left
	// after a structural error) is read, not parsed.
	if _, err := io.Copy(io.Discard, br); err != nil {
		p.problemf("reading the message: %v", err)
	}

	p.Text = strings.Join(w.texts, "\n--\n")
	p.HTML = w.html
	if p.Text == "" && p.HTML == "" && ct == "message/rfc822" && len(p.Attachments) == 1 && p.Attachments[0].Content != nil {
		// The whole body is a message (kept, so at most largeKeepMax):
		// its text is what was sent, as in Parse.
		if inner, err := parse(p.Attachments[0].Content, Options{MaxAttachmentBytes: opt.MaxAttachmentBytes}, 1); err == nil {
			p.Text, p.HTML = inner.Text, inner.HTML
		}
	}
	if p.Text == "" && p.HTML != "" {
		// As enmime does for an HTML-only mail (same library, same options).
		if t, err := html2text.FromString(p.HTML); err == nil {
			p.Text = t
		} else {
			p.problemf("HTML body not converted to text: %v", err)
		}
	}
	classify(p, opt.MailFrom)
	return p, nil
}

// hiddenCT is the name Content-Type is given while enmime reads the header
// fields of a large mail.
const hiddenCT = "X-Casemail-Hidden-Content-Type"

var ctFieldName = regexp.MustCompile(`(?im)^content-type[ \t]*:`)

// readHeaderSection reads the header section: leading blank lines and
// whitespace (which prepare reports), then lines up to and including the
// first empty one. cut is true when LargeHeaderMax was reached first.
func readHeaderSection(br *bufio.Reader) (head []byte, cut bool, err error) {
	var b bytes.Buffer
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return b.Bytes(), false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			br.UnreadByte()
			break
		}
		if b.Len() >= LargeHeaderMax {
			return b.Bytes(), true, nil
		}
		b.WriteByte(c)
	}
	for {
		line, err := br.ReadSlice('\n')
		b.Write(line)
		if err == io.EOF {
			return b.Bytes(), false, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, false, err
		}
		if b.Len() >= LargeHeaderMax {
			return b.Bytes(), true, nil
		}
		// A line is complete when ReadSlice found its '\n'.
		if err == nil && len(bytes.TrimRight(line, "\r\n")) == 0 && lineStart(b.Bytes(), len(line)) {
			return b.Bytes(), false, nil
		}
	}
}

// lineStart reports whether the last n bytes of b begin a line: the byte
// before them is a '\n' (or they are all of b). A long line arrives in
// several ReadSlice pieces; only the first starts a line.
func lineStart(b []byte, n int) bool {
	i := len(b) - n
	return i == 0 || b[i-1] == '\n'
}

type discardErrors struct{}

func (discardErrors) AddError(string, string, ...any)   {}
func (discardErrors) AddWarning(string, string, ...any) {}

// walker visits the MIME tree depth first and fills what ParseLarge keeps.
type walker struct {
	p           *Parsed
	opt         Options
	alternative bool     // the root is multipart/alternative: the first text part only
	texts       []string // text/plain bodies, joined as enmime joins them
	textBytes   int
	html        string
	keep        int64 // attachment content still allowed in memory
	stopped     bool  // a structural error or a bound ended the walk
	parts       int   // parts seen, up to MaxParts
	guard       *partHeaderGuard
	// digest[d] is true while the parts at depth d are in a
	// multipart/digest (their default type is message/rfc822).
	digest [MaxDepth + 2]bool
}

// mediaType parses a Content-Type or Content-Disposition value leniently,
// as enmime does; the type is lower-cased, "" when unreadable.
func (w *walker) mediaType(v string) (string, map[string]string) {
	if v == "" {
		return "", map[string]string{}
	}
	if b, cut := boundMIMEField(v); cut {
		w.p.problemf("Content-Type/Disposition over %d parameters or %d bytes: cut", maxMIMEParams, maxMIMEFieldBytes)
		v = b
	}
	t, params, _, err := parseMediaType(v)
	if err != nil || params == nil {
		return strings.ToLower(t), map[string]string{}
	}
	return strings.ToLower(t), params
}

// entity reads one MIME entity (RFC 2045 section 2.4) whose header is h and
// whose undecoded body is body.
func (w *walker) entity(h gotextproto.Header, body io.Reader, depth int) {
	if w.parts++; w.parts > MaxParts {
		w.p.problemf("over %d MIME parts: the rest of the mail kept in the raw message only", MaxParts)
		w.stopped = true
		return
	}
	ct, params := w.mediaType(h.Get("Content-Type"))
	if ct == "" {
		ct = "text/plain" // RFC 2045 5.2 default
		if w.digest[depth] {
			ct = "message/rfc822" // RFC 2046 5.1.5
		}
	}
	if strings.HasPrefix(ct, "multipart/") {
		boundary := params["boundary"]
		switch {
		case boundary == "":
			w.p.problemf("MIME structure unreadable (%s without a boundary): body read as plain text", ct)
			ct, params = "text/plain", map[string]string{}
		case depth >= MaxDepth:
			// Stop the walk: skipping the deeper parts would still read
			// them through every enclosing multipart reader.
			w.p.problemf("multipart nested over %d levels: the rest of the mail kept in the raw message only", MaxDepth)
			w.stopped = true
			return
		default:
			w.digest[depth+1] = ct == "multipart/digest"
			w.multipart(body, boundary, depth)
			return
		}
	}

	// go-message decodes the transfer encoding (RFC 2045 section 6); the
	// charset is converted below, without go-message's global
	// CharsetReader.
	e, err := gomsg.New(gomsg.Header{Header: h}, body)
	if err != nil && gomsg.IsUnknownEncoding(err) {
		w.p.problemf("unknown Content-Transfer-Encoding %q: part read as is", h.Get("Content-Transfer-Encoding"))
	}
	disp, dparams := w.mediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name == "" {
		name = params["file"]
	}

	if (ct == "text/plain" || ct == "text/html") && disp != "attachment" {
		w.bodyPart(e.Body, ct, params["charset"], disp, name, h)
		return
	}
	w.attachment(e.Body, Attachment{Filename: name, ContentType: ct, Inline: disp == "inline", ContentID: contentID(h)})
}

func contentID(h gotextproto.Header) string {
	return strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")
}

// multipart reads the parts of a multipart body (RFC 2046 section 5.1).
func (w *walker) multipart(body io.Reader, boundary string, depth int) {
	if w.guard == nil {
		// Under the outermost multipart: every part header passes it.
		w.guard = newPartHeaderGuard(body)
		body = w.guard
	}
	// At the top, the first bytes are kept while no part is found: a
	// boundary that never matches (one over RFC 2046's 70 characters)
	// would otherwise lose the whole body, as Parse's lostBody says.
	var head *headKeeper
	if depth == 0 {
		head = &headKeeper{r: body, room: LargeTextMax}
		body = head
	}
	mr := gotextproto.NewMultipartReader(body, boundary)
	for parts := 0; !w.stopped; parts++ {
		part, err := mr.NextPart()
		if err != nil && parts == 0 && head != nil && len(bytes.TrimSpace(head.b)) > 0 {
			w.drain(body, "")
			w.p.problemf("no MIME part found in the multipart body (%v): body read as plain text", err)
			w.texts = append(w.texts, w.decodeCharset(head.b, undeclaredCharset, false))
			w.stopped = true
			return
		}
		if err == io.EOF {
			return
		}
		if head != nil {
			head.b, head.room = nil, 0 // a part was found: keep nothing
		}
		if err != nil {
			w.p.problemf("MIME structure unreadable (%v): the rest of the body skipped", err)
			w.stopped = true
			return
		}
		w.entity(part.Header, part, depth+1)
	}
}

// headKeeper passes reads through and keeps a copy of the first room bytes.
type headKeeper struct {
	r    io.Reader
	b    []byte
	room int
}

func (k *headKeeper) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if keep := min(n, k.room); keep > 0 {
		k.b = append(k.b, p[:keep]...)
		k.room -= keep
	}
	return n, err
}

// bodyPart keeps a text or HTML body, decoded to UTF-8 and bounded.
func (w *walker) bodyPart(r io.Reader, ct, charset, disp, name string, h gotextproto.Header) {
	if ct == "text/plain" && w.alternative && len(w.texts) > 0 || ct == "text/html" && w.html != "" {
		w.drain(r, name) // enmime keeps the first of these only
		return
	}
	room := LargeTextMax
	if ct == "text/plain" {
		room -= w.textBytes
	}
	raw, size, err := readBounded(r, int64(room))
	if err != nil {
		w.p.problemf("%s part: %v: read up to the error", ct, err)
	}
	if size > int64(len(raw)) {
		w.p.problemf("%s body of %d bytes cut: text bodies are kept up to %d bytes", ct, size, LargeTextMax)
		raw = trimPartialRune(raw)
	}
	text := w.decodeCharset(raw, charset, ct == "text/html")
	if ct == "text/plain" {
		w.texts = append(w.texts, text)
		w.textBytes += len(text)
	} else {
		w.html = text
	}
	if disp == "inline" && name != "" {
		// enmime lists a named inline text part as an attachment too.
		w.p.Attachments = append(w.p.Attachments, Attachment{Filename: name, ContentType: ct, Size: size, Inline: true, ContentID: contentID(h)})
	}
}

// attachment counts the decoded size of a part; its content is kept only
// while it is small.
func (w *walker) attachment(r io.Reader, a Attachment) {
	if a.ContentType == "" {
		a.ContentType = "application/octet-stream"
	}
	limit := w.keep
	if w.opt.MaxAttachmentBytes > 0 && w.opt.MaxAttachmentBytes < limit {
		limit = w.opt.MaxAttachmentBytes
	}
	content, size, err := readBounded(r, limit)
	a.Size = size
	if err != nil {
		w.p.problemf("attachment %q: %v: size counted up to the error", a.Filename, err)
	}
	switch {
	case w.opt.MaxAttachmentBytes > 0 && size > w.opt.MaxAttachmentBytes:
		w.p.problemf("attachment %q (%d bytes) over the %d-byte cap: content dropped", a.Filename, size, w.opt.MaxAttachmentBytes)
	case size > int64(len(content)):
		w.p.problemf("attachment %q (%d bytes): content kept in the raw message only", a.Filename, size)
	default:
		if content == nil {
			content = []byte{}
		}
		a.Content = content
		w.keep -= size
	}
	w.p.Attachments = append(w.p.Attachments, a)
}

func (w *walker) drain(r io.Reader, name string) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		w.p.problemf("part %q: %v", name, err)
	}
}

// readBounded returns up to max bytes of r and the total size of r; the
// rest is read and discarded. When size > len(b), b was cut.
func readBounded(r io.Reader, limit int64) (b []byte, size int64, err error) {
	limit = max(limit, 0)
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit))
	size = n
	if err == nil && n == limit {
		var rest int64
		rest, err = io.Copy(io.Discard, r)
		size += rest
	}
	return buf.Bytes(), size, err
}

// trimPartialRune drops an incomplete UTF-8 sequence left at the end of b
// by a cut.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if r, _ := utf8.DecodeRune(b[len(b)-i:]); r == utf8.RuneError && i < utf8.UTFMax {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}

// decodeCharset converts a text body to UTF-8 from its declared charset
// (RFC 2046 section 4.1.2). With none declared, valid UTF-8 stays as is
// and anything else is read as windows-1252, the usual undeclared charset.
func (w *walker) decodeCharset(b []byte, charset string, html bool) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	switch cs {
	case undeclaredCharset:
		s, _ := decodeUndeclared(b, html)
		return s
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) || cs == "utf-8" || cs == "utf8" {
			return string(b)
		}
		out, _ := charmap.Windows1252.NewDecoder().Bytes(b)
		return string(out)
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		w.p.problemf("unknown charset %q: text read as UTF-8", charset)
		return string(b)
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		w.p.problemf("text not valid %s: read as UTF-8", charset)
		return string(b)
	}
	return string(out)
}
