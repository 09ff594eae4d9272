package message

import (
	"regexp"
	"strings"
)

// Non-standard bounces (Exim, qmail, old Postfix, Exchange, GroupWise, AOL,
// Yahoo...): recognised by their sender, subject or wording.

// daemonFrom matches the local parts (and display names) bounces come
// from; MDaemon is the mail server that signs its reports with its name.
var daemonFrom = regexp.MustCompile(`(?i)^(?:mailer-daemon|mailer_daemon|postmaster|mail-daemon|maildaemon|mail delivery (?:system|subsystem)|mailerdaemon|mdaemon|nobody|bounces?)$`)

var bounceSubject = regexp.MustCompile(`(?i)undeliver|undelivered mail|returned mail|mail (?:delivery )?(?:failed|failure|problem)|not (?:yet )?been delivered|delivery (?:status notification|failure|failed|problem|notification|warning)|non[- ]?delivery|failed mail|failure notice|non[- ]?remis|non distribuable|unzustellbar|nondeliverable|could not (?:be )?deliver|message not delivered|delivery has failed|warning: could not send|delayed mail|returned to sender|mail system error|rejected:|error sending message|nicht zugestellt`)

var bounceBody = regexp.MustCompile(`(?i)could not be delivered|undeliverable|delivery to the following recipient|permanent (?:error|fatal)|user unknown|no such user|unknown user|mailbox (?:unavailable|not found|is full|full)|recipient address rejected|this is a permanent error|message could not be delivered|delivery has failed|not be delivered to|host unknown|unknown host|returned mail|address rejected|did not reach the following recipient|failed recipient|delivery failed|unable to deliver|non-delivery|cannot be delivered|is not a valid mailbox|account (?:is )?(?:disabled|suspended|inactive|not available)|` +
	// Exim's opening line and its delay warning; a full mailbox.
	`mail delivery software|has not (?:yet )?been delivered|full mailbox|not a valid (?:user|recipient|address|mailbox)`)

// qmailList is qmail's failure list: each failed recipient as
// "<user@host>:" on a line of its own, in any language. A person may quote
// such a line, so it counts only in mail from a daemon.
var qmailList = regexp.MustCompile(`(?m)^<[^<>\s@]+@[^<>\s]+>:[ \t]*\r?$`)

// looksLikeBounce uses the non-standard signs: a daemon sender, a bounce
// subject, or the null envelope sender with bounce wording.
func looksLikeBounce(d *diag, nullSender bool) bool {
	p := d.p
	local := p.From
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	daemon := daemonFrom.MatchString(local) || daemonFrom.MatchString(strings.TrimSpace(p.FromName))
	// A customer forwarding a bounce to support is a normal mail; but a
	// reply prefix is kept by bounces that quote the original subject, and
	// mail to a return path (a list's -bounces address, casemail's own
	// bounce+TOKEN) is never written by a person.
	subj := bounceSubject.MatchString(p.Subject) && (!replyPrefix.MatchString(p.Subject) || toReturnPath(p))
	auto := headerToken(p.Header("Auto-Submitted"))
	if subj && (p.From == "" || (auto != "" && auto != "no")) {
		return true
	}
	if daemon && p.Subject == "" {
		return true
	}
	// Mail without a usable From that says it is auto-submitted is a
	// machine's, as the null sender is.
	anonymousAuto := p.From == "" && auto != "" && auto != "no"
	// The body scan is the costly part: only for mail with another sign.
	if !daemon && !subj && !nullSender && !anonymousAuto {
		return false
	}
	if daemon && subj {
		return true
	}
	text := d.text()
	return bounceBody.MatchString(text) || daemon && qmailList.MatchString(text)
}

// returnPathLocal matches local parts that name a return path: "bounces",
// "list-bounces", "bounce+token", "bounce-123-user=host" (VERP).
var returnPathLocal = regexp.MustCompile(`(?i)(?:^|[-+_.])bounces?(?:$|[-+_.=])`)

// toReturnPath reports mail whose every To address is a return path.
func toReturnPath(p *Parsed) bool {
	if len(p.To) == 0 {
		return false
	}
	for _, a := range p.To {
		i := strings.LastIndexByte(a, '@')
		if i < 0 || !returnPathLocal.MatchString(a[:i]) {
			return false
		}
	}
	return true
}

var replyPrefix = regexp.MustCompile(`(?i)^\s*(?:re|fwd?|tr|aw|wg|sv|vs|antw|r[ée]f)\s*(?:\[\d+\])?\s*:`)
