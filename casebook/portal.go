package casebook

// The customer view's storage (issue 15): one-time sign-in links, sessions,
// files attached from the web, and the few facts its pages show that the
// command line does not need. The rules stay in the functions the command
// line uses; nothing here grants access by itself.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrSignInInvalid is returned for a sign-in link that is unknown, used or
// expired; the three are not told apart.
var ErrSignInInvalid = errors.New("this sign-in link is not valid any more: ask for a new one")

// ErrNoSession is returned for a session cookie that is unknown, expired,
// signed out, or whose account is gone.
var ErrNoSession = errors.New("not signed in")

// newSecretToken returns 32 random bytes as base64url and their hash, the
// only form stored.
func newSecretToken() (token, hash string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	return token, hashToken(token), nil
}

func hashToken(t string) string {
	s := sha256.Sum256([]byte(t))
	return hex.EncodeToString(s[:])
}

// RequestSignIn mails a one-time sign-in link, valid for ttl, to addr if it
// has an account; link turns the token into the URL. It reports whether a
// mail was queued, which the caller must never show: the page is the same
// for every address.
func (b *Book) RequestSignIn(ctx context.Context, addr string, ttl time.Duration, link func(token string) string) (bool, error) {
	sent := false
	err := b.tx(ctx, func(tx *sql.Tx) error {
		a, err := b.account(ctx, tx, addr)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if a.Disabled {
			return nil // the same page as for an unknown address
		}
		token, hash, err := newSecretToken()
		if err != nil {
			return err
		}
		now := b.now()
		if _, err := tx.ExecContext(ctx, b.query("signin-purge"), ms(now)); err != nil {
			return fmt.Errorf("purge sign-in links: %w", err)
		}
		if _, err := tx.ExecContext(ctx, b.query("signin-insert"), hash, a.Address, ms(now), ms(now.Add(ttl))); err != nil {
			return fmt.Errorf("store sign-in link: %w", err)
		}
		data := map[string]string{"link": link(token), "minutes": fmt.Sprint(int(ttl.Minutes())), "address": a.Address}
		sent = true
		return b.enqueue(ctx, tx, notice{Event: "signin", Template: "signin_link", To: a.Address, Data: data})
	})
	if err != nil {
		return false, fmt.Errorf("sign-in link: %w", err)
	}
	if sent {
		b.wake()
	}
	return sent, nil
}

// UseSignIn spends a sign-in token (once) and returns its address.
func (b *Book) UseSignIn(ctx context.Context, token string) (string, error) {
	var addr string
	err := b.db.QueryRowContext(ctx, b.query("signin-use"), ms(b.now()), hashToken(token)).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrSignInInvalid
	}
	if err != nil {
		return "", fmt.Errorf("use sign-in link: %w", err)
	}
	return addr, nil
}

// NewSession starts a session for addr lasting ttl and returns its id (the
// cookie value).
func (b *Book) NewSession(ctx context.Context, addr string, ttl time.Duration) (string, error) {
	id, hash, err := newSecretToken()
	if err != nil {
		return "", err
	}
	now := b.now()
	if _, err := b.db.ExecContext(ctx, b.query("session-purge"), ms(now)); err != nil {
		return "", fmt.Errorf("purge sessions: %w", err)
	}
	if _, err := b.db.ExecContext(ctx, b.query("session-insert"), hash, normAddr(addr), ms(now), ms(now.Add(ttl))); err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	return id, nil
}

// SessionAddress returns who a live session belongs to, or ErrNoSession.
func (b *Book) SessionAddress(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", ErrNoSession
	}
	var addr string
	err := b.rdb.QueryRowContext(ctx, b.query("session-get"), hashToken(id), ms(b.now())).Scan(&addr)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoSession
	}
	if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	return addr, nil
}

