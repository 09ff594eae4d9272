package ingest

import (
	"fmt"
	"strings"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/templates"
)

// Why a mail was decided so, in every language an agent may read it in.
// The reasons of a decision are codes with arguments, said in English in
// Decision.Reasons and Delivery.Reason (the record, "message list", the
// logs: one language for operators and their scripts) and in each locale
// in Delivery.ReasonIn, which agent mail quotes as "reason@LOCALE"
// (casebook/localize.go). Text that only exists in English (a parser's
// problems, a token's error) is given in the English reason only.

// ReasonCode names one reason of the catalogue (reasonTexts).
type ReasonCode string

// Reason is one reason of a decision: its code and its arguments. An
// argument that is a Reason, or a casebook error, is said in the same
// language (casebook.ErrorIn).
type Reason struct {
	Code ReasonCode
	Args []any
}

func reason(code ReasonCode, args ...any) Reason { return Reason{Code: code, Args: args} }

// In says r in locale: "fr" or "en", English for any other.
func (r Reason) In(locale string) string {
	t, ok := reasonTexts[r.Code]
	if !ok {
		return string(r.Code) // a code without text fails TestReasonCatalogue
	}
	format := t.en
	if locale == "fr" {
		format = t.fr
	}
	args := make([]any, len(r.Args))
	for i, a := range r.Args {
		switch a := a.(type) {
		case Reason:
			args[i] = a.In(locale)
		case error:
			args[i] = casebook.ErrorIn(a, locale)
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(format, args...)
}

// Error makes a Reason the error of an agent command refused before the
// casebook is asked (#assign with nobody named).
func (r Reason) Error() string { return r.In("en") }

// reasonSep joins the reasons of a decision, with French spacing in French.
func reasonSep(locale string) string {
	if locale == "fr" {
		return " ; "
	}
	return "; "
}

// joinReasons says every reason in locale, in order.
func joinReasons(rs []Reason, locale string) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.In(locale)
	}
	return strings.Join(s, reasonSep(locale))
}

// localized is rs in every shipped locale, for agent mail ("reason@fr").
func localized(rs []Reason) map[string]string {
	m := make(map[string]string, len(templates.Locales))
	for _, loc := range templates.Locales {
		m[loc] = joinReasons(rs, loc)
	}
	return m
}

// The reason codes, in the order the gateway meets them.
const (
	RNotMail          ReasonCode = "not_mail"
	RTooBig           ReasonCode = "too_big"
	RReceivedLoop     ReasonCode = "received_loop"
	ROwnMail          ReasonCode = "own_mail"
	RAutoReply        ReasonCode = "auto_reply"
	RListMail         ReasonCode = "list_mail"
	RNoSender         ReasonCode = "no_sender"
	RNoSenderBecause  ReasonCode = "no_sender_because"
	RMachine          ReasonCode = "machine"
	RUnsubscribeToken ReasonCode = "unsubscribe_token"
	RUnsubscribed     ReasonCode = "unsubscribed"
	RReplyToken       ReasonCode = "reply_token"
	RThreadHeaders    ReasonCode = "thread_headers"
	RSubjectTag       ReasonCode = "subject_tag"
	RBadReplyToken    ReasonCode = "bad_reply_token"
	RClaimMissing     ReasonCode = "claim_missing"
	RNotParticipant   ReasonCode = "not_participant"
	RImported         ReasonCode = "imported"
	RFollowUp         ReasonCode = "follow_up"
	RClosedCase       ReasonCode = "closed_case"
	RLoopSuspected    ReasonCode = "loop_suspected"
	REchoQuote        ReasonCode = "echo_quote"
	REchoRepeat       ReasonCode = "echo_repeat"
	RTooManyComments  ReasonCode = "too_many_comments"
	RComment          ReasonCode = "comment"
	RCcCapped         ReasonCode = "cc_capped"
	RCcMore           ReasonCode = "cc_more"
	RNoRoute          ReasonCode = "no_route"
	RRedirect         ReasonCode = "redirect"
	ROpenRefused      ReasonCode = "open_refused"
	ROrgMissing       ReasonCode = "org_missing"
	RNewCase          ReasonCode = "new_case"
	RUnreadableBounce ReasonCode = "unreadable_bounce"
	RBounceOther      ReasonCode = "bounce_other"
	RHardBounce       ReasonCode = "hard_bounce"
	RSoftBounce       ReasonCode = "soft_bounce"
	RStrayComplaint   ReasonCode = "stray_complaint"
	RBounce           ReasonCode = "bounce"
	RComplaintOther   ReasonCode = "complaint_other"
	RComplaint        ReasonCode = "complaint"
	RNoteToken        ReasonCode = "note_token"
	RNoteNotAgent     ReasonCode = "note_not_agent"
	RNoteNoCase       ReasonCode = "note_no_case"
	RNoteFor          ReasonCode = "note_for"
	RNoteClosed       ReasonCode = "note_closed"
	RAgentCommands    ReasonCode = "agent_commands"
	RAgentComment     ReasonCode = "agent_comment"
	RAgentNote        ReasonCode = "agent_note"
	RWithCommands     ReasonCode = "with_commands"
	RAuthFailed       ReasonCode = "auth_failed"
	RAuthRecorded     ReasonCode = "auth_recorded"
	RAuthNoCommands   ReasonCode = "auth_no_commands"
	RAuthThreaded     ReasonCode = "auth_threaded"
	RAuthQuarantine   ReasonCode = "auth_quarantine"
	RMayNotOpen       ReasonCode = "may_not_open"
	RMayNotJoin       ReasonCode = "may_not_join"
	RNoNotice         ReasonCode = "no_notice"
	RNoCommands       ReasonCode = "no_commands"
	RCasebookRefused  ReasonCode = "casebook_refused"
)

