package dashboard

import (
	"bytes"
	"flag"
	"image/color"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"huanjie/internal/browsertest"
)

// The browser tests drive Debian's Chromium (installed by scripts/test.sh) through the
// DevTools protocol with chromedp (internal/browsertest): they open the dashboard at a phone's and a desktop's
// width, measure what a person would see, and save screenshots as test artifacts
// (go test ./dashboard -run Browser -artifacts -outputdir DIR keeps them; the log names
// each file).

var updateScreenshot = flag.Bool("update-screenshot", false, "copy the screenshots to testdata/ (dashboard-phone.png, dashboard-desktop.png)")

const (
	phoneW, phoneH     = 390, 844
	desktopW, desktopH = 1440, 900
	screenshotLimit    = 400 << 10
)

// chromiumBinary finds Chromium, failing (not skipping) when it is not installed.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	bin := browsertest.Chromium()
	if bin == "" {
		t.Fatalf("Chromium is needed for the browser tests and was not found: apt-get install chromium (and fonts-noto-cjk for Chinese text)")
	}
	return bin
}

// browser is one headless Chromium with a fresh profile, and one tab in it.
type browser struct{ *browsertest.Browser }

func newBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{browsertest.Start(t, chromiumBinary(t))}
}

// keepScreenshot checks a screenshot is a real page, copies it to testdata/ with
// -update-screenshot and checks the kept one too.
func keepScreenshot(t *testing.T, name string, data []byte, w, h int) {
	t.Helper()
	checkScreenshot(t, data, w, h)
	file := filepath.Join("testdata", name+".png")
	if *updateScreenshot {
		if len(data) > screenshotLimit {
			t.Fatalf("screenshot is %d bytes, more than %d", len(data), screenshotLimit)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: %v (run go test ./dashboard -run Browser -update-screenshot)", file, err)
	}
	if len(kept) > screenshotLimit {
		t.Errorf("%s is %d bytes, keep it under %d", file, len(kept), screenshotLimit)
	}
	checkScreenshot(t, kept, w, h)
}

// checkScreenshot decodes a PNG and checks it has the viewport's size and is not a blank
// page: many colours, a fair share of ink, and the red header band at the top.
func checkScreenshot(t *testing.T, data []byte, w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot does not decode as PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	colours := map[color.RGBA]bool{}
	ink := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colours[c] = true
			if int(c.R)+int(c.G)+int(c.B) < 600 {
				ink++
			}
		}
	}
	if len(colours) < 200 {
		t.Errorf("screenshot has %d colours: a blank or unstyled page?", len(colours))
	}
	if share := float64(ink) / float64(b.Dx()*b.Dy()); share < 0.05 {
		t.Errorf("only %.1f%% of the screenshot is ink: a blank page?", share*100)
	}
	if c := color.RGBAModel.Convert(img.At(w-5, 5)).(color.RGBA); !near(c, color.RGBA{0xb3, 0x26, 0x1e, 0xff}) {
		t.Errorf("top right pixel is %v, not the red header", c)
	}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) < 12 && d(a.G, b.G) < 12 && d(a.B, b.B) < 12
}

// dashboardServer serves the fixture on loopback and returns the overview's URL with the
// token.
func dashboardServer(t *testing.T, fx *fixture) (base, overview string) {
	t.Helper()
	srv := httptest.NewServer(fx.srv)
	t.Cleanup(srv.Close)
	return srv.URL, srv.URL + "/dashboard/?token=" + url.QueryEscape(testToken)
}
