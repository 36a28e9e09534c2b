package exports

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"huanjie/campaign"
	"huanjie/config"
)

// StreetData is what Workbook needs of one street: its configuration, the current
// filings of each community (community name → item → filing, including the office's
// review.* records), and how many photos each community has (Photos.PhotoCounts).
// A community missing from Filings or Photos has filed nothing / has no photos.
type StreetData struct {
	Street  *config.Street
	Filings map[string]map[campaign.Item]campaign.Filing
	Photos  map[string]int
}

// SummarySheet is the name of the workbook's first sheet.
const SummarySheet = "汇总"

// Fill colours of the street sheets' cells (ARGB without alpha, as excelize takes them).
const (
	fillHeader   = "DDEBF7" // header rows
	fillNotDue   = "EDEDED" // 未报, not yet due (grey)
	fillOverdue  = "FFC7CE" // 逾期未报 (light red)
	fillFlagged  = "FFE699" // filed with flags (yellow); the flags are in the cell's comment
	fillReturned = "FFC7CE" // review returned
	fillComplete = "E2EFDA" // 全部报齐 (light green), summary only
	textOverdue  = "9C0006"
	borderColour = "BFBFBF"
	commentBy    = "换届助手"
	sheetNameMax = 31 // Excel's limit, in characters
)

// Workbook builds an .xlsx of every street's progress at now: a first sheet 汇总 with
// the generation time (Asia/Shanghai), one row per street (社区数, 全部报齐, 有问题,
// 有逾期, 照片未齐) and one row per street and step (how many communities filed it, how
// many have problems or are missing); then one sheet per street, named after it, with a
// row per community in config order and a column per step (item label over its due
// date). A filed cell reads "summary（6月28日）" (the filing's date); a flagged one is
// yellow with its flags in a comment; a missing one is grey, or light red and marked
// 逾期未报 once the step is overdue. Columns for the office's 候选人初审 / 批复备案
// (for streets that have those steps) and the photo count follow.
func Workbook(cfg *config.Config, data []StreetData, now time.Time) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("exports: no street to export")
	}
	for i, d := range data {
		if d.Street == nil {
			return nil, fmt.Errorf("exports: street %d is nil", i)
		}
	}
	w, err := newWorkbookWriter(now)
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.f.Close() }()

	title := "计生协换届工作进度"
	if cfg != nil && cfg.BotName != "" {
		title += "（" + cfg.BotName + "导出）"
	}
	if err := w.f.SetDocProps(&excelize.DocProperties{
		Title:          title,
		Creator:        commentBy,
		LastModifiedBy: commentBy,
		Created:        now.UTC().Format(time.RFC3339),
		Modified:       now.UTC().Format(time.RFC3339),
		Language:       "zh-CN",
	}); err != nil {
		return nil, fmt.Errorf("exports: workbook properties: %w", err)
	}
	if err := w.summary(title, data); err != nil {
		return nil, fmt.Errorf("exports: %s sheet: %w", SummarySheet, err)
	}
	used := map[string]bool{strings.ToLower(SummarySheet): true}
	for _, d := range data {
		name := sheetName(d.Street.Name, used)
		if err := w.street(name, d); err != nil {
			return nil, fmt.Errorf("exports: sheet %s: %w", name, err)
		}
	}
	w.f.SetActiveSheet(0)
	buf, err := w.f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("exports: write workbook: %w", err)
	}
	return buf.Bytes(), nil
}

// workbookWriter holds the file being built and its styles.
type workbookWriter struct {
	f     *excelize.File
	now   time.Time
	today campaign.Date
	st    map[string]int // style ids by name
}

