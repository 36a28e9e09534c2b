package reader

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Status says how sure a reading is.
type Status int

const (
	// Certain: the value is what was written; a caller may store it.
	Certain Status = iota
	// Ambiguous: more than one value could be meant (「3.5」, 「三百多」, 「周三」); ask back.
	Ambiguous
	// Invalid: written like a value but impossible (「2月30日」, 「9999年」); ask back.
	Invalid
)

func (s Status) String() string {
	switch s {
	case Certain:
		return "certain"
	case Ambiguous:
		return "ambiguous"
	case Invalid:
		return "invalid"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Number is one number found in a sentence.
type Number struct {
	Text     string  // as written, sign and approximate words included: 「-5」「三百多」
	Pos, End int     // byte offsets of Text in Normalize(s)
	Value    float64 // the value; negative when Negative; for an Ambiguous number the plain reading
	Negative bool    // written with 「-」 or 「负」
	Chinese  bool    // written (at least partly) with Chinese numerals: 三十六, 1千
	Grouped  bool    // written with a thousands comma: 6,200

	// Label is the count word right before the number (fillers like 是/有/一共 skipped):
	// 人口, 总人口, 会员, 会员代表, 代表, 理事会, 会长 …; "" when none.
	Label string
	// LabelAfter is a count word right after the number and its unit, when it is not the
	// next number's label: 「320名会员」 → 会员; 「320人口6200」 → "".
	LabelAfter string
	// Unit is what follows the number: 人 名 位 个 张 户 % …; 「个人」「口人」 read as 人.
	Unit string

	Status Status
	Why    string // for Ambiguous or Invalid: the reason in Chinese, for the reply
}

// Int returns the number as a whole count when it is certain, whole and not negative.
func (n Number) Int() (int, bool) {
	if n.Status != Certain || n.Negative || n.Value < 0 || n.Value != math.Trunc(n.Value) || n.Value > math.MaxInt32 {
		return 0, false
	}
	return int(n.Value), true
}

var cnDigits = map[rune]int{'〇': 0, '零': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
var cnUnits = map[rune]float64{'十': 10, '百': 100, '千': 1000, '万': 1e4, '亿': 1e8}

func isCnNumeral(r rune) bool {
	_, d := cnDigits[r]
	_, u := cnUnits[r]
	return d || u || r == '几'
}

// maxNumberRunes bounds one numeral, so a page of digits costs no more than a line.
const maxNumberRunes = 24

// Numbers finds every number in s (normalised first; positions refer to Normalize(s)):
// Arabic, full-width and Chinese forms (两, 十一, 一百二十, 三千二 = 3200, 1千, 1.2万,
// 二〇二一), with the sign, the label before and the unit after. Dates (7月2日, 7.2, 2号,
// 周三 …) are not numbers; 「3.5」 with nothing to tell is reported Ambiguous here and
// in Dates. Approximate numbers (约300, 三百多, 二三十, 300人左右) and ranges (30-40)
// are Ambiguous. A Chinese numeral that is part of a word (第一, 五老, 两委, 四十亩地,
// 一起) is not a number.
func Numbers(s string) []Number {
	s = Normalize(s)
	dates := dateSpans(s)
	var out []Number
	di := 0
	for i := 0; i < len(s); {
		for di < len(dates) && dates[di].end <= i {
			di++
		}
		if di < len(dates) && dates[di].pos <= i {
			// A span that starts inside what was read already (「0A1.1」: the lettered
			// 0A1 took its first digit) adds no number of its own.
			if dates[di].asNumber && (len(out) == 0 || dates[di].pos >= out[len(out)-1].End) {
				if n, ok := readDotNumber(s, dates[di]); ok {
					out = append(out, n)
				}
			}
			i = dates[di].end
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isDigit(r) || isCnNumeral(r) {
			if n, end, ok := readNumber(s, i); ok {
				if last := len(out) - 1; last >= 0 && n.Pos < out[last].End {
					// A lettered run reaching back into the number before it (「1.1A0」):
					// the two are one run nobody can read with certainty.
					m := &out[last]
					m.End, m.Text, m.Status, m.Why = n.End, s[m.Pos:n.End], Ambiguous, n.Why
					if m.Why == "" {
						m.Why = whyUnreadable(m.Text)
					}
				} else {
					out = append(out, n)
				}
				i = end
				continue
			} else if end > i {
				i = end
				continue
			}
		}
		i += size
	}
	markRanges(s, out)
	return out
}

// readDotNumber reports an ambiguous 「3.5」 as a number too.
func readDotNumber(s string, d span) (Number, bool) {
	v, err := strconv.ParseFloat(s[d.pos:d.end], 64)
	if err != nil {
		return Number{}, false
	}
	return Number{Text: s[d.pos:d.end], Pos: d.pos, End: d.end, Value: v, Label: labelBefore(s, d.pos),
		Status: Ambiguous, Why: whyDotForm(s[d.pos:d.end])}, true
}

// readNumber reads the number starting at byte i. When the runes there are not a number
// (a Chinese numeral inside a word), ok is false and end says how far to skip.
func readNumber(s string, i int) (n Number, end int, ok bool) {
	rs, ends := runesFrom(s, i, maxNumberRunes+1)
	val, k, chinese, approx, grouped, valid := parseNumeral(rs)
	if k == 0 {
		return Number{}, i + utf8.RuneLen(rs[0]), false
	}
	end = i + ends[k-1]
	if k > maxNumberRunes {
		// A page of digits is no number anybody typed.
		j := end
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
			if !isDigit(r) && !isCnNumeral(r) && r != ',' && r != '.' {
				break
			}
			j += size
		}
		return Number{}, j, false
	}
	// A letter glued to the digits (12OO, 1O2, 5O, 1l, O5) is most likely a 0 or a 1
	// typed as a letter: the whole run is one number nobody can read with certainty.
	lettered := false
	if r, _ := utf8.DecodeRuneInString(s[end:]); isLatin(r) {
		lettered = true
	}
	if r, _ := utf8.DecodeLastRuneInString(s[:i]); isLatin(r) && !chinese {
		lettered = true
	}
	if lettered {
		for i > 0 {
			r, size := utf8.DecodeLastRuneInString(s[:i])
			if !isLatin(r) && !isDigit(r) {
				break
			}
			i -= size
		}
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if !isLatin(r) && !isDigit(r) && !isCnNumeral(r) {
				break
			}
			end += size
		}
	}
	n = Number{Value: val, Chinese: chinese, Grouped: grouped}
	prev := before(s, i)
	if strings.HasSuffix(prev, ordinal) {
		return Number{}, end, false
	}
	numEnd := end
	rest := s[end:]

	// What follows: an approximate word, a label of its own, or a unit.
	if a := prefixWord(rest, approxAfter); a != "" && (a != "来" || unitOrEnd(rest[len(a):])) {
		approx = true
		end += len(a)
		rest = s[end:]
	}
	labelAfter := prefixWord(rest, countLabels)
	if labelAfter == "" {
		if u := prefixWord(rest, units); u != "" {
			n.Unit = u
			if u == "个人" || u == "口人" {
				n.Unit = "人"
			}
			end += len(u)
			rest = s[end:]
			labelAfter = prefixWord(rest, countLabels)
		}
	}
	if labelAfter != "" && !numberFollows(rest[len(labelAfter):]) {
		n.LabelAfter = labelAfter
	}
	switch a := prefixWord(rest, approxAfter); a {
	case "左右", "上下", "以上", "以下", "多", "不到":
		approx = true
		end += len(a)
	}

	// Sign and approximate words before the number.
	start := i
	head := strings.TrimRight(prev, " ")
	switch {
	case strings.HasSuffix(head, "负"):
		n.Negative = true
		start = len(head) - len("负") + (i - len(prev))
	case strings.HasSuffix(prev, "-"):
		pr, _ := utf8.DecodeLastRuneInString(strings.TrimSuffix(prev, "-"))
		if !isDigit(pr) && !isLatin(pr) && pr != '-' {
			n.Negative = true
			start = i - 1
		}
	}
	lead := before(s, start)
	head = strings.TrimRight(lead, " ")
	if a := suffixWord(head, approxBefore); a != "" &&
		!(a == "近" && (strings.HasSuffix(head, "最近") || strings.HasSuffix(head, "附近"))) && !(a == "上" && !chinese) {
		approx = true
		start -= len(a) + len(lead) - len(head)
	}
	n.Label = labelBefore(s, start)

	// A Chinese numeral must stand as a number, not inside a word (五老, 两委, 四十亩地, 一起).
	if chinese && !hasArabic(rs[:k]) && !lettered {
		after := s[numEnd:]
		next, _ := utf8.DecodeRuneInString(after)
		standsAlone := after == "" || !isHan(next) || n.Unit != "" || n.LabelAfter != "" || approx ||
			prefixWord(after, connectors) != ""
		if !standsAlone {
			return Number{}, numEnd, false
		}
		if k == 1 && n.Label == "" && !personUnits[n.Unit] && !approx {
			return Number{}, numEnd, false
		}
	}
	if n.Negative {
		n.Value = -n.Value
	}
	n.Pos, n.End, n.Text = start, end, s[start:end]
	switch {
	case lettered:
		n.Status, n.Why = Ambiguous, whyLetters(s[i:numEnd])
	case !valid:
		n.Status, n.Why = Ambiguous, whyUnreadable(n.Text)
	case approx:
		n.Status, n.Why = Ambiguous, whyApprox(n.Text)
	}
	return n, end, true
}

// unitOrEnd reports whether s is empty or starts with a unit or a separator.
func unitOrEnd(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s == "" || isSep(r) || prefixWord(s, units) != ""
}

func hasArabic(rs []rune) bool {
	for _, r := range rs {
		if isDigit(r) {
			return true
		}
	}
	return false
}

func isLatin(r rune) bool { return r < 0x80 && (r|0x20 >= 'a' && r|0x20 <= 'z') }

// numberFollows reports whether a number starts s after spaces, colons and fillers.
func numberFollows(s string) bool {
	for {
		t := strings.TrimLeft(s, " ：:")
		if f := prefixWord(t, fillers); f != "" && f != "的" {
			t = t[len(f):]
		}
		if t == s {
			break
		}
		s = t
	}
	r, _ := utf8.DecodeRuneInString(s)
	return isDigit(r) || (isCnNumeral(r) && r != '几')
}

// runesFrom decodes up to max runes of s from byte i, with each rune's end offset from i.
func runesFrom(s string, i, max int) ([]rune, []int) {
	var rs []rune
	var ends []int
	for j := i; j < len(s) && len(rs) < max; {
		r, size := utf8.DecodeRuneInString(s[j:])
		j += size
		rs = append(rs, r)
		ends = append(ends, j-i)
	}
	return rs, ends
}

// parseNumeral reads the numeral at the start of rs and returns its value and how many
// runes it took. approx is set by 几 or by two bare digits (三五, 二三十); valid is false
// for a malformed numeral (百千).
func parseNumeral(rs []rune) (val float64, k int, chinese, approx, grouped, valid bool) {
	type elem struct {
		digit float64
		unit  float64 // 0 for a digit
		zero  bool
		arab  bool // an Arabic number (several digits)
		few   bool // 几
	}
	var es []elem
	for k < len(rs) && k <= maxNumberRunes {
		r := rs[k]
		switch {
		case isDigit(r):
			j := k
			for j < len(rs) && isDigit(rs[j]) {
				j++
			}
			// Thousands groups: 6,200 (Normalize keeps the ASCII comma only there).
			for j+3 < len(rs)+0 && rs[j] == ',' && isDigit(rs[j+1]) && isDigit(rs[j+2]) && isDigit(rs[j+3]) && (j+4 >= len(rs) || !isDigit(rs[j+4])) {
				grouped = true
				j += 4
			}
			if j+1 < len(rs) && rs[j] == '.' && isDigit(rs[j+1]) {
				j++
				for j < len(rs) && isDigit(rs[j]) {
					j++
				}
			}
			txt := strings.ReplaceAll(string(rs[k:j]), ",", "")
			v, err := strconv.ParseFloat(txt, 64)
			if err != nil || j-k > maxNumberRunes {
				return 0, j, chinese, approx, grouped, false
			}
			es = append(es, elem{digit: v, arab: true})
			k = j
			continue
		case r == '零' || r == '〇':
			es = append(es, elem{zero: true})
		case r == '几':
			es = append(es, elem{few: true})
		default:
			if d, ok := cnDigits[r]; ok {
				es = append(es, elem{digit: float64(d)})
			} else if u, ok := cnUnits[r]; ok {
				es = append(es, elem{unit: u})
			} else {
				goto done
			}
		}
		chinese = true
		k++
	}
done:
	if len(es) == 0 {
		return 0, 0, false, false, false, false
	}
	// A number that ends in a unit alone (「万一」 starts with 万) is no number.
	if es[0].unit >= 1e4 || (es[0].unit > 10 && es[0].unit < 1e4) {
		return 0, 0, false, false, false, false
	}
	// Digits only: 二〇二一, 六二〇〇 are read digit by digit; 三五, 七八 are "a few".
	unitless := true
	for _, e := range es {
		if e.unit != 0 {
			unitless = false
		}
	}
	if unitless {
		if len(es) == 1 {
			if es[0].few {
				return 0, k, chinese, true, grouped, true
			}
			if es[0].zero {
				return 0, k, chinese, false, grouped, true
			}
			return es[0].digit, k, chinese, false, grouped, true
		}
		hasZero, txt := false, ""
		for _, e := range es {
			switch {
			case e.few:
				return 0, k, chinese, true, grouped, true
			case e.arab:
				return 0, k, chinese, false, grouped, false // 3二: not a numeral anybody writes
			case e.zero:
				hasZero = true
				txt += "0"
			default:
				txt += strconv.Itoa(int(e.digit))
			}
		}
		if !hasZero && len(es) == 2 {
			return 0, k, chinese, true, grouped, true
		}
		v, _ := strconv.ParseFloat(txt, 64)
		return v, k, chinese, false, grouped, true
	}
	var total, section, lastUnit float64
	pending, have, zero := 0.0, false, false
	valid = true
	for _, e := range es {
		switch {
		case e.few:
			approx = true
			pending, have = 1, true
		case e.zero:
			zero = true
		case e.unit == 0:
			if have {
				approx = true // 二三十, 三四百
			}
			pending, have = e.digit, true
		case e.unit < 1e4:
			m := 1.0
			if have {
				m = pending
			} else if e.unit != 10 {
				valid = false
			}
			if lastUnit != 0 && lastUnit < 1e4 && e.unit >= lastUnit {
				valid = false // 百千, 十十
			}
			section += m * e.unit
			lastUnit, have, zero = e.unit, false, false
		default: // 万, 亿
			if have {
				section += pending
			}
			if section == 0 && total == 0 {
				valid = false
			}
			if e.unit == 1e8 {
				total = (total + section) * e.unit
			} else {
				total += section * e.unit
			}
			section, lastUnit, have, zero = 0, e.unit, false, false
		}
	}
	if have {
		if lastUnit >= 100 && !zero && pending < 10 && pending == math.Trunc(pending) {
			section += pending * lastUnit / 10 // 三千二 = 3200, 两万三 = 23000
		} else {
			section += pending
		}
	}
	return total + section, k, chinese, approx, grouped, valid
}

// markRanges makes both ends of 「30-40」「三十到四十」 ambiguous.
func markRanges(s string, ns []Number) {
	for i := 0; i+1 < len(ns); i++ {
		a, b := &ns[i], &ns[i+1]
		if b.Pos < a.End {
			continue
		}
		gap := s[a.End:b.Pos]
		if b.Negative && strings.HasPrefix(b.Text, "-") {
			// 「30-40」: the dash was read as a sign.
			if strings.TrimSpace(gap) == "" {
				b.Negative, b.Value, b.Pos, b.Text = false, -b.Value, b.Pos+1, b.Text[1:]
				gap = "-"
			}
		}
		switch strings.TrimSpace(gap) {
		case "-", "~", "到", "至", "或", "或者":
			for _, n := range []*Number{a, b} {
				n.Status, n.Why = Ambiguous, whyRange(s[a.Pos:b.End])
			}
		}
	}
}
