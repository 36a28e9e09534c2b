package reader

import (
	"slices"
	"testing"
)

func TestFindCommand(t *testing.T) {
	for _, tc := range []struct {
		in, key, word, before, rest string
	}{
		{"会员 320 人口 6200", "members", "会员", "", "320 人口 6200"},
		{"您好，大辛社区请登记：会员40人，人口800。", "members", "会员", "您好，大辛社区请登记", "40人，人口800"},
		{"请登记：会员40人，人口800。", "members", "会员", "请登记", "40人，人口800"},
		{"我们社区的会员代表推选了四十名", "representatives", "会员代表", "我们社区的", "推选了四十名"},
		{"7月10日召开会员代表大会，选举崔宏为会长", "election", "会员代表大会", "7月10日召开", "选举崔宏为会长"},
		{"新任培训 已参加", "officer_training", "新任培训", "", "已参加"},
		{"培训 已参加 七月七日", "training", "培训", "", "已参加 七月七日"},
		{"代表名单从7月2日开始公示", "publicity", "代表名单", "", "从7月2日开始公示"},
		{"代表 会员大会", "representatives", "代表", "", "会员大会"},
		{"公示从明天开始", "publicity", "公示", "", "从明天开始"},
		{"ＨＥＬＰ", "help", "help", "", ""},
	} {
		c, ok := FindCommand(tc.in, secretaryWords)
		if !ok || c.Key != tc.key || c.Word != tc.word || c.Before != tc.before || c.Rest != tc.rest {
			t.Errorf("FindCommand(%q) = %+v %v, want %s %s before %q rest %q", tc.in, c, ok, tc.key, tc.word, tc.before, tc.rest)
			continue
		}
		if n := Normalize(tc.in); n[c.Pos:c.End] != c.Word && !eqFoldASCII(n[c.Pos:c.End], c.Word) {
			t.Errorf("FindCommand(%q): %d:%d is not %q", tc.in, c.Pos, c.End, c.Word)
		}
	}
	if c, ok := FindCommand("人口6200", secretaryWords); ok {
		t.Errorf("人口6200 has no command word, found %+v", c)
	}
	// By role: the office's vocabulary finds its verb after an item word.
	if c, _ := FindCommand("大辛社区候选人名单初审通过", officeWords); c.Key != "approve_candidates" {
		t.Errorf("office: %+v, want approve_candidates", c)
	}
}

func eqFoldASCII(a, b string) bool { return len(a) == len(b) && lowerASCII(a) == lowerASCII(b) }

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func TestTraps(t *testing.T) {
	if m := Misfires(secretaryWords); len(m) > 0 {
		t.Errorf("words that do not find their own key: %v", m)
	}
	traps := Traps(secretaryWords)
	has := func(w, in string, prefix bool) bool {
		return slices.ContainsFunc(traps, func(tr Trap) bool { return tr.Word == w && tr.InWord == in && tr.Prefix == prefix })
	}
	for _, want := range []struct {
		w, in  string
		prefix bool
	}{
		{"会员", "会员代表", true}, {"会员代表", "会员代表大会", true}, {"代表", "代表公示", true},
		{"培训", "新任培训", false}, {"代表", "会员代表名单", false},
	} {
		if !has(want.w, want.in, want.prefix) {
			t.Errorf("Traps misses %s inside %s", want.w, want.in)
		}
	}
	for _, tr := range traps {
		if tr.Key == tr.InKey {
			t.Errorf("a word inside another of the same key is no trap: %+v", tr)
		}
	}
	// A vocabulary with the same word for two keys cannot exist (a map); one whose
	// word starts inside another's misfires.
	if m := Misfires(Vocabulary{"员代": "a", "会员代表": "b"}); len(m) != 0 {
		t.Errorf("Misfires = %v", m)
	}
}

func init() { secretaryWords["help"] = "help" }
