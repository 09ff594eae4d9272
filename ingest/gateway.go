// Package ingest turns every inbound mail into exactly one recorded outcome
// (I4): a case opened, a comment added, a refusal with its notice, a
// quarantine, or an ignored machine mail. Every door (the SMTP/LMTP listener,
// the IMAP poller, "casemail deliver") hands the same Gateway.Receive a raw
// message and an envelope; Decide is the one decision function, which
// "casemail route test" prints without applying.
//
// Rules: see docs/rules.md
package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/quote"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/senderauth"
)

// Gateway is the Receiver every transport uses.
type Gateway struct {
	book   *casebook.Book
	cfg    *config.Config
	signer *replytoken.Signer
	tag    *SubjectTag
	log    *slog.Logger
	now    func() time.Time
	own    map[string]bool // our own addresses: never watchers
	local  string          // the local part of outbound.from, that our reply addresses use
	memMax int64           // inMemoryMax; tests lower it to take the streaming path

	verifier *senderauth.Verifier // SPF, DKIM, DMARC as the first hop; nil with [auth] mode = "off"
	relays   []netip.Prefix       // [auth] relays: SMTP clients that are the MTA in front
}

// New returns a Gateway over book with the routes and policy of cfg;
// signer checks the reply and unsubscribe tokens outbound signed with it.
func New(book *casebook.Book, cfg *config.Config, signer *replytoken.Signer, log *slog.Logger) (*Gateway, error) {
	if signer == nil {
		return nil, errors.New("ingest: a reply token signer is required")
	}
	tag, err := NewSubjectTag(cfg.Policy.SubjectTag)
	if err != nil {
		return nil, err
	}
	g := &Gateway{book: book, cfg: cfg, signer: signer, tag: tag, log: log, now: time.Now, own: map[string]bool{}, memMax: inMemoryMax}
	if g.verifier, err = newVerifier(cfg.Auth); err != nil {
		return nil, err
	}
	g.relays = cfg.Auth.RelayPrefixes()
	for _, r := range cfg.Routes {
		g.own[strings.ToLower(r.Address)] = true
	}
	if a, err := mail.ParseAddress(cfg.Outbound.From); err == nil {
		g.own[strings.ToLower(a.Address)] = true
		g.local, _, _ = strings.Cut(a.Address, "@")
	}
	return g, nil
}

// Receive keeps the raw message, decides and records the outcome, all
// committed before it returns (I1). An error is a temporary failure: the
// transport must have the sender retry. Bad mail is never an error: it is
// recorded with its problems.
func (g *Gateway) Receive(ctx context.Context, env Envelope, r io.Reader) (Outcome, error) {
	start := time.Now()
	// Keep the raw message before anything else can fail (I4). Only a
	// bounded prefix is held in memory (issue 6): a small message is parsed
	// from it, a bigger one read back from the casebook as a stream. A
	// message over the size limit is stored whole all the same, and
	// refused.
	limit := g.cfg.SMTP.MaxMessageBytes
	buf := &capBuffer{max: g.memMax}
	if limit > 0 && limit < buf.max {
		buf.max = limit
	}
	ref, err := g.book.StoreRaw(ctx, io.TeeReader(r, buf))
	if err != nil {
		return Outcome{}, fmt.Errorf("keep raw message: %w", err)
	}
	var in *inbound
	tooBig := limit > 0 && ref.Size-env.TraceBytes > limit
	switch {
	case !buf.over || tooBig:
		// A refusal needs the header only: the prefix is enough.
		in = g.read(buf.Bytes(), env)
	default:
		if in, err = g.readStored(ctx, ref, env); err != nil {
			return Outcome{}, err
		}
	}
	in.msg.RawSHA256, in.msg.Size = ref.SHA256, ref.Size
	if tooBig {
		in.tooBig = fmt.Sprintf("message of %d bytes is over the limit of %d bytes (smtp.max_message_bytes)", ref.Size-env.TraceBytes, limit)
		in.msg.Fingerprint = "raw:" + ref.SHA256
	}

	if prev, err := g.book.MessageByFingerprint(ctx, in.msg.Fingerprint); err == nil {
		out := outcomeOf(prev, true) // I2
		out.Unusable = in.notMail    // the same input gets the same answer
		return out, nil
	} else if !errors.Is(err, casebook.ErrNotFound) {
		return Outcome{}, fmt.Errorf("look up fingerprint: %w", err)
	}

	g.authenticate(ctx, in, buf.Bytes())
	var rec casebook.Recorded
	// Decide, record; if the casebook refuses because the state changed
	// between the two (the case was closed meanwhile), decide again.
	for attempt := 0; ; attempt++ {
		d, err := g.decide(ctx, in)
		if err != nil {
			return Outcome{}, err
		}
		if err := g.sideEffects(ctx, in, d); err != nil {
			return Outcome{}, err
		}
		rec, err = g.book.Record(ctx, d.delivery)
		if err == nil {
			break
		}
		if casebook.RuleOf(err) == "" || attempt == 2 {
			return Outcome{}, fmt.Errorf("record message: %w", err)
		}
		g.log.Info("decision refused by the casebook, deciding again", "rule", casebook.RuleOf(err), "err", err)
	}
	out := outcomeOf(rec.Message, rec.Duplicate)
	out.Unusable = in.notMail
	out.Auth = g.outcomeAuth(in)
	g.log.Info("message recorded", "transport", env.Transport, "from", in.msg.From, "message_id", in.msg.MessageID,
		"outcome", out.Result, "case", out.CaseID, "reason", out.Reason, "bytes", ref.Size, "duplicate", out.Duplicate,
		"elapsed", time.Since(start))
	return out, nil
}

