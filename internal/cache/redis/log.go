package rediscache

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// SlogLogger routes go-redis's own log lines (pool and connection
// trouble) to slog, so they are JSON like every other line instead of
// go-redis's plain text on stderr.
type SlogLogger struct{ Logger *slog.Logger }

// Printf is go-redis's logging interface. Its lines report trouble the
// client works around, hence warnings.
func (s SlogLogger) Printf(ctx context.Context, format string, v ...any) {
	s.Logger.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}

// SetLogger makes every go-redis client in the process log through l.
func SetLogger(l *slog.Logger) { redis.SetLogger(SlogLogger{Logger: l}) }
