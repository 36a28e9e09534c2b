package reader

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Review is what an office command (退回 / 初审通过 / 批复) names after its command word.
type Review struct {
	Community CommunityMatch
	// Item is the key of an item word written as the object of the command
	// (「退回 大辛 候选人 年龄超过规定」 → candidates), "" when none was.
	Item, ItemWord string
	// Reason is the free text left: 「候选人年龄超过规定」, with 原因是/因为 dropped.
	Reason string
}

// noReasons stand where a reason goes but give none: 「免报 凤凰园 代表 无」.
var noReasons = []string{"无", "没有", "暂无", "略", "同上", "见上", "不详", "无原因", "没原因", "没什么", "好的", "收到", "知道了"}

// reasonLeads introduce a reason and are not part of it.
var reasonLeads = sortLongestFirst([]string{"原因是", "原因为", "原因", "理由是", "理由", "因为", "因", "是因为", "由于"})

// ReadReview reads an office command: s is the whole sentence and cmd its command word
// (from FindCommand). The community is the first name written in the sentence outside
// the command word (exactly, else near: 大新 → Close 大辛); an item word of items counts
// as the item only when it stands as a word of its own —
//
//   - it is the whole remainder (「退回 大辛 选举」), or
//   - a space or punctuation follows it (「退回 大辛 候选人 年龄超过规定」,
//     「退回大辛候选人名单：年龄超过规定」), or
//   - it comes before the command word (「大辛的候选人名单退回，年龄超过规定」) —
//
// so 「退回 大辛 候选人年龄超过规定」 has no item and the reason 「候选人年龄超过规定」.
func ReadReview(s string, cmd Command, names []string, items Vocabulary) Review {
	s = Normalize(s)
	var rv Review
	before, rest := s[:cmd.Pos], s[cmd.End:]
	restStart := cmd.End

	// The community: written exactly anywhere, else the first near name. Two communities
	// named together (「初审通过 大辛 太平」「大辛和太平」) are asked back: one command
	// decides for one; a community named later, in the reason, is the reason's.
	var found *Mention
	var exact []Mention
	for _, m := range FindCommunities(s, names) {
		if m.Pos >= cmd.Pos && m.Pos < cmd.End {
			continue
		}
		if m.Exact {
			exact = append(exact, m)
		}
		if found == nil || (m.Exact && !found.Exact) {
			mm := m
			found = &mm
		}
	}
	if both := namedTogether(s, exact, cmd); len(both) > 1 {
		rv.Community = CommunityMatch{Typed: found.Typed, Kind: Several, Candidates: both}
		return rv
	}
	if found != nil {
		kind := Close
		if found.Exact && standsAsName(s, *found, cmd, items) {
			kind = Exact
		}
		rv.Community = CommunityMatch{Typed: found.Typed, Kind: kind, Name: found.Name}
		if found.Pos >= restStart {
			// Text between the command word and the name is not the reason (「退回一下 大辛」).
			rest = s[found.End:]
			restStart = found.End
		} else {
			before = s[found.End:cmd.Pos]
		}
	} else {
		// No name we know: the first word after the command is what was typed for one.
		r := trimSeps(rest)
		word, tail, _ := strings.Cut(r, " ")
		if word != "" {
			rv.Community = MatchCommunity(word, names)
			rest = tail
		}
	}

	// An item word before the command word: 「大辛的候选人名单退回」.
	b := trimSeps(strings.TrimLeft(trimSeps(before), "的"))
	b = strings.TrimPrefix(b, "的")
	if w := longestWord(b, items, true); w != "" {
		rv.Item, rv.ItemWord = items[w], w
	}

	r := trimSeps(rest)
	r = strings.TrimPrefix(r, "的")
	if rv.Item == "" {
		if w := longestWord(r, items, false); w != "" {
			after := r[len(w):]
			next, _ := utf8.DecodeRuneInString(after)
			if after == "" || isSep(next) {
				rv.Item, rv.ItemWord = items[w], w
				r = trimSeps(after)
			}
		}
	}
	for {
		lead := prefixWord(r, reasonLeads)
		if lead == "" {
			break
		}
		after := r[len(lead):]
		next, _ := utf8.DecodeRuneInString(after)
		if !isSep(next) && lead != "原因是" && lead != "理由是" && lead != "因为" && lead != "由于" && lead != "是因为" && lead != "原因为" {
			break // 「原因不明」 keeps its word
		}
		r = trimSeps(after)
	}
	if strings.Trim(r, "了吧啊呀哈哦嗯谢 ") == "" || slices.Contains(noReasons, strings.Trim(r, "。！ ")) {
		r = "" // 「初审通过了」「批复一下吧，谢谢」「退回 大辛 无」 give no reason
	}
	rv.Reason = r
	return rv
}

