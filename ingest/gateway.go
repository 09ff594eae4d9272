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
	"runtime"
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
	book    *casebook.Book
	cfg     *config.Config
	signer  *replytoken.Signer
	tag     *SubjectTag
	log     *slog.Logger
	now     func() time.Time
	own     map[string]bool // our own addresses: never watchers
	local   string          // the local part of outbound.from, that our reply addresses use
	memMax  int64           // inMemoryMax; tests lower it to take the streaming path
	parsing chan struct{}   // one slot per core (prepare)

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
	g := &Gateway{book: book, cfg: cfg, signer: signer, tag: tag, log: log, now: time.Now, own: map[string]bool{}, memMax: inMemoryMax,
		parsing: make(chan struct{}, runtime.GOMAXPROCS(0))}
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
	// Only a bounded prefix is held in memory (issue 6). A message that
	// fits is parsed from memory and its raw bytes are committed with its
	// decision, in a transaction shared with other mails ready at the same
	// time (issue 14: RecordRaw). A bigger one is stored first, read back
	// from the casebook as a stream, and recorded on its own. A message
	// over the size limit is stored whole all the same, and refused.
	limit := g.cfg.SMTP.MaxMessageBytes
	memMax := g.memMax
	// The limit counts what the client sent, not our own trace field.
	if limit > 0 && limit+env.TraceBytes < memMax {
		memMax = limit + env.TraceBytes
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(r, memMax+1)); err != nil {
		return Outcome{}, fmt.Errorf("read message: %w", err)
	}
	if int64(buf.Len()) <= memMax {
		return g.prepare(env, buf.Bytes()).commit(ctx, Turn{})
	}
	// Keep the raw message before anything else can fail (I4).
	ref, err := g.book.StoreRaw(ctx, io.MultiReader(bytes.NewReader(buf.Bytes()), r))
	if err != nil {
		return Outcome{}, fmt.Errorf("keep raw message: %w", err)
	}
	var in *inbound
	prefix := buf.Bytes()[:memMax]
	if sent := ref.Size - env.TraceBytes; limit > 0 && sent > limit {
		// A refusal needs the header only: the prefix is enough.
		in = g.read(prefix, env)
		in.tooBig = &Reason{Code: RTooBig, Args: []any{sent, limit}}
		in.msg.Fingerprint = "raw:" + ref.SHA256
	} else if in, err = g.readStored(ctx, ref, env); err != nil {
		return Outcome{}, err
	}
	in.msg.RawSHA256, in.msg.Size = ref.SHA256, ref.Size
	// Verified on its first bytes: DKIM cannot pass on a cut body, an
	// aligned SPF pass still can (docs/authentication.md).
	g.authenticate(ctx, in, prefix)
	return (&prepared{g: g, in: in, start: start}).commit(ctx, Turn{})
}

// commit decides and records a read message: with its raw bytes in one
// shared transaction when they are held in memory (RecordRaw), else after
// StoreRaw kept them. It waits for t before recording.
func (pr *prepared) commit(ctx context.Context, t Turn) (Outcome, error) {
	g, in := pr.g, pr.in
	defer t.queued()
	if prev, err := g.book.MessageByFingerprint(ctx, in.msg.Fingerprint); err == nil {
		out := outcomeOf(prev, true) // I2
		out.Unusable = in.notMail    // the same input gets the same answer
		return out, nil
	} else if !errors.Is(err, casebook.ErrNotFound) {
		return Outcome{}, fmt.Errorf("look up fingerprint: %w", err)
	}

	if pr.raw != nil {
		// A bigger mail was authenticated on its first bytes (Receive).
		g.authenticate(ctx, in, pr.raw)
	}
	rec, err := g.decideAndRecord(ctx, pr, t)
	if err != nil {
		return Outcome{}, err
	}
	g.logCommands(rec)
	out := outcomeOf(rec.Message, rec.Duplicate)
	out.Unusable = in.notMail
	out.Auth = g.outcomeAuth(in)
	if !rec.Duplicate && strings.Contains(out.Reason, casebook.NoAgentToTell) {
		g.log.Warn("suspected mail loop and no agent to tell", "case", out.CaseID, "from", in.msg.From, "reason", out.Reason)
	}
	g.log.Info("message recorded", "transport", in.env.Transport, "from", in.msg.From, "message_id", in.msg.MessageID,
		"outcome", out.Result, "case", out.CaseID, "reason", out.Reason, "bytes", in.msg.Size, "duplicate", out.Duplicate,
		"elapsed", time.Since(pr.start))
	return out, nil
}

// decideAndRecord decides and records. If the casebook refuses because the
// state changed between the two (the case was closed meanwhile), it decides
// again; a refusal that persists is permanent, so the mail is quarantined
// with the refusal as its reason: only a storage failure is an error, the
// one thing a retry by the sender can fix (I1, I4).
func (g *Gateway) decideAndRecord(ctx context.Context, pr *prepared, t Turn) (casebook.Recorded, error) {
	in := pr.in
	// record keeps the decision, with the raw bytes in the same shared
	// commit when they are held in memory (RecordRaw), once t's turn came.
	record := func(d casebook.Delivery) (casebook.Recorded, error) {
		if err := t.wait(ctx); err != nil {
			return casebook.Recorded{}, err
		}
		if pr.raw != nil {
			return g.book.RecordRaw(casebook.WithQueued(ctx, t.queued), pr.raw, d)
		}
		return g.book.Record(ctx, d)
	}
	var refusal error
	for range maxDecisions {
		d, err := g.decide(ctx, in)
		if err != nil {
			return casebook.Recorded{}, err
		}
		if err := g.sideEffects(ctx, in, d); err != nil {
			return casebook.Recorded{}, err
		}
		rec, err := record(d.delivery)
		if err == nil || !casebook.IsPermanent(err) {
			if err != nil {
				err = fmt.Errorf("record message: %w", err)
			}
			return rec, err
		}
		refusal = err
		g.log.Info("decision refused by the casebook, deciding again", "rule", casebook.RuleOf(err), "err", err)
	}
	d := Decision{delivery: casebook.Delivery{Message: in.msg}}
	why := reason(RCasebookRefused, refusal)
	if rule := casebook.RuleOf(refusal); rule != "" {
		why = reason(RCasebookRefused, reason(ROpenRefused, refusal, rule))
	}
	rec, err := record(d.set(casebook.ActQuarantine, why).delivery)
	if err != nil {
		return rec, fmt.Errorf("record message: %w", err)
	}
	return rec, nil
}

// maxDecisions bounds deciding again after the casebook refused: the state
// rarely changes twice between a decision and its record.
const maxDecisions = 3

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
	tooBig  *Reason            // why the message was too big to read
	auth    senderauth.Verdict // who really sent it (auth.go)
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
