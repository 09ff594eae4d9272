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

// FuzzFingerprintStream: the streaming fingerprint equals Fingerprint for
// any bytes, Message-ID and write size (I2).
func FuzzFingerprintStream(f *testing.F) {
	f.Add([]byte("From: a\r\n\r\nbody\r\n"), "<a@b>", uint8(3))
	f.Add([]byte("From: a\n\nbody\r\n\r\nx\r"), "a@b", uint8(1))
	f.Add([]byte("no separator\r"), "", uint8(2))
	f.Fuzz(func(t *testing.T, raw []byte, id string, chunk uint8) {
		if got, want := streamFingerprint(string(raw), id, int(chunk)+1), Fingerprint(raw, id); got != want {
			t.Fatalf("stream %s, Fingerprint %s", got, want)
		}
	})
}
