package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// token patterns, tried in order at each position of a normalised line.
var (
	tokDate   = regexp.MustCompile(`^(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?|\d{1,2}月\d{1,2}[日号]?|\d{1,2}[-/.]\d{1,2}(?:[日号])?)`)
	tokNumber = regexp.MustCompile(`^\d+`)
	tokWord   = regexp.MustCompile(`^[^\s\d]+`)
)

// units that may follow a number and carry no meaning of their own.
const units = "人名位个张"

// labels are words that may be glued to a unit after a number ("320人总人口6200").
var labels = []string{"人口", "总人口", "会长", "副会长", "秘书长", "副秘书长", "理事", "理事会", "组长"}

// tokenize splits a normalised command line into words, numbers and dates. People type
// "会员320人，人口6200" as readily as "会员 320 人口 6200"; both give 会员 320 人口 6200.
func tokenize(s string) []string {
	var out []string
	for _, field := range strings.Fields(s) {
		for field != "" {
			if m := tokDate.FindString(field); m != "" && !followedByDigit(field, m) {
				out = append(out, m)
				field = field[len(m):]
				continue
			}
			if m := tokNumber.FindString(field); m != "" {
				out = append(out, m)
				field = dropUnit(field[len(m):])
				continue
			}
			m := tokWord.FindString(field)
			out = append(out, m)
			field = field[len(m):]
		}
	}
	return out
}

func followedByDigit(field, m string) bool {
	rest := field[len(m):]
	return rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

// dropUnit removes a unit after a number unless it begins a real word (人口).
func dropUnit(rest string) string {
	r, size := utf8.DecodeRuneInString(rest)
	if size == 0 || !strings.ContainsRune(units, r) {
		return rest
	}
	after := rest[size:]
	if after == "" || after[0] == ' ' || (after[0] >= '0' && after[0] <= '9') {
		return after
	}
	for _, l := range labels {
		if strings.HasPrefix(after, l) {
			return after
		}
	}
	return rest
}

// number reads a whole non-negative number.
func number(tok string) (int, bool) {
	n, err := strconv.Atoi(tok)
	return n, err == nil && n >= 0
}
