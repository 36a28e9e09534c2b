package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huanjie/campaign"
	"huanjie/internal/testclock"
)

// backend opens a fresh, isolated store for one test.
type backend struct {
	name string
	open func(t *testing.T) *Redis
}

var backends = []backend{
	{"redis", openReal},
	{"embedded", openEmbedded},
}

// redisAddr is the real Redis the tests use: REDIS_ADDR, else 127.0.0.1:6379.
func redisAddr() string {
	if a := os.Getenv("REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// randomPrefix returns a key prefix no other test run uses.
func randomPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "test:" + hex.EncodeToString(b) + ":"
}

// realClient connects to the real Redis or fails the test: these tests never skip.
func realClient(t *testing.T) redis.UniversalClient {
	t.Helper()
	addr := redisAddr()
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("storage tests need a real Redis at %s (set REDIS_ADDR to another host:port): %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// deletePrefix removes every key starting with prefix.
func deletePrefix(t *testing.T, c redis.UniversalClient, prefix string) {
	t.Helper()
	ctx := context.Background()
	it := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var ks []string
	for it.Next(ctx) {
		ks = append(ks, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Errorf("scan %s*: %v", prefix, err)
		return
	}
	for _, k := range ks {
		if err := c.Del(ctx, k).Err(); err != nil {
			t.Errorf("del %s: %v", k, err)
		}
	}
}

func openReal(t *testing.T) *Redis {
	t.Helper()
	c := realClient(t)
	prefix := randomPrefix()
	t.Cleanup(func() { deletePrefix(t, c, prefix) })
	return NewRedis(c, prefix)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func openEmbedded(t *testing.T) *Redis {
	t.Helper()
	e, err := OpenEmbedded(context.Background(), filepath.Join(t.TempDir(), "store.json"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return NewRedis(e.Client(), randomPrefix())
}

func useFakeClock(r *Redis) *testclock.Clock {
	c := testclock.New(time.Date(2025, 6, 3, 9, 0, 0, 0, time.UTC))
	r.now = c.Now
	return c
}

var t0 = time.Date(2025, 6, 3, 9, 30, 0, 0, time.UTC)

// filing is a members filing (or any item) whose total says which one it is.
func filing(community string, item campaign.Item, total string, at time.Time) campaign.Filing {
	return campaign.Filing{
		Street:    "城关街道",
		Community: community,
		Item:      item,
		Fields:    map[string]string{"total": total},
		Summary:   "会员 " + total + " 人",
		By:        "sec-" + community,
		At:        at,
		Raw:       "会员数 " + total,
	}
}

// totals lists the "total" field of each filing, to compare what a user would see.
func totals(fs []campaign.Filing) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Fields["total"]
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ctxT(t *testing.T) context.Context { return t.Context() }