func newWorkbookWriter(now time.Time) (*workbookWriter, error) {
	f := excelize.NewFile()
	w := &workbookWriter{f: f, now: now, today: campaign.DateOf(now), st: map[string]int{}}
	if err := f.SetSheetName("Sheet1", SummarySheet); err != nil {
		return nil, err
	}
	border := []excelize.Border{
		{Type: "left", Color: borderColour, Style: 1}, {Type: "right", Color: borderColour, Style: 1},
		{Type: "top", Color: borderColour, Style: 1}, {Type: "bottom", Color: borderColour, Style: 1},
	}
	fill := func(c string) excelize.Fill {
		return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}}
	}
	cell := &excelize.Alignment{Vertical: "top", WrapText: true}
	centre := &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}
	styles := map[string]*excelize.Style{
		"title":    {Font: &excelize.Font{Bold: true, Size: 16}},
		"note":     {Font: &excelize.Font{Color: "595959"}},
		"section":  {Font: &excelize.Font{Bold: true, Size: 12}},
		"header":   {Font: &excelize.Font{Bold: true}, Fill: fill(fillHeader), Border: border, Alignment: centre},
		"header2":  {Font: &excelize.Font{Color: "595959", Size: 9}, Fill: fill(fillHeader), Border: border, Alignment: centre},
		"name":     {Font: &excelize.Font{Bold: true}, Border: border, Alignment: &excelize.Alignment{Vertical: "top"}},
		"cell":     {Border: border, Alignment: cell},
		"number":   {Border: border, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top"}},
		"complete": {Border: border, Fill: fill(fillComplete), Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top"}},
		"notDue":   {Border: border, Fill: fill(fillNotDue), Alignment: cell},
		"overdue":  {Border: border, Fill: fill(fillOverdue), Font: &excelize.Font{Color: textOverdue}, Alignment: cell},
		"flagged":  {Border: border, Fill: fill(fillFlagged), Alignment: cell},
		"returned": {Border: border, Fill: fill(fillReturned), Alignment: cell},
		"warn":     {Border: border, Font: &excelize.Font{Color: textOverdue}, Alignment: cell},
		"late":     {Border: border, Fill: fill(fillOverdue), Font: &excelize.Font{Color: textOverdue}, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "top"}},
	}
	for name, s := range styles {
		id, err := f.NewStyle(s)
		if err != nil {
			return nil, fmt.Errorf("exports: style %s: %w", name, err)
		}
		w.st[name] = id
	}
	return w, nil
}

// set writes a row of values from col (1-based) with one style.
func (w *workbookWriter) set(sheet string, row, col int, style string, values ...any) error {
	for i, v := range values {
		ref, err := excelize.CoordinatesToCellName(col+i, row)
		if err != nil {
			return err
		}
		if v != nil {
			if err := w.f.SetCellValue(sheet, ref, v); err != nil {
				return err
			}
		}
		if style != "" {
			if err := w.f.SetCellStyle(sheet, ref, ref, w.st[style]); err != nil {
				return err
			}
		}
	}
	return nil
}

// widths sets column widths from column A on.
func (w *workbookWriter) widths(sheet string, widths ...float64) error {
	for i, wd := range widths {
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		if err := w.f.SetColWidth(sheet, col, col, wd); err != nil {
			return err
		}
	}
	return nil
}

// printSetup prints a sheet landscape on A4, one page wide.
func (w *workbookWriter) printSetup(sheet string) error {
	landscape, a4, wide, tall := "landscape", 9, 1, 0
	if err := w.f.SetPageLayout(sheet, &excelize.PageLayoutOptions{
		Size: &a4, Orientation: &landscape, FitToWidth: &wide, FitToHeight: &tall,
	}); err != nil {
		return err
	}
	fit := true
	return w.f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit})
}

