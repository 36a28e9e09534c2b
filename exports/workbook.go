package exports

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"huanjie/campaign"
	"huanjie/config"
)

// SummarySheet is the name of the workbook's first sheet.
const SummarySheet = "汇总"

// detailSuffix names a street's second sheet: 「城西街道明细」.
const detailSuffix = "明细"

// Workbook builds an .xlsx of the streets' judged states at now, made to be printed and
// handed to the district:
//
//   - 汇总: one row per street (社区数, 全部报齐, 有问题, 有逾期, 照片未齐; a 合计 row for
//     several streets), then one row per street and step in campaign order (phase,
//     then the plan's order) with how many communities filed it, have problems with
//     it, have not filed it and are late.
//   - one sheet per street, named after it (cut to Excel's 31 characters; the title
//     carries the full name): a status grid with a row per community and a column per
//     step holding a short word (已报, 有问题, 逾期, 未报, 未开始, 待初审, 通过, 退回, or
//     the photo count), 已完成 as a number, a 情况 column and 已报/有问题/逾期 totals.
//   - one 明细 sheet per street: the filed numbers in numeric cells (会员数, 总人口, 占比
//     as a percentage, 代表数, 理事会人数), the leaders' and officers' names in their own
//     columns, and a printed 问题说明 column; then a 合计 row.
//
// Every sheet has a formal title (year, street, campaign) and the time it was made
// (Asia/Shanghai); it prints landscape on A4, one page wide at (nearly) full size,
// repeats its title and header rows on every page, and has 制表人/审核人 lines and the
// page number in the footer of every page. Problems are words in cells, never comments
// (comments do not print) nor symbols (some fonts draw ✅ as a blank).
func Workbook(cfg *config.Config, data []*campaign.StreetState, now time.Time) ([]byte, error) {
	if err := check(data); err != nil {
		return nil, err
	}
	return workbook(cfg, who(data), data, now)
}

// DistrictWorkbook is Workbook for a district's streets: its titles and 填报单位 name the
// district (「2021年博山区社区计生协换届工作进度汇总表」) rather than its streets.
func DistrictWorkbook(cfg *config.Config, district string, data []*campaign.StreetState, now time.Time) ([]byte, error) {
	if err := check(data); err != nil {
		return nil, err
	}
	return workbook(cfg, district, data, now)
}

// check refuses an empty list of streets or a nil one.
func check(data []*campaign.StreetState) error {
	if len(data) == 0 {
		return errors.New("exports: no street to export")
	}
	for i, d := range data {
		if d == nil || d.Street == nil {
			return fmt.Errorf("exports: street %d is nil", i)
		}
	}
	return nil
}

// workbook writes the workbook of data, whose 汇总 names unit.
func workbook(cfg *config.Config, unit string, data []*campaign.StreetState, now time.Time) ([]byte, error) {
	b := newBook(now)
	defer func() { _ = b.f.Close() }()

	creator := "换届助手"
	if cfg != nil && cfg.BotName != "" {
		creator = cfg.BotName
	}
	b.fail(b.f.SetDocProps(&excelize.DocProperties{
		Title:          title(data[0].Street.Year(), unit, "进度表"),
		Creator:        creator,
		LastModifiedBy: creator,
		Created:        now.UTC().Format(time.RFC3339),
		Modified:       now.UTC().Format(time.RFC3339),
		Language:       "zh-CN",
	}))
	b.summary(unit, data)
	used := map[string]bool{strings.ToLower(SummarySheet): true}
	for _, d := range data {
		grid := sheetName(d.Street.Name, "", used)
		detail := sheetName(d.Street.Name, detailSuffix, used)
		b.grid(grid, detail, d)
		b.detail(detail, d)
	}
	b.f.SetActiveSheet(0)
	if b.err != nil {
		return nil, fmt.Errorf("exports: workbook: %w", b.err)
	}
	buf, err := b.f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("exports: write workbook: %w", err)
	}
	return buf.Bytes(), nil
}

