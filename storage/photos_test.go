package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// The photo-record suite runs against the real Redis and the embedded store.

func TestPhotos(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range photoSuite {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.run(t, b.open(t))
				})
			}
		})
	}
}

var photoSuite = []struct {
	name string
	run  func(t *testing.T, r *Redis)
}{
	{"AppendOrder", testPhotoAppendOrder},
	{"Dedup", testPhotoDedup},
	{"Cap", testPhotoCap},
	{"DeleteMiddle", testPhotoDeleteMiddle},
	{"Counts", testPhotoCounts},
	{"ConcurrentAdd", testPhotoConcurrentAdd},
	{"InvalidInput", testPhotoInvalidInput},
}

// mkPhoto is a record whose content is the string id: its hash and name derive from id.
func mkPhoto(id string, i int) Photo {
	h := sha256.Sum256([]byte(id))
	name := fmt.Sprintf("城关街道大辛社区_20250715_%02d.jpg", i)
	return Photo{
		Hash: hex.EncodeToString(h[:]), Path: "chengguan/大辛/" + name, Name: name,
		Size: int64(1000 + i), Width: 1600, Height: 1200, By: "sec-大辛",
		At: t0.Add(time.Duration(i) * time.Minute),
	}
}

func photoNames(ps []Photo) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func addPhotos(t *testing.T, r *Redis, community string, max int, ids ...string) {
	t.Helper()
	for i, id := range ids {
		n, err := r.AddPhoto(ctxT(t), street, community, mkPhoto(id, i+1), max)
		if err != nil {
			t.Fatalf("add %s: %v", id, err)
		}
		if n != i+1 {
			t.Fatalf("add %s: count %d, want %d", id, n, i+1)
		}
	}
}

func testPhotoAppendOrder(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	if l, err := r.PhotoList(ctx, street, "大辛"); err != nil || len(l) != 0 {
		t.Fatalf("empty list: %v, %v", l, err)
	}
	addPhotos(t, r, "大辛", 10, "a", "b", "c")
	l, err := r.PhotoList(ctx, street, "大辛")
	if err != nil {
		t.Fatal(err)
	}
	want := []Photo{mkPhoto("a", 1), mkPhoto("b", 2), mkPhoto("c", 3)}
	if len(l) != len(want) {
		t.Fatalf("list %v", photoNames(l))
	}
	for i := range want {
		got, w := l[i], want[i]
		if !got.At.Equal(w.At) {
			t.Errorf("#%d at %v, want %v", i+1, got.At, w.At)
		}
		got.At, w.At = time.Time{}, time.Time{}
		if got != w {
			t.Errorf("#%d = %+v, want %+v", i+1, got, w)
		}
	}
}

func testPhotoDedup(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	addPhotos(t, r, "大辛", 10, "a", "b")
	again := mkPhoto("a", 3) // same content, another name and time
	if _, err := r.AddPhoto(ctx, street, "大辛", again, 10); !errors.Is(err, ErrDuplicatePhoto) {
		t.Fatalf("same hash again: %v, want ErrDuplicatePhoto", err)
	}
	// The same content in another community is not a duplicate there.
	if n, err := r.AddPhoto(ctx, street, "小辛", again, 10); err != nil || n != 1 {
		t.Fatalf("other community: %d, %v", n, err)
	}
	// Nor in another street.
	if n, err := r.AddPhoto(ctx, "城西街道", "大辛", again, 10); err != nil || n != 1 {
		t.Fatalf("other street: %d, %v", n, err)
	}
	l, _ := r.PhotoList(ctx, street, "大辛")
	if len(l) != 2 {
		t.Fatalf("list after duplicate: %v", photoNames(l))
	}
	// After deleting it, the same photo may be sent again.
	if _, err := r.DeletePhoto(ctx, street, "大辛", 1); err != nil {
		t.Fatal(err)
	}
	if n, err := r.AddPhoto(ctx, street, "大辛", again, 10); err != nil || n != 2 {
		t.Fatalf("after delete: %d, %v", n, err)
	}
}

func testPhotoCap(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprint("p", i)
	}
	addPhotos(t, r, "大辛", 10, ids...)
	if _, err := r.AddPhoto(ctx, street, "大辛", mkPhoto("p10", 11), 10); !errors.Is(err, ErrPhotosFull) {
		t.Fatalf("11th: %v, want ErrPhotosFull", err)
	}
	// A duplicate sent to a full community is reported as a duplicate.
	if _, err := r.AddPhoto(ctx, street, "大辛", mkPhoto("p3", 11), 10); !errors.Is(err, ErrDuplicatePhoto) {
		t.Fatalf("duplicate when full: %v, want ErrDuplicatePhoto", err)
	}
	// A lower max (the rule changed) refuses too; the held photos stay.
	if _, err := r.AddPhoto(ctx, street, "大辛", mkPhoto("p10", 11), 6); !errors.Is(err, ErrPhotosFull) {
		t.Fatalf("lower max: %v", err)
	}
	if l, _ := r.PhotoList(ctx, street, "大辛"); len(l) != 10 {
		t.Fatalf("held %d", len(l))
	}
	if _, err := r.DeletePhoto(ctx, street, "大辛", 10); err != nil {
		t.Fatal(err)
	}
	if n, err := r.AddPhoto(ctx, street, "大辛", mkPhoto("p10", 11), 10); err != nil || n != 10 {
		t.Fatalf("after delete: %d, %v", n, err)
	}
}

