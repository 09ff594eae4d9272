package ingest

import (
	"strings"
	"testing"
)

// FuzzParseCommands: any text splits into commands and the text after
// them, never losing what follows the commands: the rest is a suffix of
// the input (less the line breaks before it), and without commands it is
// the input itself.
func FuzzParseCommands(f *testing.F) {
	f.Add("#priority P2\n#assign me\n\nFixed.\n")
	f.Add("#close")
	f.Add("\r\n#note\r\n#watch a@b.test\r\nx")
	f.Add("#hashtag\n#close")
	f.Fuzz(func(t *testing.T, text string) {
		cmds, rest := parseCommands(text)
		if len(cmds) == 0 && rest != text {
			t.Fatalf("no command, but the text changed: %q -> %q", text, rest)
		}
		if !strings.HasSuffix(text, rest) {
			t.Fatalf("rest %q is not the end of %q", rest, text)
		}
		for _, c := range cmds {
			if !commandVerbs[c.verb] || !strings.HasPrefix(c.line, "#") {
				t.Fatalf("command %+v from %q", c, text)
			}
		}
	})
}
