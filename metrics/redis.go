package metrics

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisHook returns a go-redis hook (client.AddHook) that times every command and
// pipeline and counts the failed ones. A missing key (redis.Nil) is not a failure, nor is
// the NOSCRIPT answer that makes go-redis send a script's body after its hash.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	if h.m == nil {
		return next
	}
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		name := h.m.redisCommands.label(commandName(cmd))
		h.m.redisSeconds.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if kind := errorKind(cmd, err); kind != "" {
			h.m.redisErrors.WithLabelValues(name, kind).Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	if h.m == nil {
		return next
	}
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.m.redisSeconds.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		for _, c := range cmds {
			if kind := errorKind(c, c.Err()); kind != "" {
				h.m.redisErrors.WithLabelValues(h.m.redisCommands.label(commandName(c)), kind).Inc()
			}
		}
		return err
	}
}

// commandName is the command's lower-case name when it looks like one (letters, digits,
// '_' or '-'), else "".
func commandName(cmd redis.Cmder) string {
	name := cmd.Name()
	if name == "" || len(name) > 32 {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return ""
		}
	}
	return name
}

// errorKind sorts a command's error: "" for none, timeout, canceled, server (Redis
// answered with an error) or connection. Answers that go-redis expects and handles are
// not errors: redis.Nil, NOSCRIPT, and a server older than 7.2 refusing the CLIENT
// SETINFO that go-redis sends on connect.
func errorKind(cmd redis.Cmder, err error) string {
	var rerr redis.Error
	var nerr net.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), isSetInfo(cmd):
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &rerr):
		if strings.HasPrefix(rerr.Error(), "NOSCRIPT") {
			return ""
		}
		return "server"
	default:
		return "connection"
	}
}

func isSetInfo(cmd redis.Cmder) bool {
	args := cmd.Args()
	if len(args) < 2 || cmd.Name() != "client" {
		return false
	}
	sub, _ := args[1].(string)
	return strings.EqualFold(sub, "setinfo")
}
