// Package outbound sends the notifications the casebook queues in its
// outbox (I3): it renders a template (package templates), composes a MIME
// message and hands it to a transport (a Maildir, or an SMTP relay), with
// retries and backoff.
//
// Standards followed: RFC 5322 (message format, Message-ID, In-Reply-To and
// References threading), RFC 2045–2047 (MIME, quoted-printable bodies,
// encoded-word subjects), RFC 2046 multipart/alternative, RFC 3834
// (Auto-Submitted), RFC 2919 (List-Id), RFC 2369 and RFC 8058
// (List-Unsubscribe, one-click), RFC 5321 (SMTP), RFC 3207 (STARTTLS),
// RFC 4954 and RFC 4616 (AUTH PLAIN).
//
// Rules: see docs/rules.md
package outbound

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
	gomessage "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
)

// MaxReferences caps the References header: the first Message-ID (the
// thread root) and the most recent ones are kept, as RFC 5322 section 3.6.4
// suggests and mail clients need to group a long case.
const MaxReferences = 20

// Message is one composed notification, ready for a Transport.
type Message struct {
	MailFrom string   // envelope sender: bounce+TOKEN-MAC@reply_domain (replytoken.Signer.ReturnPath)
	To       []string // envelope recipients
	Subject  string   // decoded subject, recorded by MarkSent
	Bytes    []byte   // the whole message, CRLF line endings
}

// Composer turns outbox rows into messages.
type Composer struct {
	Templates     *templates.Set
	Signer        *replytoken.Signer // nil: no Reply-To token (case replies then thread by Message-ID)
	From          *mail.Address
	ReplyDomain   string
	SubjectTag    string // with one %d, e.g. "[Case #%d]"
	DefaultLocale string
	ReplyTokenTTL time.Duration
	PublicURL     string   // http.public_url; "" leaves out the https unsubscribe link
	Links         LinkFunc // signed action links for case mail; nil: none
	// AgentAttachmentBytes caps the total of a mail's attachments passed on
	// with a notification (policy.agent_attachment_bytes); the rest are
	// only listed.
	AgentAttachmentBytes int64
}

// NewComposer reads the parts of cfg the composer needs.
func NewComposer(cfg *config.Config, set *templates.Set, signer *replytoken.Signer) (*Composer, error) {
	from, err := mail.ParseAddress(cfg.Outbound.From)
	if err != nil {
		return nil, fmt.Errorf("outbound.from %q: %w", cfg.Outbound.From, err)
	}
	return &Composer{
		Templates:     set,
		Signer:        signer,
		From:          from,
		ReplyDomain:   cfg.Outbound.ReplyDomain,
		SubjectTag:    cfg.Policy.SubjectTag,
		DefaultLocale: cfg.Policy.Locale,
		ReplyTokenTTL: cfg.Policy.ReplyTokenTTL.Duration,
		PublicURL:     strings.TrimRight(cfg.HTTP.PublicURL, "/"),

		AgentAttachmentBytes: cfg.Policy.AgentAttachmentBytes,
	}, nil
}

// tokenRE is what may stand in a Message-ID left part and a local part
// without quoting (RFC 5322 dot-atom text, restricted).
var tokenRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// PermanentError marks a failure no retry can fix (bad recipient address,
// missing template): the row is marked failed at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

func permanent(format string, a ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, a...)}
}

// File is a file attached to a notification: the attachments of a new
// case, mailed to agents (issue 11).
type File struct {
	Filename    string
	ContentType string
	Content     []byte
}

// Compose builds the message for item. thread is the case's Message-IDs,
// oldest first (Queue.CaseThread), nil when there is no case.
func (c *Composer) Compose(item casebook.OutboxItem, thread []string, now time.Time) (*Message, error) {
	return c.ComposeFiles(item, thread, nil, now)
}

