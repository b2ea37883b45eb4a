package event

// DeadLetterGroup is the dead letters of one consumer that failed with
// one error.
type DeadLetterGroup struct {
	Consumer string `json:"consumer"`
	Error    string `json:"error"`
	Count    int    `json:"count"`
	// FirstSeq and LastSeq are the group's first and last sequences in
	// the DLQ stream (surge events dlq show SEQ).
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

// ReplayReport is what replaying one consumer's dead letters did.
type ReplayReport struct {
	Consumer string   `json:"consumer"`
	Applied  int      `json:"applied"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures"`
}
