package exports

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/golang/freetype/truetype"
)

// cjkFontData is WenQuanYi Micro Hei 0.2.0-beta (Apache-2.0; see fonts/NOTICE and
// fonts/LICENSE), a TrueType collection; truetype.Parse reads its first face,
// "WenQuanYi Micro Hei", which covers GBK Hanzi and Latin.
//
//go:embed fonts/wqy-microhei.ttc
var cjkFontData []byte

// cjkFont parses the bundled font once.
var cjkFont = sync.OnceValues(func() (*truetype.Font, error) {
	f, err := truetype.Parse(cjkFontData)
	if err != nil {
		return nil, fmt.Errorf("exports: bundled CJK font: %w", err)
	}
	return f, nil
})

// hasGlyph reports whether the bundled font draws r (index 0 is the missing-glyph box).
func hasGlyph(f *truetype.Font, r rune) bool { return f.Index(r) != 0 }
