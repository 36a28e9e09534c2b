package exports

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"huanjie/campaign"
	"huanjie/config"
)

// openWorkbook builds the fixture's workbook and reopens it as a reader would.
func openWorkbook(t *testing.T) *excelize.File {
	t.Helper()
	cfg, data := fixture(t)
	b, err := Workbook(cfg, data, fixtureNow.UTC()) // the time zone of now must not matter
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WRITE_SAMPLE") != "" {
		if err := os.WriteFile("testdata/workbook-sample.xlsx", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// fillOf returns the pattern fill colour of a cell ("" if none).
func fillOf(t *testing.T, f *excelize.File, sheet, cell string) string {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Fill.Type != "pattern" || len(st.Fill.Color) == 0 {
		return ""
	}
	c := strings.ToUpper(st.Fill.Color[0])
	if len(c) == 8 { // ARGB
		c = c[2:]
	}
	return c
}

func TestWorkbook(t *testing.T) {
	f := openWorkbook(t)
	if got, want := f.GetSheetList(), []string{"汇总", "城西街道", "东关街道"}; !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	cell := func(sheet, ref string) string {
		t.Helper()
		v, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const cx, dg = "城西街道", "东关街道"
	for _, tc := range []struct{ sheet, ref, want string }{
		// 汇总: generation time in Shanghai, one row per street, then one per step.
		{"汇总", "A2", "生成时间：2021年7月5日 09:00（北京时间）"},
		{"汇总", "A4", "街道"}, {"汇总", "C4", "全部报齐"}, {"汇总", "D4", "有问题"}, {"汇总", "E4", "有逾期"},
		{"汇总", "A5", cx}, {"汇总", "B5", "15"}, {"汇总", "C5", "1"}, {"汇总", "D5", "2"}, {"汇总", "E5", "12"}, {"汇总", "F5", "14"},
		{"汇总", "A6", dg}, {"汇总", "B6", "3"}, {"汇总", "C6", "1"}, {"汇总", "D6", "1"}, {"汇总", "E6", "1"},
		{"汇总", "A9", "街道"}, {"汇总", "E9", "已报社区"},
		{"汇总", "A10", cx}, {"汇总", "C10", "成立领导小组"}, {"汇总", "D10", "6月20日"}, {"汇总", "E10", "4"}, {"汇总", "G10", "11"}, {"汇总", "H10", "已截止"},
		{"汇总", "C11", "会员数和总人口"}, {"汇总", "E11", "4"}, {"汇总", "F11", "1"},
		{"汇总", "A22", dg}, {"汇总", "C22", "成立领导小组"}, {"汇总", "E22", "2"}, {"汇总", "F22", "1"}, {"汇总", "G22", "1"},
		// 城西街道: two header lines, a row per community in config order.
		{cx, "A1", "社区"}, {cx, "C1", "成立领导小组"}, {cx, "C2", "6月20日截止"}, {cx, "D1", "会员数和总人口"}, {cx, "D2", "6月30日截止"},
		{cx, "O1", "候选人初审"}, {cx, "P1", "批复备案"}, {cx, "Q1", "照片"}, {cx, "Q2", "需 6–10 张"},
		{cx, "A3", "大辛"}, {cx, "B3", "5/12"}, {cx, "A17", "北山"},
		{cx, "D3", "会员 320 人，总人口 6200 人（5.2%）（6月28日）"},
		{cx, "F3", "会员代表 40 名（7月3日）"},
		{cx, "D4", "逾期未报"}, {cx, "E4", ""},
		{cx, "O3", "初审已通过（7月4日）"},
		{cx, "O4", "初审被退回（7月4日）：副会长人选需调整"},
		{cx, "O5", "待初审"}, // reviewed an earlier version of the list
		{cx, "O7", ""},    // nothing filed
		{cx, "P6", "待批复"},
		{cx, "Q3", "2 张（还需 4 张）"}, {cx, "Q6", "7 张"}, {cx, "Q4", "0 张（还需 6 张）"},
		{cx, "B6", "12/12"},
		// 东关街道 has no election step: no 批复备案 column.
		{dg, "E1", "候选人名单"}, {dg, "F1", "候选人初审"}, {dg, "G1", "照片"}, {dg, "F3", "待初审"}, {dg, "G3", "6 张"},
	} {
		if got := cell(tc.sheet, tc.ref); got != tc.want {
			t.Errorf("%s!%s = %q, want %q", tc.sheet, tc.ref, got, tc.want)
		}
	}

	// Flagged: yellow, with the flags in a comment.
	if got := fillOf(t, f, cx, "F3"); got != fillFlagged {
		t.Errorf("flagged cell fill %q, want %q", got, fillFlagged)
	}
	comments, err := f.GetComments(cx)
	if err != nil {
		t.Fatal(err)
	}
	byCell := map[string]string{}
	for _, c := range comments {
		text := c.Text
		for _, r := range c.Paragraph {
			text += r.Text
		}
		byCell[c.Cell] = text
	}
	if len(byCell) != 2 || !strings.Contains(byCell["F3"], "总人口 6200 人对应会员代表 50 名") ||
		!strings.Contains(byCell["D5"], "低于要求的 5%") {
		t.Errorf("comments %q", byCell)
	}
	for _, tc := range []struct{ sheet, ref, fill string }{
		{cx, "D4", fillOverdue},  // 李家窑 会员数: due 6月30日, missing
		{cx, "C7", fillOverdue},  // 西冶街 领导小组
		{cx, "E4", fillNotDue},   // 李家窑 培训: due 7月8日, missing
		{cx, "N17", fillNotDue},  // 北山 自查
		{cx, "D5", fillFlagged},  // 太平 会员数 under 5%
		{cx, "C3", ""},           // filed, fine
		{cx, "O4", fillReturned}, // 初审被退回
		{dg, "C4", fillOverdue},  // 南关 领导小组
		{dg, "D4", fillNotDue},
		{dg, "C5", fillFlagged},
	} {
		if got := fillOf(t, f, tc.sheet, tc.ref); got != tc.fill {
			t.Errorf("%s!%s fill %q, want %q", tc.sheet, tc.ref, got, tc.fill)
		}
	}

	// Frozen panes and widths.
	for sheet, topLeft := range map[string]string{cx: "C3", dg: "C3", "汇总": "A5"} {
		p, err := f.GetPanes(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Freeze || p.TopLeftCell != topLeft {
			t.Errorf("%s panes %+v, want frozen at %s", sheet, p, topLeft)
		}
	}
	if w, err := f.GetColWidth(cx, "D"); err != nil || w != 24 {
		t.Errorf("step column width %v %v", w, err)
	}
}

func TestWorkbookErrors(t *testing.T) {
	if _, err := Workbook(nil, nil, fixtureNow); err == nil {
		t.Error("no streets accepted")
	}
	if _, err := Workbook(nil, []StreetData{{}}, fixtureNow); err == nil {
		t.Error("nil street accepted")
	}
}

func TestSheetNames(t *testing.T) {
	long := strings.Repeat("很长的街道名字", 6) // 42 characters
	used := map[string]bool{strings.ToLower(SummarySheet): true}
	for _, tc := range []struct{ in, want string }{
		{"城西街道", "城西街道"},
		{"城西街道", "城西街道(2)"},
		{"汇总", "汇总(2)"},
		{"a/b:c*d?[e]\\", "a_b_c_d__e__"},
		{"'引号'", "引号"},
		{"  ", "街道"},
		{long, string([]rune(long)[:31])},
		{long, string([]rune(long)[:28]) + "(2)"},
	} {
		got := sheetName(tc.in, used)
		if got != tc.want || utf8.RuneCountInString(got) > 31 {
			t.Errorf("sheetName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	// A street with a long name still exports.
	cfg, data := fixture(t)
	st := *data[1].Street
	st.Name = long
	data[1].Street = &st
	b, err := Workbook(cfg, data, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 3 || got[2] != string([]rune(long)[:31]) {
		t.Fatalf("sheets %q", got)
	}
}

func TestStates(t *testing.T) {
	st := campaign.Step{Item: campaign.ItemMembers, Due: campaign.Date{Year: 2021, Month: 6, Day: 30}}
	filed := map[campaign.Item]campaign.Filing{campaign.ItemMembers: {Summary: "x"}}
	flagged := map[campaign.Item]campaign.Filing{campaign.ItemMembers: {Summary: "x", Flags: []string{"f"}}}
	onDue, after := st.Due, st.Due.AddDays(1)
	for _, tc := range []struct {
		cur  map[campaign.Item]campaign.Filing
		day  campaign.Date
		want stepState
	}{
		{nil, onDue, stateNotDue}, {nil, after, stateOverdue}, {filed, after, stateFiled}, {flagged, onDue, stateFlagged},
	} {
		if got := stateOf(st, tc.cur, tc.day); got != tc.want {
			t.Errorf("stateOf(%v, %v) = %s, want %s", tc.cur, tc.day, got.label(), tc.want.label())
		}
	}
	for _, tc := range []struct {
		n     int
		rule  campaign.PhotoRule
		want  string
		short bool
	}{
		{7, campaign.PhotoRule{Min: 6, Max: 10}, "7 张", false},
		{2, campaign.PhotoRule{Min: 6, Max: 10}, "2 张（还需 4 张）", true},
		{12, campaign.PhotoRule{Min: 6, Max: 10}, "12 张（超过上限 10 张）", true},
		{0, campaign.PhotoRule{}, "0 张", false},
	} {
		if got, short := photoText(tc.n, tc.rule); got != tc.want || short != tc.short {
			t.Errorf("photoText(%d) = %q %v", tc.n, got, short)
		}
	}
	_ = config.Street{}
}
