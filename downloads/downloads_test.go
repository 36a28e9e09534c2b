package downloads

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func newStore(t *testing.T, now *time.Time) (*Store, *httptest.Server) {
	t.Helper()
	s := &Store{Dir: filepath.Join(t.TempDir(), "files"), Now: func() time.Time { return *now }, Log: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.Base = srv.URL
	return s, srv
}

func get(t *testing.T, u string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func keep(t *testing.T, s *Store, name, content string) string {
	t.Helper()
	link, size, err := s.Keep(name, func(w io.Writer) error {
		_, err := io.WriteString(w, content)
		return err
	})
	if err != nil || size != int64(len(content)) {
		t.Fatalf("keep %s: %d bytes, %v", name, size, err)
	}
	return link
}

// entries lists the files in the folder, temporary ones included.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestKeepAndServe(t *testing.T) {
	now := time.Date(2021, 7, 5, 9, 0, 0, 0, time.UTC)
	s, srv := newStore(t, &now)
	link := keep(t, s, "城西街道换届进度.xlsx", "PK-workbook")
	if !strings.HasPrefix(link, srv.URL+"/files/") || !strings.HasSuffix(link, "/%E5%9F%8E%E8%A5%BF%E8%A1%97%E9%81%93%E6%8D%A2%E5%B1%8A%E8%BF%9B%E5%BA%A6.xlsx") {
		t.Fatalf("link %s", link)
	}
	code, body, h := get(t, link)
	if code != 200 || body != "PK-workbook" || !strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''") ||
		!strings.Contains(h.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("download: %d %q %v", code, body, h)
	}
	if code, body, _ := get(t, link, "Range", "bytes=3-10"); code != http.StatusPartialContent || body != "workbook" {
		t.Fatalf("a resumed download: %d %q", code, body)
	}
	for _, guess := range []string{"/files/0123456789abcdef0123456789abcdef/x.xlsx", "/files/../x", "/files/"} {
		if code, _, _ := get(t, srv.URL+guess); code != 404 {
			t.Fatalf("%s must not download: %d", guess, code)
		}
	}
	now = now.Add(2 * time.Hour)
	if code, body, _ := get(t, link); code != 404 || !strings.Contains(body, "链接已过期") {
		t.Fatalf("an expired link: %d %q", code, body)
	}
	s.Sweep()
	if left := entries(t, s.Dir); len(left) != 0 {
		t.Errorf("expired files left on disk: %v", left)
	}
}

// TestFolderCap: the folder never holds more than MaxBytes; the oldest files make room,
// and a file larger than the whole folder is refused without leaving anything behind.
func TestFolderCap(t *testing.T) {
	now := time.Date(2021, 7, 5, 9, 0, 0, 0, time.UTC)
	s, _ := newStore(t, &now)
	s.MaxBytes = 100
	var links []string
	for i, c := range []string{"a", "b", "c"} {
		now = now.Add(time.Duration(i) * time.Second)
		links = append(links, keep(t, s, c+".zip", strings.Repeat(c, 40)))
	}
	if code, _, _ := get(t, links[0]); code != 404 {
		t.Errorf("the oldest file was kept over the cap")
	}
	for _, l := range links[1:] {
		if code, _, _ := get(t, l); code != 200 {
			t.Errorf("%s: %d", l, code)
		}
	}
	_, _, err := s.Keep("big.zip", func(w io.Writer) error {
		_, err := w.Write(make([]byte, 101))
		return err
	})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a file over the cap: %v", err)
	}
	if n := len(entries(t, s.Dir)); n != 2 {
		t.Errorf("%d files on disk, want the 2 kept", n)
	}
	boom := errors.New("zip failed")
	if _, _, err := s.Keep("half.zip", func(w io.Writer) error {
		_, _ = io.WriteString(w, "half")
		return boom
	}); err != boom {
		t.Errorf("a failing write: %v, want its own error", err)
	}
	if n := len(entries(t, s.Dir)); n != 2 {
		t.Errorf("a failed write left a file behind")
	}
}

// chunks writes n bytes in 32 KB pieces, as a zip of photos read from disk would.
func chunks(n int) func(io.Writer) error {
	return func(w io.Writer) error {
		buf := bytes.Repeat([]byte{'x'}, 32<<10)
		for left := n; left > 0; left -= len(buf) {
			if _, err := w.Write(buf[:min(len(buf), left)]); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestLargeFilesStayOnDisk: keeping and serving a 64 MB file holds a few buffers, not
// the file, in memory.
func TestLargeFilesStayOnDisk(t *testing.T) {
	now := time.Now()
	s, _ := newStore(t, &now)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	link, n, err := s.Keep("照片.zip", chunks(size))
	if err != nil || n != size {
		t.Fatalf("keep: %d, %v", n, err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if got != size {
		t.Fatalf("downloaded %d bytes", got)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("keeping and serving 64 MB allocated %d MB", alloc>>20)
	}
}
