package dashboard

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"huanjie/photos"
)

// TestZipOfCommunityWithoutPhotos: with the real photo zipper, a community that sent no
// photos gets a page that says so (404), not a server error; one with photos gets them.
func TestZipOfCommunityWithoutPhotos(t *testing.T) {
	fx := newFixture(t)
	fx.srv.Zip = (&photos.Service{Store: fx.photos, Dir: fx.archive}).Zip
	cookie := fx.login(t)
	for _, method := range []string{"GET", "HEAD"} {
		w := fx.do(t, method, "/dashboard/zip/chengxi/"+esc("太平"), cookie)
		if w.Code != 404 || w.Header().Get("Content-Disposition") != "" {
			t.Errorf("%s the zip of 太平 (no photos): %d %v", method, w.Code, w.Header())
		}
		if method == "GET" && !strings.Contains(w.Body.String(), "还没有收到照片") {
			t.Errorf("the page does not say there are no photos:\n%s", w.Body.String())
		}
	}
	w := fx.do(t, "GET", "/dashboard/zip/chengxi/"+esc("大辛"), cookie)
	if w.Code != 200 {
		t.Fatalf("the zip of 大辛: %d", w.Code)
	}
	zr, err := zip.NewReader(bytes.NewReader(w.Body.Bytes()), int64(w.Body.Len()))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			n++
		}
	}
	if n != seedPhotos["大辛"] {
		t.Errorf("the zip of 大辛 holds %d photos, want %d", n, seedPhotos["大辛"])
	}
}
