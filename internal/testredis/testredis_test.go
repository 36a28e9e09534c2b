package testredis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestDeletePrefix fills a prefix with keys in many slots (on a Cluster: on every master)
// beside a key of another prefix, and checks DeletePrefix removes exactly the former.
func TestDeletePrefix(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) (redis.UniversalClient, string)
	}{
		{"redis", Client},
		{"cluster", ClusterClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, prefix := tc.open(t)
			other := Prefix()
			ctx := t.Context()
			var keys []string
			for i := range 60 {
				keys = append(keys, fmt.Sprintf("%s{street%d}:cur:%d", prefix, i, i), fmt.Sprintf("%smsg:%d", prefix, i))
			}
			for _, k := range append(keys, other+"keep") {
				if err := c.Set(ctx, k, "1", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() { c.Del(context.Background(), other+"keep") })
			if cc, ok := c.(*redis.ClusterClient); ok {
				var holding atomic.Int32
				_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
					if k, _, _ := n.Scan(ctx, 0, prefix+"*", 1000).Result(); len(k) > 0 {
						holding.Add(1)
					}
					return nil
				})
				if holding.Load() < 2 {
					t.Fatalf("the keys landed on %d master(s): nothing to prove", holding.Load())
				}
			}
			if err := DeletePrefix(ctx, c, prefix); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if n := c.Exists(ctx, k).Val(); n != 0 {
					t.Errorf("%s survived", k)
				}
			}
			if n := c.Exists(ctx, other+"keep").Val(); n != 1 {
				t.Errorf("a key of another prefix was deleted")
			}
		})
	}
}
