package exports

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/go-analyze/charts"

	"huanjie/campaign"
	"huanjie/config"
)

// Chart geometry: a fixed width (WeCom shows images scaled to the chat's width) and a
// height that grows with the number of communities.
const (
	chartWidth      = 1200
	chartFixed      = 190 // title, subtitle, legend, value axis and margins
	chartRowHeight  = 40  // per community
	chartMinHeight  = 420
	chartMaxHeight  = 4000 // ~95 communities; beyond that the bars would be too thin anyway
	maxChartPNGSize = 2 << 20
)

// The colours of the four states, in stacking order (left to right).
var (
	chartOrder  = []stepState{stateFiled, stateFlagged, stateOverdue, stateNotDue}
	stateColour = map[stepState]charts.Color{
		stateFiled:   {R: 0x3C, G: 0xA5, B: 0x5C, A: 0xFF}, // green
		stateFlagged: {R: 0xF2, G: 0xB1, B: 0x1E, A: 0xFF}, // amber
		stateOverdue: {R: 0xD9, G: 0x4A, B: 0x3F, A: 0xFF}, // red
		stateNotDue:  {R: 0xCF, G: 0xD4, B: 0xDB, A: 0xFF}, // light grey
	}
	darkText  = charts.Color{R: 0x33, G: 0x33, B: 0x33, A: 0xFF}
	lightText = charts.Color{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	greyText  = charts.Color{R: 0x6B, G: 0x72, B: 0x80, A: 0xFF}
)

// chartHeight is the PNG's height for n communities.
func chartHeight(n int) int {
	return min(max(chartFixed+chartRowHeight*n, chartMinHeight), chartMaxHeight)
}

// ErrChartTooLarge is returned when the PNG would exceed the 2 MB a WeCom image allows.
var ErrChartTooLarge = errors.New("exports: chart PNG exceeds 2 MB")

// ProgressChart draws one street's progress on today as a PNG of 1200 px by 190 +
// 40 px per community: a horizontal bar per community (in config order, top to bottom)
// stacked from the street's steps by state — 已报, 有问题, 逾期未报, 未到期 — with the
// count in each segment, titled e.g. 「城西街道 换届进度 7月5日」 and a subtitle with the
// street's totals. Text is drawn with the bundled WenQuanYi Micro Hei. filings maps
// community name to its current filings; a community missing from it has filed nothing.
// The result is at most 2 MB, so it fits a WeCom image message.
func ProgressChart(st *config.Street, filings map[string]map[campaign.Item]campaign.Filing, today campaign.Date) ([]byte, error) {
	if st == nil || len(st.Communities) == 0 {
		return nil, errors.New("exports: a street with communities is required")
	}
	if len(st.FilingSteps()) == 0 {
		return nil, fmt.Errorf("exports: street %s has no steps to chart", st.Name)
	}
	font, err := cjkFont()
	if err != nil {
		return nil, err
	}

	names := st.CommunityNames()
	values := make([][]float64, len(chartOrder))
	for i := range values {
		values[i] = make([]float64, len(names))
	}
	var complete, problems, late int
	for j, c := range names {
		t := tallyOf(st, filings[c], today)
		for i, s := range chartOrder {
			values[i][j] = float64(t[s])
		}
		if t.complete() {
			complete++
		}
		if t[stateFlagged] > 0 {
			problems++
		}
		if t[stateOverdue] > 0 {
			late++
		}
	}

	height := chartHeight(len(names))
	style := func(size float64, c charts.Color) charts.FontStyle {
		return charts.FontStyle{FontSize: size, FontColor: c, Font: font}
	}
	colours := make([]charts.Color, len(chartOrder))
	legend := make([]string, len(chartOrder))
	for i, s := range chartOrder {
		colours[i], legend[i] = stateColour[s], s.label()
	}
	theme := charts.GetTheme("light").WithSeriesColors(colours)

	opt := charts.NewBarChartOptionWithData(values)
	opt.Theme = theme
	opt.Horizontal = true
	opt.StackSeries = charts.Ptr(true)
	opt.BarSize = 0.62
	opt.Padding = charts.NewBox(24, 20, 40, 20)
	opt.Title = charts.TitleOption{
		Text: fmt.Sprintf("%s 换届进度 %s", st.Name, today),
		Subtext: fmt.Sprintf("共 %d 个社区、%d 项报送：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个",
			len(names), len(st.FilingSteps()), complete, problems, late),
		Offset:           charts.OffsetStr{Left: charts.PositionCenter},
		FontStyle:        style(26, darkText),
		SubtextFontStyle: style(16, greyText),
	}
	opt.Legend = charts.LegendOption{
		SeriesNames: legend,
		FontStyle:   style(16, darkText),
		Offset:      charts.OffsetStr{Left: charts.PositionCenter, Top: "76"},
		Padding:     charts.NewBox(0, 0, 0, 12),
	}
	// Community names go top to bottom in config order: the library draws the first
	// category at the bottom, so the categories are given reversed.
	labels := make([]string, len(names))
	for j, c := range names {
		labels[len(names)-1-j] = c
	}
	for i := range values {
		reversed := make([]float64, len(names))
		for j, v := range values[i] {
			reversed[len(names)-1-j] = v
		}
		values[i] = reversed
	}
	opt.CategoryAxis = charts.CategoryAxisOption{
		Labels:         labels,
		LabelFontStyle: style(17, darkText),
	}
	opt.ValueAxis[0].Min = charts.Ptr(0.0)
	opt.ValueAxis[0].Max = charts.Ptr(float64(len(st.FilingSteps())))
	opt.ValueAxis[0].Unit = 1
	opt.ValueAxis[0].LabelCount = len(st.FilingSteps()) + 1
	opt.ValueAxis[0].LabelFontStyle = style(14, greyText)
	opt.ValueAxis[0].SplitLineShow = charts.Ptr(true)
	opt.ValueAxis[0].ValueFormatter = func(f float64) string { return strconv.Itoa(int(f + 0.5)) }

	p := charts.NewPainter(charts.PainterOptions{
		OutputFormat: charts.ChartOutputPNG,
		Width:        chartWidth,
		Height:       height,
		Font:         font,
		Theme:        theme,
	})
	for i, s := range chartOrder {
		sr := &opt.SeriesList[i]
		sr.Name = s.label()
		sr.Values = values[i]
		text := lightText
		if s == stateNotDue || s == stateFlagged {
			text = darkText
		}
		labelStyle := style(15, text)
		// The library puts a stacked label just past its segment's end; shift it back
		// inside, right-aligned with a small margin.
		widest := 0
		for _, v := range sr.Values {
			if v > 0 {
				widest = max(widest, p.MeasureText(strconv.Itoa(int(v)), 0, labelStyle).Width())
			}
		}
		sr.Label = charts.SeriesLabel{
			Show:      charts.Ptr(true),
			FontStyle: labelStyle,
			Distance:  1,
			Offset:    charts.OffsetInt{Left: -(widest + 8)},
			LabelFormatter: func(_ int, _ string, v float64) (string, *charts.LabelStyle) {
				if v < 0.5 {
					return "", nil
				}
				return strconv.Itoa(int(v + 0.5)), nil
			},
		}
	}
	if err := p.BarChart(opt); err != nil {
		return nil, fmt.Errorf("exports: chart of %s: %w", st.Name, err)
	}
	png, err := p.Bytes()
	if err != nil {
		return nil, fmt.Errorf("exports: chart of %s: %w", st.Name, err)
	}
	if len(png) > maxChartPNGSize {
		return nil, fmt.Errorf("%w (%d bytes)", ErrChartTooLarge, len(png))
	}
	return png, nil
}
