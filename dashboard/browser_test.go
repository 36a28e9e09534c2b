package dashboard

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// layout is what the tests measure of a page as laid out.
type layout struct {
	ScrollWidth, Width int
	Overflowing        []string // visible elements reaching past the right edge
	Cards              []string // the visible cards, in order
	TableShown         bool
	StatHeights        []float64
	MoreHeight         float64
}

const measureLayout = `(() => {
  const vis = probe.visible;
  const more = document.querySelector('.more');
  return {
    scrollWidth: document.documentElement.scrollWidth, width: innerWidth,
    overflowing: [...document.body.querySelectorAll('*')].filter(e => vis(e) && e.getBoundingClientRect().right > innerWidth + 0.5).map(e => e.tagName + '.' + e.className),
    cards: [...document.querySelectorAll('.card')].filter(vis).map(e => e.dataset.c),
    tableShown: !!document.querySelector('table.grid') && vis(document.querySelector('table.grid')),
    statHeights: [...document.querySelectorAll('.stat')].map(e => e.getBoundingClientRect().height),
    moreHeight: more && vis(more) ? more.getBoundingClientRect().height : 0,
  };
})()`

// contrastAndCut checks that every visible text meets WCAG AA on its background and
// that nothing is clipped, ellipsised or left to a hover tooltip.
func (b *browser) contrastAndCut(where string) {
	b.T.Helper()
	var c struct {
		Checked int
		Bad     []map[string]any
	}
	b.Eval(`probe.contrast()`, &c)
	if c.Checked < 20 {
		b.T.Errorf("%s: only %d texts checked for contrast", where, c.Checked)
	}
	for _, bad := range c.Bad {
		b.T.Errorf("%s: text below WCAG AA contrast: %v", where, bad)
	}
	var cut []string
	b.Eval(`probe.cut()`, &cut)
	for _, c := range cut {
		b.T.Errorf("%s: %s", where, c)
	}
}

// waitImages scrolls to the bottom (lazy images load near the viewport) and waits until
// every image has loaded or failed.
const waitImages = `(async () => {
  window.scrollTo(0, document.body.scrollHeight);
  await new Promise(r => setTimeout(r, 300));
  await Promise.all([...document.images].map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return [...document.images].map(i => ({src: i.currentSrc, width: i.naturalWidth}));
})()`

type loaded struct {
	Src   string
	Width int
}

// TestBrowserPhone opens the overview and a community's page at a phone's 390 px.
func TestBrowserPhone(t *testing.T) {
	fx := newFixture(t)
	base, overview := dashboardServer(t, fx)
	b := newBrowser(t)
	b.Size(phoneW, phoneH, true)
	b.Open(overview)
	keepScreenshot(t, "dashboard-phone", b.Screenshot("phone-overview", false), phoneW, phoneH)
	b.Screenshot("phone-overview-full", true)

	var l layout
	b.Eval(measureLayout, &l)
	if l.ScrollWidth > l.Width || len(l.Overflowing) > 0 {
		t.Errorf("the page scrolls sideways on a phone: %d px wide in %d; past the edge: %v", l.ScrollWidth, l.Width, l.Overflowing)
	}
	if l.TableShown {
		t.Errorf("the 15-column table shows on a phone")
	}
	if len(l.Cards) != 15 || l.Cards[0] != "太平" || l.Cards[14] != "大辛" {
		t.Errorf("cards shown: %v, want 15 from 太平 (nothing filed) to 大辛 (2 late)", l.Cards)
	}
	for _, h := range append(l.StatHeights, l.MoreHeight) {
		if h < 44 {
			t.Errorf("a tap target is %.0f px tall, less than 44 (totals %v, card link %.0f)", h, l.StatHeights, l.MoreHeight)
			break
		}
	}

	// What 李家窑 owes, its problems in full and the office's return, all on screen.
	var owes, probs, revs, contact []string
	b.Eval(`probe.texts('.card[data-c="李家窑"] .owes li')`, &owes)
	b.Eval(`probe.texts('.card[data-c="李家窑"] .probs p')`, &probs)
	b.Eval(`probe.texts('.card[data-c="李家窑"] .revs li')`, &revs)
	b.Eval(`probe.texts('.card[data-c="李家窑"] .contact')`, &contact)
	if len(owes) != 8 || owes[2] != "⏰ 换届知识培训 7月8日截止，已逾期 4 天" || owes[7] != "⏳ 换届总结 7月20日截止，还有 8 天" {
		t.Errorf("李家窑 owes, as shown: %q", owes)
	}
	if !slices.Equal(probs, []string{"会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）", "缺少副会长候选人"}) {
		t.Errorf("李家窑's problems, as shown: %q", probs)
	}
	if !slices.Equal(revs, []string{"↩️ 初审被退回，原因：缺少副会长候选人，请补报"}) || !slices.Equal(contact, []string{"联系人：杨曰珩（书记）"}) {
		t.Errorf("李家窑's review and contact, as shown: %q %q", revs, contact)
	}
	b.contrastAndCut("phone overview")
	b.Eval(`document.querySelector('.card[data-c="李家窑"]').scrollIntoView(); true`, nil)
	b.Screenshot("phone-card-lijiayao", false)

	// The totals filter: tap one and only its communities stay.
	for _, tc := range []struct {
		filter string
		cards  []string
		none   string
	}{
		{"warn", []string{"李家窑"}, ""},
		{"ok", nil, "还没有全部报齐的社区。"},
		{"late", l.Cards, ""},
		{"all", l.Cards, ""},
	} {
		b.Run("tap "+tc.filter, chromedp.Click(chromedp.CSS(`label[for="f-chengxi-`+tc.filter+`"]`)))
		var now layout
		b.Eval(measureLayout, &now)
		var none []string
		b.Eval(`probe.texts('.none')`, &none)
		if !slices.Equal(now.Cards, tc.cards) || strings.Join(none, "") != tc.none {
			t.Errorf("after tapping %s: cards %v, message %q; want %v, %q", tc.filter, now.Cards, none, tc.cards, tc.none)
		}
		if tc.filter == "warn" {
			b.Eval(`window.scrollTo(0, 0); true`, nil)
			b.Screenshot("phone-filter-problems", false)
		}
	}

	// A community's page: thumbnails, not the originals.
	b.Open(base + "/dashboard/c/chengxi/" + esc("大辛"))
	b.Screenshot("phone-community", false)
	var imgs []loaded
	b.Eval(waitImages, &imgs)
	if len(imgs) != 3 {
		t.Fatalf("大辛's page shows %d images, want its 3 photos", len(imgs))
	}
	for _, img := range imgs {
		if !strings.Contains(img.Src, "/dashboard/thumb/chengxi/") || img.Width != 240 {
			t.Errorf("tile %s is %d px wide: want the 240 px thumbnail", img.Src, img.Width)
		}
	}
	b.Screenshot("phone-community-photos", false)
	b.Eval(measureLayout, &l)
	if l.ScrollWidth > l.Width || len(l.Overflowing) > 0 {
		t.Errorf("the community page scrolls sideways: %d in %d; %v", l.ScrollWidth, l.Width, l.Overflowing)
	}
	b.contrastAndCut("phone community page")
}

