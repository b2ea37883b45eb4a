package store

import "github.com/surge-commerce/surge/internal/checkout"

// outcomeCodes are how idempotency_keys.response_status stores checkout
// outcomes: the numbers versions before named outcomes wrote there (their
// HTTP statuses), kept so that a key reads back the same whichever version
// stored it (docs/INVARIANTS.md, I4). 0 is a key without an answer yet.
var outcomeCodes = map[checkout.Outcome]int{
	checkout.OutcomeCreated:  201,
	checkout.OutcomeAccepted: 202,
	checkout.OutcomeDeclined: 402,
}

// outcomeCode is the stored code of o.
func outcomeCode(o checkout.Outcome) int { return outcomeCodes[o] }

// outcomeOf reads a stored code; an unknown one is the zero Outcome.
func outcomeOf(code int) checkout.Outcome {
	for o, c := range outcomeCodes {
		if c == code {
			return o
		}
	}
	return 0
}