// Fonts and sizes: cells are in 宋体 and titles in 黑体, which every Chinese Windows and
// WPS have (LibreOffice substitutes a CJK font). The workbook's default font stays
// Calibri 11: column widths count its digits, which Excel, WPS and LibreOffice (with
// Carlito) measure alike, so a sheet prints the same width everywhere.
const (
	bodyFont  = "宋体"
	titleFont = "黑体"
	bodySize  = 10.0
	smallSize = 9.0
	titleSize = 16.0
	rowHt     = 16.0 // a one-line table row
)

// Colours (RGB) of the cells.
const (
	fillHeader   = "DDEBF7"
	fillDone     = "E2EFDA" // 已报, 通过
	fillFlagged  = "FFE699" // 有问题
	fillOverdue  = "FFC7CE" // 逾期, 退回
	fillPending  = "DEEAF6" // 待初审, 待批复
	fillTotal    = "F2F2F2"
	textOverdue  = "9C0006"
	textMuted    = "595959" // 未报; 7:1 on white
	textFaint    = "7F7F7F" // 未开始
	borderColour = "808080"
)

// look is how a cell is drawn; book.style turns it into an excelize style once.
type look struct {
	Font   string  // "" = bodyFont
	Size   float64 // 0 = bodySize
	Bold   bool
	Colour string // font colour
	Fill   string
	Align  string // left (default), center, right
	Top    bool   // align to the top instead of the middle
	Wrap   bool
	Border bool
	NumFmt string // a custom number format
}

var (
	lkTitle   = look{Font: titleFont, Size: titleSize, Align: "center", Wrap: true}
	lkMeta    = look{}
	lkMetaR   = look{Align: "right"}
	lkNote    = look{Size: smallSize, Colour: textMuted, Wrap: true, Top: true}
	lkHead    = look{Bold: true, Fill: fillHeader, Align: "center", Wrap: true, Border: true}
	lkHead2   = look{Size: smallSize, Fill: fillHeader, Align: "center", Wrap: true, Border: true}
	lkText    = look{Wrap: true, Border: true}
	lkName    = look{Bold: true, Wrap: true, Border: true}
	lkCentre  = look{Align: "center", Wrap: true, Border: true}
	lkNum     = look{Align: "right", Border: true, NumFmt: "0"}
	lkTotal   = look{Bold: true, Fill: fillTotal, Align: "center", Border: true}
	lkTotalN  = look{Bold: true, Fill: fillTotal, Align: "right", Border: true, NumFmt: "0"}
	lkTotalT  = look{Bold: true, Fill: fillTotal, Wrap: true, Border: true}
	lkProblem = look{Size: smallSize, Wrap: true, Border: true, Top: true}
)

// book is the workbook being written. Its methods stop at the first error, which
// Workbook returns.
type book struct {
	f      *excelize.File
	now    time.Time // Asia/Shanghai
	styles map[look]int
	err    error
}

func newBook(now time.Time) *book {
	b := &book{f: excelize.NewFile(), now: now.In(campaign.Shanghai), styles: map[look]int{}}
	b.fail(b.f.SetSheetName("Sheet1", SummarySheet))
	return b
}

func (b *book) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

func (b *book) style(l look) int {
	if id, ok := b.styles[l]; ok {
		return id
	}
	vertical := "center"
	if l.Top {
		vertical = "top"
	}
	s := &excelize.Style{
		Font:      &excelize.Font{Family: cmp.Or(l.Font, bodyFont), Size: cmp.Or(l.Size, bodySize), Bold: l.Bold, Color: l.Colour},
		Alignment: &excelize.Alignment{Horizontal: cmp.Or(l.Align, "left"), Vertical: vertical, WrapText: l.Wrap},
	}
	if l.Fill != "" {
		s.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{l.Fill}}
	}
	if l.Border {
		for _, side := range []string{"left", "right", "top", "bottom"} {
			s.Border = append(s.Border, excelize.Border{Type: side, Color: borderColour, Style: 1})
		}
	}
	if l.NumFmt != "" {
		s.CustomNumFmt = &l.NumFmt
	}
	id, err := b.f.NewStyle(s)
	b.fail(err)
	b.styles[l] = id
	return id
}

