package templates

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// Issue 11: no mail to a customer or watcher points to an admin command
// ("casemail case reopen 1"): customers cannot run casemail. Agent mail
// (agent_*) may.
func TestCustomerTemplatesNameNoCommand(t *testing.T) {
	command := regexp.MustCompile(`(?i)\bcasemail\s+[a-z]+`)
	n := 0
	err := fs.WalkDir(defaults, "default", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), "agent_") {
			return err
		}
		n++
		src, err := defaults.ReadFile(path)
		if err != nil {
			return err
		}
		if m := command.FindString(string(src)); m != "" {
			t.Errorf("%s tells the customer to run %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no templates read")
	}
}
