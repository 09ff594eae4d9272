package casebook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// localize fixes what one recipient's notification says, in their locale:
//   - a key "K@LOCALE" (e.g. "escalation_reason@fr") is K in that locale;
//   - people and organisations by their name, falling back to the address or
//     the slug: "requester_display", "author_display", "org_display";
//   - "requester_of" when the recipient is not the requester (a watcher),
//     so the mail says "la demande d'Alice" / "Alice's request", not
//     "votre demande";
//   - "recipient_known" when the recipient has an account (a refusal under
//     R19 is not "you have no account").
//
// The caller's map is shared by every recipient and left as it is.
func (b *Book) localize(ctx context.Context, q querier, data map[string]string, locale, to string) (map[string]string, error) {
	out := make(map[string]string, len(data)+4)
	for k, v := range data {
		if _, ok := strings.CutSuffix(k, "@"+locale); ok || !strings.Contains(k, "@") {
			out[k] = v
		}
	}
	for k, v := range data {
		if base, ok := strings.CutSuffix(k, "@"+locale); ok {
			out[base] = v
			delete(out, k)
		}
	}
	for k := range out {
		if strings.Contains(k, "@") {
			delete(out, k)
		}
	}
	if _, err := b.account(ctx, q, to); err == nil {
		out["recipient_known"] = "1"
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	var err error
	if req := out["requester"]; req != "" {
		if out["requester_display"], err = b.displayName(ctx, q, req); err != nil {
			return nil, err
		}
		if normAddr(req) != normAddr(to) {
			out["requester_of"] = possessive(out["requester_display"], locale)
		}
	}
	if author := out["author"]; author != "" {
		if out["author_display"], err = b.displayName(ctx, q, author); err != nil {
			return nil, err
		}
	}
	if slug := out["org"]; slug != "" {
		out["org_display"] = slug
		if o, err := b.org(ctx, q, slug); err == nil && o.Name != "" {
			out["org_display"] = o.Name
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}

// displayName is how a person is named in mail: their account's name, else
// their address.
func (b *Book) displayName(ctx context.Context, q querier, addr string) (string, error) {
	if !strings.Contains(addr, "@") {
		return addr, nil // a name already: an agent's answer is signed so (agents.go)
	}
	a, err := b.account(ctx, q, addr)
	if errors.Is(err, ErrNotFound) {
		return normAddr(addr), nil
	}
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(a.Name) != "" {
		return strings.TrimSpace(a.Name), nil
	}
	return a.Address, nil
}

// possessive is "whose" before the word for a request: "d'Alice" or "de
// Bruno" in French (elision before a vowel or a mute h), "Alice's" in English.
func possessive(name, locale string) string {
	if locale == "en" {
		if strings.HasSuffix(name, "s") {
			return name + "'"
		}
		return name + "'s"
	}
	first := []rune(strings.ToLower(name))
	if len(first) > 0 && (strings.ContainsRune("aeiouyhàâäéèêëîïôöùûü", first[0]) || !unicode.IsLetter(first[0]) && unicode.IsDigit(first[0])) {
		return "d'" + name
	}
	return "de " + name
}

// ruleTextFR is the French of each refusal message (refuse's format, its
// msgid): an agent told by mail why a mail or a command was refused reads
// it in their language (ErrorIn). A message missing here falls back to
// ruleFallbackFR; TestRuleTextsHaveFrench finds every refuse call.
var ruleTextFR = map[string]string{
	"%s has no account: only registered users can open cases":                      "%s n'a pas de compte : seuls les utilisateurs enregistrés peuvent ouvrir des demandes",
	"the account %s is disabled: it can no longer open cases":                      "le compte %s est désactivé : il ne peut plus ouvrir de demandes",
	"%s has not verified its email address":                                        "%s n'a pas vérifié son adresse électronique",
	"%s may not open cases for any organisation":                                   "%s ne peut ouvrir de demandes pour aucune organisation",
	"%s may not open cases for %s":                                                 "%s ne peut pas ouvrir de demandes pour %s",
	"%s is not entitled to support for %s":                                         "%s n'a pas droit à l'assistance pour %s",
	"%s may not take part in case %d":                                              "%s ne participe pas à la demande n° %d",
	"case %d is closed":                                                            "la demande n° %d est fermée",
	"%s has added %d comments by mail to case %d in %s (policy.max_mail_comments)": "%s a déjà ajouté %d commentaires par courriel à la demande n° %d en %s (policy.max_mail_comments)",
	"case %d is closed: reopen it first with \"casemail case reopen %d\"":          "la demande n° %[1]d est fermée : il faut d'abord la rouvrir",
	"%s may not see case %d":                                                       "%s ne peut pas voir la demande n° %d",
	"%s follows case %d as a watcher: only the requester, their organisation or support can close, reopen, escalate or follow it up": "%s suit la demande n° %d en observateur : seuls le demandeur, son organisation ou le support peuvent la fermer, la rouvrir, l'escalader ou lui donner une suite",
	"case %d comes from the retired system and cannot be reopened: open a follow-up with \"casemail case followup %d\"":              "la demande n° %[1]d vient de l'ancien système et ne peut pas être rouverte : il faut ouvrir une demande de suite",
	"case %d was closed %d days ago; the reopen window is %d days: open a follow-up with \"casemail case followup %d\"":              "la demande n° %[1]d a été fermée il y a %[2]d jours ; le délai de réouverture est de %[3]d jours : il faut ouvrir une demande de suite",
	"%q is not an escalation reason; use one of: %s":                                                                                 "%q n'est pas un motif d'escalade ; motifs possibles : %s",
	"case %d can be escalated only after its initial response time (%s for %s), from %s":                                             "la demande n° %d ne peut être escaladée qu'après son délai de première réponse (%s pour %s), à partir du %s",
	"case %d is closed: reopen it first, then release the message":                                                                   "la demande n° %d est fermée : il faut d'abord la rouvrir, puis libérer le message",
	"%s is not an agent: only support staff may do this":                                                                             "%s n'est pas un agent : seul le support peut faire cela",
	"only the account owner of %s (%s) can grant shared access; %s cannot":                                                           "seul le titulaire du compte de %s (%s) peut accorder un accès partagé ; %s ne le peut pas",
	"%s has shared access to %s and cannot pass it on: only the account owner (%s) can grant it":                                     "%s a un accès partagé à %s et ne peut pas le transmettre : seul le titulaire du compte (%s) peut l'accorder",
	"only the account owner of %s (%s) can revoke shared access":                                                                     "seul le titulaire du compte de %s (%s) peut révoquer un accès partagé",
}

// ruleFallbackFR is said of a refusal whose message has no French (a
// RuleError built by hand): the rule, never English.
const ruleFallbackFR = "refusé par la règle %s"

// In is the refusal in locale ("fr" or "en"; English for any other).
func (e *RuleError) In(locale string) string {
	if locale != "fr" {
		return e.Msg
	}
	if fr, ok := ruleTextFR[e.format]; ok {
		return fmt.Sprintf(fr, e.args...)
	}
	return fmt.Sprintf(ruleFallbackFR, e.Rule)
}

// In is the R4 refusal in locale.
func (e *WhichOrgError) In(locale string) string {
	if locale != "fr" {
		return e.Error()
	}
	return fmt.Sprintf("%s appartient à %s et le courriel ne dit pas laquelle", e.Sender, strings.Join(e.Orgs, ", "))
}

// ErrorIn says err in locale when the casebook knows it in that language
// (a refusal by a rule, something that does not exist); any other error
// is its own text.
func ErrorIn(err error, locale string) string {
	var which *WhichOrgError
	var rule *RuleError
	switch {
	case errors.As(err, &which):
		return which.In(locale)
	case errors.As(err, &rule):
		return rule.In(locale)
	case errors.Is(err, ErrNotFound) && locale == "fr":
		return "introuvable"
	}
	return err.Error()
}