// ComposeFiles is Compose with files attached after the text and HTML.
func (c *Composer) ComposeFiles(item casebook.OutboxItem, thread []string, files []File, now time.Time) (*Message, error) {
	return c.compose(item, thread, files, "", now)
}

// ComposeAttachments is Compose for a notification about a mail with
// attachments (the customer's mail that opened a case, to its agents; an
// agent's answer, to the customer): every one is listed with its size for
// templates that show the list, and attached while their total stays within
// AgentAttachmentBytes.
func (c *Composer) ComposeAttachments(item casebook.OutboxItem, thread []string, atts []message.Attachment, now time.Time) (*Message, error) {
	locale := cmp.Or(item.Locale, c.DefaultLocale)
	var files []File
	var list []string
	var total int64
	for _, a := range atts {
		name := templates.OneLine(a.Filename)
		if name == "" {
			name = "(" + templates.OneLine(a.ContentType) + ")"
		}
		list = append(list, name+" ("+humanSize(a.Size, locale)+")")
		if a.Content != nil && total+int64(len(a.Content)) <= c.AgentAttachmentBytes {
			total += int64(len(a.Content))
			files = append(files, File{Filename: a.Filename, ContentType: a.ContentType, Content: a.Content})
		}
	}
	return c.compose(item, thread, files, strings.Join(list, "\n"), now)
}

// humanSize writes a size the way the language does (Kio in French).
func humanSize(n int64, locale string) string {
	units := []string{"B", "KiB", "MiB", "GiB"}
	if locale == "fr" {
		units = []string{"o", "Kio", "Mio", "Gio"}
	}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d %s", n, units[0])
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if locale == "fr" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + units[i]
}

