// Package testredis gives each test its own key prefix on the real Redis the tests run
// against (REDIS_ADDR, default 127.0.0.1:6379), or on the test Redis Cluster
// (REDIS_CLUSTER_ADDRS, which scripts/test.sh always starts and sets), and removes the
// test's keys afterwards.
package testredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the Redis the tests use.
func Addr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// ClusterAddrs are the seed addresses of the test Redis Cluster (REDIS_CLUSTER_ADDRS,
// comma-separated), or nil when none is set.
func ClusterAddrs() []string {
	var out []string
	for a := range strings.SplitSeq(os.Getenv("REDIS_CLUSTER_ADDRS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Client connects to the test Redis and returns a fresh key prefix whose keys are
// deleted when the test ends. It fails the test (never skips) when Redis does not answer.
func Client(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr()})
	return ready(t, c, "a real Redis at "+Addr()+" (set REDIS_ADDR, or start redis-server)")
}

// ClusterClient connects to the test Redis Cluster and returns a fresh key prefix whose
// keys are deleted, on every master, when the test ends. It skips the test when
// REDIS_CLUSTER_ADDRS is not set (scripts/test.sh, and so CI, always sets it) and fails
// it when the cluster does not answer.
func ClusterClient(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	addrs := ClusterAddrs()
	if len(addrs) == 0 {
		t.Skip("REDIS_CLUSTER_ADDRS is not set: no Redis Cluster to test on (scripts/test.sh starts one)")
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	return ready(t, c, "the Redis Cluster at "+strings.Join(addrs, ","))
}

// ready pings c, then hands out a fresh prefix cleaned up (and c closed) at the end.
func ready(t testing.TB, c redis.UniversalClient, what string) (redis.UniversalClient, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("the tests need %s: %v", what, err)
	}
	prefix := Prefix()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			t.Errorf("testredis: cleaning up %s*: %v", prefix, err)
		}
		c.Close()
	})
	return c, prefix
}

// Prefix returns a key prefix no other test run uses. It holds no '{' or '}', so the
// per-street hash tags of the key schema stay intact.
func Prefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// DeletePrefix removes every key starting with prefix. On a Cluster it scans every
// master, since SCAN only walks the node it is sent to, and deletes key by key, since
// the keys of one node may lie in different slots.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return deleteOn(ctx, node, prefix)
		})
	}
	return deleteOn(ctx, c, prefix)
}

// deleteOn scans one node (or a single Redis) and deletes what matches, one key per DEL.
func deleteOn(ctx context.Context, c redis.Cmdable, prefix string) error {
	it := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete %d keys: %w", len(keys), err)
	}
	return nil
}
