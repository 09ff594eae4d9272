package casebook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/casemail/casemail/templates"
)

// rawChunk is the size of one stored piece of a raw message. pgx copies a
// chunk twice to send it and once to read it, and these copies are what
// the heap of a big mail's ingest is made of: at 1 MiB the 25 MB
// attachment's ingest peaked at 43 MB of heap on PostgreSQL, at 256 KiB at
// 27 MB, as on SQLite (ingest TestLargeAttachment). Chunks already stored
// at another size are read back all the same.
const rawChunk = 256 << 10

// RawRef names a stored raw message.
type RawRef struct {
	SHA256 string
	Size   int64
}

// chunkPool recycles the chunk buffers of StoreRaw: a fresh chunk buffer
// per mail was most of what ingesting a small mail allocated.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, rawChunk); return &b }}

// StoreRaw keeps the bytes of an inbound message before anything else is
// done with it, committed on return. Storing the same bytes twice stores
// them once. The message is read and written in chunks, never whole.
func (b *Book) StoreRaw(ctx context.Context, r io.Reader) (RawRef, error) {
	bufp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bufp)
	buf := *bufp
	n, rerr := io.ReadFull(r, buf)
	if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
		// The whole message is in one chunk: its address is known at once.
		sum := sha256.Sum256(buf[:n])
		ref := RawRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(n)}
		err := b.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, b.query("raw-insert-new"), ref.SHA256, ref.Size, ms(b.now()))
			if err != nil {
				return err
			}
			if added, _ := res.RowsAffected(); added == 0 {
				return nil // stored already
			}
			_, err = tx.ExecContext(ctx, b.query("raw-chunk-insert"), ref.SHA256, 0, buf[:n])
			return err
		})
		if err != nil {
			return RawRef{}, fmt.Errorf("store raw message: %w", err)
		}
		return ref, nil
	}
	if rerr != nil {
		return RawRef{}, fmt.Errorf("store raw message: read: %w", rerr)
	}
	// The first chunk is read again from buf into buf itself: copy moves
	// nothing, and the stream continues with the rest of r.
	return b.storeRawStream(ctx, buf, io.MultiReader(bytes.NewReader(buf), r))
}

// storeRawStream stores a message bigger than one chunk: it is hashed while
// it is written under a temporary key, renamed once the address is known.
func (b *Book) storeRawStream(ctx context.Context, buf []byte, r io.Reader) (RawRef, error) {
	tmp := fmt.Sprintf("tmp-%d", b.now().UnixNano())
	h := sha256.New()
	var size int64
	err := b.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, b.query("raw-insert"), tmp, 0, ms(b.now())); err != nil {
			return err
		}
		for seq := 0; ; seq++ {
			n, rerr := io.ReadFull(r, buf)
			if n > 0 {
				h.Write(buf[:n])
				size += int64(n)
				if _, err := tx.ExecContext(ctx, b.query("raw-chunk-insert"), tmp, seq, buf[:n]); err != nil {
					return err
				}
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				return fmt.Errorf("read message: %w", rerr)
			}
		}
		sum := hex.EncodeToString(h.Sum(nil))
		var one int
		switch err := tx.QueryRowContext(ctx, b.query("raw-exists"), sum).Scan(&one); {
		case err == nil: // already stored
			if _, err := tx.ExecContext(ctx, b.query("raw-chunks-delete"), tmp); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, b.query("raw-delete"), tmp)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, b.query("raw-insert"), sum, size, ms(b.now())); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, b.query("raw-chunks-rename"), sum, tmp); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, b.query("raw-delete"), tmp)
		return err
	})
	if err != nil {
		return RawRef{}, fmt.Errorf("store raw message: %w", err)
	}
	return RawRef{SHA256: hex.EncodeToString(h.Sum(nil)), Size: size}, nil
}