// longestWord is the longest word of v that s begins with (or, with atEnd, ends with).
func longestWord(s string, v Vocabulary, atEnd bool) string {
	best := ""
	for w := range v {
		ok := strings.HasPrefix(s, w)
		if atEnd {
			ok = strings.HasSuffix(s, w)
		}
		if ok && len(w) > len(best) {
			best = w
		}
	}
	return best
}

// leadIns may stand right before a community's name in an office command: 「退回一下大辛」
// 「把大辛的候选人名单退回」.
var leadIns = sortLongestFirst([]string{"一下", "下", "了", "给", "对", "把", "将", "请", "关于", "同意"})

// nameFollowers may follow a community's name glued to it: 「退回大辛候选人年龄超过规定」
// 「大辛的选举结果批复」「退回大辛副会长人选需调整」.
var nameFollowers = sortLongestFirst([]string{"的", "了", "吧", "啊", "呀", "候选", "选举", "名单", "人选",
	"会长", "副会长", "秘书长", "副秘书长", "理事"})

// standsAsName reports whether a community's name written in an office command is a word
// of its own, not part of a longer one: 「大辛庄」 and 「老大辛」 may be another place, and
// are asked back (「您是不是要找「大辛」？」) rather than read as 大辛.
func standsAsName(s string, m Mention, cmd Command, items Vocabulary) bool {
	head := s[:m.Pos]
	if m.Pos >= cmd.End {
		head = s[cmd.End:m.Pos]
	}
	if r, _ := utf8.DecodeLastRuneInString(head); head != "" && isHan(r) {
		if w := suffixWord(head, leadIns); w == "" || (w != head && !glueEnds(head[:len(head)-len(w)])) {
			return false
		}
	}
	tail := s[m.End:]
	if m.End <= cmd.Pos {
		tail = s[m.End:cmd.Pos]
	}
	r, _ := utf8.DecodeRuneInString(tail)
	if tail == "" || !isHan(r) {
		return true
	}
	if prefixWord(tail, nameFollowers) != "" || prefixWord(tail, reasonLeads) != "" {
		return true
	}
	for w := range items {
		if strings.HasPrefix(tail, w) {
			return true
		}
	}
	return false
}

// glueEnds reports whether s ends where a word may begin: nothing, or not a Chinese character.
func glueEnds(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s == "" || !isHan(r)
}

// conjunctions join two names into one list: 「大辛和太平」「大辛、太平」.
var conjunctions = []string{"", "和", "与", "及", "以及", "跟", "还有", "同", "或", "或者"}

// namedTogether lists the different communities written side by side at the start of
// exact (nothing but spaces, punctuation, a conjunction or the command word between).
func namedTogether(s string, exact []Mention, cmd Command) []string {
	if len(exact) == 0 {
		return nil
	}
	out := []string{exact[0].Name}
	for i := 1; i < len(exact); i++ {
		gap := s[exact[i-1].End:exact[i].Pos]
		if exact[i-1].End <= cmd.Pos && cmd.End <= exact[i].Pos {
			gap = s[exact[i-1].End:cmd.Pos] + " " + s[cmd.End:exact[i].Pos]
		}
		if !slices.Contains(conjunctions, strings.ReplaceAll(trimSeps(gap), " ", "")) {
			break
		}
		if !slices.Contains(out, exact[i].Name) {
			out = append(out, exact[i].Name)
		}
	}
	return out
}
