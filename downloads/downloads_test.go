package downloads

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPutAndServe(t *testing.T) {
	now := time.Date(2021, 7, 5, 9, 0, 0, 0, time.UTC)
	s := &Store{Now: func() time.Time { return now }}
	srv := httptest.NewServer(s)
	defer srv.Close()
	s.Base = srv.URL
	link := s.Put("城西街道换届进度.xlsx", []byte("PK-workbook"))
	if !strings.HasPrefix(link, srv.URL+"/files/") || !strings.HasSuffix(link, "/%E5%9F%8E%E8%A5%BF%E8%A1%97%E9%81%93%E6%8D%A2%E5%B1%8A%E8%BF%9B%E5%BA%A6.xlsx") {
		t.Fatalf("link %s", link)
	}
	get := func(u string) (int, string, http.Header) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, body, h := get(link)
	if code != 200 || body != "PK-workbook" || !strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''") ||
		!strings.Contains(h.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("download: %d %q %v", code, body, h)
	}
	if code, _, _ := get(srv.URL + "/files/0123456789abcdef/x.xlsx"); code != 404 {
		t.Fatalf("a guessed token must not download: %d", code)
	}
	now = now.Add(2 * time.Hour)
	if code, body, _ := get(link); code != 404 || !strings.Contains(body, "链接已过期") {
		t.Fatalf("an expired link: %d %q", code, body)
	}
}
