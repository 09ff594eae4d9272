package casebook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchFixture is newFixture with a writer that waits until exactly n mails
// are ready, so that they are all in one transaction.
func batchFixture(t *testing.T, n int) *fixture {
	t.Helper()
	f := newFixture(t)
	b, err := Open(filepath.Join(t.TempDir(), "batch.db"), Options{Now: f.clock.Now, MessageIDDomain: "support.test",
		BatchMax: n, BatchWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	f.Book = b
	for _, a := range []Account{{Address: "ann@acme.test", Verified: true}, {Address: "new@acme.test"}, {Address: "agent@support.test", Verified: true, Agent: true}} {
		f.must(t, b.AddAccount(f.ctx, a))
	}
	f.must(t, b.CreateOrg(f.ctx, Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	return f
}

// I1, I4, issue 14: mails that share one commit each keep their raw bytes
// with their record; one the casebook refuses inside the batch (R2, R13)
// leaves no trace of itself, neither record nor raw bytes, and its
// neighbours are committed all the same.
func TestRecordRawBatch(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), rawChunk/16+1000) // over one chunk
	tests := []struct {
		name string
		raw  []byte
		d    func(c Case) Delivery
		rule string
	}{
		{"opens a case", []byte("Subject: one\r\n\r\nfirst\r\n"), func(Case) Delivery {
			return Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "one", Requester: "ann@acme.test"}}
		}, ""},
		{"R2 unverified sender refused alone", []byte("Subject: two\r\n\r\nsecond\r\n"), func(Case) Delivery {
			return Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "two", Requester: "new@acme.test"}}
		}, "R2"},
		{"R13 comment on a closed case refused alone", []byte("Subject: three\r\n\r\nthird\r\n"), func(closed Case) Delivery {
			return Delivery{Action: ActComment, CaseID: closed.ID, Author: "ann@acme.test", Body: "reopen?"}
		}, "R13"},
		{"a raw message over one chunk", big, func(Case) Delivery {
			return Delivery{Action: ActOpen, Open: NewCase{Org: "acme", Product: "cloud", Title: "big", Requester: "ann@acme.test"}}
		}, ""},
		{"a refusal recorded", []byte("Subject: five\r\n\r\nfifth\r\n"), func(Case) Delivery {
			return Delivery{Action: ActRefuse, Reason: "unknown sender"}
		}, ""},
	}
	f := batchFixture(t, len(tests))
	closed := f.open(t, "acme", "ann@acme.test", "closed one")
	f.must(t, f.CloseCase(f.ctx, closed.ID, "agent@support.test"))

	results := make([]error, len(tests))
	recs := make([]Recorded, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := tt.d(closed)
			d.Message = Message{Fingerprint: fmt.Sprint("fp", i), From: "ann@acme.test", Transport: "smtp", Subject: tt.name}
			recs[i], results[i] = f.RecordRaw(f.ctx, tt.raw, d)
		}()
	}
	wg.Wait()
	if st := f.BatchStats(); st.Batches != 1 || st.Mails != int64(len(tests)) {
		t.Fatalf("want all %d mails in one commit, got %+v", len(tests), st)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, lookErr := f.MessageByFingerprint(f.ctx, fmt.Sprint("fp", i))
			var got bytes.Buffer
			rawErr := f.WriteRaw(f.ctx, recs[i].Message.RawSHA256, &got)
			if tt.rule != "" {
				wantRule(t, results[i], tt.rule)
				if !errors.Is(lookErr, ErrNotFound) {
					t.Errorf("a refused decision left its record: %v", lookErr)
				}
				var none bytes.Buffer
				sha := sha256Hex(tt.raw)
				if err := f.WriteRaw(f.ctx, sha, &none); !errors.Is(err, ErrNotFound) {
					t.Errorf("a refused decision left its raw bytes (%d bytes, err %v)", none.Len(), err)
				}
				return
			}
			if results[i] != nil {
				t.Fatalf("refused by its neighbours: %v", results[i])
			}
			if lookErr != nil {
				t.Fatalf("no record: %v", lookErr)
			}
			if rawErr != nil || !bytes.Equal(got.Bytes(), tt.raw) {
				t.Fatalf("raw bytes: got %d bytes (err %v), want %d", got.Len(), rawErr, len(tt.raw))
			}
			if recs[i].Message.Size != int64(len(tt.raw)) {
				t.Errorf("size %d, want %d", recs[i].Message.Size, len(tt.raw))
			}
		})
	}
	// The batch's refusals did not undo its cases: "one", "big" and the closed one.
	cases, err := f.List(f.ctx, ListFilter{Org: "acme"})
	f.must(t, err)
	if len(cases) != 3 {
		t.Errorf("want 3 cases, got %d", len(cases))
	}
}

// I2: the same mail twice in one batch is one record; the second copy is
// answered as a duplicate of the first.
func TestRecordRawDuplicateInBatch(t *testing.T) {
	f := batchFixture(t, 2)
	raw := []byte("Subject: twice\r\n\r\nsame\r\n")
	recs := make([]Recorded, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i], errs[i] = f.RecordRaw(f.ctx, raw, Delivery{Action: ActOpen,
				Message: Message{Fingerprint: "same", From: "ann@acme.test", Transport: "imap"},
				Open:    NewCase{Org: "acme", Product: "cloud", Title: "twice", Requester: "ann@acme.test"}})
		}()
	}
	wg.Wait()
	f.must(t, errors.Join(errs...))
	if recs[0].Duplicate == recs[1].Duplicate || recs[0].Message.ID != recs[1].Message.ID {
		t.Fatalf("want one record and one duplicate of it, got %+v and %+v", recs[0], recs[1])
	}
	cases, err := f.List(f.ctx, ListFilter{Org: "acme"})
	f.must(t, err)
	if len(cases) != 1 {
		t.Errorf("want 1 case, got %d", len(cases))
	}
}

// I1: after Close nothing is acknowledged: RecordRaw fails (the sender retries).
func TestRecordRawAfterClose(t *testing.T) {
	f := newFixture(t)
	f.must(t, f.Close())
	_, err := f.RecordRaw(context.Background(), []byte("Subject: x\r\n\r\nx\r\n"), Delivery{Action: ActIgnore, Message: Message{Fingerprint: "x"}})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("want a closed-casebook error, got %v", err)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