// cell is a cell's reference, e.g. C7.
func cell(col, row int) string {
	ref, _ := excelize.CoordinatesToCellName(col, row)
	return ref
}

// put writes v (nil: style only) into the cell at col, row.
func (b *book) put(sheet string, col, row int, v any, l look) {
	if b.err != nil {
		return
	}
	ref := cell(col, row)
	if v != nil {
		b.fail(b.f.SetCellValue(sheet, ref, v))
	}
	b.fail(b.f.SetCellStyle(sheet, ref, ref, b.style(l)))
}

// puts writes values from col on along a row, in one look.
func (b *book) puts(sheet string, col, row int, l look, values ...any) {
	for i, v := range values {
		b.put(sheet, col+i, row, v, l)
	}
}

// box writes v over the merged cells from (c1, r1) to (c2, r2), styling each of them
// (so a merged cell's borders print whole).
func (b *book) box(sheet string, c1, r1, c2, r2 int, v any, l look) {
	for r := r1; r <= r2; r++ {
		for c := c1; c <= c2; c++ {
			var val any
			if r == r1 && c == c1 {
				val = v
			}
			b.put(sheet, c, r, val, l)
		}
	}
	if b.err == nil && (c1 != c2 || r1 != r2) {
		b.fail(b.f.MergeCell(sheet, cell(c1, r1), cell(c2, r2)))
	}
}

func (b *book) height(sheet string, row int, pt float64) {
	if b.err == nil {
		b.fail(b.f.SetRowHeight(sheet, row, pt))
	}
}

// widths sets column widths from column A on.
func (b *book) widths(sheet string, widths ...float64) {
	for i, w := range widths {
		if b.err != nil {
			return
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		b.fail(b.f.SetColWidth(sheet, col, col, w))
	}
}

// stamp is the generation time: 2021年7月5日 09:00.
func (b *book) stamp() string { return longDate(b.now) + " " + b.now.Format("15:04") }

// who names the streets of a workbook: 「城西街道」, 「城西街道、东关街道」, 「城西街道等 11 个街道」.
func who(data []*campaign.StreetState) string {
	switch n := len(data); {
	case n == 1:
		return data[0].Street.Name
	case n <= 3:
		names := make([]string, n)
		for i, d := range data {
			names[i] = d.Street.Name
		}
		return strings.Join(names, "、")
	default:
		return fmt.Sprintf("%s等 %d 个街道", data[0].Street.Name, n)
	}
}

// title names a sheet formally: 「2021年城西街道社区计生协换届工作进度表」.
func title(year int, who, what string) string {
	return fmt.Sprintf("%d年%s社区计生协换届工作%s", year, who, what)
}

// heading writes a sheet's title over the table's width (row 1, wrapped when long) and
// the line under it (row 2): 填报单位 on the left, the generation time on the right.
func (b *book) heading(sheet, title, unit string, widths []float64) {
	width := len(widths)
	b.box(sheet, 1, 1, width, 1, title, lkTitle)
	b.height(sheet, 1, float64(wrappedLines(title, total(widths), titleSize))*titleSize*1.4+6)
	half := width / 2
	b.box(sheet, 1, 2, half, 2, "填报单位："+unit, lkMeta)
	b.box(sheet, half+1, 2, width, 2, "统计时间："+b.stamp()+"（北京时间）", lkMetaR)
	b.height(sheet, 2, rowHeight(max(wrappedLines("填报单位："+unit, total(widths[:half]), bodySize), 1), bodySize))
}

// total adds column widths up.
func total(widths []float64) float64 {
	t := 0.0
	for _, w := range widths {
		t += w
	}
	return t
}

// note writes an explanation over the table's width at row, as tall as its text needs
// (with a line to spare: renderers differ in how they space CJK text).
func (b *book) note(sheet string, row int, text string, widths []float64) {
	b.box(sheet, 1, row, len(widths), row, text, lkNote)
	lines := wrappedLines(text, total(widths), smallSize)
	if lines > 1 {
		lines++
	}
	b.height(sheet, row, float64(lines)*smallSize*1.3+4)
}

// printable sets a sheet up for print: A4 landscape, one page wide (as many pages tall
// as it takes), centred, rows head to headEnd repeated on every page, and in the
// footer of every page the 制表人 / 审核人 lines, the page number and the time it was
// made. On screen, the rows down to headEnd and the first freezeCols columns stay.
func (b *book) printable(sheet string, head, headEnd, freezeCols int) {
	if b.err != nil {
		return
	}
	landscape, a4, wide, tall := "landscape", 9, 1, 0
	b.fail(b.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall}))
	fit := true
	b.fail(b.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit}))
	side, top, bottom, hf, centre := 0.3, 0.4, 0.5, 0.2, true
	b.fail(b.f.SetPageMargins(sheet, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &top, Bottom: &bottom,
		Header: &hf, Footer: &hf, Horizontally: &centre}))
	// A space after a font size code: "&9" followed by digits would read as a larger size.
	font := `&"` + bodyFont + `"&10 `
	footer := font + "&L" + font + "制表人：＿＿＿＿＿＿　审核人：＿＿＿＿＿＿" + "&C" + font + "第 &P 页，共 &N 页" +
		"&R" + font + "制表时间：" + b.stamp()
	b.fail(b.f.SetHeaderFooter(sheet, &excelize.HeaderFooterOptions{OddFooter: footer}))
	b.fail(b.f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", Scope: sheet,
		RefersTo: fmt.Sprintf("'%s'!$%d:$%d", strings.ReplaceAll(sheet, "'", "''"), head, headEnd)}))
	pane := &excelize.Panes{Freeze: true, YSplit: headEnd, XSplit: freezeCols, TopLeftCell: cell(freezeCols+1, headEnd+1), ActivePane: "bottomLeft"}
	if freezeCols > 0 {
		pane.ActivePane = "bottomRight"
	}
	b.fail(b.f.SetPanes(sheet, pane))
}

