package exports

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-analyze/charts"

	"huanjie/campaign"
)

// Charts are made for a phone: WeCom shows an image in a bubble about half the screen
// wide and full width when tapped, so the picture is 1080 px wide (a phone screen) and
// its smallest text is 26 px — 13 px even in a half-width bubble, twice the 12 px a
// reader needs at full width. Sizes are in pixels of the PNG.
const (
	chartWidth     = 1080
	titlePx        = 46 // the title
	subtitlePx     = 30 // the date line and the totals line
	legendPx       = 28
	labelPx        = 30  // a bar's name (community or street)
	valuePx        = 28  // the count inside a segment
	notePx         = 26  // the note under the chart
	chartRowHeight = 66  // per bar
	chartHeadTop   = 28  // above the title
	chartHeadGap   = 28  // between the lines under the title and the legend
	chartLegend    = 120 // the legend and the margins around the bars
	chartMargin    = 36  // left and right of the title, the lines and the note
	maxChartPNG    = 2 << 20

	// MaxChartRows is how many bars a chart draws at most; beyond it the chart shows the
	// rows that need attention most and says how many it left out.
	MaxChartRows = 40
	// maxLabelRunes cuts a long name on the chart (the workbook prints it in full).
	maxLabelRunes = 8
)

// pt converts pixels to the library's font points (it draws at 96 dpi).
func pt(px int) float64 { return float64(px) * 72 / 96 }

// The colours of the four states, in stacking order (left to right).
var (
	chartOrder  = []stepState{stateFiled, stateFlagged, stateOverdue, stateNotDue}
	stateColour = map[stepState]charts.Color{
		stateFiled:   {R: 0x2E, G: 0x8B, B: 0x4E, A: 0xFF}, // green
		stateFlagged: {R: 0xF2, G: 0xB1, B: 0x1E, A: 0xFF}, // amber
		stateOverdue: {R: 0xD0, G: 0x3B, B: 0x30, A: 0xFF}, // red
		stateNotDue:  {R: 0xD5, G: 0xD9, B: 0xDF, A: 0xFF}, // light grey
	}
	darkText  = charts.Color{R: 0x22, G: 0x22, B: 0x22, A: 0xFF}
	lightText = charts.Color{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xFF}
	greyText  = charts.Color{R: 0x4B, G: 0x52, B: 0x5E, A: 0xFF} // 7.5:1 on white
)

// ErrChartTooLarge is returned when the PNG would exceed the 2 MB a WeCom image allows.
var ErrChartTooLarge = errors.New("exports: chart PNG exceeds 2 MB")

// ChartFigures are what a street's progress chart draws: its title, the date line
// (with the year and the time), the totals line, a bar per community drawn (top to
// bottom) with how many of its items are in each state, and the note under the chart
// when some communities are left out.
type ChartFigures struct {
	Title, Stamp, Totals string
	Rows                 []ChartRow
	// Omitted counts the communities not drawn; Note says which were drawn and what the
	// others are ("" when every community is drawn).
	Omitted int
	Note    string
}

// ChartRow is one community's bar: counts indexed by state (已报, 有问题, 逾期未报, 未到期).
type ChartRow struct {
	Community string
	Count     [numStates]int
}

// Filed, Problems and Late read a row's segments.
func (r ChartRow) Filed() int    { return r.Count[stateFiled] }
func (r ChartRow) Problems() int { return r.Count[stateFlagged] }
func (r ChartRow) Late() int     { return r.Count[stateOverdue] }

// stamp says when a chart was made: 「2021年7月5日 星期一 09:00」 (Asia/Shanghai).
func stamp(now time.Time) string {
	t := now.In(campaign.Shanghai)
	return longDate(t) + " 星期" + [...]string{"日", "一", "二", "三", "四", "五", "六"}[t.Weekday()] + " " + t.Format("15:04")
}

