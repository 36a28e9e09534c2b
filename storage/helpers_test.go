package storage

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"huanjie/campaign"
	"huanjie/internal/testclock"
	"huanjie/internal/testredis"
)

// backend opens a fresh, isolated store for one test.
type backend struct {
	name string
	open func(t *testing.T) *Redis
}

var backends = []backend{
	{"redis", openReal},
	{"embedded", openEmbedded},
	{"cluster", openCluster},
}

func openReal(t *testing.T) *Redis {
	t.Helper()
	return NewRedis(testredis.Client(t))
}

// openCluster opens the store on the test Redis Cluster; the test is skipped when
// REDIS_CLUSTER_ADDRS is unset (scripts/test.sh always sets it).
func openCluster(t *testing.T) *Redis {
	t.Helper()
	return NewRedis(testredis.ClusterClient(t))
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
	return NewRedis(e.Client(), testredis.Prefix())
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
		Value:     campaign.Value{Members: atoi(total)},
		By:        "sec-" + community,
		At:        at,
		Raw:       "会员数 " + total,
	}
}

// totals lists the "total" field of each filing, to compare what a user would see.
func totals(fs []campaign.Filing) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = total(f)
	}
	return out
}

// total is what a test filing says (its member count), as typed.
func total(f campaign.Filing) string { return strconv.Itoa(f.Value.Members) }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// approval is the office's approval of the version f.
func approval(f campaign.Filing, at time.Time) campaign.Review {
	return campaign.Review{Item: f.Item, Of: f.Stamp(), Status: campaign.ReviewApproved, By: "office", At: at}
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
