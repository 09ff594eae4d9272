package templates

import "testing"

// I5: every notice is sent as an auto-reply, case mail as auto-generated;
// a route's own template (R5) is a notice too.
func TestNameIsNotice(t *testing.T) {
	tests := []struct {
		name   Name
		notice bool
	}{
		{CaseOpened, false},
		{CommentAdded, false},
		{WatcherAdded, false},
		{FollowUpOpened, false},
		{NoticeUnknownSender, true},
		{NoticeClosedCase, true},
		{"redirect-marketplace", true},
		{"notice_custom", true},
	}
	for _, tc := range tests {
		if got := tc.name.IsNotice(); got != tc.notice {
			t.Errorf("%s.IsNotice() = %v, want %v", tc.name, got, tc.notice)
		}
	}
	// Every built-in name has its files in every shipped locale.
	s, err := New("", "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names {
		if !s.Has(n) {
			t.Errorf("no template %s", n)
		}
	}
}
