package address

import "testing"

// What outbound writes, ingest reads back: also after a mail system changed
// the case of the local part (RFC 5321 section 2.4). I6 depends on the
// reply token, R8 on the unsubscribe address, the bounce handling (I5) on
// the return path.
func TestParse(t *testing.T) {
	const local, domain = "support", "support.test"
	tests := []struct {
		name, addr string
		kind       Kind
		token      string
	}{
		{"reply", ForReply(local, "abc234", domain), Reply, "abc234"},
		{"unsubscribe", ForUnsubscribe(local, "abc234", domain), Unsubscribe, "abc234"},
		{"bounce", ForBounce("md5xyz", domain), Bounce, "md5xyz"},
		{"internal note", ForNote(local, "abc234", domain), Note, "abc234"}, // issue 11: agents only
		{"internal note upper-cased", "SUPPORT+NOTE-ABC234@support.test", Note, "ABC234"},
		{"note without token", "support+note-@support.test", Reply, "note-"},
		{"reply upper-cased", "SUPPORT+ABC234@SUPPORT.TEST", Reply, "ABC234"},
		{"unsubscribe upper-cased", "SUPPORT+UNSUBSCRIBE-ABC234@Support.Test", Unsubscribe, "ABC234"},
		{"bounce upper-cased", "Bounce+MD5XYZ@support.test", Bounce, "MD5XYZ"},
		{"route tag", "support+acme@support.test", Reply, "acme"},
		{"no tag", "support@support.test", None, ""},
		{"empty tag", "support+@support.test", None, ""},
		{"unsubscribe without token", "support+unsubscribe-@support.test", Reply, "unsubscribe-"},
		{"other domain", "support+abc@else.test", None, ""},
		{"other local part", "sales+abc@support.test", None, ""},
		{"not an address", "support+abc", None, ""},
		{"plus in domain", "support@support+x.test", None, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, token := Parse(tc.addr, local, domain)
			if kind != tc.kind || token != tc.token {
				t.Errorf("Parse(%q) = %v %q, want %v %q", tc.addr, kind, token, tc.kind, tc.token)
			}
		})
	}
}

// R4: support+acme@ names the organisation acme; the route is support@.
func TestTagSplit(t *testing.T) {
	tests := []struct{ addr, base, tag string }{
		{"support+acme@x.test", "support@x.test", "acme"},
		{"support@x.test", "support@x.test", ""},
		{"a+b+c@x.test", "a@x.test", "b+c"},
		{"nobody", "nobody", ""},
		{"\"odd+quoted\"@x.test", "\"odd@x.test", "quoted\""},
	}
	for _, tc := range tests {
		base, tag := Split(tc.addr)
		if base != tc.base || tag != tc.tag {
			t.Errorf("Split(%q) = %q %q, want %q %q", tc.addr, base, tag, tc.base, tc.tag)
		}
	}
}

func TestMessageToken(t *testing.T) {
	if tok, ok := MessageToken("<"+MessageID("abc", "support.test")+">", "SUPPORT.test"); !ok || tok != "abc" {
		t.Errorf("MessageToken = %q %v", tok, ok)
	}
	if _, ok := MessageToken("abc@else.test", "support.test"); ok {
		t.Error("a Message-ID of another domain gave a token")
	}
}