// WriteRaw copies a stored raw message to w, chunk by chunk. Each chunk
// is written from the driver's own buffer (sql.RawBytes), not a copy: a
// 25 MB attachment is read back twice by the gateway, and every copy of
// every chunk is heap the garbage collector must catch up with.
func (b *Book) WriteRaw(ctx context.Context, sha string, w io.Writer) error {
	for seq := 0; ; seq++ {
		more, err := b.writeChunk(ctx, sha, seq, w)
		if err != nil {
			return err
		}
		if !more {
			if seq == 0 {
				var one int
				if err := b.rdb.QueryRowContext(ctx, b.query("raw-exists"), sha).Scan(&one); err != nil {
					return notFound("there is no raw message %s", sha)
				}
			}
			return nil
		}
	}
}

// writeChunk writes chunk seq of raw message sha to w; false when there
// is no such chunk (the message ended).
func (b *Book) writeChunk(ctx context.Context, sha string, seq int, w io.Writer) (bool, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("raw-chunk-get"), sha, seq)
	if err != nil {
		return false, fmt.Errorf("read raw message %s: %w", sha, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("read raw message %s: %w", sha, err)
		}
		return false, nil
	}
	var data sql.RawBytes // valid until rows.Next or Close
	if err := rows.Scan(&data); err != nil {
		return false, fmt.Errorf("read raw message %s: %w", sha, err)
	}
	if _, err := w.Write(data); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// Action is what the mail side decided to do with a message.
type Action string

const (
	ActOpen       Action = "open"
	ActComment    Action = "comment"
	ActRefuse     Action = "refuse"
	ActQuarantine Action = "quarantine"
	ActIgnore     Action = "ignore"
)

// Notice is a refusal notice to queue with a refused message.
type Notice struct {
	Template templates.Name
	To       string
	Locale   string
	Data     map[string]string
}

// Delivery is one inbound message and the decision taken on it.
type Delivery struct {
	Message Message // the record; Outcome and CaseID are set by Record
	Action  Action
	Open    NewCase // ActOpen (FollowUpOf set: a follow-up, R14)

	CaseID      int64    // ActComment, or the case a refusal is about
	Author      string   // ActComment
	Body        string   // ActComment: the new text only (R9)
	FullText    string   // ActComment: the whole text
	AddWatchers []string // ActComment: people on Cc (R8)
	Internal    bool     // ActComment: an agent's internal note, never mailed to customers or watchers (I3)
	Claimed     int64    // ActQuarantine: the case a forged claim named; its agents are told, the mail is never linked to it (I6)

	// An agent's mail (ActComment, or ActIgnore for commands alone) on
	// CaseID by Author: applied in the record's transaction, so that the
	// mail and what it asks are kept together or not at all (I4), and
	// once (I2). See commands.go.
	Commands      []Command         // #assign, #priority, #watch, #close (last), as the command line's rules allow
	AssignOnReply bool              // ActComment: Author takes the case if nobody has it (policy.assign_on_first_reply)
	CommandReply  map[string]string // what the answer to a refused command shows beside the command and the reason

	Reason string
	// ReasonIn is Reason in each locale ("fr", "en"), for the agents told
	// of a refused claim; Reason (the record, the logs) stays English.
	ReasonIn map[string]string
	Notice   *Notice // answered refusal (R1–R5, R13, R14); rate-limited per sender
	Alert    *Alert  // tell the team (a suspected loop), once per case (limits.go)
}

// Recorded is what Record did.
type Recorded struct {
	Message   Message
	Duplicate bool            // the fingerprint was already recorded: nothing changed (I2)
	Commands  []CommandResult // the agent's commands, as applied or refused with the record
}