// summary fills the 汇总 sheet of unit (the streets, or their district).
func (b *book) summary(unit string, data []*campaign.StreetState) {
	const sh = SummarySheet
	widths := []float64{5, 14, 8, 16, 10, 8, 8, 8, 8, 8, 9}
	title := title(data[0].Street.Year(), unit, "进度汇总表")
	b.heading(sh, title, unit, widths)
	b.note(sh, 3, "全部报齐＝每一项都已报且没有问题；有问题＝至少一项报的内容不符合要求；有逾期＝至少一项过了截止日期还没报；"+
		"照片未齐＝换届照片张数不够。各社区每一项的情况见各街道工作表，问题说明见各街道明细表。", widths)

	// Per street.
	row := 4
	b.puts(sh, 1, row, lkHead, "序号", "街道", "社区数", "全部报齐", "有问题", "有逾期", "照片未齐")
	b.height(sh, row, rowHt+4)
	var sum [5]int
	for i, d := range data {
		row++
		photosShort := 0
		if _, planned := d.Street.Step(campaign.ItemPhotos); planned {
			photosShort = len(d.Communities) - d.Tally(campaign.ItemPhotos).Done
		}
		counts := [5]int{len(d.Communities), d.Complete, d.WithProblems, d.WithLate, photosShort}
		b.put(sh, 1, row, i+1, lkCentre)
		b.put(sh, 2, row, d.Street.Name, lkName)
		for j, n := range counts {
			b.put(sh, 3+j, row, n, lkNum)
			sum[j] += n
		}
		b.height(sh, row, rowHeight(wrappedLines(d.Street.Name, widths[1], bodySize), bodySize))
	}
	if len(data) > 1 {
		row++
		b.box(sh, 1, row, 2, row, "合计", lkTotal)
		for j, n := range sum {
			b.put(sh, 3+j, row, n, lkTotalN)
		}
		b.height(sh, row, rowHt)
	}

	// Per street and step, in campaign order.
	row += 2
	head := row
	b.puts(sh, 1, row, lkHead, "序号", "街道", "阶段", "事项", "截止日期", "已报", "有问题", "未报", "逾期", "应报社区", "状态")
	b.height(sh, row, rowHt+2)
	n := 0
	for _, d := range data {
		s := d.Street
		for _, i := range campaignOrder(s) {
			st := &s.Steps[i]
			t := d.Tally(st.Item)
			n++
			row++
			status := st.StateOn(d.Today).Word()
			b.put(sh, 1, row, n, lkCentre)
			b.put(sh, 2, row, s.Name, lkText)
			b.put(sh, 3, row, fmt.Sprintf("第%d步", st.Phase), lkCentre)
			b.put(sh, 4, row, st.Item.Label(), lkText)
			b.put(sh, 5, row, st.Due.String(), lkCentre)
			b.puts(sh, 6, row, lkNum, t.Done, t.Problems, len(d.Communities)-t.Done)
			late := lkNum
			if t.Late > 0 {
				late = look{Align: "right", Border: true, NumFmt: "0", Fill: fillOverdue, Colour: textOverdue, Bold: true}
			}
			b.put(sh, 9, row, t.Late, late)
			b.put(sh, 10, row, len(d.Communities), lkNum)
			b.put(sh, 11, row, status, lkCentre)
			b.height(sh, row, rowHeight(max(wrappedLines(s.Name, widths[1], bodySize), wrappedLines(st.Item.Label(), widths[3], bodySize)), bodySize))
		}
	}
	b.widths(sh, widths...)
	b.printable(sh, head, head, 0)
}

