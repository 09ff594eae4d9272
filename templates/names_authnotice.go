package templates

import "slices"

// MailQuarantined tells the team that a registered customer's mail was
// quarantined because its sender failed authentication (issue 13): who it
// claims to be from, its subject, why, and the stored message
// ("message_id") an agent releases with "casemail message release". Sent
// at most once an hour per claimed address, so a forger repeating a
// customer's address cannot flood the team.
const MailQuarantined Name = "agent_mail_quarantined"

// Joined here rather than in the literals of names.go, which other work
// extends at the same time.
func init() {
	agentNames = append(agentNames, MailQuarantined)
	Names = append(Names, string(MailQuarantined))
	if !slices.Contains(Keys, "message_id") {
		Keys = append(Keys, "message_id") // the stored inbound message an agent mail is about
	}
}