// Record applies a decision in one transaction: the change, its outbox rows
// (I3) and the message record with its outcome (I4). A message whose
// fingerprint is recorded already returns the first outcome and changes
// nothing (I2). A decision the rules refuse at this point (the case was
// closed meanwhile, R13; the author may not see the case, I6; the sender may
// not open a case, R1–R4) returns a *RuleError and writes nothing, so the
// caller can decide again.
func (b *Book) Record(ctx context.Context, d Delivery) (Recorded, error) {
	var rec Recorded
	err := b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		rec, err = b.recordTx(ctx, tx, d)
		return err
	})
	if err != nil {
		return Recorded{}, err
	}
	if !rec.Duplicate {
		b.wake()
	}
	return rec, nil
}

// recordTx is Record inside the caller's transaction (Record's own, or a
// batch's savepoint: see batch.go).
func (b *Book) recordTx(ctx context.Context, tx *sql.Tx, d Delivery) (Recorded, error) {
	var rec Recorded
	// The notifications the limits hold back, for this attempt only.
	ctx, held := withHeld(ctx)
	ctx = withReadCache(ctx) // this mail's record only
	err := func() error {
		if m, err := b.messageBy(ctx, tx, "message-by-fingerprint", d.Message.Fingerprint); err == nil {
			rec = Recorded{Message: m, Duplicate: true}
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		m := d.Message
		m.Reason = d.Reason
		switch d.Action {
		case ActOpen:
			m.Outcome = OutcomeCaseOpened
		case ActComment:
			m.Outcome = OutcomeCommentAdded
		case ActRefuse:
			m.Outcome = OutcomeRefused
		case ActQuarantine:
			m.Outcome = OutcomeQuarantined
		case ActIgnore:
			m.Outcome = OutcomeIgnored
		default:
			return fmt.Errorf("record message: unknown action %q", d.Action)
		}
		if m.ReceivedAt.IsZero() {
			m.ReceivedAt = b.now()
		}
		id, err := b.insertMessage(ctx, tx, m)
		if err != nil {
			return err
		}
		m.ID = id
		caseID, reason, err := b.apply(ctx, tx, d, m.From, m.Reason, id)
		if err != nil {
			return err
		}
		m.Reason = reason
		if rec.Commands, err = b.applyCommands(ctx, tx, d, caseID); err != nil {
			return err
		}
		if d.Alert != nil {
			note, err := b.alertTeam(ctx, tx, caseID, id, *d.Alert)
			if err != nil {
				return err
			}
			m.Reason = strings.TrimSpace(m.Reason + " " + note)
		}
		if note := held.note(); note != "" {
			m.Reason = strings.TrimSpace(m.Reason + " " + note)
		}
		if caseID != 0 {
			m.CaseID = &caseID
		}
		if _, err := tx.ExecContext(ctx, b.query("message-decision-set"), nullID(caseID), m.Reason, id); err != nil {
			return err
		}
		rec.Message = m
		return nil
	}()
	if err != nil {
		return Recorded{}, err
	}
	return rec, nil
}

// apply makes the change a decision asks for, for the inbound message id
// from the address from: the case opened or commented, a refusal recorded
// in the case's history, the notice queued. It returns the case concerned
// and the message's reason, told when the notice was not sent.
func (b *Book) apply(ctx context.Context, tx *sql.Tx, d Delivery, from, reason string, id int64) (caseID int64, _ string, err error) {
	switch d.Action {
	case ActOpen:
		if d.Open.FollowUpOf != 0 {
			caseID, err = b.followUp(ctx, tx, d.Open.FollowUpOf, d.Open.Requester, d.Open.Title, d.Open.Description, id)
		} else {
			if err = b.checkOpen(ctx, tx, d.Open.Requester, d.Open.Org, d.Open.Product); err == nil {
				caseID, err = b.openCase(ctx, tx, d.Open, id)
			}
		}
	case ActComment:
		caseID, err = b.commentByMail(ctx, tx, d, id)
	default:
		caseID = d.CaseID
		if d.Action == ActRefuse || d.Action == ActQuarantine {
			err = b.claimEvent(ctx, tx, d, from, id)
		}
		if claimed := cmp.Or(caseID, d.Claimed); err == nil && claimed != 0 && (d.Action == ActRefuse || d.Action == ActQuarantine) {
			err = b.refusedClaim(ctx, tx, claimed, from, d, d.Message.Subject)
		}
	}
	if err != nil {
		return 0, reason, err
	}
	if d.Notice != nil {
		ok, err := b.noticeAllowed(ctx, tx, d.Notice.To)
		if err != nil {
			return 0, reason, err
		}
		if ok {
			err = b.enqueue(ctx, tx, notice{Event: string(d.Notice.Template), Template: d.Notice.Template, To: d.Notice.To, CaseID: caseID, Data: d.Notice.Data, Locale: d.Notice.Locale})
			if err != nil {
				return 0, reason, err
			}
		} else {
			reason = strings.TrimSpace(reason + " (notice not sent: too many notices to this sender in the last hour)")
		}
	}
	return caseID, reason, nil
}

// claimEvent records a refused or quarantined mail in the history of the
// case it claimed, when that case exists.
func (b *Book) claimEvent(ctx context.Context, tx *sql.Tx, d Delivery, from string, id int64) error {
	claimed := d.CaseID
	if claimed == 0 {
		claimed = d.Claimed
	}
	if claimed == 0 {
		return nil
	}
	if _, err := b.caseRow(ctx, tx, claimed); errors.Is(err, ErrNotFound) {
		return nil // a forged claim may name any number
	} else if err != nil {
		return err
	}
	kind := EventRefused
	if d.Action == ActQuarantine {
		kind = EventQuarantined
	}
	return b.event(ctx, tx, claimed, from, kind, "message %d: %s", id, d.Reason)
}

func (b *Book) commentByMail(ctx context.Context, tx *sql.Tx, d Delivery, messageID int64) (int64, error) {
	c, err := b.caseTx(ctx, tx, d.CaseID)
	if err != nil {
		return 0, err
	}
	ok, err := b.canView(ctx, tx, d.Author, c)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, refuse(I6, "%s may not take part in case %d", normAddr(d.Author), c.ID)
	}
	// R13: there is no reopening by mail, whatever the mail says.
	if c.Status == StatusClosed || c.Imported {
		return 0, refuse(R13, "case %d is closed", c.ID)
	}
	if err := b.mailCommentsOver(ctx, tx, c.ID, d.Author); err != nil {
		return 0, err // I5: a loop, decided at the same time as another mail
	}
	body := d.Body
	if strings.TrimSpace(body) == "" {
		body = d.FullText
	}
	if d.Internal {
		if err := b.checkAgent(ctx, tx, d.Author); err != nil {
			return 0, err
		}
	}
	cm, err := b.addComment(ctx, tx, c, d.Author, body, d.FullText, messageID, d.Internal)
	if err != nil {
		return 0, err
	}
	if d.Message.Unauthenticated {
		// Threaded by a reply token, but the From domain was not
		// authenticated (issue 13): agents see the mark.
		if _, err := tx.ExecContext(ctx, b.query("comment-unauthenticated"), cm.ID); err != nil {
			return 0, fmt.Errorf("mark comment %d unauthenticated: %w", cm.ID, err)
		}
	}
	if d.Internal {
		return c.ID, nil // a note's Cc are colleagues, not watchers of the customer's case
	}
	for _, w := range d.AddWatchers {
		if w = normAddr(w); w == "" || w == normAddr(c.Requester) {
			continue
		}
		res, err := tx.ExecContext(ctx, b.query("watcher-add"), c.ID, w, "cc", ms(b.now()))
		if err != nil {
			return 0, fmt.Errorf("add watcher %s: %w", w, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := b.event(ctx, tx, c.ID, d.Author, EventWatcherAdded, "%s (cc)", w); err != nil {
				return 0, err
			}
		}
	}
	return c.ID, nil
}

func (b *Book) insertMessage(ctx context.Context, tx *sql.Tx, m Message) (int64, error) {
	rcpts, _ := json.Marshal(nonNil(m.Recipients))
	problems, _ := json.Marshal(nonNil(m.Problems))
	var id int64
	err := tx.QueryRowContext(ctx, b.query("message-insert"), m.MessageID, m.Fingerprint, normAddr(m.From), m.MailFrom, string(rcpts),
		m.Subject, ms(m.ReceivedAt), m.Transport, string(m.Outcome), m.Reason, nil, m.RawSHA256, m.Size, string(problems),
		string(m.Auth), boolInt(m.Unauthenticated)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record message: %w", err)
	}
	return id, nil
}

// MessageByFingerprint returns the record of an already received message.
func (b *Book) MessageByFingerprint(ctx context.Context, fp string) (Message, error) {
	return b.messageBy(ctx, b.rdb, "message-by-fingerprint", fp)
}

// Message returns one inbound message record.
func (b *Book) Message(ctx context.Context, id int64) (Message, error) {
	return b.messageBy(ctx, b.rdb, "message-get", id)
}

// Messages lists inbound messages, optionally of one outcome, oldest first.
func (b *Book) Messages(ctx context.Context, outcome Outcome) ([]Message, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("messages-list"), string(outcome))
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// messageBy reads one message with the named query (by id, by fingerprint).
func (b *Book) messageBy(ctx context.Context, q querier, query string, args ...any) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, b.query(query), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return m, notFound("there is no such message")
	}
	return m, err
}

