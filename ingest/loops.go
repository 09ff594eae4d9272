package ingest

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/templates"
)

// Loops between participants whose mail systems answer everything without
// saying so (no Auto-Submitted, no Precedence): every comment notifies the
// other side, whose answer is another comment. Nothing in such mail marks
// it as a machine's (I5), so two things stop it: a reply that adds nothing
// to our own notification but quotes it, and a limit on comments by mail
// per sender and case over a sliding window (policy.max_mail_comments in
// policy.loop_window). Past either, the mail is kept as a suspected loop,
// nobody is notified, and the team is told once.

// suspectedLoop says why a reply from sender to case c looks like a loop,
// nil when it does not.
func (g *Gateway) suspectedLoop(ctx context.Context, in *inbound, c *casebook.Case, sender string) (*Reason, error) {
	if echo := echoesCase(in.parsed.ReplyText, in.parsed.Text, c, sender); echo != nil {
		return echo, nil
	}
	p := g.cfg.Policy
	if p.MaxMailComments <= 0 || p.LoopWindow.Duration <= 0 {
		return nil, nil
	}
	n, err := g.book.MailCommentsSince(ctx, c.ID, sender, g.now().Add(-p.LoopWindow.Duration))
	if err != nil {
		return nil, err
	}
	if n >= p.MaxMailComments {
		return &Reason{Code: RTooManyComments, Args: []any{n, casebook.LimitKey(sender), c.ID, p.LoopWindow.Duration, p.MaxMailComments}}, nil
	}
	return nil, nil
}

// echoesCase reports a reply that only gives back what we sent: its new text
// is empty and the rest quotes a comment or the description of the case,
// or its new text is itself one of them, word for word (an auto-responder
// that pastes the mail it answers). Whitespace and quote marks do not
// count, since every mailer wraps and quotes in its own way.
func echoesCase(replyText, fullText string, c *casebook.Case, sender string) *Reason {
	// What we mailed the sender: the case (its acknowledgement) and the
	// comments of others (nobody is notified of their own).
	ours := []string{c.Description}
	for _, cm := range c.Comments {
		if !strings.EqualFold(cm.Author, sender) {
			ours = append(ours, cm.Body)
		}
	}
	reply := newText(replyText)
	full := unquote(fullText)
	for _, o := range ours {
		o = unquote(o)
		if o == "" {
			continue
		}
		if reply == "" && strings.Contains(full, o) {
			return &Reason{Code: REchoQuote, Args: []any{c.ID}}
		}
		// A short text ("Thanks!") is said again by people too.
		if reply == o && utf8.RuneCountInString(o) >= minEchoRunes {
			return &Reason{Code: REchoRepeat, Args: []any{c.ID}}
		}
	}
	return nil
}

// minEchoRunes is the shortest text whose repetition, unquoted, counts as
// an echo.
const minEchoRunes = 40

// newText is what a reply says of its own: its lines that are not quoted,
// with whitespace folded, and nothing when all it has besides the quote
// is one line ending in a colon (the attribution, "On …, X wrote:", in
// whatever language the mailer speaks).
func newText(reply string) string {
	var own []string
	for line := range strings.Lines(reply) {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, ">") {
			own = append(own, t)
		}
	}
	if len(own) == 1 && strings.HasSuffix(own[0], ":") {
		return ""
	}
	return unquote(strings.Join(own, "\n"))
}

// unquote drops the quote marks at the start of each line and folds all
// whitespace to single spaces.
func unquote(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		line = strings.TrimLeftFunc(line, func(r rune) bool { return r == '>' || unicode.IsSpace(r) })
		for _, w := range strings.Fields(line) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
	}
	return b.String()
}

// loopAlert is the one notice the team gets about a suspected loop, its
// reason in each agent's language.
func loopAlert(c *casebook.Case, sender string, why Reason) *casebook.Alert {
	data := map[string]string{"author": sender, "title": c.Title, "reason": why.In("en")}
	for loc, r := range localized([]Reason{why}) {
		data["reason@"+loc] = r
	}
	return &casebook.Alert{Template: templates.LoopSuspected, Data: data}
}

// watchersFrom is everyone copied on the mail (R8), at most
// policy.max_cc_watchers of them: one mail with a thousand Cc addresses
// would otherwise mail the attacker's text to a thousand people. The rest
// are named in the reasons, not added.
func (g *Gateway) watchersFrom(in *inbound, d *Decision, except string) []string {
	all := g.copied(in, except)
	max := g.cfg.Policy.MaxCcWatchers
	if max <= 0 || len(all) <= max {
		return all
	}
	rest := all[max:]
	shown := rest[:min(len(rest), 5)]
	var more any = ""
	if len(rest) > len(shown) {
		more = reason(RCcMore, len(rest)-len(shown))
	}
	d.add(reason(RCcCapped, len(rest), max, strings.Join(shown, ", "), more))
	return all[:max]
}
