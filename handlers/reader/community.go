package reader

import (
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
)

// MatchKind says how a typed name matched the configured communities.
type MatchKind int

const (
	NoMatch MatchKind = iota // nothing near: list the names
	Exact                    // the name itself (社区/居委会 around it ignored)
	Close                    // one name is near: ask 「您是不是要找「大辛」？」
	Several                  // several names are equally near: ask which
)

// CommunityMatch is what a typed community name matched.
type CommunityMatch struct {
	Typed      string
	Kind       MatchKind
	Name       string   // Exact or Close: the configured name
	Candidates []string // Several: the names in question, in configuration order
}

// Question is the reply to a Close or Several match: 「您是不是要找「大辛」？」; "" otherwise.
func (m CommunityMatch) Question() string {
	switch m.Kind {
	case Close:
		return questionOne(m.Name)
	case Several:
		return questionSeveral(m.Candidates)
	}
	return ""
}

// nameSuffixes are written after a community's name and are not part of it.
var nameSuffixes = sortLongestFirst([]string{"社区居委会", "社区居民委员会", "居委会", "居委", "社区", "村委会", "村"})

// bareName strips spaces and a 社区/居委会 suffix.
func bareName(s string) string {
	s = strings.ReplaceAll(trimSeps(Normalize(s)), " ", "")
	if w := suffixWord(s, nameSuffixes); w != "" && len(s) > len(w) {
		s = strings.TrimSuffix(s, w)
	}
	return s
}

// MatchCommunity matches a typed name against names. A name is near when it sounds the
// same (大新 → 大辛, 李家瑶 → 李家窑, with the usual z/zh, c/ch, s/sh, n/l, -n/-ng
// confusions of voice input: 双三 → 双山), or, for names of three characters or more,
// when one character is missing, extra or wrong (西治街 → 西冶街, 四十亩 → 四十亩地).
// Two-character names only match by sound: 大成 and 大辛 differ by one character.
func MatchCommunity(typed string, names []string) CommunityMatch {
	t := bareName(typed)
	m := CommunityMatch{Typed: typed}
	if t == "" {
		return m
	}
	for _, n := range names {
		if t == n || t == bareName(n) {
			m.Kind, m.Name = Exact, n
			return m
		}
	}
	if utf8.RuneCountInString(t) > 12 {
		return m
	}
	best := -1.0
	var near []string
	for _, n := range names {
		c, ok := nameCost(t, bareName(n))
		if !ok {
			continue
		}
		switch {
		case best < 0 || c < best:
			best, near = c, []string{n}
		case c == best:
			near = append(near, n)
		}
	}
	switch len(near) {
	case 0:
	case 1:
		m.Kind, m.Name = Close, near[0]
	default:
		m.Kind, m.Candidates = Several, near
	}
	return m
}

