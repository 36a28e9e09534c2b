package reader

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// Vocabulary maps each command word to the key of what it asks for: 「会员」→ members,
// 「会员代表」→ representatives, 「初审通过」→ approve. The caller owns it.
type Vocabulary map[string]string

// Command is the command word found in a sentence.
type Command struct {
	Key      string // the vocabulary's key
	Word     string // the word as in the vocabulary
	Pos, End int    // byte offsets of the word in Normalize(s)
	Before   string // the text before it: a greeting, the community's name, 请登记 …
	Rest     string // the text after it, trimmed of spaces and punctuation
}

// FindCommand finds the command word of s anywhere in it (normalised first): the word that
// starts first wins and, among words starting there, the longest — so 「会员代表推选了四十名」
// finds 会员代表, not 会员, and 「您好，大辛社区请登记：会员40人」 finds 会员. ASCII letters
// match in any case (HELP, Excel). ok is false when no word of v occurs. A caller that
// looks words up often compiles the vocabulary once (Compile).
func FindCommand(s string, v Vocabulary) (Command, bool) { return Compile(v).Find(s) }

// Matcher is a vocabulary prepared for FindCommand: its words by first character,
// longest first. It is read only and safe for concurrent use.
type Matcher struct {
	v       Vocabulary
	byFirst map[rune][]string // lower-cased first rune → words, longest first
	lower   map[string]string // word → its ASCII-lowered form
}

// Compile prepares v for many lookups.
func Compile(v Vocabulary) *Matcher {
	m := &Matcher{v: v, byFirst: map[rune][]string{}, lower: make(map[string]string, len(v))}
	for w := range v {
		lw := strings.ToLower(w)
		m.lower[w] = lw
		r, _ := utf8.DecodeRuneInString(lw)
		m.byFirst[r] = append(m.byFirst[r], w)
	}
	for _, ws := range m.byFirst {
		sort.Slice(ws, func(i, j int) bool {
			if len(ws[i]) != len(ws[j]) {
				return len(ws[i]) > len(ws[j])
			}
			return ws[i] < ws[j]
		})
	}
	return m
}

// Find is FindCommand with the prepared vocabulary.
func (m *Matcher) Find(s string) (Command, bool) {
	s = Normalize(s)
	lower := strings.ToLower(s) // ASCII lowering keeps byte offsets; other letters are compared as typed
	if len(lower) != len(s) {
		lower = s
	}
	for i := 0; i < len(lower); {
		r, size := utf8.DecodeRuneInString(lower[i:])
		for _, w := range m.byFirst[r] {
			if strings.HasPrefix(lower[i:], m.lower[w]) {
				end := i + len(w)
				return Command{Key: m.v[w], Word: w, Pos: i, End: end,
					Before: trimSeps(s[:i]), Rest: trimSeps(s[end:])}, true
			}
		}
		i += size
	}
	return Command{}, false
}

// Trap is a word of one key written inside a word of another key. The longer word wins
// when it is typed whole; a trap matters when people type a variant of the longer word
// that is not in the vocabulary (代表名单公示 is not 代表公示), which then reads as the
// shorter word's command. A test lists the traps it accepts, so a new one is a decision.
type Trap struct {
	Word, Key     string // the shorter word and its key: 代表 → representatives
	InWord, InKey string // the word it is inside and that word's key: 代表公示 → publicity
	Prefix        bool   // Word begins InWord (the usual trap: 会员 / 会员代表)
}

// Traps lists every word of v that occurs inside a word of another key, sorted.
func Traps(v Vocabulary) []Trap {
	var out []Trap
	for w, k := range v {
		for iw, ik := range v {
			if k == ik || w == iw || !strings.Contains(iw, w) {
				continue
			}
			out = append(out, Trap{Word: w, Key: k, InWord: iw, InKey: ik, Prefix: strings.HasPrefix(iw, w)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Word != out[j].Word {
			return out[i].Word < out[j].Word
		}
		return out[i].InWord < out[j].InWord
	})
	return out
}

// Misfires lists the words of v that FindCommand does not read as their own key when
// typed alone — which happens when an earlier-starting word of another key overlaps them.
// It should be empty for any vocabulary.
func Misfires(v Vocabulary) []string {
	var out []string
	for w, k := range v {
		if c, ok := FindCommand(w, v); !ok || c.Key != k {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}