func outcomeOf(m casebook.Message, dup bool) Outcome {
	o := Outcome{MessageID: m.ID, Result: m.Outcome, Reason: m.Reason, Duplicate: dup}
	if m.CaseID != nil {
		o.CaseID = *m.CaseID
	}
	return o
}

// inbound is a message as read, before any decision.
type inbound struct {
	env     Envelope
	parsed  *message.Parsed
	msg     casebook.Message
	notMail bool               // not a mail at all (exit 65 for deliver); still recorded
	tooBig  string             // why the message was too big to read
	auth    senderauth.Verdict // who really sent it (auth.go)
}

// capBuffer keeps the first max bytes written to it (all when max is 0).
type capBuffer struct {
	bytes.Buffer
	max  int64
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if c.max > 0 && int64(c.Len()+len(p)) > c.max {
		c.over = true
		if room := c.max - int64(c.Len()); room > 0 {
			c.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

// read parses raw and fills the record fields; it never fails.
func (g *Gateway) read(raw []byte, env Envelope) *inbound {
	p, err := Parse(raw, g.parseOptions(env))
	in := g.newInbound(p, err, env)
	in.msg.Fingerprint = Fingerprint(raw, in.parsed.MessageID)
	return in
}

// parseOptions classifies with the envelope sender where there is one
// (Envelope.Sender): a null sender makes the mail a machine's (I5).
func (g *Gateway) parseOptions(env Envelope) message.Options {
	opt := message.Options{MaxAttachmentBytes: g.cfg.Policy.MaxAttachmentBytes}
	if addr, known := env.Sender(); known {
		opt.MailFrom = &addr
	}
	return opt
}

// newInbound fills the record fields from a parse (err: not a mail), all
// but the fingerprint.
func (g *Gateway) newInbound(p *message.Parsed, err error, env Envelope) *inbound {
	in := &inbound{env: env}
	if err != nil {
		in.notMail = true
		p = &message.Parsed{Kind: message.KindNormal, Problems: []string{err.Error()}}
	}
	in.parsed = p
	mailFrom, known := env.Sender()
	if known && mailFrom == "" {
		mailFrom = nullPath // recorded alike whichever door it came through
	}
	in.msg = casebook.Message{
		MessageID:  p.MessageID,
		From:       p.From,
		MailFrom:   mailFrom,
		Recipients: env.Recipients,
		Subject:    p.Subject,
		Transport:  string(env.Transport),
		Problems:   p.Problems,
	}
	return in
}

// Parse reads raw as the gateway does: parsed, classified (with
// opt.MailFrom), and the new text of a reply extracted (R9). "casemail parse"
// prints this.
func Parse(raw []byte, opt message.Options) (*message.Parsed, error) {
	p, err := message.Parse(raw, opt)
	if err != nil {
		return nil, err
	}
	replyText(p)
	return p, nil
}

func replyText(p *message.Parsed) {
	if strings.TrimSpace(p.Text) == "" && p.HTML != "" {
		p.ReplyText = quote.ReplyHTML(p.HTML)
	} else {
		p.ReplyText = quote.Reply(p.Text)
	}
}

// Fingerprint identifies a message across doors and retries (I2): the
// normalised Message-ID with a hash of the body, so that the copies of one
// mail that differ only in their trace fields (Received, Delivered-To) are
// one message. Without a Message-ID the whole raw message is hashed.
func Fingerprint(raw []byte, messageID string) string {
	h := sha256.New()
	id := normID(messageID)
	if id == "" {
		h.Write([]byte("raw\n"))
		h.Write(raw)
		return hex.EncodeToString(h.Sum(nil))
	}
	h.Write([]byte("id\n" + id + "\n"))
	body := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		body = raw[i+4:]
	} else if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		body = raw[i+2:]
	}
	// Line endings differ between doors (IMAP CRLF, a pipe LF).
	h.Write(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
	return hex.EncodeToString(h.Sum(nil))
}

func normID(messageID string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(messageID), "<>"))
}
