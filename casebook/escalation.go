package casebook

import "strings"

// EscalationReason is why a case is escalated to management (R15).
type EscalationReason string

// The only reasons R15 allows.
const (
	ReasonCommunication    EscalationReason = "communication"
	ReasonKnowledge        EscalationReason = "knowledge"
	ReasonCallback         EscalationReason = "callback"
	ReasonUrgency          EscalationReason = "urgency"
	ReasonResolution       EscalationReason = "resolution"
	ReasonTimeToResolution EscalationReason = "time_to_resolution"
)

// EscalationReasons lists them in the order R15 gives them.
var EscalationReasons = []EscalationReason{ReasonCommunication, ReasonKnowledge, ReasonCallback, ReasonUrgency, ReasonResolution, ReasonTimeToResolution}

var reasonWords = map[EscalationReason]string{
	ReasonCommunication:    "agent communication skills",
	ReasonKnowledge:        "agent technical knowledge",
	ReasonCallback:         "pending callback or update",
	ReasonUrgency:          "change in the issue's urgency",
	ReasonResolution:       "resolution not meeting expectations",
	ReasonTimeToResolution: "time to resolution",
}

// reasonWordsFR are the same reasons as a French mail says them.
var reasonWordsFR = map[EscalationReason]string{
	ReasonCommunication:    "qualité de la communication de l'agent",
	ReasonKnowledge:        "connaissances techniques de l'agent",
	ReasonCallback:         "rappel ou mise à jour en attente",
	ReasonUrgency:          "changement de l'urgence du problème",
	ReasonResolution:       "résolution ne répondant pas aux attentes",
	ReasonTimeToResolution: "délai de résolution",
}

// Description is what notifications and "case show" say; "" for a reason
// R15 does not allow.
func (r EscalationReason) Description() string { return reasonWords[r] }

// DescriptionFR is Description in French, for French mail.
func (r EscalationReason) DescriptionFR() string { return reasonWordsFR[r] }

// EscalationReasonNames lists the reasons for help and error messages.
func EscalationReasonNames() string {
	names := make([]string, len(EscalationReasons))
	for i, r := range EscalationReasons {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
