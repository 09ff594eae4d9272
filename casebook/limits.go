package casebook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/templates"
)

// Limits against mail loops and backscatter (I5, docs/security.md). Every
// limit counts by LimitKey, so that target+1@, target+2@ and TARGET@ share
// one quota. A notification a limit holds back is not queued; Record notes
// it in the message's reason ("not mailed: …"), so it is recorded, not
// lost.

// LimitKey is the address a limit counts by: lower case and without its
// plus tag (RFC 5233), which the attacker chooses freely.
func LimitKey(addr string) string {
	base, _ := address.Split(normAddr(addr))
	return base
}

// taggedLike is the LIKE pattern (escape \) of the tagged variants of key:
// local+anything@domain.
func taggedLike(key string) string {
	at := strings.LastIndexByte(key, '@')
	if at < 0 {
		return likeEscape(key) + "+%"
	}
	return likeEscape(key[:at]) + "+%" + likeEscape(key[at:])
}

// taggedRange bounds the tagged variants of key for an index: every
// local+…@domain sorts after "local+" and before "local,".
func taggedRange(key string) (lo, hi string) {
	local, _, _ := strings.Cut(key, "@")
	return local + "+", local + ","
}

// keyArgs are ?2 key, ?3 LIKE pattern, ?5/?6 range of a limit query.
func keyArgs(key string) (string, string, string, string) {
	lo, hi := taggedRange(key)
	return key, taggedLike(key), lo, hi
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// MailCommentsSince counts the comments that sender (any plus tag) added to
// case caseID by mail since since: more than policy.max_mail_comments in
// policy.loop_window is a suspected loop.
func (b *Book) MailCommentsSince(ctx context.Context, caseID int64, sender string, since time.Time) (int, error) {
	key := LimitKey(sender)
	k, like, lo, hi := keyArgs(key)
	var n int
	if err := b.rdb.QueryRowContext(ctx, b.query("mail-comments-since"), caseID, k, like, ms(since), lo, hi).Scan(&n); err != nil {
		return 0, fmt.Errorf("count comments by %s on case %d: %w", key, caseID, err)
	}
	return n, nil
}

// I5 is the rule that refuses a comment past policy.max_mail_comments.
const I5 Rule = "I5" // no loops

// mailCommentsOver checks policy.max_mail_comments again inside Record's
// transaction (the message being recorded is not linked to the case yet,
// so not counted): two
// mails decided at the same time cannot both slip past the limit. The
// refusal has the gateway decide again, and that decision sees the
// comments committed meanwhile.
func (b *Book) mailCommentsOver(ctx context.Context, tx *sql.Tx, caseID int64, author string) error {
	if b.opt.MaxMailComments <= 0 || b.opt.LoopWindow <= 0 {
		return nil
	}
	// Agents' mail is the gateway's agent path (ingest/agent.go), which
	// the limit does not apply to: a busy agent may answer often.
	if a, err := b.account(ctx, tx, author); err == nil && a.Agent {
		return nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	k, like, lo, hi := keyArgs(LimitKey(author))
	var n int
	if err := tx.QueryRowContext(ctx, b.query("mail-comments-since"), caseID, k, like, ms(b.now().Add(-b.opt.LoopWindow)), lo, hi).Scan(&n); err != nil {
		return fmt.Errorf("count comments by %s on case %d: %w", k, caseID, err)
	}
	if n >= b.opt.MaxMailComments {
		return refuse(I5, "%s has added %d comments by mail to case %d in %s (policy.max_mail_comments)", k, n, caseID, b.opt.LoopWindow)
	}
	return nil
}

// heldKey carries, through one Record, the notifications the limits held
// back.
type heldKey struct{}

type heldList struct{ why []string }

func withHeld(ctx context.Context) (context.Context, *heldList) {
	h := &heldList{}
	return context.WithValue(ctx, heldKey{}, h), h
}

func (h *heldList) note() string {
	if h == nil || len(h.why) == 0 {
		return ""
	}
	const show = 3
	s := "not mailed: " + strings.Join(h.why[:min(show, len(h.why))], "; ")
	if len(h.why) > show {
		s += fmt.Sprintf("; and %d more", len(h.why)-show)
	}
	return "(" + s + ")"
}

// hold says why n must not be queued, "" when it may be: too many
// notifications to one recipient about one case (a loop between two
// auto-responders), or too many mails this hour to people who never
// wrote to us (backscatter through Cc).
//
// earlierNew is how many mails to new people the caller is about to queue
// before n and has not written yet (Audience); isNew says whether n's
// recipient never wrote.
func (b *Book) hold(ctx context.Context, q querier, n notice, earlierNew int) (why string, isNew bool, err error) {
	if why, err := b.suppressedWhy(ctx, q, n); why != "" || err != nil {
		return why, false, err // suppressions.go: per address, every case
	}
	key := LimitKey(n.To)
	k, like, lo, hi := keyArgs(key)
	now := b.now()
	if n.CaseID != 0 && b.opt.MaxCaseNotifications > 0 && b.opt.LoopWindow > 0 {
		var c int
		err := q.QueryRowContext(ctx, b.query("case-notifications-since"), n.CaseID, k, like, ms(now.Add(-b.opt.LoopWindow)), lo, hi).Scan(&c)
		if err != nil {
			return "", false, fmt.Errorf("count notifications to %s: %w", key, err)
		}
		if c >= b.opt.MaxCaseNotifications {
			return fmt.Sprintf("%s to %s: %d notifications about case %d in %s already (policy.max_case_notifications)",
				n.Template, key, c, n.CaseID, b.opt.LoopWindow), false, nil
		}
	}
	// Alerts go to our own team: they are not backscatter.
	if b.opt.MaxNewRecipientsPerHour > 0 && n.Template != templates.LoopSuspected && n.Template != templates.MailQuarantined {
		var known bool
		if err := q.QueryRowContext(ctx, b.query("wrote-before"), k, like, lo, hi).Scan(&known); err != nil {
			return "", false, fmt.Errorf("look up %s: %w", key, err)
		}
		if !known {
			var c int
			if err := q.QueryRowContext(ctx, b.query("new-recipients-since"), ms(now.Add(-time.Hour)), b.opt.MaxNewRecipientsPerHour).Scan(&c); err != nil {
				return "", false, fmt.Errorf("count mail to new recipients: %w", err)
			}
			if c+earlierNew >= b.opt.MaxNewRecipientsPerHour {
				return fmt.Sprintf("%s to %s, who never wrote to us: %d such mails in the last hour already (policy.max_new_recipients_per_hour)",
					n.Template, key, c+earlierNew), true, nil
			}
			return "", true, nil
		}
	}
	return "", false, nil
}

// Alert tells the team about a mail the gateway held back: a suspected
// loop, once per case and template in policy.loop_window, or, with About
// set, a registered customer's mail quarantined for failed sender
// authentication (issue 13), once per claimed address and template an
// hour.
type Alert struct {
	Template templates.Name
	Data     map[string]string
	// About is the address the mail claims to be from: the alert goes only
	// when it is a registered account (forging a stranger needs no human),
	// and is counted per address, not per case. Data gets "message_id".
	About string
	// Team is the team of the route the mail came in on, for an alert
	// about no case ("" is policy.default_team).
	Team string
}

// notHeld returns the addresses of to that the limits let n reach, as
// enqueue would queue them one after the other.
func (b *Book) notHeld(ctx context.Context, q querier, n notice, to []string) ([]string, error) {
	var out []string
	newOnes := 0
	for _, a := range to {
		n.To = a
		why, isNew, err := b.hold(ctx, q, n, newOnes)
		if err != nil {
			return nil, err
		}
		if why == "" {
			out = append(out, a)
			if isNew {
				newOnes++
			}
		}
	}
	return out, nil
}

// alertTeam queues a for every agent unless the team was told already; it
// returns what to add to the message's reason. msgID is the message
// recorded.
func (b *Book) alertTeam(ctx context.Context, tx *sql.Tx, caseID, msgID int64, a Alert) (string, error) {
	if a.About != "" {
		return b.alertTeamAbout(ctx, tx, caseID, msgID, a)
	}
	window := b.opt.LoopWindow
	if window <= 0 {
		window = time.Hour
	}
	var told int
	if err := tx.QueryRowContext(ctx, b.query("loop-notices-since"), caseID, a.Template, ms(b.now().Add(-window))).Scan(&told); err != nil {
		return "", fmt.Errorf("look up team alerts: %w", err)
	}
	if told > 0 {
		return "(the team was told already)", nil
	}
	agents, err := b.loopTeam(ctx, tx, caseID, a.Team)
	if err != nil {
		return "", err
	}
	return b.tellTeam(ctx, tx, caseID, a, agents, string(a.Template))
}

// alertTeamAbout is alertTeam for an alert about a claimed sender: nothing
// when a.About has no account, else to each agent not told about that
// address (its plus tags count as one) in the last hour, so a forger repeating a
// customer's address makes one mail an hour, not one per forgery.
func (b *Book) alertTeamAbout(ctx context.Context, tx *sql.Tx, caseID, msgID int64, a Alert) (string, error) {
	if acc, err := b.account(ctx, tx, a.About); errors.Is(err, ErrNotFound) || err == nil && acc.Disabled {
		return "", nil
	} else if err != nil {
		return "", err
	}
	key := LimitKey(a.About)
	event := string(a.Template) + " " + key // what the count below finds again
	agents, err := b.loopTeam(ctx, tx, caseID, a.Team)
	if err != nil {
		return "", err
	}
	since := ms(b.now().Add(-time.Hour))
	var untold []agentRcpt
	for _, r := range agents {
		var told int
		if err := tx.QueryRowContext(ctx, b.query("team-alerts-about-since"), normAddr(r.To), since, a.Template, event).Scan(&told); err != nil {
			return "", fmt.Errorf("look up team alerts about %s: %w", key, err)
		}
		if told == 0 {
			untold = append(untold, r)
		}
	}
	if len(agents) > 0 && len(untold) == 0 {
		return "(the team was told already)", nil
	}
	data := maps.Clone(a.Data)
	if data == nil {
		data = map[string]string{}
	}
	data["message_id"] = strconv.FormatInt(msgID, 10)
	a.Data = data
	return b.tellTeam(ctx, tx, caseID, a, untold, event)
}

// tellTeam queues a for agents, its outbox rows named event.
func (b *Book) tellTeam(ctx context.Context, tx *sql.Tx, caseID int64, a Alert, agents []agentRcpt, event string) (string, error) {
	if len(agents) == 0 {
		return "(" + NoAgentToTell + ")", nil
	}
	var to []string
	for _, r := range agents {
		if err := b.enqueue(ctx, tx, notice{Event: event, Template: a.Template, To: r.To, Locale: r.Locale, CaseID: caseID, Data: a.Data}); err != nil {
			return "", err
		}
		to = append(to, r.To)
	}
	return fmt.Sprintf("(the team was told: %s)", strings.Join(to, ", ")), nil
}

// loopTeam is who hears about a suspected loop on case caseID, or of a
// mail about no case that came in on a route of team: policy.team_addresses,
// else who at support hears of the case (its assignee, its team) or of the
// team (its members, its address; policy.default_team), else every agent
// account.
func (b *Book) loopTeam(ctx context.Context, tx *sql.Tx, caseID int64, team string) ([]agentRcpt, error) {
	var out []agentRcpt
	for _, a := range b.opt.TeamAddresses {
		out = append(out, agentRcpt{To: a})
	}
	if len(out) > 0 {
		return out, nil
	}
	c := Case{Team: team}
	if caseID != 0 {
		var err error
		if c, err = b.caseTx(ctx, tx, caseID); err != nil {
			return nil, err
		}
	}
	if out = b.agentsOf(c, ""); len(out) > 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, b.query("agents"))
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, agentRcpt{To: s})
	}
	rows.Close()
	return out, rows.Err()
}

// NoAgentToTell is noted in a message's reason when an alert had nobody to
// go to; the gateway logs it at WARN too.
const NoAgentToTell = "nobody to tell: set policy.team_addresses or add an agent with casemail account add --agent"
