package casebook

import (
	"context"
	"errors"
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
