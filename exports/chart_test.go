package exports

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"huanjie/campaign"
	"huanjie/config"
)

func TestBundledFontHasCJKGlyphs(t *testing.T) {
	font, err := cjkFont()
	if err != nil {
		t.Fatal(err)
	}
	cfg, data := fixture(t)
	big := bigStreet(t, cfg, 60)
	fig, streets := Figures(big, fixtureNow), StreetFigures("博山区", data, fixtureNow)
	text := fig.Title + fig.Stamp + fig.Totals + fig.Note + streets.Title + streets.Stamp + streets.Totals + streets.Note
	for _, s := range append(append([]series(nil), streetSeries...), chartSeries()...) {
		text += s.Name
	}
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

// chartSeries are the progress chart's segments.
func chartSeries() []series {
	var out []series
	for _, s := range chartOrder {
		out = append(out, series{Name: s.label()})
	}
	return out
}

// decodeChart checks that b is a PNG under 2 MB, writes it where a person can look at
// it (the path is logged) and returns it.
func decodeChart(t *testing.T, b []byte, name string) image.Image {
	t.Helper()
	if len(b) >= maxChartPNG {
		t.Fatalf("%d bytes, over 2 MB", len(b))
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(renderDir(t), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes, %v", path, len(b), img.Bounds())
	return img
}

// renderDir is where the tests leave the images they render, for a person to look at.
func renderDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "huanjie-exports-render")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// countColour counts the pixels of exactly colour c below the legend.
func countColour(img image.Image, c color.Color) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y + 250; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if sameRGB(img.At(x, y), c) {
				n++
			}
		}
	}
	return n
}

// sameRGB reports whether c is exactly the colour want.
func sameRGB(c color.Color, want color.Color) bool {
	r, g, b, _ := c.RGBA()
	wr, wg, wb, _ := want.RGBA()
	return r>>8 == wr>>8 && g>>8 == wg>>8 && b>>8 == wb>>8
}

// textLines finds the lines of text in a strip of an image: runs of pixel rows holding
// at least one pixel darker than limit (0–255 luminance). It returns their heights.
func textLines(img image.Image, strip image.Rectangle, limit uint32) []int {
	var heights []int
	run := 0
	for y := strip.Min.Y; y < strip.Max.Y; y++ {
		ink := false
		for x := strip.Min.X; x < strip.Max.X && !ink; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			ink = (299*r+587*g+114*b)/1000>>8 < limit
		}
		switch {
		case ink:
			run++
		case run > 0:
			heights = append(heights, run)
			run = 0
		}
	}
	if run > 0 {
		heights = append(heights, run)
	}
	return heights
}

// bigStreet is 城西 with n communities (names of up to 9 characters) judged on
// fixtureNow: the 5 last communities have filed their overdue items, the 3 before them
// filed the leading group only, and the 2 before those filed the members with too few.
func bigStreet(t *testing.T, cfg *config.Config, n int) *campaign.StreetState {
	t.Helper()
	st := cfg.Streets[0]
	st.Communities = nil
	recs := records{}
	for i := range n {
		name := fmt.Sprintf("第%d居委会", i+1)
		if i%7 == 3 {
			name = fmt.Sprintf("很长名字的第%d社区", i+1)
		}
		st.Communities = append(st.Communities, campaign.Community{Name: name})
		switch {
		case i >= n-5:
			recs.file(name, campaign.ItemLeadingGroup, at(6, 18, 9), campaign.Value{Leader: "甲"})
			recs.file(name, campaign.ItemMembers, at(6, 28, 9), campaign.Value{Members: 100, Population: 1000})
			recs.file(name, campaign.ItemMemberGroups, at(6, 28, 9), campaign.Value{})
			recs.file(name, campaign.ItemContactHouseholds, at(6, 28, 9), campaign.Value{})
		case i >= n-8:
			recs.file(name, campaign.ItemLeadingGroup, at(6, 18, 9), campaign.Value{Leader: "乙"})
		case i >= n-10:
			recs.file(name, campaign.ItemMembers, at(6, 28, 9), campaign.Value{Members: 10, Population: 1000})
		}
	}
	st.Index()
	return st.JudgeStreet(recs, campaign.DateOf(fixtureNow))
}

