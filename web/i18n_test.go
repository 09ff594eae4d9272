package web

import "testing"

// Every page text and every rule's refusal exists in French and English.
func TestMessagesInBothLanguages(t *testing.T) {
	for _, set := range []map[string]map[string]string{messages, ruleMessages} {
		for key := range set["en"] {
			if set["fr"][key] == "" {
				t.Errorf("%q has no French text", key)
			}
		}
		for key := range set["fr"] {
			if set["en"][key] == "" {
				t.Errorf("%q has no English text", key)
			}
		}
	}
}
