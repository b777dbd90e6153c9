package main

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// redisLog sends go-redis's own messages (failed dials while Redis is
// away, ...) to godockerd's log instead of bare lines on stderr.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

func setRedisLogger(log *slog.Logger) {
	goredis.SetLogger(redisLog{log.With("component", "go-redis")})
}
