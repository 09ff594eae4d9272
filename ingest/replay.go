package ingest

import "github.com/casemail/casemail/casebook"

// Delivery is what recording this decision would apply: "casemail message
// replay" hands it to casebook.Book.Replay for a message already recorded.
func (d Decision) Delivery() casebook.Delivery { return d.delivery }
