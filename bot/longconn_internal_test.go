package bot

import (
	"testing"
	"time"
)

func TestLongConnBackoff(t *testing.T) {
	lc := NewLongConn(LongConnOptions{BackoffMin: time.Second, BackoffMax: time.Minute})
	if lc.o.URL != DefaultLongConnURL || lc.o.PingEvery != 30*time.Second || lc.o.MaxAuthFailures != DefaultMaxAuthFailures ||
		lc.o.LateTimeout != DefaultLateTimeout {
		t.Fatalf("defaults: %+v", lc.o)
	}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 500 * time.Millisecond, time.Second},
		{1, time.Second, 2 * time.Second},
		{3, 4 * time.Second, 8 * time.Second},
		{6, 30 * time.Second, 60 * time.Second},
		{50, 30 * time.Second, 60 * time.Second},
	} {
		for i := 0; i < 50; i++ {
			if d := lc.backoff(tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("attempt %d: %v not in [%v, %v]", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}

func TestStripControl(t *testing.T) {
	in := []byte("a\x00b\x08c\td\ne\x0bf\x0cg\rh\x0ei\x1fj\x20k")
	if got := string(stripControl(in)); got != "abc\td\nefghij k" {
		t.Fatalf("got %q", got)
	}
	clean := []byte(`{"cmd":"ping"}`)
	if got := stripControl(clean); &got[0] != &clean[0] {
		t.Error("a clean frame is copied")
	}
}
