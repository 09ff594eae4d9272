package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Replay is one later outcome of an inbound message, kept beside the first
// one (I4): a "message replay" that changed the outcome, or a release.
type Replay struct {
	At      time.Time `json:"at"`
	Outcome Outcome   `json:"outcome"`
	Reason  string    `json:"reason"`
	CaseID  *int64    `json:"case_id"`
}

// Replayed is what Replay or Release did to a message.
type Replayed struct {
	Message  Message  `json:"message"`  // the first outcome, as recorded on arrival
	Replays  []Replay `json:"replays"`  // every later outcome, oldest first, this one included
	Outcome  Outcome  `json:"outcome"`  // the outcome decided now
	Reason   string   `json:"reason"`   // why
	CaseID   *int64   `json:"case_id"`  // the case concerned now
	Changed  bool     `json:"changed"`  // something was recorded
	DryRun   bool     `json:"dry_run"`  // nothing was applied
	Effected bool     `json:"effected"` // an earlier outcome already opened or commented: nothing more is done
}

func outcomeOfAction(a Action) (Outcome, error) {
	switch a {
	case ActOpen:
		return OutcomeCaseOpened, nil
	case ActComment:
		return OutcomeCommentAdded, nil
	case ActRefuse:
		return OutcomeRefused, nil
	case ActQuarantine:
		return OutcomeQuarantined, nil
	case ActIgnore:
		return OutcomeIgnored, nil
	}
	return "", fmt.Errorf("unknown action %q", a)
}

// hasEffect says whether an outcome changed a case: such a message must
// never change one again, however often it is replayed (I2).
func hasEffect(o Outcome) bool { return o == OutcomeCaseOpened || o == OutcomeCommentAdded }

// replayState loads a message with its later outcomes and the one that counts now.
func (b *Book) replayState(ctx context.Context, q querier, id int64) (Replayed, error) {
	m, err := b.messageBy(ctx, q, "message-get", id)
	if errors.Is(err, ErrNotFound) {
		return Replayed{}, notFound("there is no message %d", id)
	}
	if err != nil {
		return Replayed{}, err
	}
	r := Replayed{Message: m, Replays: []Replay{}, Outcome: m.Outcome, Reason: m.Reason, CaseID: m.CaseID}
	rows, err := q.QueryContext(ctx, b.query("replays-of"), id)
	if err != nil {
		return r, fmt.Errorf("replays of message %d: %w", id, err)
	}
	defer rows.Close()
	r.Effected = hasEffect(m.Outcome)
	for rows.Next() {
		var rp Replay
		var at int64
		var caseID sql.NullInt64
		if err := rows.Scan(&at, &rp.Outcome, &rp.Reason, &caseID); err != nil {
			return r, err
		}
		rp.At = fromMS(at)
		if caseID.Valid {
			rp.CaseID = &caseID.Int64
		}
		r.Replays = append(r.Replays, rp)
		r.Outcome, r.Reason, r.CaseID = rp.Outcome, rp.Reason, rp.CaseID
		r.Effected = r.Effected || hasEffect(rp.Outcome)
	}
	return r, rows.Err()
}

// Replays returns a message with its later outcomes.
func (b *Book) Replays(ctx context.Context, id int64) (Replayed, error) {
	return b.replayState(ctx, b.rdb, id)
}

// Replay applies d, a decision taken again on stored message id with
// today's configuration, and records its outcome beside the first one. It
// is deliberate, so the fingerprint check of Record (I2) does not stop it;
// but a message that already opened a case or added a comment, at arrival
// or in an earlier replay, is never applied again, and a replay that
// decides what was last decided records nothing: replaying twice has one
// effect. With dryRun nothing is written.
func (b *Book) Replay(ctx context.Context, id int64, d Delivery, dryRun bool) (Replayed, error) {
	out, err := outcomeOfAction(d.Action)
	if err != nil {
		return Replayed{}, err
	}
	var r Replayed
	err = b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = b.replayState(ctx, tx, id); err != nil {
			return err
		}
		if r.Effected {
			return nil
		}
		if out == r.Outcome && d.Reason == r.Reason {
			return nil
		}
		if dryRun {
			r.DryRun, r.Outcome, r.Reason = true, out, d.Reason
			r.CaseID = nil
			if d.CaseID != 0 {
				r.CaseID = &d.CaseID
			}
			return nil
		}
		caseID, reason, err := b.apply(ctx, tx, d, r.Message.From, d.Reason, id)
		if err != nil {
			return err
		}
		return b.recordReplay(ctx, tx, &r, out, reason, caseID)
	})
	if err != nil {
		return Replayed{}, fmt.Errorf("replay message %d: %w", id, err)
	}
	if r.Changed {
		b.wake()
	}
	return r, nil
}