// summary fills the 汇总 sheet.
func (w *workbookWriter) summary(title string, data []StreetData) error {
	const sh = SummarySheet
	if err := w.set(sh, 1, 1, "title", title); err != nil {
		return err
	}
	local := w.now.In(campaign.Shanghai)
	if err := w.set(sh, 2, 1, "note", fmt.Sprintf("生成时间：%d年%d月%d日 %s（北京时间）",
		local.Year(), int(local.Month()), local.Day(), local.Format("15:04"))); err != nil {
		return err
	}
	if err := w.set(sh, 3, 1, "note", "各街道工作表：灰色 = 未报（未到截止日期），浅红 = 逾期未报，黄色 = 已报但有问题（问题写在单元格批注里）。"); err != nil {
		return err
	}
	if err := w.set(sh, 4, 1, "header", "街道", "社区数", "全部报齐", "有问题", "有逾期", "照片未齐"); err != nil {
		return err
	}
	row := 5
	for _, d := range data {
		s := d.Street
		var complete, problems, late, photosShort int
		for _, c := range s.CommunityNames() {
			t := tallyOf(s, d.Filings[c], w.today)
			if t.complete() {
				complete++
			}
			if t[stateFlagged] > 0 {
				problems++
			}
			if t[stateOverdue] > 0 {
				late++
			}
			if _, short := photoText(d.Photos[c], s.Rules.Photos); short {
				photosShort++
			}
		}
		if err := w.set(sh, row, 1, "name", s.Name); err != nil {
			return err
		}
		if err := w.set(sh, row, 2, "number", len(s.Communities)); err != nil {
			return err
		}
		style := "number"
		if complete == len(s.Communities) {
			style = "complete"
		}
		if err := w.set(sh, row, 3, style, complete); err != nil {
			return err
		}
		if err := w.set(sh, row, 4, "number", problems, late, photosShort); err != nil {
			return err
		}
		row++
	}

	row++
	if err := w.set(sh, row, 1, "section", "各事项报送情况"); err != nil {
		return err
	}
	row++
	if err := w.set(sh, row, 1, "header", "街道", "阶段", "事项", "截止日期", "已报社区", "有问题", "未报社区", "状态"); err != nil {
		return err
	}
	row++
	for _, d := range data {
		s := d.Street
		for _, st := range s.FilingSteps() {
			var filed, flagged int
			for _, c := range s.CommunityNames() {
				switch stateOf(st, d.Filings[c], w.today) {
				case stateFiled:
					filed++
				case stateFlagged:
					filed++
					flagged++
				}
			}
			missing := len(s.Communities) - filed
			status := "未开始"
			switch {
			case st.Overdue(w.today):
				status = "已截止"
			case st.Open(w.today):
				status = "进行中"
			}
			phase := fmt.Sprintf("第%d步 %s", st.Phase, st.Name)
			if err := w.set(sh, row, 1, "cell", s.Name, phase, st.Item.Label(), st.Due.String()); err != nil {
				return err
			}
			if err := w.set(sh, row, 5, "number", filed, flagged); err != nil {
				return err
			}
			style := "number"
			if missing > 0 && st.Overdue(w.today) {
				style = "late"
			}
			if err := w.set(sh, row, 7, style, missing); err != nil {
				return err
			}
			if err := w.set(sh, row, 8, "number", status); err != nil {
				return err
			}
			row++
		}
	}
	if err := w.widths(sh, 14, 26, 16, 12, 10, 10, 10, 10); err != nil {
		return err
	}
	if err := w.printSetup(sh); err != nil {
		return err
	}
	return w.f.SetPanes(sh, &excelize.Panes{Freeze: true, YSplit: 4, TopLeftCell: "A5", ActivePane: "bottomLeft"})
}

// street fills one street's sheet.
func (w *workbookWriter) street(sheet string, d StreetData) error {
	if _, err := w.f.NewSheet(sheet); err != nil {
		return err
	}
	s := d.Street
	total := len(s.FilingSteps())

	// Two header rows: the item over its due date.
	if err := w.set(sheet, 1, 1, "header", "社区", "已报"); err != nil {
		return err
	}
	if err := w.set(sheet, 2, 1, "header2", nil, fmt.Sprintf("共 %d 项", total)); err != nil {
		return err
	}
	if err := w.f.MergeCell(sheet, "A1", "A2"); err != nil {
		return err
	}
	col := 3
	for _, st := range s.FilingSteps() {
		if err := w.set(sheet, 1, col, "header", st.Item.Label()); err != nil {
			return err
		}
		if err := w.set(sheet, 2, col, "header2", st.Due.String()+"截止"); err != nil {
			return err
		}
		col++
	}
	var reviews []int // indices into reviewed, for the steps this street has
	for i, r := range reviewed {
		if _, ok := s.Step(r.item); ok {
			reviews = append(reviews, i)
			if err := w.set(sheet, 1, col, "header", r.review.Label()); err != nil {
				return err
			}
			if err := w.set(sheet, 2, col, "header2", "街道审核"); err != nil {
				return err
			}
			col++
		}
	}
	photoRule := s.Rules.Photos
	need := "张数"
	switch {
	case photoRule.Max > 0:
		need = fmt.Sprintf("需 %d–%d 张", photoRule.Min, photoRule.Max)
	case photoRule.Min > 0:
		need = fmt.Sprintf("至少 %d 张", photoRule.Min)
	}
	if err := w.set(sheet, 1, col, "header", "照片"); err != nil {
		return err
	}
	if err := w.set(sheet, 2, col, "header2", need); err != nil {
		return err
	}

	// Photos go with the summary (000 §六(三)): a shortfall is marked once that is overdue.
	photosDue := false
	for _, item := range []campaign.Item{campaign.ItemPhotos, campaign.ItemSummary} {
		if st, ok := s.Step(item); ok {
			photosDue = st.Overdue(w.today)
			break
		}
	}

	for i, c := range s.CommunityNames() {
		row := i + 3
		cur := d.Filings[c]
		lines := 1 // the most lines a cell of the row wraps to (spreadsheets do not grow rows on open)
		t := tallyOf(s, cur, w.today)
		if err := w.set(sheet, row, 1, "name", c); err != nil {
			return err
		}
		style := "number"
		if t.complete() {
			style = "complete"
		}
		if err := w.set(sheet, row, 2, style, fmt.Sprintf("%d/%d", t.filed(), total)); err != nil {
			return err
		}
		col := 3
		for _, st := range s.FilingSteps() {
			text, err := w.stepCell(sheet, row, col, st, cur)
			if err != nil {
				return err
			}
			lines = max(lines, wrappedLines(text, stepWidth))
			col++
		}
		for _, i := range reviews {
			text, returned := reviewText(cur, i)
			style := "cell"
			if returned {
				style = "returned"
			}
			if err := w.set(sheet, row, col, style, text); err != nil {
				return err
			}
			lines = max(lines, wrappedLines(text, reviewWidth))
			col++
		}
		text, short := photoText(d.Photos[c], photoRule)
		style = "cell"
		if short && photosDue {
			style = "warn"
		}
		if err := w.set(sheet, row, col, style, text); err != nil {
			return err
		}
		lines = max(lines, wrappedLines(text, photoWidth))
		if lines > 1 {
			if err := w.f.SetRowHeight(sheet, row, float64(lines)*lineHeight+4); err != nil {
				return err
			}
		}
	}

	widths := []float64{12, 8}
	for range s.FilingSteps() {
		widths = append(widths, stepWidth)
	}
	for range reviews {
		widths = append(widths, reviewWidth)
	}
	widths = append(widths, photoWidth)
	if err := w.widths(sheet, widths...); err != nil {
		return err
	}
	if err := w.f.SetRowHeight(sheet, 1, 30); err != nil {
		return err
	}
	if err := w.printSetup(sheet); err != nil {
		return err
	}
	return w.f.SetPanes(sheet, &excelize.Panes{Freeze: true, XSplit: 2, YSplit: 2, TopLeftCell: "C3", ActivePane: "bottomRight"})
}

