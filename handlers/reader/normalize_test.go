package reader

import "testing"

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"会员　３２０，人口：６２００。", "会员 320，人口：6200。"},
		{"  公示\t７月２日 \n", "公示 7月2日"},
		{"阿卜杜热合曼·艾买提江", "阿卜杜热合曼·艾买提江"},
		{"阿卜杜热合曼•艾买提江", "阿卜杜热合曼·艾买提江"},
		{"阿卜杜热合曼・艾买提江", "阿卜杜热合曼·艾买提江"},
		{"阿卜杜热合曼 ‧ 艾买提江", "阿卜杜热合曼·艾买提江"},
		{"• 会员 320", "会员 320"},
		{"人口 6,200", "人口 6,200"},
		{"人口 6，200", "人口 6,200"},
		{"会员40，人口800", "会员40，人口800"},
		{"会员40,800", "会员40,800"},
		{"9：30开会", "9:30开会"},
		{"会员－5", "会员-5"},
		{"7月2日—7月4日", "7月2日-7月4日"},
		{"会员\u200b320", "会员 320"},
		{"（已参加）", "(已参加)"},
		{"５％", "5%"},
		{"ＨＥＬＰ", "HELP"},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if normal(tc.in) && tc.in != tc.want {
			t.Errorf("the shortcut takes %q as normal", tc.in)
		}
		if again := normalize(Normalize(tc.in)); again != Normalize(tc.in) {
			t.Errorf("Normalize is not idempotent on %q: %q", tc.in, again)
		}
	}
}

// TestNormalizeNormalFree: a line already normal is returned as it is, without an
// allocation, as every reader normalises the line it gets again.
func TestNormalizeNormalFree(t *testing.T) {
	for _, s := range []string{"会员 320 人口 6200", "进度", "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", ""} {
		if !normal(s) || Normalize(s) != s {
			t.Errorf("%q is normal", s)
		}
		if n := testing.AllocsPerRun(100, func() { _ = Normalize(s) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times", s, n)
		}
	}
	for _, s := range []string{" 进度", "进度 ", "会员  320", "会员,320", "9:30", "会员\t320", "阿卜杜热合曼·艾买提江", "（已参加）"} {
		if normal(s) {
			t.Errorf("%q taken as normal", s)
		}
	}
}
