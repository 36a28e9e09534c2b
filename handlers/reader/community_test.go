package reader

import (
	"fmt"
	"strings"
	"testing"
)

var fifteen = strings.Split("大辛 李家窑 太平 柳杭 西冶街 双山 凤凰园 税务街 白虎山 新坦 四十亩地 龙泽园 吉光 大成 北山", " ")

func TestMatchCommunity(t *testing.T) {
	for _, tc := range []struct{ typed, want string }{
		{"大辛", "exact 大辛"}, {"大辛社区", "exact 大辛"}, {"大辛社区居委会", "exact 大辛"}, {" 太平 ", "exact 太平"},
		{"大新", "close 大辛"}, {"大心", "close 大辛"}, {"李家瑶", "close 李家窑"}, {"西治街", "close 西冶街"},
		{"四十亩", "close 四十亩地"}, {"凤凰圆", "close 凤凰园"}, {"白虎", "close 白虎山"}, {"大城", "close 大成"},
		{"双三", "close 双山"}, {"吉广", "close 吉光"}, {"北三", "close 北山"}, {"柳航", "close 柳杭"},
		{"泰平", "close 太平"}, {"税物街", "close 税务街"}, {"新滩", "close 新坦"}, {"龙泽源", "close 龙泽园"},
		{"大平", "close 太平"}, {"东关", "none"}, {"城东", "none"}, {"", "none"}, {"大", "none"}, {"会员", "none"},
	} {
		m := MatchCommunity(tc.typed, fifteen)
		got := "none"
		switch m.Kind {
		case Exact:
			got = "exact " + m.Name
		case Close:
			got = "close " + m.Name
		case Several:
			got = fmt.Sprint("several ", m.Candidates)
		}
		if got != tc.want {
			t.Errorf("MatchCommunity(%q) = %s, want %s", tc.typed, got, tc.want)
		}
	}
	if q := MatchCommunity("大新", fifteen).Question(); q != "您是不是要找「大辛」？" {
		t.Errorf("question = %q", q)
	}
	if m := MatchCommunity("大兴", []string{"大辛", "大新"}); m.Kind != Several || m.Question() != "您说的是「大辛」、「大新」中的哪一个？" {
		t.Errorf("two homophones: %+v %q", m, m.Question())
	}
}

func TestFindCommunities(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"会员 320 人口 6200 大辛", "大辛"},
		{"大辛社区会员320人，总人口6200", "大辛"},
		{"会员 320 人口 6200 大新", "~大辛"},
		{"我们大新社区会员320", "~大辛"},
		{"替大成社区报一下：会员40人", "大成"},
		{"四十亩地社区会员120人", "四十亩地"},
		{"会员 320 人口 6200", ""},
		{"太平和大辛都报了", "太平 大辛"},
		{"我们社区的会员代表推选了四十名", ""},
		{"培训 已参加 七月七日", ""},
	} {
		var parts []string
		for _, m := range FindCommunities(tc.in, fifteen) {
			p := m.Name
			if !m.Exact {
				p = "~" + p
			}
			if Normalize(tc.in)[m.Pos:m.End] != m.Typed {
				t.Errorf("FindCommunities(%q): %d:%d is not %q", tc.in, m.Pos, m.End, m.Typed)
			}
			parts = append(parts, p)
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("FindCommunities(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