// nameCost is a weighted edit distance: a homophone costs 0.25, any other change 1.
// ok says whether typed is near enough to name at all.
func nameCost(typed, name string) (float64, bool) {
	a, b := []rune(typed), []rune(name)
	if len(a) < 2 {
		return 0, false
	}
	prev := make([]float64, len(b)+1)
	cur := make([]float64, len(b)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(b); j++ {
			sub := 1.0
			switch {
			case a[i-1] == b[j-1]:
				sub = 0
			case soundsAlike(a[i-1], b[j-1]):
				sub = 0.25
			}
			cur[j] = min(prev[j-1]+sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	c := prev[len(b)]
	switch {
	case c <= 0.5: // one or two homophones
		return c, true
	case len(b) >= 3 && c <= 1 && len(a) >= 2:
		return c, true
	}
	return c, false
}

// soundsAlike reports whether two characters share a reading, toneless, after folding the
// sounds that voice input and southern speakers confuse.
func soundsAlike(a, b rune) bool {
	for _, x := range readings(a) {
		for _, y := range readings(b) {
			if x == y {
				return true
			}
		}
	}
	return false
}

var pinyinArgs = func() pinyin.Args {
	a := pinyin.NewArgs()
	a.Style = pinyin.Normal
	a.Heteronym = true
	a.Fallback = func(rune, pinyin.Args) []string { return nil }
	return a
}()

// readingCache keeps each character's readings: go-pinyin styles them with regular
// expressions, which costs more than everything else the readers do.
var readingCache sync.Map // rune → []string

// readings are the folded toneless readings of r (none for a character go-pinyin lacks).
func readings(r rune) []string {
	if !isHan(r) {
		return nil
	}
	if v, ok := readingCache.Load(r); ok {
		return v.([]string)
	}
	ps := pinyin.SinglePinyin(r, pinyinArgs)
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, foldSound(p))
	}
	readingCache.Store(r, out)
	return out
}

// foldSound merges zh/z, ch/c, sh/s, n/l and the -ng finals into one spelling.
func foldSound(p string) string {
	for _, f := range [][2]string{{"zh", "z"}, {"ch", "c"}, {"sh", "s"}} {
		if strings.HasPrefix(p, f[0]) {
			p = f[1] + p[len(f[0]):]
		}
	}
	if strings.HasPrefix(p, "n") && p != "n" && p != "ng" {
		p = "l" + p[1:]
	}
	for _, f := range [][2]string{{"ang", "an"}, {"eng", "en"}, {"ing", "in"}} {
		if strings.HasSuffix(p, f[0]) {
			p = p[:len(p)-len(f[0])] + f[1]
		}
	}
	return p
}

// Mention is a community named in a sentence.
type Mention struct {
	Name     string // the configured name
	Typed    string // as written: 大辛社区, 大新
	Pos, End int    // byte offsets of Typed in Normalize(s)
	Exact    bool   // false: a near name (大新 for 大辛), to be confirmed
}

// FindCommunities lists the communities named anywhere in s (normalised first), left to
// right: every configured name written out (大辛, 大辛社区), and near names that stand as
// a word of their own (「… 6200 大新」) or before 社区 (「大新社区」). A caller compares
// them with the sender's community: 太平's secretary writing 「会员 320 人口 6200 大辛」
// names 大辛.
func FindCommunities(s string, names []string) []Mention {
	s = Normalize(s)
	ordered := append([]string(nil), names...)
	sort.SliceStable(ordered, func(i, j int) bool { return len(ordered[i]) > len(ordered[j]) })
	taken := make([]bool, len(s))
	var out []Mention
	free := func(p, e int) bool {
		for k := p; k < e; k++ {
			if taken[k] {
				return false
			}
		}
		return true
	}
	take := func(m Mention) {
		for k := m.Pos; k < m.End; k++ {
			taken[k] = true
		}
		out = append(out, m)
	}
	for _, n := range ordered {
		if n == "" {
			continue
		}
		for from := 0; from < len(s); {
			k := strings.Index(s[from:], n)
			if k < 0 {
				break
			}
			p, e := from+k, from+k+len(n)
			if w := prefixWord(s[e:], nameSuffixes); w != "" && w != "村" {
				e += len(w)
			}
			if free(p, e) {
				take(Mention{Name: n, Typed: s[p:e], Pos: p, End: e, Exact: true})
			}
			from = p + len(n)
		}
	}
	// Near names: a run of Chinese characters of its own, or the characters before 社区.
	for _, w := range hanRuns(s) {
		if !free(w.pos, w.end) {
			continue
		}
		word := s[w.pos:w.end]
		if idx := strings.Index(word, "社区"); idx > 0 {
			head := word[:idx]
			// Try the last two to four characters before 社区: 我们大新社区 → 大新.
			rs := []rune(head)
			for n := 2; n <= 4 && n <= len(rs); n++ {
				cand := string(rs[len(rs)-n:])
				if m := MatchCommunity(cand, names); m.Kind == Close {
					p := w.pos + len(head) - len(cand)
					take(Mention{Name: m.Name, Typed: s[p : w.pos+idx+len("社区")], Pos: p, End: w.pos + idx + len("社区")})
					break
				}
			}
			continue
		}
		if n := utf8.RuneCountInString(word); n < 2 || n > 5 {
			continue
		}
		if prefixWord(word, countLabels) == word || suffixWord(word, countLabels) == word {
			continue
		}
		if m := MatchCommunity(word, names); m.Kind == Close {
			take(Mention{Name: m.Name, Typed: word, Pos: w.pos, End: w.end})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pos < out[j].Pos })
	return out
}

type run struct{ pos, end int }

// hanRuns are the maximal runs of Chinese characters in s.
func hanRuns(s string) []run {
	var out []run
	start := -1
	for i, r := range s {
		switch {
		case isHan(r) && start < 0:
			start = i
		case !isHan(r) && start >= 0:
			out = append(out, run{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, run{start, len(s)})
	}
	return out
}
