package dashboard

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// phoneJPEG makes a photo the way a phone sends one: w×h, with fine detail (noise over a
// sky, a building and grass) so it weighs what real photos weigh, and a red square at
// the top left of its centre square, to see where a thumbnail puts it.
func phoneJPEG(t testing.TB, w, h, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x0, side := (w-min(w, h))/2, min(w, h)
	r := uint32(seed*7919 + 1)
	for y := range h {
		for x := range w {
			r = r*1664525 + 1013904223
			n := int(r>>24) % 48
			var c [3]int
			switch {
			case x >= x0 && x < x0+side/5 && y < side/5:
				c = [3]int{220, 20, 30}
			case y > h*2/3:
				c = [3]int{60 + n, 110 + n, 50 + n/2}
			case x > w/4 && x < w*3/4 && y > h/3:
				c = [3]int{150 + n, 140 + n, 120 + n}
			default:
				c = [3]int{100 + y*80/h + n/3, 150 + y*60/h + n/3, 230}
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(c[0]), uint8(c[1]), uint8(c[2]), 255
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withSegment puts a JPEG segment (marker, payload) right after the start of image.
func withSegment(data []byte, marker byte, payload []byte) []byte {
	seg := []byte{0xff, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, data[2:]...)
}

// withExif adds an EXIF block whose IFD0 holds an orientation tag (and one before it),
// in the byte order given (binary.LittleEndian is "II", BigEndian "MM").
func withExif(data []byte, orientation uint16, order binary.ByteOrder) []byte {
	tiff := make([]byte, 8+2+2*12+4)
	if order == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8)
	order.PutUint16(tiff[8:], 2)
	e := tiff[10:]
	order.PutUint16(e[0:], 0x010f) // Make, ASCII, 4 bytes inline
	order.PutUint16(e[2:], 2)
	order.PutUint32(e[4:], 4)
	copy(e[8:], "ACME")
	e = tiff[22:]
	order.PutUint16(e[0:], 0x0112)
	order.PutUint16(e[2:], 3)
	order.PutUint32(e[4:], 1)
	order.PutUint16(e[8:], orientation)
	return withSegment(data, 0xe1, append([]byte("Exif\x00\x00"), tiff...))
}

// declareSize makes a baseline JPEG's frame header declare w×h pixels.
func declareSize(data []byte, w, h int) []byte {
	out := append([]byte{}, data...)
	sof := bytes.Index(out, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(out[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(out[sof+7:], uint16(w))
	return out
}

// progressiveJPEG marks a baseline JPEG's frame header as progressive (SOF2): enough for
// the header readers, though it no longer decodes.
func progressiveJPEG(t testing.TB, data []byte) []byte {
	out := append([]byte{}, data...)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	out[i+1] = 0xc2
	return out
}

func TestJPEGMeta(t *testing.T) {
	plainJPEG := testJPEG(t, 16, 16, 1)
	for _, tc := range []struct {
		name        string
		data        []byte
		orientation int
		progressive bool
	}{
		{"no EXIF", plainJPEG, 1, false},
		{"little endian 6", withExif(plainJPEG, 6, binary.LittleEndian), 6, false},
		{"big endian 8", withExif(plainJPEG, 8, binary.BigEndian), 8, false},
		{"big endian 3 after a comment", withSegment(withExif(plainJPEG, 3, binary.BigEndian), 0xfe, []byte("from a phone")), 3, false},
		{"progressive, 6", progressiveJPEG(t, withExif(plainJPEG, 6, binary.LittleEndian)), 6, true},
		{"out of range", withExif(plainJPEG, 9, binary.LittleEndian), 1, false},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n"), 1, false},
		{"truncated EXIF", withExif(plainJPEG, 6, binary.LittleEndian)[:30], 1, false},
		{"empty", nil, 1, false},
	} {
		if o, p := jpegMeta(tc.data); o != tc.orientation || p != tc.progressive {
			t.Errorf("%s: orientation %d progressive %v, want %d %v", tc.name, o, p, tc.orientation, tc.progressive)
		}
	}
}

// TestOrient checks each EXIF orientation moves two marked pixels of a 3×3 image (top
// left A, top middle B) where a viewer shows them.
func TestOrient(t *testing.T) {
	for o, want := range map[int][2]image.Point{
		1: {{0, 0}, {1, 0}}, 2: {{2, 0}, {1, 0}}, 3: {{2, 2}, {1, 2}}, 4: {{0, 2}, {1, 2}},
		5: {{0, 0}, {0, 1}}, 6: {{2, 0}, {2, 1}}, 7: {{2, 2}, {2, 1}}, 8: {{0, 2}, {0, 1}},
	} {
		img := image.NewRGBA(image.Rect(0, 0, 3, 3))
		img.Set(0, 0, color.RGBA{255, 0, 0, 255})
		img.Set(1, 0, color.RGBA{0, 0, 255, 255})
		out := orient(img, o)
		if c := out.RGBAAt(want[0].X, want[0].Y); c.R != 255 {
			t.Errorf("orientation %d: A is not at %v", o, want[0])
		}
		if c := out.RGBAAt(want[1].X, want[1].Y); c.B != 255 {
			t.Errorf("orientation %d: B is not at %v", o, want[1])
		}
	}
}

// decodeThumb checks a thumbnail's bytes: a square JPEG of side pixels within the limit.
func decodeThumb(t *testing.T, data []byte, side int) image.Image {
	t.Helper()
	if len(data) > thumbMaxBytes {
		t.Errorf("thumbnail is %d bytes, more than %d", len(data), thumbMaxBytes)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("thumbnail does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		t.Fatalf("thumbnail is %dx%d, want %dx%d", b.Dx(), b.Dy(), side, side)
	}
	return img
}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 170 && g>>8 < 80 && b>>8 < 80
}

func TestThumbnail(t *testing.T) {
	fx := newFixture(t)
	cookie := fx.login(t)
	get := func(target string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", target, nil)
		r.AddCookie(cookie)
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, r)
		return w
	}
	base := "/dashboard/thumb/chengxi/" + esc("太平") + "/"

	// A portrait photo stored sideways, as phones do: 1200×900 pixels with EXIF 6.
	big := withExif(phoneJPEG(t, 1200, 900, 1), 6, binary.BigEndian)
	p := fx.addPhoto(t, "太平", big, 1200, 900)
	w := get(base + "1?v=" + p.Hash[:16])
	if w.Code != 200 {
		t.Fatalf("status %d: %.200s", w.Code, w.Body.String())
	}
	h := w.Header()
	if h.Get("Content-Type") != "image/jpeg" || h.Get("ETag") != `"thumb-`+p.Hash+`"` ||
		h.Get("Cache-Control") != "private, max-age=31536000, immutable" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers: %v", h)
	}
	thumb := w.Body.Bytes()
	img := decodeThumb(t, thumb, thumbSide)
	t.Logf("a %d KB photo gives a %d KB thumbnail (%.1f%%)", len(big)>>10, len(thumb)>>10, 100*float64(len(thumb))/float64(len(big)))
	// The red square at the top left of the stored image shows at the top right once
	// turned a quarter clockwise.
	if !isRed(img.At(thumbSide-20, 20)) || isRed(img.At(20, 20)) {
		t.Errorf("the thumbnail is not turned as EXIF orientation 6 says: top right %v, top left %v", img.At(thumbSide-20, 20), img.At(20, 20))
	}

	// Kept on disk under the photo's hash, and served from there.
	kept := filepath.Join(fx.archive, ".thumbs", p.Hash[:2], p.Hash+".jpg")
	if data, err := os.ReadFile(kept); err != nil || !bytes.Equal(data, thumb) {
		t.Fatalf("thumbnail not kept at %s: %v", kept, err)
	}
	if err := os.Remove(filepath.Join(fx.archive, filepath.FromSlash(p.Path))); err != nil {
		t.Fatal(err)
	}
	if w := get(base + "1"); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), thumb) || w.Header().Get("Cache-Control") != "private, no-cache" {
		t.Errorf("from the cache: %d, same bytes %v, %q", w.Code, bytes.Equal(w.Body.Bytes(), thumb), w.Header().Get("Cache-Control"))
	}
	if w := get(base+"1", "If-None-Match", `"thumb-`+p.Hash+`"`); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := get("/dashboard/photo/chengxi/" + esc("太平") + "/1"); w.Code != 404 {
		t.Errorf("the original was removed, yet: %d", w.Code)
	}

	// The fixture's small photos give thumbnails of their own height.
	decodeThumb(t, get("/dashboard/thumb/chengxi/"+esc("大辛")+"/2").Body.Bytes(), 240)

	// What cannot be made into a thumbnail is not found, and nothing is kept: more
	// pixels declared than the intake takes; a progressive JPEG whose decode would cost
	// more than the budget; a PNG; a JPEG cut short.
	small := testJPEG(t, 64, 48, 3)
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{declareSize(small, 30000, 30000), progressiveJPEG(t, declareSize(small, 6000, 4000)), pngData.Bytes(), small[:len(small)/3]}
	for i, bad := range bad {
		p := fx.addPhoto(t, "太平", bad, 0, 0)
		if w := get(base + itoa(i+2)); w.Code != 404 || w.Header().Get("Content-Type") == "image/jpeg" {
			t.Errorf("photo %d: %d %q", i+2, w.Code, w.Header().Get("Content-Type"))
		}
		if _, err := os.Stat(filepath.Join(fx.archive, ".thumbs", p.Hash[:2], p.Hash+".jpg")); err == nil {
			t.Errorf("photo %d: a thumbnail was kept", i+2)
		}
	}
	// A JPEG without its end marker, which the intake accepts, still gets one.
	noEOI := testJPEG(t, 64, 48, 4)
	noEOI = noEOI[:len(noEOI)-2]
	fx.addPhoto(t, "太平", noEOI, 64, 48)
	decodeThumb(t, get(base+itoa(len(bad)+2)).Body.Bytes(), 48)

	// Phones asking for the same new thumbnail at once all get it.
	fx.addPhoto(t, "太平", phoneJPEG(t, 800, 600, 9), 800, 600)
	target := base + itoa(len(bad)+3)
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Go(func() {
			if w := get(target); w.Code == 200 {
				got[i] = w.Body.Bytes()
			}
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] == nil || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("request %d of the same new thumbnail: %d bytes", i, len(got[i]))
		}
	}
	decodeThumb(t, got[0], 360)

	// A thumbnail folder that cannot be written still gives thumbnails.
	fx.srv.ThumbDir = filepath.Join(fx.dir, "secret.jpg", "thumbs")
	if w := get("/dashboard/thumb/chengxi/" + esc("李家窑") + "/1"); w.Code != 200 {
		t.Errorf("without a writable cache: %d", w.Code)
	}
}

// TestThumbnailRefusedByHeader: what a header declares decides before any decoding.
func TestThumbnailRefusedByHeader(t *testing.T) {
	small := testJPEG(t, 64, 48, 3)
	for _, tc := range []struct {
		name    string
		data    []byte
		refused bool // by the header, before decoding
	}{
		{"60 000 × 60 000", declareSize(small, 60000, 60000), true},
		{"9000 × 6000 (54 MP)", declareSize(small, 9000, 6000), true},
		{"progressive 6000 × 4000 (360 MB to decode)", progressiveJPEG(t, declareSize(small, 6000, 4000)), true},
		{"baseline 6000 × 4000 (72 MB), cut short", declareSize(small, 6000, 4000), false},
		{"progressive 2000 × 1500 (45 MB), cut short", progressiveJPEG(t, declareSize(small, 2000, 1500)), false},
	} {
		_, err := makeThumbnail(context.Background(), bytes.NewReader(tc.data))
		if !errors.Is(err, errNotThumbnailable) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if got := err != nil && strings.Contains(err.Error(), "declares"); got != tc.refused {
			t.Errorf("%s: refused by the header %v, want %v (%v)", tc.name, got, tc.refused, err)
		}
	}
}

// BenchmarkThumbnail makes a thumbnail of a 12-megapixel phone photo.
func BenchmarkThumbnail(b *testing.B) {
	data := withExif(phoneJPEG(b, 4000, 3000, 1), 6, binary.LittleEndian)
	b.SetBytes(int64(len(data)))
	var out []byte
	for b.Loop() {
		var err error
		if out, err = makeThumbnail(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out)), "thumb-bytes")
	b.ReportMetric(float64(len(data)), "photo-bytes")
}