// stepCell writes one community's cell for one step and returns its text.
func (w *workbookWriter) stepCell(sheet string, row, col int, st campaign.Step, cur map[campaign.Item]campaign.Filing) (string, error) {
	ref, err := excelize.CoordinatesToCellName(col, row)
	if err != nil {
		return "", err
	}
	switch stateOf(st, cur, w.today) {
	case stateNotDue:
		return "", w.set(sheet, row, col, "notDue", nil)
	case stateOverdue:
		return "逾期未报", w.set(sheet, row, col, "overdue", "逾期未报")
	}
	f := cur[st.Item]
	text := fmt.Sprintf("%s（%s）", filingSummary(f), campaign.DateOf(f.At))
	if !f.Flagged() {
		return text, w.set(sheet, row, col, "cell", text)
	}
	if err := w.set(sheet, row, col, "flagged", text); err != nil {
		return "", err
	}
	body := "有问题：\n" + strings.Join(f.Flags, "\n")
	return text, w.f.AddComment(sheet, excelize.Comment{
		Cell:   ref,
		Author: commentBy,
		Paragraph: []excelize.RichTextRun{
			{Text: commentBy + "：\n", Font: &excelize.Font{Bold: true}},
			{Text: body},
		},
		Width:  260,
		Height: uint(50 + 18*len(f.Flags)),
	})
}

// Column widths (in characters of the default font) and the height of a line of text
// (points) of the street sheets.
const (
	stepWidth   = 24
	reviewWidth = 22
	photoWidth  = 18
	lineHeight  = 15
)

// wrappedLines estimates how many lines text wraps to in a column width characters
// wide: a CJK or other wide character takes two, ASCII one.
func wrappedLines(text string, width int) int {
	lines := 0
	for _, para := range strings.Split(text, "\n") {
		units := 0
		for _, r := range para {
			if r < 0x80 {
				units++
			} else {
				units += 2
			}
		}
		lines += max(1, (units+width-2)/(width-1)) // a character of margin
	}
	return lines
}

// filingSummary is the filing's one-line summary, or its raw text when it has none.
func filingSummary(f campaign.Filing) string {
	if s := strings.TrimSpace(f.Summary); s != "" {
		return s
	}
	if s := strings.TrimSpace(f.Raw); s != "" {
		return s
	}
	return "已报"
}

// sheetName makes a valid, unique sheet name from a street name: the characters Excel
// forbids (: \ / ? * [ ]) become "_", a leading or trailing apostrophe is dropped, the
// name is cut to 31 characters, and a repeat gets a "(2)" suffix.
func sheetName(name string, used map[string]bool) string {
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
	base := cut(name, sheetNameMax)
	out := base
	for i := 2; used[strings.ToLower(out)]; i++ {
		suffix := fmt.Sprintf("(%d)", i)
		out = cut(base, sheetNameMax-len(suffix)) + suffix
	}
	used[strings.ToLower(out)] = true
	return out
}
