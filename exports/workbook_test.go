package exports

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"huanjie/campaign"
)

// openWorkbook reopens a workbook as a reader would.
func openWorkbook(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// fixtureWorkbook is the workbook of the fixture's two streets.
func fixtureWorkbook(t *testing.T) []byte {
	t.Helper()
	cfg, data := fixture(t)
	b, err := Workbook(cfg, data, fixtureNow.UTC()) // the time zone of now must not matter
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WRITE_SAMPLE") != "" { // WRITE_SAMPLE=1 go test ./exports/ refreshes the sample
		if err := os.WriteFile("testdata/workbook-sample.xlsx", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b
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
	f := openWorkbook(t, fixtureWorkbook(t))
	const cx, dg, cxd, dgd = "城西街道", "东关街道", "城西街道明细", "东关街道明细"
	if got, want := f.GetSheetList(), []string{"汇总", cx, cxd, dg, dgd}; !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	shown := func(sheet, ref string) string { // as formatted for the reader
		t.Helper()
		v, err := f.GetCellValue(sheet, ref)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ sheet, ref, want string }{
		// 汇总: a formal title, the unit and the time in Shanghai.
		{"汇总", "A1", "2021年城西街道、东关街道社区计生协换届工作进度汇总表"},
		{"汇总", "A2", "填报单位：城西街道、东关街道"}, {"汇总", "F2", "统计时间：2021年7月5日 09:00（北京时间）"},
		// One row per street and a 合计 row.
		{"汇总", "B4", "街道"}, {"汇总", "D4", "全部报齐"}, {"汇总", "G4", "照片未齐"},
		{"汇总", "B5", cx}, {"汇总", "C5", "15"}, {"汇总", "D5", "1"}, {"汇总", "E5", "2"}, {"汇总", "F5", "14"}, {"汇总", "G5", "14"},
		{"汇总", "B6", dg}, {"汇总", "C6", "3"}, {"汇总", "D6", "1"}, {"汇总", "E6", "1"}, {"汇总", "F6", "1"}, {"汇总", "G6", "0"},
		{"汇总", "A7", "合计"}, {"汇总", "C7", "18"}, {"汇总", "D7", "2"}, {"汇总", "E7", "3"}, {"汇总", "F7", "15"},
		// Then a row per street and step, in campaign order: 第8步 before 第11步,
		// though the config lists 换届总结 and 换届照片 (第11步) before 职责落实 (第8步).
		{"汇总", "F9", "已报"}, {"汇总", "I9", "逾期"},
		{"汇总", "B10", cx}, {"汇总", "C10", "第1步"}, {"汇总", "D10", "成立领导小组"}, {"汇总", "E10", "6月20日"},
		{"汇总", "F10", "4"}, {"汇总", "G10", "0"}, {"汇总", "H10", "11"}, {"汇总", "I10", "11"}, {"汇总", "K10", "已截止"},
		{"汇总", "D11", "会员数和总人口"}, {"汇总", "F11", "4"}, {"汇总", "G11", "1"},
		{"汇总", "D17", "候选人名单"}, {"汇总", "F17", "3"}, {"汇总", "H17", "12"}, {"汇总", "K17", "进行中"}, // 李家窑's was returned
		{"汇总", "C19", "第8步"}, {"汇总", "D19", "职责落实"}, {"汇总", "K19", "未开始"},
		{"汇总", "C23", "第11步"}, {"汇总", "D23", "换届总结"}, {"汇总", "D24", "换届照片"},
		{"汇总", "B25", dg}, {"汇总", "D25", "成立领导小组"}, {"汇总", "F25", "2"}, {"汇总", "I25", "1"},

		// 城西街道: the status grid.
		{cx, "A1", "2021年城西街道社区计生协换届工作进度表"}, {cx, "A2", "填报单位：城西街道"},
		{cx, "A4", "序号"}, {cx, "B4", "社区"}, {cx, "C4", "第1步"}, {cx, "D4", "第2步"}, {cx, "L4", "第8步"}, {cx, "P4", "第11步"},
		{cx, "C5", "成立领导小组"}, {cx, "D5", "会员数和总人口"}, {cx, "L5", "职责落实"}, {cx, "P5", "换届总结"}, {cx, "Q5", "换届照片"},
		{cx, "C6", "6月20日"}, {cx, "D6", "6月30日"}, {cx, "L6", "7月31日"},
		{cx, "R4", "已完成"}, {cx, "R6", "共15项"}, {cx, "S4", "情况"},
		{cx, "A7", "1"}, {cx, "B7", "大辛"}, {cx, "C7", "已报"}, {cx, "E7", "逾期"}, {cx, "H7", "有问题"}, {cx, "I7", "未报"},
		{cx, "J7", "通过"}, {cx, "L7", "未开始"}, {cx, "Q7", "2 张"}, {cx, "R7", "5/15"}, {cx, "S7", "逾期 2 项，有问题 1 项"},
		{cx, "B8", "李家窑"}, {cx, "D8", "逾期"}, {cx, "J8", "退回"}, {cx, "S8", "逾期 3 项，退回 1 项"},
		{cx, "B9", "太平"}, {cx, "D9", "有问题"}, {cx, "J9", "待初审"},
		{cx, "B10", "柳杭"}, {cx, "K10", "待批复"}, {cx, "Q10", "7 张"}, {cx, "R10", "15/15"}, {cx, "S10", "全部报齐"},
		{cx, "B21", "北山"},
		{cx, "A22", "已报社区数"}, {cx, "C22", "4"}, {cx, "J22", "3"}, {cx, "S22", "全部报齐 1 个"},
		{cx, "A23", "有问题社区数"}, {cx, "D23", "1"}, {cx, "H23", "1"}, {cx, "S23", "有问题 2 个"},
		{cx, "A24", "逾期社区数"}, {cx, "C24", "11"}, {cx, "E24", "14"}, {cx, "S24", "有逾期 14 个"},

		// 城西街道明细: numbers, names and the problems in words.
		{cxd, "A1", "2021年城西街道社区计生协换届工作报送明细表"},
		{cxd, "C4", "领导小组"}, {cxd, "D4", "会员队伍"}, {cxd, "G4", "代表"}, {cxd, "H4", "新一届班子"}, {cxd, "M4", "照片"}, {cxd, "N4", "问题说明"},
		{cxd, "C5", "组长"}, {cxd, "D5", "会员数"}, {cxd, "E5", "总人口"}, {cxd, "F5", "占比"}, {cxd, "G5", "人数"},
		{cxd, "H5", "名单"}, {cxd, "I5", "会长"}, {cxd, "J5", "副会长"}, {cxd, "K5", "秘书长"}, {cxd, "L5", "理事会\n人数"}, {cxd, "M5", "张数"},
		{cxd, "B6", "大辛"}, {cxd, "C6", "崔宏"}, {cxd, "D6", "320"}, {cxd, "E6", "6200"}, {cxd, "F6", "5.2%"}, {cxd, "G6", "40"},
		{cxd, "H6", "候选"}, {cxd, "I6", "崔宏"}, {cxd, "J6", "王芳"}, {cxd, "K6", "李丽"}, {cxd, "L6", ""}, {cxd, "M6", "2"},
		{cxd, "N6", "1. 会员代表人数：总人口 6200 人对应会员代表 50 名（2001 人以上），报的是 40 名\n2. 逾期未报：会员小组划分、会员联系户制度"},
		{cxd, "B7", "李家窑"}, {cxd, "D7", ""}, {cxd, "J7", "王敏"},
		{cxd, "N7", "1. 候选人名单：初审被退回（7月4日），副会长人选需调整\n2. 逾期未报：会员数和总人口、会员小组划分、会员联系户制度"},
		{cxd, "B8", "太平"}, {cxd, "F8", "4.7%"}, {cxd, "K8", "吴芳"}, // the current version's 秘书长
		{cxd, "B9", "柳杭"}, {cxd, "H9", "当选"}, {cxd, "I9", "朱训岩"}, {cxd, "L9", "11"}, {cxd, "M9", "7"}, {cxd, "N9", ""},
		{cxd, "A21", "合计"}, {cxd, "D21", "610"}, {cxd, "E21", "11800"}, {cxd, "F21", "5.2%"}, {cxd, "G21", "90"}, {cxd, "L21", "11"}, {cxd, "M21", "9"},
		{cxd, "N21", "全部报齐 1 个社区，有问题 2 个，有逾期 14 个"},

		// 东关街道 plans three steps: three columns; its 明细 has no 代表 or 照片 column.
		{dg, "E5", "候选人名单"}, {dg, "F4", "已完成"}, {dg, "G4", "情况"}, {dg, "E7", "待初审"}, {dg, "B8", "南关"}, {dg, "C8", "逾期"},
		{dgd, "G4", "新一届班子"}, {dgd, "G5", "名单"}, {dgd, "L4", "问题说明"}, {dgd, "F8", "4.4%"},
	} {
		if got := shown(tc.sheet, tc.ref); got != tc.want {
			t.Errorf("%s!%s = %q, want %q", tc.sheet, tc.ref, got, tc.want)
		}
	}
	if got := shown(cxd, "N8"); !strings.Contains(got, "会员数和总人口：会员占总人口 4.7%，低于要求的 5%（至少需要 75 名会员）") {
		t.Errorf("太平's 问题说明 %q", got)
	}

	// Numbers are numbers: the share is a fraction shown as a percentage.
	for _, ref := range []string{"D6", "E6", "F6", "G6", "M6", "L9", "D21", "E21", "F21"} {
		typ, err := f.GetCellType(cxd, ref)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := f.GetCellValue(cxd, ref, excelize.Options{RawCellValue: true})
		if _, err := strconv.ParseFloat(raw, 64); err != nil || typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
			t.Errorf("%s!%s holds %q (type %v), not a number", cxd, ref, raw, typ)
		}
	}
	if raw, _ := f.GetCellValue(cxd, "F6", excelize.Options{RawCellValue: true}); !strings.HasPrefix(raw, "0.0516") {
		t.Errorf("大辛's share is stored as %s", raw)
	}
	if raw, _ := f.GetCellValue(cx, "R7", excelize.Options{RawCellValue: true}); raw != "5" {
		t.Errorf("大辛's 已完成 is stored as %q", raw)
	}

	// Colours repeat what the words say.
	for _, tc := range []struct{ sheet, ref, fill string }{
		{cx, "C7", fillDone}, {cx, "E7", fillOverdue}, {cx, "H7", fillFlagged}, {cx, "I7", ""}, {cx, "J8", fillOverdue},
		{cx, "J9", fillPending}, {cx, "R10", fillDone}, {cxd, "G6", fillFlagged}, {cxd, "F8", fillFlagged}, {cxd, "F6", ""},
		{"汇总", "I10", fillOverdue}, {"汇总", "I14", ""},
	} {
		if got := fillOf(t, f, tc.sheet, tc.ref); got != tc.fill {
			t.Errorf("%s!%s fill %q, want %q", tc.sheet, tc.ref, got, tc.fill)
		}
	}
	if comments, err := f.GetComments(cx); err != nil || len(comments) != 0 {
		t.Errorf("comments %v %v: problems must be printed, not hidden in comments", comments, err)
	}
	// A row grows with its 问题说明: 大辛's takes two lines.
	if h, err := f.GetRowHeight(cxd, 6); err != nil || h < 2*smallSize*1.3 {
		t.Errorf("大辛's 明细 row is %v pt tall (%v)", h, err)
	}
}

// TestWorkbookPrints checks each sheet's print setup: A4 landscape, one page wide, the
// header rows repeated on every page, and the 制表人 / 审核人 lines and the page numbers
// in the footer.
func TestWorkbookPrints(t *testing.T) {
	f := openWorkbook(t, fixtureWorkbook(t))
	titles := map[string]string{}
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm.Print_Titles" {
			titles[dn.Scope] = dn.RefersTo
		}
	}
	for sheet, rows := range map[string]string{"汇总": "$9:$9", "城西街道": "$1:$6", "城西街道明细": "$1:$5", "东关街道": "$1:$6", "东关街道明细": "$1:$5"} {
		if want := "'" + sheet + "'!" + rows; titles[sheet] != want {
			t.Errorf("%s repeats %q on every page, want %q", sheet, titles[sheet], want)
		}
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Size == nil || *pl.Size != 9 || pl.Orientation == nil || *pl.Orientation != "landscape" ||
			pl.FitToWidth == nil || *pl.FitToWidth != 1 || pl.FitToHeight == nil || *pl.FitToHeight != 0 {
			t.Errorf("%s page layout %+v", sheet, pl)
		}
		props, err := f.GetSheetProps(sheet)
		if err != nil || props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s does not fit to the page: %+v %v", sheet, props, err)
		}
		hf, err := f.GetHeaderFooter(sheet)
		if err != nil || hf == nil {
			t.Fatalf("%s footer: %v", sheet, err)
		}
		for _, w := range []string{"制表人：", "审核人：", "第 &P 页，共 &N 页", "制表时间：2021年7月5日 09:00"} {
			if !strings.Contains(hf.OddFooter, w) {
				t.Errorf("%s footer %q lacks %q", sheet, hf.OddFooter, w)
			}
		}
	}
}

