package message

// Charsets of text that does not declare one, and the RFC 2045 5.2
// defaults for parts without a Content-Type.
//
// The rule (issue 12): bytes that are valid UTF-8 are UTF-8 unless a
// charset other than US-ASCII is declared; only invalid UTF-8 goes to
// detection. RFC 2045 5.2 says an undeclared charset is US-ASCII, but
// 8-bit bytes are by definition not US-ASCII, and the 8-bit mail that
// declares nothing today comes from UTF-8 systems (swaks, scripts, web
// forms): reading it as Windows-1252 (enmime's reading of US-ASCII) turns
// "étage" into "Ã©tage".

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gogs/chardet"
	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// undeclaredCharset is the charset parseMediaType gives a text part that
// declares none (or US-ASCII). enmime has no reader for it, so it leaves
// the bytes as they are, and fixTree decodes them by the rule above.
const undeclaredCharset = "x-casemail-undeclared"

// lookupCharset finds a decoder for a MIME charset name (RFC 2978 names and
// the aliases mailers use), nil when unknown.
func lookupCharset(name string) encoding.Encoding {
	name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"'`))
	switch name {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8":
		return encoding.Nop
	case "gb2312", "euc-cn", "x-gbk", "cp936":
		name = "gbk" // GB2312 mail often holds GBK characters; GBK is a superset
	case "ks_c_5601-1987", "ks_c_5601", "cp949":
		name = "euc-kr"
	}
	if e, err := htmlindex.Get(name); err == nil && e != nil {
		return e
	}
	if e, err := ianaindex.MIME.Encoding(name); err == nil && e != nil {
		return e
	}
	return nil
}

// decodeUndeclared reads text whose charset was not declared in its MIME
// header: the charset an HTML part names in its meta tag, else valid UTF-8
// as is, else the
// detected one when detection is confident, else Windows-1252 (the
// superset of Latin-1 that undeclared Western mail uses). It returns the
// text and the charset used.
func decodeUndeclared(b []byte, html bool) (string, string) {
	if html {
		// A meta tag is a declaration (HTML 4.01 5.2.2): it wins over the
		// UTF-8 reading.
		if m := metaCharset.FindSubmatch(b[:min(len(b), 4096)]); m != nil {
			if e := lookupCharset(string(m[1])); e != nil && e != encoding.Nop {
				if out, err := e.NewDecoder().Bytes(b); err == nil {
					return string(out), strings.ToLower(string(m[1]))
				}
			}
		}
	}
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	var d *chardet.Detector
	if html {
		d = chardet.NewHtmlDetector()
	} else {
		d = chardet.NewTextDetector()
	}
	// Detection only chooses among the multi-byte charsets; a single-byte
	// guess on a few accents is no better than Windows-1252.
	if r, err := d.DetectBest(b); err == nil && r.Confidence >= 50 && multiByte[strings.ToLower(r.Charset)] {
		if e := lookupCharset(r.Charset); e != nil {
			if out, err := e.NewDecoder().Bytes(b); err == nil && bytes.Count(out, []byte("\uFFFD")) == 0 {
				return string(out), strings.ToLower(r.Charset)
			}
		}
	}
	out, _ := charmap.Windows1252.NewDecoder().Bytes(b)
	return string(out), "windows-1252"
}

var multiByte = map[string]bool{
	"big5": true, "gb-18030": true, "gb18030": true, "euc-jp": true, "euc-kr": true,
	"shift_jis": true, "iso-2022-jp": true, "iso-2022-kr": true, "iso-2022-cn": true,
}

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)`)

// fixTree applies what enmime leaves undone to the parts it read, before
// the envelope is built from them:
//   - a part without Content-Type is text/plain (RFC 2045 5.2), or
//     message/rfc822 inside multipart/digest (RFC 2046 5.1.5), not an
//     anonymous attachment;
//   - text that declares no charset is decoded by decodeUndeclared.
func fixTree(root *enmime.Part) {
	var walk func(p *enmime.Part, digest bool)
	walk = func(p *enmime.Part, digest bool) {
		if p.ContentType == "" && p.Parent != nil {
			dropErrors(p, enmime.ErrorMissingContentType)
			if digest {
				p.ContentType = "message/rfc822"
			} else {
				p.ContentType = "text/plain"
				p.Charset = undeclaredCharset
			}
		}
		if p.Charset == undeclaredCharset {
			dropErrors(p, enmime.ErrorCharsetConversion)
			if strings.HasPrefix(p.ContentType, "text/") {
				text, cs := decodeUndeclared(p.Content, p.ContentType == "text/html")
				p.Content, p.Charset = []byte(text), cs
			} else {
				p.Charset = ""
			}
		}
		for c := p.FirstChild; c != nil; c = c.NextSibling {
			walk(c, p.ContentType == "multipart/digest")
		}
	}
	walk(root, false)
}

// dropErrors removes the part's warnings of one kind: fixTree repairs
// what they describe.
func dropErrors(p *enmime.Part, name string) {
	out := p.Errors[:0]
	for _, e := range p.Errors {
		if e.Name != name {
			out = append(out, e)
		}
	}
	p.Errors = out
}
