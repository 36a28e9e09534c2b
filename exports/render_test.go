package exports

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"huanjie/campaign"
)

// TestWorkbookRendered prints the workbook the way an office suite does: LibreOffice
// converts it to PDF (one page per printed page), pdftotext reads the pages back and
// pdftoppm leaves PNGs of them for a person to look at (their paths are logged). It
// checks the page count, that each printed page carries its sheet's title, header row,
// first and last columns and footer (a column cut by the page width would land on a
// page of its own), and that text prints at a readable scale (not squeezed to fit).
// scripts/test.sh installs LibreOffice Calc and poppler-utils; without them the test
// is skipped.
func TestWorkbookRendered(t *testing.T) {
	soffice := tool(t, "soffice", "libreoffice")
	pdftotext, pdftoppm, nice := tool(t, "pdftotext"), tool(t, "pdftoppm"), tool(t, "nice")

	cfg, data := fixture(t)
	big := bigStreet(t, cfg, 60)
	dir := filepath.Join(renderDir(t), "workbook")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"fixture": fixtureWorkbook(t)}
	b, err := Workbook(cfg, []*campaign.StreetState{big}, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	files["big"] = b
	// At the lowest priority: other packages' tests run alongside, some against deadlines.
	args := []string{"-n", "19", soffice, "-env:UserInstallation=file://" + t.TempDir(), "--headless", "--convert-to", "pdf", "--outdir", dir}
	for name, b := range files {
		path := filepath.Join(dir, name+".xlsx")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		old, _ := filepath.Glob(filepath.Join(dir, name+"-*.png"))
		for _, f := range append(old, filepath.Join(dir, name+".pdf")) {
			_ = os.Remove(f)
		}
		args = append(args, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	// LibreOffice can exit 0 without converting anything, as it does on the first start
	// of a fresh installation and profile; it is asked again for what is missing.
	for attempt := 1; ; attempt++ {
		out, err := exec.CommandContext(ctx, nice, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", soffice, err, out)
		}
		var missing []string
		for name := range files {
			if _, err := os.Stat(filepath.Join(dir, name+".pdf")); err != nil {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if attempt == 3 {
			t.Fatalf("%s wrote no PDF of %v after %d tries:\n%s", soffice, missing, attempt, out)
		}
		t.Logf("%s wrote no PDF of %v (try %d), asking again:\n%s", soffice, missing, attempt, out)
	}
	t.Logf("LibreOffice converted %d workbooks in %v", len(files), time.Since(start).Round(time.Millisecond))

	// pages reads a PDF's pages as text, and its words with their boxes.
	pages := func(name string) []string {
		t.Helper()
		pdf := filepath.Join(dir, name+".pdf")
		out, err := exec.Command(pdftotext, "-layout", pdf, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext %s: %v", pdf, err)
		}
		p := strings.Split(strings.TrimRight(string(out), "\f\n"), "\f")
		if out, err := exec.Command(pdftoppm, "-r", "60", "-png", pdf, filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm %s: %v\n%s", pdf, err, out)
		}
		pngs, _ := filepath.Glob(filepath.Join(dir, name+"-*.png"))
		t.Logf("%s: %d pages: %s", name, len(p), strings.Join(pngs, " "))
		return p
	}
	footer := regexp.MustCompile(`制表人：.*审核人：.*第 (\d+) 页，共 (\d+) 页.*制表时间：2021年7月5日 09:00`)
	checkPage := func(name string, i int, page string, want ...string) {
		t.Helper()
		m := footer.FindStringSubmatch(page)
		if m == nil || m[1] != strconv.Itoa(i+1) {
			t.Errorf("%s page %d: no footer with 制表人, 审核人 and its number:\n%s", name, i+1, page)
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s page %d lacks %q:\n%s", name, i+1, w, page)
			}
		}
	}

	// The fixture: 汇总, then each street's grid and 明细, one page each.
	p := pages("fixture")
	if len(p) != 5 {
		t.Fatalf("fixture: %d pages, want 5 (汇总 and a grid and a 明细 per street, one page each)", len(p))
	}
	checkPage("fixture", 0, p[0], "2021年城西街道、东关街道社区计生协换届工作进度汇总表", "序号", "照片未齐", "应报社区", "状态", "已截止")
	for i, st := range []int{0, 1} {
		d := data[st]
		grid, detail := p[1+2*i], p[2+2*i]
		// The first columns, the last (情况) and every community.
		want := []string{d.Street.Name + "社区计生协换届工作进度表", "序号", "社区", "已完成", "情况",
			fmt.Sprintf("全部报齐 %d 个", d.Complete), fmt.Sprintf("有逾期 %d 个", d.WithLate)}
		for c := range d.Communities {
			want = append(want, d.Communities[c].Name)
		}
		checkPage("fixture", 1+2*i, grid, want...)
		want = []string{d.Street.Name + "社区计生协换届工作报送明细表", "组长", "会员数", "占比", "秘书长", "问题说明", "合计"}
		checkPage("fixture", 2+2*i, detail, want...)
	}
	if !strings.Contains(p[2], "逾期未报：成立领导小组、会员数和总人口、会员小组划分、会员联系户制度") ||
		!strings.Contains(p[2], "副会长人选需调整") {
		t.Errorf("the 明细 page does not print the problems:\n%s", p[2])
	}

	// Each sheet prints at a readable scale, not squeezed to fit the width.
	for i, tc := range []struct{ sheet, word string }{{"汇总", "城西街道"}, {"城西街道", "四十亩地"}, {"城西街道明细", "四十亩地"}} {
		s := printScale(t, pdftotext, filepath.Join(dir, "fixture.pdf"), i+1, tc.word, bodySize)
		if s < 0.9 {
			t.Errorf("%s prints at %.0f %% of its size: squeezed to fit the width", tc.sheet, 100*s)
		}
		t.Logf("%s prints at %.0f %%", tc.sheet, 100*s)
	}

	// 60 communities: the grid and the 明细 run over several pages, each repeating the
	// title and the header rows, every community printed once, whole.
	p = pages("big")
	if len(p) < 5 {
		t.Fatalf("60 communities: %d pages", len(p))
	}
	var gridPages, detailPages []string
	for _, page := range p[1:] {
		switch {
		case strings.Contains(page, "社区计生协换届工作进度表"):
			gridPages = append(gridPages, page)
		case strings.Contains(page, "社区计生协换届工作报送明细表"):
			detailPages = append(detailPages, page)
		}
	}
	if len(gridPages) < 2 || len(detailPages) < 2 || len(gridPages)+len(detailPages) != len(p)-1 {
		t.Fatalf("60 communities: %d grid and %d 明细 pages of %d", len(gridPages), len(detailPages), len(p))
	}
	for i, page := range gridPages {
		checkPage("big grid", i+1, page, "序号", "社区", "第11步", "已完成", "共15项", "情况", "6月20日")
	}
	for i, page := range detailPages {
		checkPage("big 明细", i+1+len(gridPages), page, "序号", "新一届班子", "理事会", "问题说明")
	}
	for _, pages := range [][]string{gridPages, detailPages} {
		all := strings.Join(pages, "\n")
		for c := range big.Communities {
			row := regexp.MustCompile(fmt.Sprintf(`(?m)^\s*%d\s`, c+1)) // its 序号 starts a line
			if n := len(row.FindAllString(all, -1)); n != 1 {
				t.Errorf("%s (row %d) printed %d times", big.Communities[c].Name, c+1, n)
			}
		}
	}
}

// tool finds a command, or skips the test.
func tool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skipf("%s not installed (scripts/test.sh installs libreoffice-calc and poppler-utils)", names[0])
	return ""
}

var wordBox = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>`)

// printScale measures how large a word of CJK text at size points prints on a page: its
// printed width over its width at 100 % (a CJK character is as wide as its size).
func printScale(t *testing.T, pdftotext, pdf string, page int, word string, size float64) float64 {
	t.Helper()
	out, err := exec.Command(pdftotext, "-bbox", "-f", strconv.Itoa(page), "-l", strconv.Itoa(page), pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	for _, m := range wordBox.FindAllStringSubmatch(string(out), -1) {
		if m[3] != word {
			continue
		}
		x0, _ := strconv.ParseFloat(m[1], 64)
		x1, _ := strconv.ParseFloat(m[2], 64)
		return (x1 - x0) / (size * float64(len([]rune(word))))
	}
	t.Fatalf("%s page %d has no word %q", pdf, page, word)
	return 0
}
