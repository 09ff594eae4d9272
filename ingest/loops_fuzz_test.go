package ingest

import (
	"strings"
	"testing"

	"github.com/casemail/casemail/casebook"
)

// FuzzEchoesCase: the echo check reads what any participant writes. It
// never panics, folding is stable, and a reply whose own lines hold a
// word of more than the case's texts is never an echo of them.
func FuzzEchoesCase(f *testing.F) {
	f.Add("> Please restart\n> the gateway.\n", "Please restart the gateway.", "ann@acme.test")
	f.Add("On Mon, X wrote:\n>> a\n", "a", "x@y")
	f.Add("Done.\n\n> Please restart the gateway.", "Please restart the gateway.", "carl@acme.test")
	f.Add(">\n>>\n\t\r\n", "", "")
	f.Fuzz(func(t *testing.T, reply, comment, sender string) {
		c := &casebook.Case{ID: 1, Description: "the description", Comments: []casebook.Comment{{Author: "agent@support.test", Body: comment}}}
		why := echoesCase(reply, reply, c, sender)
		if u := unquote(reply); unquote(u) != u {
			t.Fatalf("unquote is not stable: %q -> %q -> %q", reply, u, unquote(u))
		}
		own := newText(reply)
		if why != nil && own != "" && !strings.Contains(unquote(comment), own) && !strings.Contains("the description", own) {
			t.Fatalf("echo %q of a reply with its own text %q", why.In("en"), own)
		}
	})
}