// longDate is a day with its year: 2021年7月5日 (of t's own location).
func longDate(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// Figures computes what ProgressChart draws of a street's judged state at now. Up to
// MaxChartRows communities are drawn in config order; beyond that the MaxChartRows
// that need attention most (campaign.Behind, the order of every worst-first list), and
// the note counts the others.
func Figures(ss *campaign.StreetState, now time.Time) ChartFigures {
	st := ss.Street
	f := ChartFigures{
		Title: st.Name + " 换届进度",
		Stamp: stamp(now) + " 统计",
		Totals: fmt.Sprintf("共 %d 个社区、每个 %d 项：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个",
			len(ss.Communities), len(st.Steps), ss.Complete, ss.WithProblems, ss.WithLate),
	}
	shown := make([]*campaign.CommunityState, len(ss.Communities))
	for i := range ss.Communities {
		shown[i] = &ss.Communities[i]
	}
	if len(shown) > MaxChartRows {
		shown = ss.WorstFirst()
		var complete, problems, late int
		for _, cs := range shown[MaxChartRows:] {
			if cs.Complete {
				complete++
			}
			if cs.Problems > 0 {
				problems++
			}
			if cs.Late > 0 {
				late++
			}
		}
		f.Omitted = len(shown) - MaxChartRows
		f.Note = fmt.Sprintf("社区较多，图中只列出逾期、问题最多的 %d 个；其余 %d 个社区中全部报齐 %d 个，有问题 %d 个，有逾期 %d 个。每个社区的情况请发「导出」看表格。",
			MaxChartRows, f.Omitted, complete, problems, late)
		shown = shown[:MaxChartRows]
	}
	for _, cs := range shown {
		f.Rows = append(f.Rows, ChartRow{Community: cs.Name, Count: tallyOf(cs)})
	}
	return f
}

// ProgressChart draws one street's progress at now as a PNG 1080 px wide: a
// horizontal bar per community (Figures says which, top to bottom) stacked from the
// street's steps by state — 已报, 有问题, 逾期未报, 未到期 — with the count in each
// segment, under the title 「城西街道 换届进度」, the date line 「2021年7月5日 星期一
// 09:00 统计」 and the street's totals. It is at most 2 MB, so it fits a WeCom image.
func ProgressChart(ss *campaign.StreetState, now time.Time) ([]byte, error) {
	if ss == nil || ss.Street == nil || len(ss.Communities) == 0 {
		return nil, errors.New("exports: a street with communities is required")
	}
	st := ss.Street
	if len(st.Steps) == 0 {
		return nil, fmt.Errorf("exports: street %s has no steps to chart", st.Name)
	}
	fig := Figures(ss, now)
	c := barChart{Title: fig.Title, Lines: []string{fig.Stamp, fig.Totals}, Note: fig.Note, Max: len(st.Steps)}
	for _, s := range chartOrder {
		c.Series = append(c.Series, series{Name: s.label(), Colour: stateColour[s], DarkText: s == stateNotDue || s == stateFlagged})
	}
	for _, r := range fig.Rows {
		b := bar{Label: r.Community}
		for _, s := range chartOrder {
			b.Counts = append(b.Counts, r.Count[s])
		}
		c.Bars = append(c.Bars, b)
	}
	png, err := c.draw()
	if err != nil {
		return nil, fmt.Errorf("exports: chart of %s: %w", st.Name, err)
	}
	return png, nil
}

// StreetsFigures are what a chart of several streets draws: a bar per street
// partitioned into its communities 全部报齐, 有问题 (none late), 有逾期 and 进行中.
type StreetsFigures struct {
	Title, Stamp, Totals string
	Rows                 []StreetRow
	Omitted              int
	Note                 string
}

// StreetRow is one street's bar; the four counts add up to its communities.
type StreetRow struct {
	Street                               string
	Communities                          int
	Complete, Problems, Late, InProgress int
}

// The segments of a street's bar, left to right.
var streetSeries = []series{
	{Name: "全部报齐", Colour: stateColour[stateFiled]},
	{Name: "有问题", Colour: stateColour[stateFlagged], DarkText: true},
	{Name: "有逾期", Colour: stateColour[stateOverdue]},
	{Name: "进行中", Colour: stateColour[stateNotDue], DarkText: true},
}

// StreetFigures computes what StreetsChart draws of several streets' judged states at
// now, under the title 「<area> 换届进度」. A community both late and with problems counts
// as 有逾期 (the note says so). Up to MaxChartRows streets are drawn in the order given;
// beyond that the streets furthest behind (campaign.StreetBehind).
func StreetFigures(area string, states []*campaign.StreetState, now time.Time) StreetsFigures {
	f := StreetsFigures{Title: area + " 换届进度", Stamp: stamp(now) + " 统计"}
	var communities, complete, problems, late int
	if len(states) > MaxChartRows {
		states = campaign.StreetsWorstFirst(states)
	}
	rows := make([]StreetRow, 0, len(states))
	for _, ss := range states {
		r := StreetRow{Street: ss.Street.Name, Communities: len(ss.Communities)}
		for i := range ss.Communities {
			switch cs := &ss.Communities[i]; {
			case cs.Late > 0:
				r.Late++
			case cs.Problems > 0:
				r.Problems++
			case cs.Complete:
				r.Complete++
			default:
				r.InProgress++
			}
		}
		communities += r.Communities
		complete += ss.Complete
		problems += ss.WithProblems
		late += ss.WithLate
		rows = append(rows, r)
	}
	f.Totals = fmt.Sprintf("共 %d 个街道、%d 个社区：全部报齐 %d 个，有问题 %d 个，有逾期 %d 个",
		len(states), communities, complete, problems, late)
	f.Note = "同时有逾期和问题的社区算在「有逾期」里。"
	if len(rows) > MaxChartRows {
		f.Omitted = len(rows) - MaxChartRows
		f.Note = fmt.Sprintf("街道较多，图中只列出最落后的 %d 个，其余 %d 个街道见「导出」的汇总表。", MaxChartRows, f.Omitted) + f.Note
		rows = rows[:MaxChartRows]
	}
	f.Rows = rows
	return f
}

// StreetsChart draws a bar per street (StreetFigures) as a PNG 1080 px wide: how many
// of its communities are 全部报齐, 有问题, 有逾期 and 进行中, on a scale of communities.
func StreetsChart(area string, states []*campaign.StreetState, now time.Time) ([]byte, error) {
	if len(states) == 0 {
		return nil, errors.New("exports: no street to chart")
	}
	for i, ss := range states {
		if ss == nil || ss.Street == nil {
			return nil, fmt.Errorf("exports: street %d is nil", i)
		}
	}
	fig := StreetFigures(area, states, now)
	c := barChart{Title: fig.Title, Lines: []string{fig.Stamp, fig.Totals}, Note: fig.Note, Series: streetSeries}
	for _, r := range fig.Rows {
		c.Max = max(c.Max, r.Communities)
		c.Bars = append(c.Bars, bar{Label: r.Street, Counts: []int{r.Complete, r.Problems, r.Late, r.InProgress}})
	}
	if c.Max == 0 {
		return nil, errors.New("exports: no community to chart")
	}
	png, err := c.draw()
	if err != nil {
		return nil, fmt.Errorf("exports: chart of %s: %w", area, err)
	}
	return png, nil
}

// barChart is a horizontal stacked bar chart as both charts draw it.
type barChart struct {
	Title  string
	Lines  []string // under the title
	Note   string   // under the chart ("" for none)
	Series []series
	Bars   []bar // top to bottom
	Max    int   // the value axis' end
}

type series struct {
	Name     string
	Colour   charts.Color
	DarkText bool // the count is written dark on this colour
}

type bar struct {
	Label  string
	Counts []int // per series
}

// shortLabel cuts a long name to fit the label column, keeping its start and its end
// (where names differ: 「很长名…第4社区」).
func shortLabel(s string) string {
	r := []rune(s)
	if len(r) <= maxLabelRunes {
		return s
	}
	head := (maxLabelRunes - 1) / 2
	tail := maxLabelRunes - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

func (c *barChart) draw() ([]byte, error) {
	font, err := cjkFont()
	if err != nil {
		return nil, err
	}
	n := len(c.Bars)
	style := func(px int, col charts.Color) charts.FontStyle {
		return charts.FontStyle{FontSize: pt(px), FontColor: col, Font: font}
	}
	// The title and the lines under it, then the note, wrapped to the width: they set
	// the picture's height, with a row per bar.
	measure := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputPNG, Width: chartWidth, Height: 1, Font: font})
	type line struct {
		text   string
		style  charts.FontStyle
		height int
	}
	var head []line
	headHeight := chartHeadGap
	for i, text := range append([]string{c.Title}, c.Lines...) {
		st, px := style(subtitlePx, greyText), subtitlePx
		if i == 0 {
			st, px = style(titlePx, darkText), titlePx
		}
		for _, l := range wrapText(measure, text, chartWidth-2*chartMargin, st) {
			head = append(head, line{l, st, px * 4 / 3})
			headHeight += px * 4 / 3
		}
	}
	noteStyle := style(notePx, greyText)
	note := wrapText(measure, c.Note, chartWidth-2*chartMargin, noteStyle)
	noteHeight := 0
	if len(note) > 0 {
		noteHeight = len(note)*notePx*3/2 + notePx/2
	}
	height := chartHeadTop + headHeight + chartLegend + chartRowHeight*max(n, 3) + noteHeight
	colours := make([]charts.Color, len(c.Series))
	legend := make([]string, len(c.Series))
	for i, s := range c.Series {
		colours[i], legend[i] = s.Colour, s.Name
	}
	theme := charts.GetTheme("light").WithSeriesColors(colours)

	// The library draws the first category at the bottom: bars are given reversed so
	// they read top to bottom.
	values := make([][]float64, len(c.Series))
	labels := make([]string, n)
	for i := range values {
		values[i] = make([]float64, n)
	}
	for j, b := range c.Bars {
		labels[n-1-j] = shortLabel(b.Label)
		for i, v := range b.Counts {
			values[i][n-1-j] = float64(v)
		}
	}

	opt := charts.NewBarChartOptionWithData(values)
	opt.Theme = theme
	opt.Horizontal = true
	opt.StackSeries = charts.Ptr(true)
	opt.BarSize = 0.66
	opt.Padding = charts.NewBox(20, chartHeadTop+headHeight, 48, 20+noteHeight)
	opt.Legend = charts.LegendOption{
		SeriesNames: legend,
		FontStyle:   style(legendPx, darkText),
		Offset:      charts.OffsetStr{Left: charts.PositionCenter},
		Padding:     charts.NewBox(0, 0, 0, 16),
	}
	opt.CategoryAxis = charts.CategoryAxisOption{
		Labels:         labels,
		LabelFontStyle: style(labelPx, darkText),
	}
	va := &opt.ValueAxis[0]
	va.Min = charts.Ptr(0.0)
	va.Max = charts.Ptr(float64(c.Max))
	va.Show = charts.Ptr(false) // every segment says its count

	p := charts.NewPainter(charts.PainterOptions{
		OutputFormat: charts.ChartOutputPNG,
		Width:        chartWidth,
		Height:       height,
		Font:         font,
		Theme:        theme,
	})
	for i, s := range c.Series {
		sr := &opt.SeriesList[i]
		sr.Name = s.Name
		text := lightText
		if s.DarkText {
			text = darkText
		}
		labelStyle := style(valuePx, text)
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
			Offset:    charts.OffsetInt{Left: -(widest + 10)},
			LabelFormatter: func(_ int, _ string, v float64) (string, *charts.LabelStyle) {
				if v < 0.5 {
					return "", nil
				}
				return strconv.Itoa(int(v + 0.5)), nil
			},
		}
	}
	if err := p.BarChart(opt); err != nil {
		return nil, err
	}
	// The title and the lines under it, centred (drawn after the chart, which paints
	// the background); the note at the bottom, from the left.
	y := chartHeadTop
	for _, l := range head {
		y += l.height
		p.Text(l.text, (chartWidth-p.MeasureText(l.text, 0, l.style).Width())/2, y-l.height/4, 0, l.style)
	}
	y = height - noteHeight
	for _, l := range note {
		y += notePx * 3 / 2
		p.Text(l, chartMargin, y, 0, noteStyle)
	}
	png, err := p.Bytes()
	if err != nil {
		return nil, err
	}
	if len(png) > maxChartPNG {
		return nil, fmt.Errorf("%w (%d bytes)", ErrChartTooLarge, len(png))
	}
	return png, nil
}

// wrapText breaks text into lines no wider than width, at any character (the library
// wraps at spaces only, which would part a number from its 个).
func wrapText(p *charts.Painter, text string, width int, st charts.FontStyle) []string {
	var lines []string
	line := []rune{}
	for _, r := range text {
		if len(line) > 0 && p.MeasureText(string(append(line, r)), 0, st).Width() > width {
			lines = append(lines, string(line))
			line = line[:0]
		}
		line = append(line, r)
	}
	if len(line) > 0 {
		lines = append(lines, string(line))
	}
	return lines
}