func testPhotoDeleteMiddle(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	addPhotos(t, r, "大辛", 10, "a", "b", "c", "d")
	p, err := r.DeletePhoto(ctx, street, "大辛", 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != mkPhoto("b", 2).Name || p.Hash != mkPhoto("b", 2).Hash {
		t.Fatalf("deleted %+v", p)
	}
	l, _ := r.PhotoList(ctx, street, "大辛")
	if got, want := photoNames(l), []string{mkPhoto("a", 1).Name, mkPhoto("c", 3).Name, mkPhoto("d", 4).Name}; !slices.Equal(got, want) {
		t.Fatalf("after delete: %v, want %v", got, want)
	}
	for _, n := range []int{0, -1, 4, 100} {
		if _, err := r.DeletePhoto(ctx, street, "大辛", n); !errors.Is(err, ErrNoSuchPhoto) {
			t.Errorf("delete %d: %v, want ErrNoSuchPhoto", n, err)
		}
	}
	if _, err := r.DeletePhoto(ctx, street, "无人", 1); !errors.Is(err, ErrNoSuchPhoto) {
		t.Errorf("delete in empty community: %v", err)
	}
	// Delete the first and the last: the list stays in order.
	if _, err := r.DeletePhoto(ctx, street, "大辛", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeletePhoto(ctx, street, "大辛", 1); err != nil {
		t.Fatal(err)
	}
	l, _ = r.PhotoList(ctx, street, "大辛")
	if got := photoNames(l); !slices.Equal(got, []string{mkPhoto("c", 3).Name}) {
		t.Fatalf("left %v", got)
	}
}

func testPhotoCounts(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	addPhotos(t, r, "大辛", 10, "a", "b", "c")
	addPhotos(t, r, "小辛", 10, "a")
	addPhotos(t, r, "东关", 10, "x", "y", "z", "w", "v", "u")
	got, err := r.PhotoCounts(ctx, street, []string{"大辛", "小辛", "东关", "西关"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"大辛": 3, "小辛": 1, "东关": 6, "西关": 0}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	if got, err := r.PhotoCounts(ctx, "城西街道", []string{"大辛"}); err != nil || got["大辛"] != 0 || len(got) != 1 {
		t.Fatalf("other street: %v, %v", got, err)
	}
	if got, err := r.PhotoCounts(ctx, street, nil); err != nil || len(got) != 0 {
		t.Fatalf("no communities: %v, %v", got, err)
	}
}

// 15 secretaries' phones send 15 different photos at once; max 10: exactly 10 are held,
// the others get ErrPhotosFull, and the counts each add returned are 1…10 once each.
func testPhotoConcurrentAdd(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts []int
		full   int
	)
	for i := range 15 {
		wg.Go(func() {
			n, err := r.AddPhoto(ctx, street, "大辛", mkPhoto(fmt.Sprint("c", i), i+1), 10)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrPhotosFull):
				full++
			case err != nil:
				t.Errorf("add %d: %v", i, err)
			default:
				counts = append(counts, n)
			}
		})
	}
	wg.Wait()
	slices.Sort(counts)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(counts, want) || full != 5 {
		t.Fatalf("counts %v, %d full", counts, full)
	}
	l, err := r.PhotoList(ctx, street, "大辛")
	if err != nil || len(l) != 10 {
		t.Fatalf("held %d, %v", len(l), err)
	}
	seen := map[string]bool{}
	for _, p := range l {
		if seen[p.Hash] {
			t.Fatalf("hash %s held twice", p.Hash)
		}
		seen[p.Hash] = true
	}
}

func testPhotoInvalidInput(t *testing.T, r *Redis) {
	ctx := ctxT(t)
	p := mkPhoto("a", 1)
	noHash := p
	noHash.Hash = ""
	for name, tc := range map[string]struct {
		street, community string
		p                 Photo
		max               int
	}{
		"no street":    {"", "大辛", p, 10},
		"no community": {street, "", p, 10},
		"newline":      {street, "大\n辛", p, 10},
		"no hash":      {street, "大辛", noHash, 10},
		"max 0":        {street, "大辛", p, 0},
	} {
		if _, err := r.AddPhoto(ctx, tc.street, tc.community, tc.p, tc.max); err == nil ||
			errors.Is(err, ErrDuplicatePhoto) || errors.Is(err, ErrPhotosFull) {
			t.Errorf("%s: error %v", name, err)
		}
	}
	if l, _ := r.PhotoList(ctx, street, "大辛"); len(l) != 0 {
		t.Fatalf("stored %v", photoNames(l))
	}
}