// column is where a table column lies, and whether its header stays at the top.
type column struct {
	Left, Right, HeadTop, HeadBottom float64
	CellsRight                       float64 // the rightmost edge of its cells
	HeadOnTop                        bool    // the header is what shows at its place
	TableTop, FirstRowTop            float64
	NameLeft                         float64 // the first column's header cell
	Width, ScrollWidth               float64
}

func measureColumn(label string) string {
	return fmt.Sprintf(`(() => {
  const ths = [...document.querySelectorAll('table.grid thead th')];
  const i = ths.findIndex(th => th.innerText.startsWith(%q));
  const th = ths[i], r = th.getBoundingClientRect();
  const cells = [...document.querySelectorAll('table.grid tbody tr')].map(tr => tr.children[i].getBoundingClientRect().right);
  const hit = document.elementFromPoint((r.left + r.right) / 2, r.top + 4);
  return {left: r.left, right: r.right, headTop: r.top, headBottom: r.bottom, cellsRight: Math.max(...cells),
    headOnTop: !!hit && !!hit.closest('thead'),
    tableTop: document.querySelector('table.grid').getBoundingClientRect().top,
    firstRowTop: document.querySelector('table.grid tbody tr').getBoundingClientRect().top,
    nameLeft: document.querySelector('table.grid tbody th.name').getBoundingClientRect().left,
    width: innerWidth, scrollWidth: document.documentElement.scrollWidth};
})()`, label)
}

