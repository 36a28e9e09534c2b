// Package browsertest drives Debian's Chromium (installed by scripts/test.sh) through the
// DevTools protocol with chromedp, for the browser tests of the project's pages: open a
// page at a phone's or a desktop's width, measure what a person would see (window.probe)
// and keep screenshots as test artifacts.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Timeout bounds one browser's whole life in a test.
const Timeout = 3 * time.Minute

// Chromium returns the path of Chromium, or "" when it is not installed.
func Chromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is one headless Chromium with a fresh profile, and one tab in it.
type Browser struct {
	T   *testing.T
	Ctx context.Context
	Dir string // where screenshots go: the test's artifact folder
}

// Start starts Chromium (bin) with a fresh profile; it is closed when the test ends.
func Start(t *testing.T, bin string) *Browser {
	t.Helper()
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Env("HOME="+profile, "XDG_CONFIG_HOME="+profile, "XDG_CACHE_HOME="+profile),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), Timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser() // closes the browser and waits for it
		cancelAlloc()
		cancelTimeout()
	})
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))
	return &Browser{T: t, Ctx: bctx, Dir: t.ArtifactDir()}
}

// Tab opens another tab in the same browser: same profile, so the same localStorage.
func (b *Browser) Tab() *Browser {
	b.T.Helper()
	ctx, cancel := chromedp.NewContext(b.Ctx)
	b.T.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.T.Fatalf("opening a tab: %v", err)
	}
	return &Browser{T: b.T, Ctx: ctx, Dir: b.Dir}
}

// Run runs steps in the tab, failing the test with what on error.
func (b *Browser) Run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.T.Fatalf("%s: %v", what, err)
	}
}

// Size makes the tab a phone (touch, mobile viewport) or a desktop window.
func (b *Browser) Size(w, h int, phone bool) {
	b.T.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.Run("viewport", chromedp.EmulateViewport(int64(w), int64(h), opts...))
}

// Open loads a page, defines window.probe in it and waits until its fonts are ready.
func (b *Browser) Open(u string) {
	b.T.Helper()
	b.Run("open "+u, chromedp.Navigate(u), chromedp.WaitReady("body"),
		chromedp.Evaluate[chromedp.Void](Probes),
		chromedp.Evaluate[chromedp.Void](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise))
}

// Eval runs JavaScript in the page (awaiting a promise) and decodes its JSON-able result
// into out.
func (b *Browser) Eval(js string, out any) {
	b.T.Helper()
	raw, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.T.Fatalf("evaluate %s: %v", firstLine(js), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.T.Fatalf("evaluate %s: %v in %s", firstLine(js), err, raw)
		}
	}
}

// Until evaluates js every 50 ms until it is true, failing the test with what after wait.
func (b *Browser) Until(what, js string, wait time.Duration) {
	b.T.Helper()
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		b.Eval(`!!(`+js+`)`, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.T.Fatalf("%s: not within %v", what, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// Screenshot saves what the viewport shows (or the whole page) as name.png among the
// test's artifacts and returns the PNG.
func (b *Browser) Screenshot(name string, full bool) []byte {
	b.T.Helper()
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	data, err := chromedp.Run(b.Ctx, shot)
	if err != nil {
		b.T.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.Dir, name+".png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.T.Fatal(err)
	}
	b.T.Logf("screenshot %s (%d KB)", path, len(data)>>10)
	return data
}

// Probes are the measurements the tests take in a page (window.probe), defined by Open.
const Probes = `
window.probe = {
  // rgb parses a computed colour: [r, g, b, alpha].
  rgb(c) {
    const p = c.match(/rgba?\(([^)]*)\)/)[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  },
  luminance(c) {
    const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  },
  ratio(a, b) {
    const la = probe.luminance(a), lb = probe.luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  },
  // background is the colour behind an element: its own and its ancestors' backgrounds
  // laid over white.
  background(el) {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = probe.rgb(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let base = [255, 255, 255];
    for (let i = layers.length - 1; i >= 0; i--) {
      const c = layers[i];
      base = [0, 1, 2].map(k => c[k] * c[3] + base[k] * (1 - c[3]));
    }
    return base;
  },
  visible(el) {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility === 'visible';
  },
  // contrast lists every visible text whose colour on its background is below WCAG AA:
  // 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).
  contrast() {
    const bad = [], seen = new Set();
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let checked = 0;
    for (let n; (n = walk.nextNode());) {
      const el = n.parentElement;
      if (!n.textContent.trim() || seen.has(el) || !probe.visible(el)) continue;
      seen.add(el);
      checked++;
      const cs = getComputedStyle(el);
      let opacity = 1;
      for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
      const bg = probe.background(el), fg = probe.rgb(cs.color);
      const a = fg[3] * opacity;
      const text = [0, 1, 2].map(k => fg[k] * a + bg[k] * (1 - a));
      const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
      const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
      const r = probe.ratio(text, bg);
      if (r < need) bad.push({text: n.textContent.trim().slice(0, 24), color: cs.color, background: 'rgb(' + bg.map(Math.round) + ')', ratio: Math.round(r * 100) / 100, need});
    }
    return {checked, bad};
  },
  // cut lists visible elements whose content is clipped sideways or shortened with an
  // ellipsis, and elements whose text is only in a hover tooltip.
  cut() {
    const out = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (!probe.visible(el)) continue;
      const cs = getComputedStyle(el);
      if (cs.textOverflow === 'ellipsis') out.push('ellipsis: ' + el.tagName + ' ' + el.textContent.trim().slice(0, 24));
      if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1) out.push('clipped: ' + el.tagName + '.' + el.className + ' ' + el.textContent.trim().slice(0, 24));
    }
    for (const el of document.querySelectorAll('[title]')) out.push('title: ' + el.getAttribute('title'));
    return out;
  },
  // texts lists the visible text of every element matching selector.
  texts(selector) {
    return [...document.querySelectorAll(selector)].filter(probe.visible).map(e => e.innerText.replace(/\s+/g, ' ').trim());
  },
};
true`
