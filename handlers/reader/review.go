package reader

import (
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

	// The community: written exactly anywhere, else the first near name.
	var found *Mention
	for _, m := range FindCommunities(s, names) {
		if m.Pos >= cmd.Pos && m.Pos < cmd.End {
			continue
		}
		if found == nil || (m.Exact && !found.Exact) {
			mm := m
			found = &mm
		}
	}
	if found != nil {
		kind := Close
		if found.Exact {
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
	if strings.Trim(r, "了吧啊呀哈哦嗯谢 ") == "" {
		r = "" // 「初审通过了」「批复一下吧，谢谢」 give no reason
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
