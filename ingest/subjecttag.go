package ingest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// SubjectTag finds the case number in a subject, in the configured format
// (policy.subject_tag, "[Case #%d]" by default).
type SubjectTag struct {
	format string
	re     *regexp.Regexp
}

// NewSubjectTag compiles a format with exactly one %d.
func NewSubjectTag(format string) (*SubjectTag, error) {
	before, after, ok := strings.Cut(format, "%d")
	if !ok || strings.Contains(after, "%d") {
		return nil, fmt.Errorf("subject tag %q must contain %%d once", format)
	}
	// Case-insensitive and tolerant of spaces mail clients add or remove.
	pat := "(?i)" + loose(before) + `\s*0*([0-9]{1,18})\s*` + loose(after)
	return &SubjectTag{format: format, re: regexp.MustCompile(pat)}, nil
}

func loose(s string) string {
	var b strings.Builder
	for _, f := range strings.Fields(s) {
		if b.Len() > 0 {
			b.WriteString(`\s*`)
		}
		b.WriteString(regexp.QuoteMeta(f))
	}
	return b.String()
}

// Find returns the case number of the last tag in subject.
func (t *SubjectTag) Find(subject string) (int64, bool) {
	m := t.re.FindAllStringSubmatch(subject, -1)
	if len(m) == 0 {
		return 0, false
	}
	id, err := strconv.ParseInt(m[len(m)-1][1], 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}

// Format returns the tag for a case.
func (t *SubjectTag) Format(id int64) string { return fmt.Sprintf(t.format, id) }
