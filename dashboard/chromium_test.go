package dashboard

import (
	"bytes"
	"context"
	"flag"
	"image/color"
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "copy the phone screenshot to testdata/dashboard-phone.png")

const (
	phoneW, phoneH  = 390, 844
	screenshotFile  = "testdata/dashboard-phone.png"
	screenshotLimit = 300 << 10
	chromiumTimeout = 90 * time.Second
)

// chromiumBinary finds Chromium, failing (not skipping) when it is not installed.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is needed for the phone rendering test and was not found: apt-get install chromium (and fonts-noto-cjk for Chinese text)")
	return ""
}

// chromium runs headless Chromium at phone size with a fresh profile and returns stdout.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	profile := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--hide-scrollbars", "--window-size=390,844"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile)
	// Chromium forks helpers: on timeout, kill the whole process group it leads.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chromium %v timed out after %v\n%s", args, chromiumTimeout, tail(stderr.String()))
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, tail(stderr.String()))
	}
	t.Logf("chromium %s: %v", args[0], time.Since(start).Round(time.Millisecond))
	return stdout.String()
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// TestPhoneRendering opens the overview in headless Chromium at an iPhone's size, checks
// the screenshot is a real page and the DOM holds the table.
func TestPhoneRendering(t *testing.T) {
	bin := chromiumBinary(t)
	fx := newFixture(t)
	srv := httptest.NewServer(fx.srv) // loopback
	defer srv.Close()
	u := srv.URL + "/dashboard/?token=" + url.QueryEscape(testToken)

	shot := filepath.Join(t.TempDir(), "dash.png")
	chromium(t, bin, "--screenshot="+shot, u)
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	checkScreenshot(t, data)

	dom := chromium(t, bin, "--dump-dom", u)
	for _, want := range []string{"<table>", `<th class="name" scope="row"><a href="/dashboard/c/chengxi/`, ">大辛</a></th>",
		">北山</a></th>", "全部报齐", "✅"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q:\n%s", want, tail(dom))
		}
	}

	if *updateScreenshot {
		if len(data) > screenshotLimit {
			t.Fatalf("screenshot is %d bytes, more than %d", len(data), screenshotLimit)
		}
		if err := os.WriteFile(screenshotFile, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := os.ReadFile(screenshotFile)
	if err != nil {
		t.Fatalf("%s: %v (run go test ./dashboard -run PhoneRendering -update-screenshot)", screenshotFile, err)
	}
	if len(kept) > screenshotLimit {
		t.Errorf("%s is %d bytes, keep it under %d", screenshotFile, len(kept), screenshotLimit)
	}
	checkScreenshot(t, kept)
}

// checkScreenshot decodes a PNG and checks it is phone-sized and not a blank page: many
// colours, a fair share of ink, and the red header band at the top.
func checkScreenshot(t *testing.T, data []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot does not decode as PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != phoneW || b.Dy() != phoneH {
		t.Fatalf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), phoneW, phoneH)
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
	if c := color.RGBAModel.Convert(img.At(phoneW-5, 5)).(color.RGBA); !near(c, color.RGBA{0xb3, 0x26, 0x1e, 0xff}) {
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