func (b *Book) recordReplay(ctx context.Context, tx *sql.Tx, r *Replayed, out Outcome, reason string, caseID int64) error {
	now := b.now()
	if _, err := tx.ExecContext(ctx, b.query("replay-insert"), r.Message.ID, ms(now), string(out), reason, nullID(caseID)); err != nil {
		return fmt.Errorf("record replay: %w", err)
	}
	if caseID != 0 && r.Message.CaseID == nil {
		// The message now belongs to the case: replies quoting its Message-ID find it.
		if _, err := tx.ExecContext(ctx, b.query("message-case-set"), caseID, r.Message.ID); err != nil {
			return fmt.Errorf("record replay: %w", err)
		}
	}
	rp := Replay{At: now, Outcome: out, Reason: reason}
	if caseID != 0 {
		rp.CaseID = &caseID
	}
	r.Replays = append(r.Replays, rp)
	r.Outcome, r.Reason, r.CaseID, r.Changed = out, reason, rp.CaseID, true
	r.Effected = hasEffect(out)
	return nil
}

// Release adds a quarantined message after an agent checked it: as a
// comment on case toCase by the message's sender (its new text body, whole
// text full), or, when toCase is 0, as a new case nc, which the rules for
// opening (R1–R4, R19) still apply to. by is the agent ("" for the
// administrator). A message is released once.
func (b *Book) Release(ctx context.Context, id, toCase int64, nc NewCase, body, full, by string) (Replayed, error) {
	var r Replayed
	err := b.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r, err = b.replayState(ctx, tx, id); err != nil {
			return err
		}
		if r.Effected {
			return fmt.Errorf("message %d was already added (%s): releasing it again would add it twice", id, r.Outcome)
		}
		if r.Message.Outcome != OutcomeQuarantined {
			return fmt.Errorf("message %d was %s, not quarantined: use \"casemail message replay %d\" to decide again", id, r.Message.Outcome, id)
		}
		if err := b.checkAgent(ctx, tx, by); err != nil {
			return err
		}
		who := normAddr(by)
		if who == "" {
			who = "the administrator"
		}
		if toCase == 0 {
			nc.Requester = r.Message.From
			if err := b.checkOpen(ctx, tx, nc.Requester, nc.Org, nc.Product); err != nil {
				return err
			}
			nc.By = by
			caseID, err := b.openCase(ctx, tx, nc, id)
			if err != nil {
				return err
			}
			if err := b.event(ctx, tx, caseID, by, EventReleased, "message %d", id); err != nil {
				return err
			}
			return b.recordReplay(ctx, tx, &r, OutcomeCaseOpened, "released by "+who, caseID)
		}
		c, err := b.caseTx(ctx, tx, toCase)
		if err != nil {
			return err
		}
		if c.Status == StatusClosed || c.Imported {
			return refuse(R13, "case %d is closed: reopen it first, then release the message", toCase)
		}
		if strings.TrimSpace(body) == "" {
			body = full
		}
		if err := b.event(ctx, tx, c.ID, by, EventReleased, "message %d from %s", id, r.Message.From); err != nil {
			return err
		}
		if _, err := b.addComment(ctx, tx, c, r.Message.From, body, full, id, false); err != nil {
			return err
		}
		return b.recordReplay(ctx, tx, &r, OutcomeCommentAdded, "released by "+who, c.ID)
	})
	if err != nil {
		return Replayed{}, fmt.Errorf("release message %d: %w", id, err)
	}
	b.wake()
	return r, nil
}