// campaignOrder lists a street's step indexes by phase, keeping the plan's order within
// a phase: the order the campaign runs in, whatever order the config lists them.
func campaignOrder(s *campaign.Street) []int {
	order := make([]int, len(s.Steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return s.Steps[a].Phase - s.Steps[b].Phase })
	return order
}

// itemAt returns a community's state of step i of its street.
func itemAt(cs *campaign.CommunityState, s *campaign.Street, i int) *campaign.ItemState {
	if i < len(cs.Items) && cs.Items[i].Def.ID == s.Steps[i].Item {
		return &cs.Items[i]
	}
	return cs.Item(s.Steps[i].Item)
}

// wrappedLines estimates how many lines text wraps to in a column width characters
// wide (Excel's unit: the width of a digit of the default font, 7 px) at a font size
// in points: a CJK character is as wide as the font is high, other characters about
// half that.
func wrappedLines(text string, width, size float64) int {
	room := width*7 - 4 // the cell's margins
	em := size * 96 / 72
	lines := 0
	for _, para := range strings.Split(text, "\n") {
		n, used := 1, 0.0
		for _, r := range para {
			w := em
			if r < 0x2E80 {
				w = em * 0.55
			}
			if used+w > room && used > 0 {
				n++
				used = 0
			}
			used += w
		}
		lines += n
	}
	return lines
}

// rowHeight is the height in points of a row whose tallest cell has lines of text at
// size, at least a one-line row.
func rowHeight(lines int, size float64) float64 {
	return max(float64(lines)*size*1.32+5, rowHt)
}

// sheetName makes a valid, unique sheet name from a street name and a suffix: the
// characters Excel forbids (: \ / ? * [ ]) become "_", a leading or trailing apostrophe
// is dropped, the name is cut so that it and the suffix fit 31 characters, and a repeat
// gets a "(2)" suffix.
func sheetName(name, suffix string, used map[string]bool) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	name = strings.Trim(name, "'")
	if name == "" {
		name = "街道"
	}
	cut := func(s string, n int) string {
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		return string([]rune(s)[:n])
	}
	room := sheetNameMax - utf8.RuneCountInString(suffix)
	out := cut(name, room) + suffix
	for i := 2; used[strings.ToLower(out)]; i++ {
		tag := fmt.Sprintf("(%d)", i)
		out = cut(name, room-len(tag)) + suffix + tag
	}
	used[strings.ToLower(out)] = true
	return out
}

const sheetNameMax = 31 // Excel's limit, in characters