// TestBrowserDesktop opens the overview at 1440 px and at 1024 px, with two streets of
// 15 communities, so the page is longer than the screen.
func TestBrowserDesktop(t *testing.T) {
	fx := newFixture(t)
	east := fx.cfg.Streets[0]
	east.ID, east.Name = "dongcheng", "东城街道"
	fx.cfg.Streets = append(fx.cfg.Streets, east)
	_, overview := dashboardServer(t, fx)
	b := newBrowser(t)
	b.Size(desktopW, desktopH, false)
	b.Open(overview)
	keepScreenshot(t, "dashboard-desktop", b.Screenshot("desktop-overview", false), desktopW, desktopH)

	var l layout
	b.Eval(measureLayout, &l)
	if !l.TableShown || len(l.Cards) != 0 {
		t.Fatalf("at 1440 px: table shown %v, cards %v", l.TableShown, l.Cards)
	}
	// The whole table fits: the photo column and the last one are not cut.
	for _, label := range []string{"换届照片", "自查"} {
		var c column
		b.Eval(measureColumn(label), &c)
		if c.ScrollWidth > c.Width || c.Left < 0 || c.Right > c.Width || c.CellsRight > c.Width {
			t.Errorf("column %s at 1440 px: %.0f–%.0f, cells to %.0f, page %.0f wide in %.0f", label, c.Left, c.Right, c.CellsRight, c.ScrollWidth, c.Width)
		}
	}
	// Scrolled past the table's top, the header row stays at the top.
	scroll := `window.scrollTo(%d, document.querySelector('table.grid').getBoundingClientRect().top + scrollY + 400); true`
	b.Eval(fmt.Sprintf(scroll, 0), nil)
	var c column
	b.Eval(measureColumn("换届照片"), &c)
	if c.TableTop > -300 || c.HeadTop > 0.5 || c.HeadTop < -0.5 || !c.HeadOnTop || c.FirstRowTop >= c.HeadBottom {
		t.Errorf("after scrolling: table top at %.0f, header at %.1f–%.1f (on top: %v), first row at %.0f",
			c.TableTop, c.HeadTop, c.HeadBottom, c.HeadOnTop, c.FirstRowTop)
	}
	b.Screenshot("desktop-scrolled", false)

	// A tap (click) opens what was filed: nothing hides behind a hover.
	b.Eval(`document.querySelectorAll('#street-chengxi tr[data-c="李家窑"] summary').forEach(s => s.click()); true`, nil)
	var full []string
	b.Eval(`probe.texts('#street-chengxi tr[data-c="李家窑"] .full')`, &full)
	if !slices.Contains(full, "会员 230 人，总人口 4800 人，占 4.8%（要求不低于 5%）") || len(full) != 4 {
		t.Errorf("李家窑's filings, opened: %q", full)
	}
	var flags []string
	b.Eval(`probe.texts('#street-chengxi tr[data-c="李家窑"] .flag')`, &flags)
	if !slices.Equal(flags, []string{"会员占总人口 4.8%，低于要求的 5%（至少需要 240 名会员）", "缺少副会长候选人"}) {
		t.Errorf("李家窑's problems in the table: %q", flags)
	}
	b.Eval(`document.querySelector('#street-chengxi tr[data-c="李家窑"]').scrollIntoView(); window.scrollBy(0, -150); true`, nil)
	b.Screenshot("desktop-opened", false)
	b.contrastAndCut("desktop overview")

	// Narrower than the table: the page scrolls sideways, and the community names and
	// the header row stay.
	b.Size(1024, 768, false)
	b.Open(overview)
	b.Eval(fmt.Sprintf(scroll, 300), nil)
	b.Eval(measureColumn("换届照片"), &c)
	if c.ScrollWidth <= c.Width || c.NameLeft > 0.5 || c.NameLeft < -0.5 || c.HeadTop > 0.5 || c.HeadTop < -0.5 || !c.HeadOnTop {
		t.Errorf("at 1024 px scrolled sideways and down: page %.0f in %.0f, names at %.1f, header at %.1f (on top: %v)",
			c.ScrollWidth, c.Width, c.NameLeft, c.HeadTop, c.HeadOnTop)
	}
	b.Screenshot("desktop-1024-scrolled", false)
}

// TestBrowserPageWeight opens a community with ten phone photos on a phone and counts
// every byte the page costs.
func TestBrowserPageWeight(t *testing.T) {
	fx := newFixture(t)
	base, overview := dashboardServer(t, fx)
	photo := withExif(phoneJPEG(t, 960, 720, 7), 6, binary.LittleEndian)
	originals := 0
	for i := range 10 {
		data := withSegment(photo, 0xfe, fmt.Appendf(nil, "photo %d", i)) // the same picture, ten files
		fx.addPhoto(t, "双山", data, 960, 720)
		originals += len(data)
	}
	b := newBrowser(t)
	b.Size(phoneW, phoneH, true)
	b.Open(overview)
	var overviewBytes int
	b.Eval(`performance.getEntriesByType('navigation')[0].transferSize`, &overviewBytes)
	b.Open(base + "/dashboard/c/chengxi/" + esc("双山"))
	var imgs []loaded
	b.Eval(waitImages, &imgs)
	b.Screenshot("phone-ten-photos", false)
	var w struct {
		Page   int
		Images []struct {
			Name       string
			Size, Body int
		}
	}
	b.Eval(`({page: performance.getEntriesByType('navigation')[0].transferSize,
  images: performance.getEntriesByType('resource').filter(r => r.initiatorType === 'img').map(r => ({name: r.name, size: r.transferSize, body: r.encodedBodySize}))})`, &w)
	total := w.Page
	for _, img := range w.Images {
		total += img.Size
		if !strings.Contains(img.Name, "/dashboard/thumb/") || img.Body > thumbMaxBytes || img.Body == 0 {
			t.Errorf("image %s: %d bytes", img.Name, img.Body)
		}
	}
	if len(w.Images) != 10 || len(imgs) != 10 {
		t.Fatalf("%d images loaded, %d shown; want 10", len(w.Images), len(imgs))
	}
	if total > 500<<10 {
		t.Errorf("a page of ten photos costs %d KB", total>>10)
	}
	t.Logf("overview: %d KB; a page of ten photos: %d KB (page %d KB), %.1f%% of the originals' %d KB",
		overviewBytes>>10, total>>10, w.Page>>10, 100*float64(total)/float64(originals), originals>>10)
}
