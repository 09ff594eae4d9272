package casebook

import (
	"fmt"
	"testing"
)

// BenchmarkQueue lists a 2,000-case queue across two organisations, the
// administrator's "case list" (whole, and the first 50).
func BenchmarkQueue(b *testing.B) {
	f := newFixture(b)
	for i := 0; i < 2000; i++ {
		org, req := "acme", "ann@acme.test"
		if i%2 == 1 {
			org, req = "globex", "bob@globex.test"
		}
		if _, err := f.OpenCase(f.ctx, NewCase{Org: org, Product: "cloud", Title: fmt.Sprint("case ", i), Requester: req, Priority: fmt.Sprint("P", 1+i%4)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, limit := range []int{0, 50} {
		b.Run(fmt.Sprint("limit=", limit), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cs, err := f.Queue(f.ctx, QueueFilter{Limit: limit})
				if err != nil || len(cs) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