func scanMessage(s scanner) (Message, error) {
	var m Message
	var rcpts, problems, auth string
	var received int64
	var caseID sql.NullInt64
	err := s.Scan(&m.ID, &m.MessageID, &m.Fingerprint, &m.From, &m.MailFrom, &rcpts, &m.Subject, &received, &m.Transport,
		&m.Outcome, &m.Reason, &caseID, &m.RawSHA256, &m.Size, &problems, &auth, &m.Unauthenticated)
	if err != nil {
		return m, err
	}
	m.ReceivedAt = fromMS(received)
	if caseID.Valid {
		m.CaseID = &caseID.Int64
	}
	json.Unmarshal([]byte(rcpts), &m.Recipients)
	json.Unmarshal([]byte(problems), &m.Problems)
	if auth != "" {
		m.Auth = json.RawMessage(auth)
	}
	return m, nil
}

// CaseOfMessageID finds the case a Message-ID (without <>) belongs to: one of
// our notifications (<token@domain>), or an inbound mail already on a case.
func (b *Book) CaseOfMessageID(ctx context.Context, msgID string) (int64, bool, error) {
	if local, domain, ok := strings.Cut(msgID, "@"); ok && strings.EqualFold(domain, b.opt.MessageIDDomain) {
		it, err := b.OutboxByToken(ctx, local)
		if err == nil && it.CaseID != nil {
			return *it.CaseID, true, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return 0, false, err
		}
	}
	var id int64
	err := b.rdb.QueryRowContext(ctx, b.query("message-case-by-id"), msgID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("case of message %s: %w", msgID, err)
	}
	return id, true, nil
}

// Checkpoint returns where an IMAP mailbox's poller stopped (0, 0 when new).
func (b *Book) Checkpoint(ctx context.Context, mailbox string) (uidValidity, lastUID uint32, err error) {
	err = b.rdb.QueryRowContext(ctx, b.query("checkpoint-get"), mailbox).Scan(&uidValidity, &lastUID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("checkpoint of %s: %w", mailbox, err)
	}
	return uidValidity, lastUID, nil
}

// SaveCheckpoint records where an IMAP mailbox's poller is.
func (b *Book) SaveCheckpoint(ctx context.Context, mailbox string, uidValidity, lastUID uint32) error {
	return b.exec(ctx, "checkpoint-put", mailbox, uidValidity, lastUID, ms(b.now()))
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
