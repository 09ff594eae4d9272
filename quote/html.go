package quote

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// ReplyHTML does what Reply does for an HTML body (talon's html_replies
// cases) and returns plain text. The HTML is rendered to text with the
// content of quoting elements prefixed by "> " — <blockquote>, Gmail's
// "gmail_quote", Yahoo's "yahoo_quoted", Outlook for Mac's
// OLK_SRC_BODY_SECTION, the new Outlook's
// mail-editor-reference-message-container — and with everything after the
// markers that webmails put above unquoted history (Hotmail's <hr
// id="stopSpelling">, Outlook's "divRplyFwdMsg" and "appendonsend",
// Zimbra's <hr id="zwchr">) treated as quoted; then the text goes through
// Reply. Like Reply it keeps a body with no new text whole.
func ReplyHTML(body string) string {
	return Reply(HTMLText(body))
}

// HTMLText renders an HTML body as plain text, one line per block or <br>,
// with quoted content (see ReplyHTML) prefixed by "> ".
// Scripts, styles and the document head are left out. Malformed HTML is
// read the way browsers read it (golang.org/x/net/html, HTML5 parsing).
func HTMLText(body string) string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		// html.Parse only fails on read errors, impossible on a string;
		// keep the raw text rather than lose it.
		return body
	}
	r := &renderer{}
	r.walk(doc)
	r.flush(false)
	return strings.Join(r.lines, "\n")
}

type renderer struct {
	lines     []string
	cur       strings.Builder
	curDepth  int
	quoteRest bool // a marker of unquoted history was seen: the rest is quoted
	pre       int  // inside <pre>: keep white space
}

func (r *renderer) depth(d int) int {
	if r.quoteRest {
		return d + 1
	}
	return d
}

// flush ends the current line; force emits a blank line even when the
// current line is empty (<br>).
func (r *renderer) flush(force bool) {
	if r.cur.Len() == 0 && !force {
		return
	}
	line := strings.TrimRight(r.cur.String(), " ")
	// One ">" whatever the nesting: the scan only needs to know a line is
	// quoted, and deep nesting must not make the text grow quadratically.
	prefix := ""
	if r.curDepth > 0 {
		prefix = ">"
		if line != "" {
			prefix += " "
		}
	}
	r.lines = append(r.lines, prefix+line)
	r.cur.Reset()
}

func (r *renderer) text(s string, d int) {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	if r.pre > 0 {
		for i, p := range strings.Split(s, "\n") {
			if i > 0 {
				r.flush(true)
			}
			r.write(p, d)
		}
		return
	}
	// Outside <pre>, runs of white space collapse to one space (HTML
	// rendering rules); a space is kept between adjacent inline texts.
	words := strings.Join(strings.Fields(s), " ")
	if s != "" && isHTMLSpace(s[0]) {
		r.space()
	}
	r.write(words, d)
	if words != "" && isHTMLSpace(s[len(s)-1]) {
		r.space()
	}
}

func isHTMLSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }

func (r *renderer) space() {
	if r.cur.Len() > 0 && !strings.HasSuffix(r.cur.String(), " ") {
		r.cur.WriteByte(' ')
	}
}

func (r *renderer) write(s string, d int) {
	if s == "" {
		return
	}
	if r.cur.Len() == 0 {
		if r.pre == 0 {
			s = strings.TrimLeft(s, " ")
			if s == "" {
				return
			}
		}
		r.curDepth = r.depth(d)
	}
	r.cur.WriteString(s)
}

// walk renders the tree in document order. It follows the parent and
// sibling links instead of recursing, so that deeply nested (hostile) HTML
// cannot exhaust the stack.
func (r *renderer) walk(root *html.Node) {
	d := 0 // quoting depth
	n := root
	for n != nil {
		if r.enter(n, &d) && n.FirstChild != nil {
			n = n.FirstChild
			continue
		}
		// Leave n, then its ancestors until one has a next sibling.
		for n != nil {
			r.leave(n, &d)
			if n == root {
				return
			}
			if n.NextSibling != nil {
				n = n.NextSibling
				break
			}
			n = n.Parent
		}
	}
}

// enter renders what comes before the children of n and reports whether
// the children are to be rendered.
func (r *renderer) enter(n *html.Node, d *int) bool {
	switch n.Type {
	case html.TextNode:
		r.text(n.Data, *d)
		return false
	case html.CommentNode, html.DoctypeNode:
		return false
	case html.ElementNode:
	default:
		return true
	}
	switch n.DataAtom {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template, atom.Noscript:
		return false
	case atom.Br:
		r.flush(true)
		return false
	case atom.Hr:
		r.flush(false)
		if id := attr(n, "id"); id == "stopSpelling" || id == "zwchr" {
			r.quoteRest = true
		}
		return false
	}
	if startsHistory(n) {
		r.flush(false)
		r.quoteRest = true
	}
	if isQuoteElement(n) {
		*d++
	}
	if isBlock(n.DataAtom) {
		r.flush(false)
	}
	if n.DataAtom == atom.Pre {
		r.pre++
	}
	return true
}

// leave renders what comes after the children of an element entered with
// its children rendered; it mirrors enter.
func (r *renderer) leave(n *html.Node, d *int) {
	if n.Type != html.ElementNode {
		return
	}
	switch n.DataAtom {
	case atom.Head, atom.Style, atom.Script, atom.Title, atom.Template, atom.Noscript, atom.Br, atom.Hr:
		return
	}
	if n.DataAtom == atom.Pre {
		r.pre--
	}
	if isBlock(n.DataAtom) {
		r.flush(false)
	}
	if n.DataAtom == atom.Td || n.DataAtom == atom.Th {
		r.space()
	}
	if isQuoteElement(n) {
		*d--
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// isQuoteElement reports elements whose content is quoted history.
func isQuoteElement(n *html.Node) bool {
	if n.DataAtom == atom.Blockquote {
		return true
	}
	switch attr(n, "id") {
	case "OLK_SRC_BODY_SECTION", // Outlook for Mac
		"mail-editor-reference-message-container": // new Outlook (Windows, Mac, web)
		return true
	}
	for _, c := range strings.Fields(attr(n, "class")) {
		if strings.HasPrefix(c, "gmail_quote") || c == "yahoo_quoted" {
			return true
		}
	}
	return false
}

// startsHistory reports elements after which everything is quoted history
// (Outlook puts the quoted message after its header block, not inside it).
func startsHistory(n *html.Node) bool {
	switch attr(n, "id") {
	case "divRplyFwdMsg", "appendonsend":
		return true
	}
	return false
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Dl, atom.Dt, atom.Dd,
		atom.Table, atom.Tr, atom.Tbody, atom.Thead, atom.Tfoot,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Blockquote, atom.Pre, atom.Section, atom.Article, atom.Header,
		atom.Footer, atom.Address, atom.Center, atom.Form, atom.Fieldset,
		atom.Body, atom.Html, atom.Main, atom.Nav, atom.Aside, atom.Figure:
		return true
	}
	return false
}
