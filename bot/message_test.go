package bot

import "testing"

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"@换届助手 进度", "进度"},
		{"@换届助手\u3000会员\u3000３２０，人口６２００", "会员 320 人口6200"}, // label and number glued: the command parser splits them
		{"  @换届助手   @张三  哪些社区还没报？ ", "哪些社区还没报?"},
		{"公示：7月3日", "公示 7月3日"},
		{"理事 张三、李四；王五", "理事 张三 李四 王五"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