func TestProgressChart(t *testing.T) {
	_, data := fixture(t)
	fig := Figures(data[0], fixtureNow.UTC()) // the time zone of now must not matter
	if fig.Title != "城西街道 换届进度" || fig.Stamp != "2021年7月5日 星期一 09:00 统计" ||
		fig.Totals != "共 15 个社区、每个 15 项：全部报齐 1 个，有问题 2 个，有逾期 14 个" || fig.Omitted != 0 || fig.Note != "" {
		t.Errorf("figures %q / %q / %q / %d %q", fig.Title, fig.Stamp, fig.Totals, fig.Omitted, fig.Note)
	}
	// Every community in config order, its items counted by state.
	if len(fig.Rows) != 15 || fig.Rows[0].Community != "大辛" || fig.Rows[14].Community != "北山" {
		t.Fatalf("rows %+v", fig.Rows)
	}
	if r := fig.Rows[0]; r.Count != [numStates]int{8, 4, 1, 2} { // 未到期, 已报, 有问题, 逾期未报
		t.Errorf("大辛 %+v", r)
	}
	if r := fig.Rows[3]; r.Filed() != 15 || r.Problems() != 0 || r.Late() != 0 {
		t.Errorf("柳杭 %+v", r)
	}

	b, err := ProgressChart(data[0], fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WRITE_SAMPLE") != "" { // WRITE_SAMPLE=1 go test ./exports/ refreshes the sample
		if err := os.WriteFile("testdata/chart-sample.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := decodeChart(t, b, "chart-chengxi.png")
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1080 || h < 15*chartRowHeight || h > 15*chartRowHeight+400 {
		t.Fatalf("%d×%d px for 15 communities", w, h)
	}
	for _, s := range chartOrder {
		if n := countColour(img, stateColour[s]); n < 500 {
			t.Errorf("%s: %d pixels of its colour", s.label(), n)
		}
	}

	// Nothing filed yet and nothing due: all grey.
	early := campaign.Date{Year: 2021, Month: 6, Day: 1}
	b, err = ProgressChart(data[1].Street.JudgeStreet(nil, early), fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	img = decodeChart(t, b, "chart-empty.png")
	if countColour(img, stateColour[stateFiled]) != 0 || countColour(img, stateColour[stateOverdue]) != 0 ||
		countColour(img, stateColour[stateNotDue]) < 500 {
		t.Error("an empty street on 6月1日 should be all 未到期")
	}
}

// TestChartReadableOnAPhone measures the text as drawn: shown 1080 px wide (a phone's
// screen), the community names and the smallest text, the note, must be at least 12 px
// tall; they are drawn for a bubble half that wide, so the test asks twice that of the
// names and 12 px of ink (a glyph's ink is ~0.9 of its size) of the note.
func TestChartReadableOnAPhone(t *testing.T) {
	cfg, _ := fixture(t)
	ss := bigStreet(t, cfg, 60)
	b, err := ProgressChart(ss, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, b, "chart-60-communities.png")
	scale := 1080 / float64(img.Bounds().Dx())
	fig := Figures(ss, fixtureNow)

	// Where the bars are: from the first to the last row holding a bar's colour over 40
	// px (wider than a legend swatch), right of the names.
	isBar := func(x, y int) bool {
		for _, c := range stateColour {
			if sameRGB(img.At(x, y), c) && sameRGB(img.At(x+40, y), c) {
				return true
			}
		}
		return false
	}
	barLeft, barTop, barBottom := img.Bounds().Dx(), img.Bounds().Dy(), 0
	for y := 0; y < img.Bounds().Dy(); y += 2 {
		for x := 0; x < img.Bounds().Dx()-40; x++ {
			if isBar(x, y) {
				barLeft, barTop, barBottom = min(barLeft, x), min(barTop, y), max(barBottom, y)
				break
			}
		}
	}
	t.Logf("bars: x from %d, y %d–%d", barLeft, barTop, barBottom)
	// The names, in the label column left of the bars: one line per bar.
	names := textLines(img, image.Rect(0, barTop-10, barLeft-12, barBottom+10), 100)
	if len(names) != len(fig.Rows) {
		t.Fatalf("%d lines of names for %d bars", len(names), len(fig.Rows))
	}
	for i, h := range names {
		if px := float64(h) * scale; px < 24 {
			t.Errorf("name %d (%s) is %.0f px tall at 1080 px width", i, fig.Rows[i].Community, px)
		}
	}
	// The note under the chart, the smallest text.
	note := textLines(img, image.Rect(0, barBottom+30, img.Bounds().Dx(), img.Bounds().Dy()), 160)
	if len(note) == 0 {
		t.Fatal("no note under the chart")
	}
	for _, h := range note {
		if px := float64(h) * scale; px < 0.9*12*2 {
			t.Errorf("a line of the note is %.0f px tall at 1080 px width", px)
		}
	}
	t.Logf("at 1080 px: names %v px, note lines %v px", names[:3], note)
}

// Beyond MaxChartRows communities the chart draws those that need attention most and
// says what it left out.
func TestChartSummarisesLargeStreets(t *testing.T) {
	cfg, _ := fixture(t)
	ss := bigStreet(t, cfg, 60)
	fig := Figures(ss, fixtureNow)
	if len(fig.Rows) != MaxChartRows || fig.Omitted != 20 {
		t.Fatalf("%d rows, %d omitted", len(fig.Rows), fig.Omitted)
	}
	// Most late first: 40 of the 50 communities late with 4 items, in config order; the
	// other 10, the 5 late with 3 items (2 of them with a problem) and the 5 not late are
	// left out, and counted in the note.
	if fig.Rows[0].Community != "第1居委会" || fig.Rows[0].Late() != 4 || fig.Rows[39].Late() != 4 {
		t.Errorf("first and last rows %+v %+v", fig.Rows[0], fig.Rows[39])
	}
	if want := "其余 20 个社区中全部报齐 0 个，有问题 2 个，有逾期 15 个"; !strings.Contains(fig.Note, want) {
		t.Errorf("note %q, want %q", fig.Note, want)
	}
	b, err := ProgressChart(ss, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, b, "chart-60-communities.png")
	if h := img.Bounds().Dy(); h < MaxChartRows*chartRowHeight || h > MaxChartRows*chartRowHeight+500 {
		t.Errorf("%d px tall for %d bars", h, MaxChartRows)
	}
}

// The district's chart: a bar per street, its communities split in four.
func TestStreetsChart(t *testing.T) {
	cfg, data := fixture(t)
	// A third street: 城西 again, as it stood on 6月1日, nothing filed (all in progress).
	third := cfg.Streets[0]
	third.Name = "西城街道"
	third.Index()
	data = append(data, third.JudgeStreet(nil, campaign.Date{Year: 2021, Month: 6, Day: 1}))

	fig := StreetFigures("博山区", data, fixtureNow)
	if fig.Title != "博山区 换届进度" || !strings.Contains(fig.Stamp, "2021年7月5日") ||
		fig.Totals != "共 3 个街道、33 个社区：全部报齐 2 个，有问题 3 个，有逾期 15 个" {
		t.Errorf("figures %q %q %q", fig.Title, fig.Stamp, fig.Totals)
	}
	want := []StreetRow{
		// 城西: 柳杭 complete; 大辛 and 太平 have problems but are late too; 14 late.
		{Street: "城西街道", Communities: 15, Complete: 1, Late: 14},
		// 东关: 东门 complete, 南关 late, 北苑 with too few members.
		{Street: "东关街道", Communities: 3, Complete: 1, Problems: 1, Late: 1},
		{Street: "西城街道", Communities: 15, InProgress: 15},
	}
	if len(fig.Rows) != len(want) {
		t.Fatalf("rows %+v", fig.Rows)
	}
	for i, r := range fig.Rows {
		if r != want[i] {
			t.Errorf("row %d %+v, want %+v", i, r, want[i])
		}
		if r.Complete+r.Problems+r.Late+r.InProgress != r.Communities {
			t.Errorf("%s: the segments do not add up to its communities", r.Street)
		}
		if r.Complete != data[i].Complete || r.Late != data[i].WithLate {
			t.Errorf("%s disagrees with its street's state", r.Street)
		}
	}
	b, err := StreetsChart("博山区", data, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	img := decodeChart(t, b, "chart-streets.png")
	for _, s := range streetSeries {
		if n := countColour(img, s.Colour); n < 500 {
			t.Errorf("%s: %d pixels of its colour", s.Name, n)
		}
	}
	if _, err := StreetsChart("博山区", nil, fixtureNow); err == nil {
		t.Error("no streets accepted")
	}
	if _, err := StreetsChart("博山区", []*campaign.StreetState{nil}, fixtureNow); err == nil {
		t.Error("a nil street accepted")
	}
}

func TestProgressChartErrors(t *testing.T) {
	today := campaign.DateOf(fixtureNow)
	if _, err := ProgressChart(nil, fixtureNow); err == nil {
		t.Error("nil street accepted")
	}
	st := &config.Street{Name: "空街道", Communities: []config.Community{{Name: "甲"}}}
	if _, err := ProgressChart(st.JudgeStreet(nil, today), fixtureNow); err == nil {
		t.Error("street without steps accepted")
	}
}

// The bot may draw several streets' charts at once.
func TestProgressChartConcurrent(t *testing.T) {
	_, data := fixture(t)
	want, err := ProgressChart(data[0], fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			b, err := ProgressChart(data[0], fixtureNow)
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
