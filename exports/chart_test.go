package exports

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"testing"

	"huanjie/campaign"
	"huanjie/config"
)

func TestBundledFontHasCJKGlyphs(t *testing.T) {
	font, err := cjkFont()
	if err != nil {
		t.Fatal(err)
	}
	_, data := fixture(t)
	text := "社辛换届进度已报有问题逾期未报未到期共个区项全部报齐：，0123456789月日"
	for _, d := range data {
		text += d.Street.Name
		for _, c := range d.Street.Communities {
			text += c.Name
		}
	}
	for _, r := range text {
		if !hasGlyph(font, r) {
			t.Errorf("the bundled font has no glyph for %q", r)
		}
	}
	if hasGlyph(font, '\U0010FFFD') {
		t.Error("hasGlyph claims a private-use code point: the check is vacuous")
	}
}

// decodeChart checks that b is a PNG under 2 MB and returns it.
func decodeChart(t *testing.T, b []byte) image.Image {
	t.Helper()
	if len(b) >= maxChartPNGSize {
		t.Fatalf("%d bytes, over 2 MB", len(b))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// countColour counts the pixels of exactly the colour of state c below the legend.
func countColour(img image.Image, c stepState) int {
	want := stateColour[c]
	n := 0
	b := img.Bounds()
	for y := b.Min.Y + 120; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(bl>>8) == want.B {
				n++
			}
		}
	}
	return n
}

func TestProgressChart(t *testing.T) {
	_, data := fixture(t)
	today := campaign.DateOf(fixtureNow)
	b, err := ProgressChart(data[0].Street, data[0].Filings, today)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WRITE_SAMPLE") != "" { // WRITE_SAMPLE=1 go test ./exports/ refreshes the sample
		if err := os.WriteFile("testdata/chart-sample.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := decodeChart(t, b)
	if got, want := img.Bounds(), image.Rect(0, 0, 1200, 190+40*15); got != want {
		t.Fatalf("bounds %v, want %v", got, want)
	}
	// Every state of the fixture shows: 柳杭 complete, 大辛 and 太平 flagged, most overdue.
	for _, s := range []stepState{stateFiled, stateFlagged, stateOverdue, stateNotDue} {
		if n := countColour(img, s); n < 500 {
			t.Errorf("%s: %d pixels of its colour", s.label(), n)
		}
	}
	t.Logf("%d bytes, %v", len(b), img.Bounds())

	// Nothing filed yet and nothing due: all grey.
	early := campaign.Date{Year: 2021, Month: 6, Day: 1}
	b, err = ProgressChart(data[1].Street, nil, early)
	if err != nil {
		t.Fatal(err)
	}
	img = decodeChart(t, b)
	if got := img.Bounds().Dy(); got != chartMinHeight {
		t.Errorf("3 communities: height %d, want the minimum %d", got, chartMinHeight)
	}
	if countColour(img, stateFiled) != 0 || countColour(img, stateOverdue) != 0 || countColour(img, stateNotDue) < 500 {
		t.Error("an empty street on 6月1日 should be all 未到期")
	}
}

func TestProgressChartErrors(t *testing.T) {
	today := campaign.DateOf(fixtureNow)
	if _, err := ProgressChart(nil, nil, today); err == nil {
		t.Error("nil street accepted")
	}
	st := &config.Street{Name: "空街道", Communities: []config.Community{{Name: "甲"}}}
	if _, err := ProgressChart(st, nil, today); err == nil {
		t.Error("street without steps accepted")
	}
}

// The bot may draw several streets' charts at once.
func TestProgressChartConcurrent(t *testing.T) {
	_, data := fixture(t)
	today := campaign.DateOf(fixtureNow)
	want, err := ProgressChart(data[0].Street, data[0].Filings, today)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			b, err := ProgressChart(data[0].Street, data[0].Filings, today)
			if err == nil && !bytes.Equal(b, want) {
				err = errors.New("concurrent charts differ")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
