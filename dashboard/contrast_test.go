package dashboard

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The page's colours all live in :root as roles: --fg-* are text colours, --bg-* the
// light surfaces text sits on, --dark-* dark surfaces that carry --on-dark text, --ui-*
// the edges of controls and the focus ring, --deco-* lines and fills that carry no
// meaning. TestPalette checks every text colour against every surface for WCAG AA
// (4.5:1) and every control edge for 3:1, and that the rules use nothing else, so a
// colour changed or added in the stylesheet cannot fall below AA unnoticed. The browser
// tests check the same for every text actually rendered.

var (
	styleRE   = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	rootRE    = regexp.MustCompile(`(?s):root\{(.*?)\}`)
	varDefRE  = regexp.MustCompile(`--([a-z0-9-]+):\s*(#[0-9a-fA-F]{3,6})\s*(?:;|$)`)
	varUseRE  = regexp.MustCompile(`var\(--([a-z0-9-]+)\)`)
	literalRE = regexp.MustCompile(`#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(`)
	declRE    = regexp.MustCompile(`([a-z-]+)\s*:\s*([^;{}]+)`)
	namedRE   = regexp.MustCompile(`(?i)\b(?:white|black|red|green|blue|gr[ae]y|silver|orange|yellow|navy|maroon)\b`)
)

// stylesheet returns the CSS of the pages.
func stylesheet(t *testing.T) string {
	t.Helper()
	src, err := files.ReadFile("dashboard.html")
	if err != nil {
		t.Fatal(err)
	}
	m := styleRE.FindSubmatch(src)
	if m == nil {
		t.Fatal("no <style> in dashboard.html")
	}
	return string(m[1])
}

// palette reads the colour variables of :root.
func palette(t *testing.T, css string) map[string]string {
	t.Helper()
	root := rootRE.FindStringSubmatch(css)
	if root == nil {
		t.Fatal("no :root block")
	}
	vars := map[string]string{}
	for _, d := range strings.Split(root[1], ";") {
		d = strings.TrimSpace(d)
		if d == "" {
			continue
		}
		m := varDefRE.FindStringSubmatch(d + ";")
		if m == nil {
			t.Errorf(":root holds %q, not a colour role given as #hex", d)
			continue
		}
		vars[m[1]] = m[2]
	}
	return vars
}

// luminance is WCAG's relative luminance of a #rgb or #rrggbb colour.
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil || len(h) != 6 {
		t.Fatalf("colour %q", hex)
	}
	lin := func(c uint64) float64 {
		s := float64(c) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(v>>16&0xff) + 0.7152*lin(v>>8&0xff) + 0.0722*lin(v&0xff)
}

func contrastRatio(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func TestContrastRatio(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21}, {"#fff", "#fff", 1}, {"#777777", "#ffffff", 4.48}, {"#9aa1ab", "#ffffff", 2.61},
	} {
		if got := contrastRatio(t, tc.a, tc.b); math.Abs(got-tc.want) > 0.01 {
			t.Errorf("%s on %s: %.2f, want %.2f", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestPalette(t *testing.T) {
	css := stylesheet(t)
	vars := palette(t, css)
	role := func(prefix string) map[string]string {
		out := map[string]string{}
		for k, v := range vars {
			if strings.HasPrefix(k, prefix) {
				out[k] = v
			}
		}
		if len(out) == 0 {
			t.Errorf("no --%s colours", prefix)
		}
		return out
	}
	fg, bg, dark, onDark, ui := role("fg-"), role("bg-"), role("dark-"), role("on-dark"), role("ui-")
	for k := range vars {
		if !strings.HasPrefix(k, "fg-") && !strings.HasPrefix(k, "bg-") && !strings.HasPrefix(k, "dark-") &&
			!strings.HasPrefix(k, "on-dark") && !strings.HasPrefix(k, "ui-") && !strings.HasPrefix(k, "deco-") {
			t.Errorf("--%s has no role (fg-, bg-, dark-, on-dark, ui-, deco-)", k)
		}
	}
	check := func(texts, surfaces map[string]string, need float64) {
		for tk, tv := range texts {
			for sk, sv := range surfaces {
				if r := contrastRatio(t, tv, sv); r < need {
					t.Errorf("--%s (%s) on --%s (%s): %.2f:1, below %.1f:1", tk, tv, sk, sv, r, need)
				}
			}
		}
	}
	check(fg, bg, 4.5)
	check(onDark, dark, 4.5)
	check(ui, bg, 3)

	// Outside :root, colours come only from the roles, each used for what it is.
	rules := rootRE.ReplaceAllString(css, "")
	if m := literalRE.FindAllString(rules, -1); m != nil {
		t.Errorf("colour literals outside :root: %v", m)
	}
	for _, u := range varUseRE.FindAllStringSubmatch(rules, -1) {
		if _, ok := vars[u[1]]; !ok {
			t.Errorf("var(--%s) is not defined in :root", u[1])
		}
	}
	for _, d := range declRE.FindAllStringSubmatch(rules, -1) {
		prop, value := d[1], d[2]
		if namedRE.MatchString(value) && (strings.Contains(prop, "color") || strings.HasPrefix(prop, "background") ||
			strings.HasPrefix(prop, "border") || strings.HasPrefix(prop, "outline")) {
			t.Errorf("%s:%s names a colour instead of a role", prop, value)
		}
		uses := varUseRE.FindAllStringSubmatch(value, -1)
		switch {
		case prop == "color":
			for _, u := range uses {
				if !strings.HasPrefix(u[1], "fg-") && u[1] != "on-dark" {
					t.Errorf("color:%s is not a text colour (--fg-*, --on-dark)", value)
				}
			}
		case prop == "background" || prop == "background-color":
			for _, u := range uses {
				if !strings.HasPrefix(u[1], "bg-") && !strings.HasPrefix(u[1], "dark-") && !strings.HasPrefix(u[1], "deco-") {
					t.Errorf("%s:%s is not a surface (--bg-*, --dark-*, --deco-*)", prop, value)
				}
			}
		case prop == "opacity":
			t.Errorf("opacity:%s lowers the contrast of whatever it covers", value)
		}
	}
}
