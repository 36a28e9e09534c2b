package reader

import (
	"fmt"
	"strings"
	"testing"
)

// brief prints the numbers of s as 「value/label/unit」 items, with ? for an uncertain one.
func brief(ns []Number) string {
	var parts []string
	for _, n := range ns {
		p := fmt.Sprintf("%v", n.Value)
		if n.Label != "" {
			p = n.Label + ":" + p
		}
		if n.Unit != "" {
			p += n.Unit
		}
		if n.LabelAfter != "" {
			p += ":" + n.LabelAfter
		}
		if n.Status != Certain {
			p += "?"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestNumbers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// The sentences.
		{"会员三十六人，人口九百", "会员:36人 人口:900"},
		{"大辛社区会员320人，总人口6200", "会员:320人 总人口:6200"},
		{"请登记：会员40人，人口800。", "会员:40人 人口:800"},
		{"我们社区的会员代表推选了四十名", "40名"},
		{"代表三十", "代表:30"},
		{"理事会 十一人", "理事会:11人"},
		{"会员 320 人口 6200", "会员:320 人口:6200"},
		// Chinese numerals.
		{"会员两百", "会员:200"},
		{"代表一百二十", "代表:120"},
		{"人口三千二", "人口:3200"},
		{"人口两万三", "人口:23000"},
		{"人口一千零五十", "人口:1050"},
		{"会员三百零八人", "会员:308人"},
		{"人口1千", "人口:1000"},
		{"人口1.2万", "人口:12000"},
		{"人口6千2百", "人口:6200"},
		{"人口0.62万", "人口:6200"},
		{"人口 六二〇〇", "人口:6200"},
		{"会员 ３２０", "会员:320"},
		{"人口 6,200", "人口:6200"},
		{"会长一名", "会长:1名"},
		{"三个人参加", "3人"},
		{"人口六千二百然后会员三百二", "人口:6200 会员:320"},
		{"会员一共有三百二十人", "会员:320人"},
		{"总人口是六千二百", "总人口:6200"},
		// Labels before and after, glued.
		{"320名会员，总人口6200人", "320名:会员 总人口:6200人"},
		{"会员320人口6200", "会员:320 人口:6200"},
		{"6200人口", "6200:人口"},
		{"会员七十五个人口一千五百", "会员:75人 人口:1500"},
		// Signs.
		{"会员 -5", "会员:-5"},
		{"会员负5", "会员:-5"},
		{"人口 负六千", "人口:-6000"},
		// Not numbers: words, ordinals, dates.
		{"第一次", ""},
		{"理事 五老5 贤达3 村干部3", "5 3 3"},
		{"两委成员一起", ""},
		{"四十亩地社区", ""},
		{"十分感谢", ""},
		{"千万别忘了", ""},
		{"公示 7月2日", ""},
		{"选举 2021-07-10 理事会11人", "理事会:11人"},
		{"公示 6号", ""},
		{"下周一", ""},
		// Uncertain.
		{"会员三百多人", "会员:300人?"},
		{"会员大约300人", "会员:300人?"},
		{"会员近300", "会员:300?"},
		{"会员300左右", "会员:300?"},
		{"会员300人左右", "会员:300人?"},
		{"代表四五十人", "代表:50人?"},
		{"会员十几个", "会员:11个?"},
		{"代表30-40人", "代表:30? 40人?"},
		{"理事会9到11人", "理事会:9? 11人?"},
		{"3.5", "3.5?"},
		// Decimals that are not dates.
		{"代表 3.5", "代表:3.5"},
		{"占5.2%", "5.2%"},
		{"13.5", "13.5"},
		{"人口6200（流动人口300）", "人口:6200 流动人口:300"},
		// Letters glued to digits: a 0 or 1 typed as a letter.
		{"会员 12OO", "会员:12?"},
		{"会员1O2人", "会员:1人?"},
		{"代表 O5", "代表:5?"},
		{"人口 6千二百O", "人口:6200?"},
		{"理事会 1l人", "理事会:1人?"},
		// Households are labelled as such.
		{"会员户 320", "会员户:320"},
		{"总户数2000户", "总户数:2000户"},
	} {
		if got := brief(Numbers(tc.in)); got != tc.want {
			t.Errorf("Numbers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNumberPositionsAndText(t *testing.T) {
	s := "您好，会员 -5，人口大约6200人"
	ns := Numbers(s)
	if len(ns) != 2 {
		t.Fatalf("Numbers(%q) = %+v", s, ns)
	}
	norm := Normalize(s)
	for _, n := range ns {
		if norm[n.Pos:n.End] != n.Text {
			t.Errorf("%q at %d:%d is %q in the normalised text", n.Text, n.Pos, n.End, norm[n.Pos:n.End])
		}
	}
	if !ns[0].Negative || ns[0].Text != "-5" {
		t.Errorf("first = %+v, want the negative -5", ns[0])
	}
	if ns[1].Status != Ambiguous || ns[1].Text != "大约6200人" || !strings.Contains(ns[1].Why, "大约6200人") {
		t.Errorf("second = %+v, want 「大约6200人」 Ambiguous with a reason naming it", ns[1])
	}
	if _, ok := ns[0].Int(); ok {
		t.Error("a negative number is no count")
	}
}

func TestAssign(t *testing.T) {
	members := []Slot{
		{Key: "members", Labels: []string{"会员", "会员数", "会员人数"}, Bare: true},
		{Key: "population", Labels: []string{"人口", "总人口"}, Max: 1_000_000},
	}
	for _, tc := range []struct {
		in, want string // want: members/population values, then the problems' count, then the missing keys
	}{
		{"会员三十六人，人口九百", "36/900 p0 m[]"},
		{"人口九百，会员三十六人", "36/900 p0 m[]"},
		{"320名会员，总人口6200人", "320/6200 p0 m[]"},
		{"会员 320 6200", "320/0 p1 m[population]"},
		{"会员 320", "320/0 p0 m[population]"},
		{"会员320人，人口6200，会员330人", "0/6200 p1 m[]"},
		{"会员320人，人口6200，会员320", "320/6200 p0 m[]"},
		{"会员 -5 人口 6200", "0/6200 p1 m[]"},
		{"会员 5% 人口 6200", "0/6200 p1 m[]"},
		{"会员三百多 人口 6200", "0/6200 p1 m[]"},
		{"会员320，人口6200，占5.2%", "320/6200 p0 m[]"},
		{"会员320 人口6200 代表50", "320/6200 p0 m[]"},
		{"会员 320户 人口 6200", "0/6200 p1 m[]"},
		{"会员320人 2000户 人口6200人", "320/6200 p0 m[]"},
		{"会员320人 总户数2000户 人口6200人", "320/6200 p0 m[]"},
		{"会员 12OO 人口 6200", "0/6200 p1 m[]"},
		{"会员 320 人口 7000000", "320/0 p1 m[]"},
	} {
		a := Assign(Numbers(tc.in), members)
		got := fmt.Sprintf("%d/%d p%d m%v", a.Values["members"], a.Values["population"], len(a.Problems), a.Missing)
		if got != tc.want {
			t.Errorf("Assign(%q) = %s %+v, want %s", tc.in, got, a.Problems, tc.want)
		}
		if a.OK() != (tc.want[len(tc.want)-3:] == "m[]" && strings.Contains(tc.want, "p0")) {
			t.Errorf("Assign(%q).OK() = %v", tc.in, a.OK())
		}
	}
	a := Assign(Numbers("会员320 人口6200 代表50"), members)
	if len(a.Extra) != 1 || a.Extra[0].Label != "代表" {
		t.Errorf("代表 50 in a members filing: Extra = %+v, want the one number named 代表", a.Extra)
	}
}
