package casebook

import "testing"

// R10: search finds words whatever their accents and case, every word must
// match (as a prefix), and punctuation is never a syntax error; the same on
// both stores (FTS4 remove_diacritics, PostgreSQL simple + unaccent).
func TestSearchWords(t *testing.T) {
	eachStore(t, func(t *testing.T) {
		f := newFixture(t)
		fr := f.open(t, "acme", "ann@acme.test", "Le serveur de réception ne répond plus")
		de := f.open(t, "acme", "ann@acme.test", "Größe der Datenbank überschritten")
		for _, tc := range []struct {
			words string
			want  []int64
		}{
			{"reception", []int64{fr.ID}},
			{"RÉCEPTION", []int64{fr.ID}},
			{"repond serveur", []int64{fr.ID}},
			{"recep", []int64{fr.ID}}, // a prefix
			{"uberschritten", []int64{de.ID}},
			{"datenbank", []int64{de.ID}},
			{"serveur datenbank", nil}, // every word must match
			{"(réception)! \"*", []int64{fr.ID}},
			{"!!!", nil},
		} {
			found, err := f.Search(f.ctx, ListFilter{Org: "acme", Viewer: "ann@acme.test"}, tc.words)
			if err != nil {
				t.Fatalf("search %q: %v", tc.words, err)
			}
			var got []int64
			for _, c := range found {
				got = append(got, c.ID)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("search %q = %v, want %v", tc.words, got, tc.want)
			}
		}
	})
}