// No cell holds a symbol or emoji: some renderers draw ✅ as a blank gap. Words and CJK
// punctuation only.
func TestWorkbookHasNoSymbols(t *testing.T) {
	f := openWorkbook(t, fixtureWorkbook(t))
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range rows {
			for j, v := range row {
				for _, r := range v {
					if !(r < 0x80 || r == '“' || r == '”' || (r >= 0x3000 && r <= 0x303F) || (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xFF00 && r <= 0xFFEF)) {
						t.Errorf("%s row %d column %d: %q holds %U", sheet, i+1, j+1, v, r)
					}
				}
			}
		}
	}
}

// A district's workbook names the district in its summary; each street keeps its sheets.
func TestDistrictWorkbook(t *testing.T) {
	cfg, data := fixture(t)
	b, err := DistrictWorkbook(cfg, "博山区", data, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	f := openWorkbook(t, b)
	for ref, want := range map[string]string{"A1": "2021年博山区社区计生协换届工作进度汇总表", "A2": "填报单位：博山区", "B5": "城西街道", "B6": "东关街道", "A7": "合计"} {
		if got, _ := f.GetCellValue(SummarySheet, ref); got != want {
			t.Errorf("汇总!%s = %q, want %q", ref, got, want)
		}
	}
	if got := f.GetSheetList(); len(got) != 5 || got[1] != "城西街道" || got[4] != "东关街道明细" {
		t.Errorf("sheets %q", got)
	}
	if _, err := DistrictWorkbook(cfg, "博山区", nil, fixtureNow); err == nil {
		t.Error("a district without streets accepted")
	}
}

func TestWorkbookErrors(t *testing.T) {
	if _, err := Workbook(nil, nil, fixtureNow); err == nil {
		t.Error("no streets accepted")
	}
	if _, err := Workbook(nil, []*campaign.StreetState{{}}, fixtureNow); err == nil {
		t.Error("nil street accepted")
	}
}

func TestCampaignOrder(t *testing.T) {
	cfg, _ := fixture(t)
	s := &cfg.Streets[0]
	var got []string
	for _, i := range campaignOrder(s) {
		got = append(got, s.Steps[i].Item.Label())
	}
	want := []string{"成立领导小组", "会员数和总人口", "会员小组划分", "会员联系户制度", "换届知识培训", "会员代表人数", "代表名单公示",
		"候选人名单", "选举结果", "职责落实", "新当选人员培训", "修订居规民约", "自查", "换届总结", "换届照片"}
	if !slices.Equal(got, want) {
		t.Errorf("campaign order %q", got)
	}
}

func TestSheetNames(t *testing.T) {
	long := strings.Repeat("很长的街道名字", 6) // 42 characters
	used := map[string]bool{strings.ToLower(SummarySheet): true}
	for _, tc := range []struct{ in, suffix, want string }{
		{"城西街道", "", "城西街道"},
		{"城西街道", "明细", "城西街道明细"},
		{"城西街道", "", "城西街道(2)"},
		{"汇总", "", "汇总(2)"},
		{"a/b:c*d?[e]\\", "", "a_b_c_d__e__"},
		{"'引号'", "", "引号"},
		{"  ", "", "街道"},
		{long, "", string([]rune(long)[:31])},
		{long, "明细", string([]rune(long)[:29]) + "明细"},
		{long, "", string([]rune(long)[:28]) + "(2)"},
		{long, "明细", string([]rune(long)[:26]) + "明细(2)"},
	} {
		got := sheetName(tc.in, tc.suffix, used)
		if got != tc.want || utf8.RuneCountInString(got) > 31 {
			t.Errorf("sheetName(%q, %q) = %q, want %q", tc.in, tc.suffix, got, tc.want)
		}
	}
}

// A street whose name is longer than a sheet name keeps its full name in the titles,
// wrapped over as many lines as it takes.
func TestWorkbookLongStreetName(t *testing.T) {
	long := strings.Repeat("很长的街道名字", 6) // 42 characters
	cfg, data := fixture(t)
	st := *data[1].Street
	st.Name = long
	data[1].Street = &st
	b, err := Workbook(cfg, data, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	f := openWorkbook(t, b)
	sheets := f.GetSheetList()
	grid, detail := string([]rune(long)[:31]), string([]rune(long)[:29])+"明细"
	if len(sheets) != 5 || sheets[3] != grid || sheets[4] != detail {
		t.Fatalf("sheets %q", sheets)
	}
	for _, sheet := range []string{grid, detail} {
		title, _ := f.GetCellValue(sheet, "A1")
		if !strings.Contains(title, long) {
			t.Errorf("%s title %q lacks the street's full name", sheet, title)
		}
		if h, _ := f.GetRowHeight(sheet, 1); h < 2*titleSize*1.4 {
			t.Errorf("%s title row is %v pt tall: the long title would be cut", sheet, h)
		}
	}
	if v, _ := f.GetCellValue(SummarySheet, "B6"); v != long {
		t.Errorf("汇总 names the street %q", v)
	}
}

// TestStates: a cell shows a problem first (so a community's 有问题 cells are its
// judged problems), then done, then late, whatever the review says.
func TestStates(t *testing.T) {
	for _, tc := range []struct {
		is   campaign.ItemState
		want stepState
	}{
		{campaign.ItemState{}, stateNotDue},
		{campaign.ItemState{Late: true}, stateOverdue},
		{campaign.ItemState{Done: true}, stateFiled},
		{campaign.ItemState{Done: true, Problems: []string{"p"}}, stateFlagged},
		{campaign.ItemState{Late: true, Problems: []string{"p"}, Status: campaign.StatusReturned}, stateFlagged},
	} {
		if got := stateOf(&tc.is); got != tc.want {
			t.Errorf("stateOf(%+v) = %s, want %s", tc.is, got.label(), tc.want.label())
		}
	}
}
