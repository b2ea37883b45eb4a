package rediscache

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

// go-redis's own lines (pool and connection trouble) must come out as
// JSON slog records like every other line.
func TestRedisLogLineIsJSONSlog(t *testing.T) {
	var buf bytes.Buffer
	l := SlogLogger{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	l.Printf(context.Background(), "redis: connection pool: %s", "failed to dial")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not a JSON record: %q: %v", buf.String(), err)
	}
	if rec["msg"] != "redis: connection pool: failed to dial" || rec["component"] != "redis" || rec["level"] != "WARN" {
		t.Fatalf("record = %v", rec)
	}
}
