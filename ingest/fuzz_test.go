package ingest

import (
	"testing"
)

func FuzzSubjectTag(f *testing.F) {
	for _, s := range []string{"Re: [Case #12] disk", "[Case #", "[case#0001]", "Fwd: [Case #3] Re: [Case #4]", "\x00[Case #\xff]"} {
		f.Add(s)
	}
	tag, err := NewSubjectTag("[Case #%d]")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		id, ok := tag.Find(subject)
		if ok && id <= 0 {
			t.Fatalf("Find(%q) = %d", subject, id)
		}
		// A tag we format is always found again.
		if ok {
			if again, ok2 := tag.Find(tag.Format(id)); !ok2 || again != id {
				t.Fatalf("round trip %d -> %d", id, again)
			}
		}
	})
}

func FuzzSplitPlus(f *testing.F) {
	for _, s := range []string{"support+acme@x.test", "a@b", "+@", "@@+", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		base, tag := splitPlus(addr)
		if len(base)+len(tag) > len(addr) {
			t.Fatalf("splitPlus(%q) grew: %q %q", addr, base, tag)
		}
	})
}
