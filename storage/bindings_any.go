package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
)

// BindingAny returns userid's binding in the first of streets that has one (nil if none),
// asking every street in one pipeline: a 1:1 message from the last of 500 streets costs one
// round trip, not 500.
func (r *Redis) BindingAny(ctx context.Context, streets []string, userid string) (*campaign.Binding, error) {
	if len(streets) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(streets))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, st := range streets {
			cmds[i] = p.HGet(ctx, r.k.bind(st), userid)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("storage: binding of %s in %d streets: %w", userid, len(streets), err)
	}
	for i, c := range cmds {
		js, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("storage: binding of %s in %s: %w", userid, streets[i], err)
		}
		var b campaign.Binding
		if err := json.Unmarshal([]byte(js), &b); err != nil {
			return nil, fmt.Errorf("storage: binding of %s in %s: decode: %w", userid, streets[i], err)
		}
		return &b, nil
	}
	return nil, nil
}