func (c *Composer) compose(item casebook.OutboxItem, thread []string, files []File, attachments string, now time.Time) (*Message, error) {
	if !tokenRE.MatchString(item.Token) {
		return nil, permanent("outbox %d: token %q cannot be used in a Message-ID", item.ID, item.Token)
	}
	rcpt, err := mail.ParseAddress(item.To)
	if err != nil || strings.ContainsAny(rcpt.Address, "\r\n<> ") {
		return nil, permanent("outbox %d: recipient %q is not an address", item.ID, templates.OneLine(item.To))
	}
	locale := item.Locale
	if locale == "" {
		locale = c.DefaultLocale
	}
	notice := item.Template.IsNotice() // an auto-reply (RFC 3834)
	local, _, _ := strings.Cut(c.From.Address, "@")
	// The reply token is bound to this recipient and case (I6); agent mail
	// offers the same token at the internal-note address too.
	var tok string
	if item.CaseID != nil && !notice && c.Signer != nil {
		tok = c.Signer.Sign(*item.CaseID, rcpt.Address, now.Add(c.ReplyTokenTTL))
	}
	data := item.Data
	if item.CaseID != nil && data["case_id"] == "" || tok != "" && item.Template.ForAgents() || attachments != "" {
		data = make(map[string]string, len(item.Data)+2)
		for k, v := range item.Data {
			data[k] = v
		}
		if item.CaseID != nil && data["case_id"] == "" {
			data["case_id"] = fmt.Sprint(*item.CaseID)
		}
		if tok != "" && item.Template.ForAgents() {
			data["note_address"] = address.ForNote(local, tok, c.ReplyDomain)
		}
		if attachments != "" {
			data["attachments"] = attachments
		}
	}
	// Customer actions are signed for customers; agents act by mail.
	if c.Links != nil && item.CaseID != nil && !item.Template.ForAgents() {
		if links := c.Links(*item.CaseID, rcpt.Address, data, now); len(links) > 0 {
			data = withLinks(data, links)
		}
	}
	r, err := c.Templates.Render(string(item.Template), locale, data)
	if err != nil {
		return nil, &PermanentError{Err: fmt.Errorf("outbox %d: %w", item.ID, err)}
	}
	subject := r.Subject
	if item.CaseID != nil {
		// The tag leads, once, even when a notice quotes a tagged subject.
		tag := fmt.Sprintf(c.SubjectTag, *item.CaseID)
		subject = strings.TrimSpace(tag + " " + templates.OneLine(strings.ReplaceAll(subject, tag, "")))
	}
	subject = templates.OneLine(subject)

	var h gomail.Header
	h.SetDate(now)
	// An agent's answer reaches the customer from the support identity
	// under the agent's name, never from the agent's own address.
	fromName := c.From.Name
	if n := templates.OneLine(item.Data["from_name"]); n != "" && !item.Template.ForAgents() {
		fromName = n
	}
	h.SetAddressList("From", []*gomail.Address{{Name: templates.OneLine(fromName), Address: c.From.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: templates.OneLine(rcpt.Name), Address: rcpt.Address}})
	h.SetSubject(subject)
	ownID := address.MessageID(item.Token, c.ReplyDomain)
	h.SetMessageID(ownID)

	// Threading (RFC 5322 section 3.6.4): a notice answers the inbound mail;
	// case mail hangs under the first mail of the case so every client
	// groups the whole case.
	parent := cleanID(item.Data["in_reply_to"])
	var refs []string
	if parent != "" {
		refs = append(cleanIDs(strings.Fields(item.Data["references"])), parent)
	} else if item.CaseID != nil {
		refs = cleanIDs(thread)
		if len(refs) > 0 {
			parent = refs[0]
		}
	}
	refs = capRefs(dedupe(refs, ownID), MaxReferences)
	if parent != "" && parent != ownID {
		h.SetMsgIDList("In-Reply-To", []string{parent})
	}
	if len(refs) > 0 {
		h.SetMsgIDList("References", refs)
	}

	// Loop prevention (RFC 3834, I5): every mail we send says it is automatic.
	if notice {
		h.Set("Auto-Submitted", "auto-replied")
	} else {
		h.Set("Auto-Submitted", "auto-generated")
	}
	h.Set("X-Auto-Response-Suppress", "All")
	h.Set("Precedence", "bulk") // for old vacation programs that ignore Auto-Submitted

	if item.CaseID != nil && !notice {
		caseID := *item.CaseID
		// RFC 2919 List-Id: filters can sort a case's mail.
		h.Set("List-Id", fmt.Sprintf("<case-%d.%s>", caseID, c.ReplyDomain))
		if tok != "" {
			h.SetAddressList("Reply-To", []*gomail.Address{{Name: templates.OneLine(c.From.Name), Address: address.ForReply(local, tok, c.ReplyDomain)}})
			if isWatcherMail(item, rcpt.Address) {
				// RFC 2369 / RFC 8058: watchers can stop following from their client.
				unsub := "<mailto:" + address.ForUnsubscribe(local, tok, c.ReplyDomain) + ">"
				if c.PublicURL != "" {
					// The token is bound to the recipient (I6): the handler needs both.
					unsub = "<" + c.PublicURL + "/unsubscribe?t=" + url.QueryEscape(tok) + "&a=" + url.QueryEscape(rcpt.Address) + ">, " + unsub
					h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
				}
				h.Set("List-Unsubscribe", unsub)
			}
		}
	}

	// A deterministic boundary keeps the output reproducible (golden files).
	sum := sha256.Sum256([]byte(item.Token))
	alt := map[string]string{"boundary": "=_cm_" + hex.EncodeToString(sum[:12])}
	if len(files) > 0 {
		// RFC 2046 multipart/mixed: the text and HTML, then the files.
		h.SetContentType("multipart/mixed", map[string]string{"boundary": "=_cmx_" + hex.EncodeToString(sum[:12])})
	} else {
		h.SetContentType("multipart/alternative", alt)
	}

	var buf bytes.Buffer
	buf.Grow(len(r.Text) + len(r.HTML) + 2048)
	w, err := gomessage.CreateWriter(&buf, writeOrder(h.Header))
	if err != nil {
		return nil, fmt.Errorf("outbox %d: compose: %w", item.ID, err)
	}
	body := w
	if len(files) > 0 {
		var ah gomessage.Header
		ah.SetContentType("multipart/alternative", alt)
		if body, err = w.CreatePart(ah); err != nil {
			return nil, fmt.Errorf("outbox %d: compose: %w", item.ID, err)
		}
	}
	for _, p := range []struct{ ctype, body string }{{"text/plain", r.Text}, {"text/html", r.HTML}} {
		var ph gomessage.Header
		ph.SetContentType(p.ctype, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		if err := writePart(body, ph, []byte(p.body)); err != nil {
			return nil, fmt.Errorf("outbox %d: compose %s: %w", item.ID, p.ctype, err)
		}
	}
	if len(files) > 0 {
		if err := body.Close(); err != nil {
			return nil, fmt.Errorf("outbox %d: compose: %w", item.ID, err)
		}
		for _, f := range files {
			var ph gomessage.Header
			ctype := f.ContentType
			if ctype == "" || strings.ContainsAny(ctype, "\r\n") {
				ctype = "application/octet-stream"
			}
			ph.SetContentType(ctype, nil)
			ph.SetContentDisposition("attachment", map[string]string{"filename": templates.OneLine(f.Filename)})
			ph.Set("Content-Transfer-Encoding", "base64")
			if err := writePart(w, ph, f.Content); err != nil {
				return nil, fmt.Errorf("outbox %d: attach %q: %w", item.ID, f.Filename, err)
			}
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("outbox %d: compose: %w", item.ID, err)
	}
	// The return path carries a MAC of the token (never the Message-ID's
	// token alone, which other recipients see in References), so that only
	// a DSN about this very mail can suppress its recipient.
	returnPath := item.Token
	if c.Signer != nil {
		returnPath = c.Signer.ReturnPath(item.Token)
	}
	return &Message{
		MailFrom: address.ForBounce(returnPath, c.ReplyDomain),
		To:       []string{rcpt.Address},
		Subject:  subject,
		Bytes:    buf.Bytes(),
	}, nil
}

// writeOrder returns h with its fields written in the order they were set
// (go-message writes the last one set first): Date, From, To, Subject...
func writeOrder(h gomessage.Header) gomessage.Header {
	var out gomessage.Header
	for f := h.Fields(); f.Next(); {
		out.Add(f.Key(), f.Value())
	}
	return out
}

// isWatcherMail: case mail to anyone but the requester goes to a watcher,
// who may unsubscribe (R8). The requester cannot stop following their own
// case.
func isWatcherMail(item casebook.OutboxItem, rcpt string) bool {
	if item.Template.ForAgents() {
		return false // agents follow their team's cases, they do not subscribe
	}
	if item.Template == templates.CaseOpenedWatcher || item.Template == templates.WatcherAdded {
		return true
	}
	req := item.Data["requester"]
	if a, err := mail.ParseAddress(req); err == nil {
		req = a.Address
	}
	return req != "" && !strings.EqualFold(strings.TrimSpace(req), rcpt)
}

// cleanID strips <> and refuses anything that is not a plausible msg-id, so
// stored data cannot break the header.
func cleanID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if id == "" || len(id) > 250 || !strings.Contains(id, "@") {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' || r == '(' || r == ')' || r == ',' || r == ';' {
			return ""
		}
	}
	return id
}

func cleanIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

func dedupe(ids []string, own string) []string {
	seen := map[string]bool{own: true}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// capRefs keeps the first ID and the last max-1 ones.
func capRefs(ids []string, max int) []string {
	if len(ids) <= max {
		return ids
	}
	out := append([]string{ids[0]}, ids[len(ids)-(max-1):]...)
	return out
}

// writePart writes one leaf part of w.
func writePart(w *gomessage.Writer, h gomessage.Header, body []byte) error {
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := pw.Write(body); err != nil {
		return err
	}
	return pw.Close()
}
