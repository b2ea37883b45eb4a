package event

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the envelope as JSON, byte for byte as json.Marshal
// writes it, without reflection: the relay encodes every event, and
// reflection was a seventh of its CPU. Data must be JSON as json.Marshal
// writes it (the outbox stores it so); it is copied as it is.
func (e Envelope) AppendJSON(b []byte) []byte {
	b = append(b, `{"spec":`...)
	b = appendString(b, e.Spec)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"shop":`...)
	b = appendString(b, e.Shop)
	b = append(b, `,"shop_id":`...)
	b = strconv.AppendInt(b, e.ShopID, 10)
	b = append(b, `,"aggregate":`...)
	b = appendString(b, e.Aggregate)
	b = append(b, `,"aggregate_id":`...)
	b = appendString(b, e.AggregateID)
	b = append(b, `,"occurred_at":"`...)
	b = e.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.TraceParent != "" {
		b = append(b, `,"traceparent":`...)
		b = appendString(b, e.TraceParent)
	}
	b = append(b, `,"data":`...)
	if len(e.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, e.Data...)
	}
	return append(b, '}')
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string with encoding/json's escaping:
// quotes, backslashes and control characters, the HTML characters <, > and
// &, U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
