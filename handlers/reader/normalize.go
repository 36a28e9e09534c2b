package reader

import (
	"strings"
	"unicode"
)

// Normalize turns what a phone or a voice transcription produced into the one form the
// readers work on, so that positions they report refer to the same text:
//
//   - full-width letters, digits and signs become half-width (３２０ → 320, ％ → %);
//   - commas (, ，﹐､) become 「，」, semicolons 「；」, colons 「：」, full stops 「。」,
//     question and exclamation marks 「？」「！」, parentheses ASCII; a comma inside a
//     digit group (6,200) stays an ASCII comma; a colon between digits (9:30) stays ASCII;
//   - every kind of dash or minus becomes '-', every wave dash '~', a full-width slash '/';
//   - every run of white space (including the ideographic space, no-break and zero-width
//     spaces, new lines) becomes one ASCII space, trimmed at both ends;
//   - a middle dot in any of its variants (· • ・ ‧ ･ ∙ ⋅) between two letters becomes 「·」
//     with no space around it, so 阿卜杜热合曼 · 艾买提江 stays one name; elsewhere it is a space;
//   - other control characters are dropped.
//
// Normalize is idempotent. It is for reading values; free text to be stored (a summary)
// should be kept as typed.
func Normalize(s string) string {
	if normal(s) {
		return s // already in the normal form: every reader normalises again, for free
	}
	return normalize(s)
}

// normalize is Normalize without the shortcut for a string already normal.
func normalize(s string) string {
	in := []rune(s)
	out := make([]rune, 0, len(in))
	space := false // a space is pending
	for i := 0; i < len(in); i++ {
		r := fold(in[i])
		switch {
		case r == ' ':
			space = len(out) > 0
			continue
		case r == 0:
			continue
		case isDot(r):
			// A dot between two letters (spaces around it allowed) joins a name.
			j := i + 1
			for j < len(in) && fold(in[j]) == ' ' {
				j++
			}
			if len(out) > 0 && unicode.IsLetter(out[len(out)-1]) && j < len(in) && unicode.IsLetter(fold(in[j])) {
				out = append(out, '·')
				space = false
				i = j - 1
				continue
			}
			space = len(out) > 0
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, r)
	}
	// Digit groups and clock times keep their ASCII signs: 6,200 and 9:30.
	for i, r := range out {
		switch r {
		case '，':
			if i > 0 && isDigit(out[i-1]) && digitGroupAt(out, i+1) {
				out[i] = ','
			}
		case '：':
			if i > 0 && isDigit(out[i-1]) && i+1 < len(out) && isDigit(out[i+1]) {
				out[i] = ':'
			}
		}
	}
	return string(out)
}

// normal reports, without allocating, whether s is certainly in Normalize's form: every
// rune its own fold, single spaces between words only, and none of the runes whose form
// depends on their neighbours (dots, commas, colons).
func normal(s string) bool {
	prevSpace := true // no space at the start
	for _, r := range s {
		switch {
		case r == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
			continue
		case r == 0, isDot(r), r == '，', r == ',', r == '：', r == ':', fold(r) != r:
			return false
		}
		prevSpace = false
	}
	return !prevSpace || s == ""
}

// digitGroupAt reports whether exactly three digits start at i (a thousands group).
func digitGroupAt(rs []rune, i int) bool {
	if i+3 > len(rs) {
		return false
	}
	for k := i; k < i+3; k++ {
		if !isDigit(rs[k]) {
			return false
		}
	}
	return i+3 == len(rs) || !isDigit(rs[i+3])
}

// fold maps one rune to its normal form; ' ' stands for any space, 0 for a dropped rune.
func fold(r rune) rune {
	switch r {
	case ',', '，', '﹐', '､':
		return '，'
	case ';', '；':
		return '；'
	case ':', '：', '﹕':
		return '：'
	case '。', '｡':
		return '。'
	case '!', '！':
		return '！'
	case '?', '？':
		return '？'
	case '（':
		return '('
	case '）':
		return ')'
	case '－', '—', '–', '−', '‐', '‑', '﹣', '―':
		return '-'
	case '～', '〜', '∼':
		return '~'
	case '\u3000', '\u00a0', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff':
		return ' '
	}
	if r >= '\uff01' && r <= '\uff5e' {
		return fold(r - 0xfee0)
	}
	if unicode.IsSpace(r) {
		return ' '
	}
	if unicode.IsControl(r) || r == unicode.ReplacementChar {
		return 0
	}
	return r
}

// isDot reports whether r is one of the middle dots people put inside names.
func isDot(r rune) bool {
	switch r {
	case '·', '•', '・', '‧', '･', '∙', '⋅', '\u0387', '\u2e31':
		return true
	}
	return false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isHan reports whether r is a Chinese character.
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) || r == '〇' }

// isSep reports whether r separates words: space or punctuation (not a name's dot).
func isSep(r rune) bool {
	if r == '·' {
		return false
	}
	return r == ' ' || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// trimSeps trims spaces and punctuation at both ends of s.
func trimSeps(s string) string {
	return strings.TrimFunc(s, isSep)
}