// EndSession signs one session out.
func (b *Book) EndSession(ctx context.Context, id string) error {
	if _, err := b.db.ExecContext(ctx, b.query("session-delete"), hashToken(id)); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndSessions signs addr out everywhere and spends its pending sign-in
// links; disabling an account calls it.
func (b *Book) EndSessions(ctx context.Context, addr string) error {
	for _, q := range []string{"sessions-delete-of", "signins-delete-of"} {
		if _, err := b.db.ExecContext(ctx, b.query(q), normAddr(addr)); err != nil {
			return fmt.Errorf("end sessions of %s: %w", normAddr(addr), err)
		}
	}
	return nil
}

// NewAttachment is a file attached when a case is opened from the web.
type NewAttachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Attachment is a stored file of a case.
type Attachment struct {
	ID          int64     `json:"id"`
	CaseID      int64     `json:"case_id"`
	Author      string    `json:"author"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// OpenCaseWithFiles is OpenCase (R1–R4, R19 checked, followers notified)
// with files attached, all in one transaction: a case never exists without
// the files it was opened with.
func (b *Book) OpenCaseWithFiles(ctx context.Context, nc NewCase, files []NewAttachment) (Case, error) {
	var id int64
	err := b.tx(ctx, func(tx *sql.Tx) error {
		if err := b.checkOpen(ctx, tx, nc.Requester, nc.Org, nc.Product); err != nil {
			return err
		}
		var err error
		if id, err = b.openCase(ctx, tx, nc, 0); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := tx.ExecContext(ctx, b.query("attachment-insert"), id, normAddr(nc.Requester), f.Filename, f.ContentType,
				len(f.Data), f.Data, ms(b.now())); err != nil {
				return fmt.Errorf("attach %s: %w", f.Filename, err)
			}
		}
		return nil
	})
	if err != nil {
		return Case{}, err
	}
	b.wake()
	return b.Case(ctx, id)
}

// Attachments lists the files attached to a case from the web.
func (b *Book) Attachments(ctx context.Context, caseID int64) ([]Attachment, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("attachments-of"), caseID)
	if err != nil {
		return nil, fmt.Errorf("attachments of case %d: %w", caseID, err)
	}
	defer rows.Close()
	out := []Attachment{}
	for rows.Next() {
		var a Attachment
		var created int64
		if err := rows.Scan(&a.ID, &a.CaseID, &a.Author, &a.Filename, &a.ContentType, &a.Size, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AttachmentData returns one file and its content. The caller checks that
// the reader may see its case (CanView).
func (b *Book) AttachmentData(ctx context.Context, id int64) (Attachment, []byte, error) {
	var a Attachment
	var created int64
	var data []byte
	err := b.rdb.QueryRowContext(ctx, b.query("attachment-get"), id).Scan(&a.ID, &a.CaseID, &a.Author, &a.Filename, &a.ContentType, &a.Size, &created, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil, notFound("there is no attachment %d", id)
	}
	if err != nil {
		return a, nil, fmt.Errorf("read attachment %d: %w", id, err)
	}
	a.CreatedAt = fromMS(created)
	return a, data, nil
}

// LastActivity is the latest change of a case: opened, commented, closed,
// reopened or escalated (R7 lists newest activity first).
func (b *Book) LastActivity(ctx context.Context, caseID int64) (time.Time, error) {
	var v int64
	if err := b.rdb.QueryRowContext(ctx, b.query("case-last-activity"), caseID).Scan(&v); err != nil {
		return time.Time{}, fmt.Errorf("last activity of case %d: %w", caseID, err)
	}
	return fromMS(v), nil
}

// EscalationAllowedAt is when a case may first be escalated (R15): its
// initial response time after it was opened.
func (b *Book) EscalationAllowedAt(c Case) time.Time {
	wait, ok := b.opt.InitialResponse[c.Priority]
	if !ok {
		wait = 24 * time.Hour // as Escalate
	}
	return c.CreatedAt.Add(wait)
}

// Now is the casebook's clock, so pages and rules agree on the time.
func (b *Book) Now() time.Time { return b.now() }

// ParticipantOrgs lists the organisations where addr submitted or watches a
// case: "my cases" covers them even where addr is not a member (R7).
func (b *Book) ParticipantOrgs(ctx context.Context, addr string) ([]string, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("participant-orgs"), normAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("organisations of %s: %w", normAddr(addr), err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CaseMail is one inbound mail that opened or commented on a case.
type CaseMail struct {
	MessageID int64  // the record of the mail (casemail message show)
	RawSHA256 string // its raw text, for WriteRaw
}

// CaseMails lists the mails whose content is part of a case, oldest first:
// their attachments are the case's (a refused or quarantined mail is not).
func (b *Book) CaseMails(ctx context.Context, caseID int64) ([]CaseMail, error) {
	rows, err := b.rdb.QueryContext(ctx, b.query("case-mail-messages"), caseID)
	if err != nil {
		return nil, fmt.Errorf("mails of case %d: %w", caseID, err)
	}
	defer rows.Close()
	var out []CaseMail
	for rows.Next() {
		var m CaseMail
		if err := rows.Scan(&m.MessageID, &m.RawSHA256); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