// reasonTexts is the catalogue: each reason's format in English and in
// French, with the same arguments (explicit indexes let the French leave
// out English-only text, such as a parser's problems).
var reasonTexts = map[ReasonCode]struct{ en, fr string }{
	RNotMail:          {"not a mail: %s", "ce n'est pas un courriel lisible%.0[1]s"},
	RTooBig:           {"message of %d bytes is over the limit of %d bytes (smtp.max_message_bytes)", "message de %d octets, au-delà de la limite de %d octets (smtp.max_message_bytes)"},
	RReceivedLoop:     {"mail loop: %d Received fields (I5)", "boucle de messagerie : %d champs Received (I5)"},
	ROwnMail:          {"our own mail came back (I5)", "notre propre courriel est revenu (I5)"},
	RAutoReply:        {"auto-reply (RFC 3834): not answered (I5)", "réponse automatique (RFC 3834) : sans réponse (I5)"},
	RListMail:         {"list mail: not answered (I5)", "courriel d'une liste de diffusion : sans réponse (I5)"},
	RNoSender:         {"no usable From address", "pas d'adresse From utilisable"},
	RNoSenderBecause:  {"no usable From address: %s (I6)", "pas d'adresse From utilisable%.0[1]s (I6)"},
	RMachine:          {"mail from %s: not answered (I5)", "courriel de %s : sans réponse (I5)"},
	RUnsubscribeToken: {"unsubscribe request with an invalid token: %s", "demande de désabonnement avec un jeton non valable%.0[1]s"},
	RUnsubscribed:     {"%s stopped watching case %d", "%s ne suit plus la demande n° %d"},
	RReplyToken:       {"reply token for case %d", "jeton de réponse de la demande n° %d"},
	RThreadHeaders:    {"In-Reply-To/References name case %d", "In-Reply-To/References désignent la demande n° %d"},
	RSubjectTag:       {"subject tag names case %d", "l'étiquette de l'objet désigne la demande n° %d"},
	RBadReplyToken:    {"reply token in %s is not valid for %s: %s (I6)", "le jeton de réponse de %[1]s n'est pas valable pour %[2]s%.0[3]s (I6)"},
	RClaimMissing:     {"%s, which does not exist", "%s, qui n'existe pas"},
	RNotParticipant:   {"%s, but %s does not take part in it (I6)", "%s, mais %s n'y participe pas (I6)"},
	RImported:         {"case %d was imported from the retired system: reply kept, not added (R14)", "la demande n° %d vient de l'ancien système : réponse conservée, non ajoutée (R14)"},
	RFollowUp:         {"case %d is closed: a follow-up is opened (R14, policy.closed_reply = \"followup\")", "la demande n° %d est fermée : une demande de suite est ouverte (R14, policy.closed_reply = \"followup\")"},
	RClosedCase:       {"case %d is closed: a reply by mail never reopens it (R13)", "la demande n° %d est fermée : une réponse par courriel ne la rouvre jamais (R13)"},
	RLoopSuspected:    {"suspected mail loop: %s; nobody notified (I5)", "boucle de messagerie probable : %s ; personne n'est averti (I5)"},
	REchoQuote:        {"the reply only quotes our own mail about case %d", "la réponse ne fait que citer notre propre courriel sur la demande n° %d"},
	REchoRepeat:       {"the reply repeats our own mail about case %d word for word", "la réponse répète mot pour mot notre propre courriel sur la demande n° %d"},
	RTooManyComments:  {"%d comments by mail from %s on case %d in the last %s already (policy.max_mail_comments = %d)", "déjà %d commentaires par courriel de %s sur la demande n° %d en moins de %s (policy.max_mail_comments = %d)"},
	RComment:          {"reply to case %d becomes a comment (R9)", "la réponse à la demande n° %d devient un commentaire (R9)"},
	RCcCapped:         {"%d copied addresses not added as watchers (policy.max_cc_watchers = %d): %s%s", "%d adresses en copie non ajoutées comme observateurs (policy.max_cc_watchers = %d) : %s%s"},
	RCcMore:           {" and %d more", " et %d autres"},
	RNoRoute:          {"no route for %s", "aucune route pour %s"},
	RRedirect:         {"%s redirects elsewhere (R5)", "%s renvoie ailleurs (R5)"},
	ROpenRefused:      {"%s (%s)", "%s (%s)"},
	ROrgMissing:       {"the mail names an organisation that does not exist: %[1]s%.0[2]s", "le courriel désigne une organisation qui n'existe pas : %[2]s"},
	RNewCase:          {"new case for %s / %s via %s (R6)", "nouvelle demande pour %s / %s via %s (R6)"},
	RUnreadableBounce: {"unreadable bounce of notification %d to %s: nothing suppressed", "avis de non-remise illisible de la notification %d à %s : aucune adresse suspendue"},
	RBounceOther:      {"bounce of notification %d names %s, not its recipient %s: nothing suppressed", "l'avis de non-remise de la notification %d désigne %s, pas son destinataire %s : aucune adresse suspendue"},
	RHardBounce:       {"hard bounce of notification %d to %s: no more mail to that address", "échec définitif de la notification %d à %s : plus aucun courriel à cette adresse"},
	RSoftBounce:       {"temporary bounce of notification %d to %s", "échec temporaire de la notification %d à %s"},
	RStrayComplaint:   {"complaint about no notification of ours: nothing suppressed, not answered (I5)", "plainte qui ne vise aucune de nos notifications : aucune adresse suspendue, sans réponse (I5)"},
	RBounce:           {"bounce: not answered (I5)", "avis de non-remise : sans réponse (I5)"},
	RComplaintOther:   {"complaint about notification %d names %s, not its recipient %s: nothing suppressed", "la plainte sur la notification %d désigne %s, pas son destinataire %s : aucune adresse suspendue"},
	RComplaint:        {"complaint (%s) about notification %d to %s: no more mail to that address (I5)", "plainte (%s) sur la notification %d à %s : plus aucun courriel à cette adresse (I5)"},
	RNoteToken:        {"internal-note address %s is not valid for %s: %s (I6)", "l'adresse de note interne %[1]s n'est pas valable pour %[2]s%.0[3]s (I6)"},
	RNoteNotAgent:     {"%s wrote to the internal-note address of case %d but is not an agent (I6)", "%s a écrit à l'adresse de note interne de la demande n° %d mais n'est pas un agent (I6)"},
	RNoteNoCase:       {"internal-note address names case %d, which does not exist", "l'adresse de note interne désigne la demande n° %d, qui n'existe pas"},
	RNoteFor:          {"internal-note address for case %d", "adresse de note interne de la demande n° %d"},
	RNoteClosed:       {"case %d is closed: a note by mail is kept, not added (R13)", "la demande n° %d est fermée : une note par courriel est conservée, non ajoutée (R13)"},
	RAgentCommands:    {"agent %s sent commands for case %d: %s", "l'agent %s a envoyé des commandes pour la demande n° %d : %s"},
	RAgentComment:     {"agent's reply to case %d becomes a public comment (by support)", "la réponse de l'agent à la demande n° %d devient un commentaire public (du support)"},
	RAgentNote:        {"agent's reply to case %d becomes an internal note, for agents only", "la réponse de l'agent à la demande n° %d devient une note interne, vue des seuls agents"},
	RWithCommands:     {"%s; commands: %s", "%s ; commandes : %s"},
	RAuthFailed:       {"From domain %s not authenticated (spf=%s dkim=%s dmarc=%s, %s)", "domaine From %s non authentifié (spf=%s dkim=%s dmarc=%s, %s)"},
	RAuthRecorded:     {"%s: recorded, not refused (auth = \"record\")", "%s : enregistré, non refusé (auth = \"record\")"},
	RAuthNoCommands:   {"%s: its agent commands are ignored", "%s : ses commandes d'agent sont ignorées"},
	RAuthThreaded:     {"%s: threaded by its reply token, marked unauthenticated", "%s : rattaché par son jeton de réponse, marqué non authentifié"},
	RAuthQuarantine:   {"%s: %s (issue 13)", "%s : %s (ticket 13)"},
	RMayNotOpen:       {"may not open a case", "ne peut pas ouvrir de demande"},
	RMayNotJoin:       {"may not join case %d", "ne peut pas rejoindre la demande n° %d"},
	RNoNotice:         {"gets no notice (backscatter)", "ne reçoit pas d'avis (rétrodiffusion)"},
	RNoCommands:       {"may not use agent commands", "ne peut pas utiliser de commandes d'agent"},
	RCasebookRefused:  {"the casebook refused every decision: %s", "le casebook a refusé chaque décision : %s"},
}
