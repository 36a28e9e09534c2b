package handlers

import (
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"会员 320 人口 6200", []string{"会员", "320", "人口", "6200"}},
		{"会员320人 人口6200人", []string{"会员", "320", "人口", "6200"}},
		{"会员320人口6200", []string{"会员", "320", "人口", "6200"}},
		{"会员320名总人口6200", []string{"会员", "320", "总人口", "6200"}},
		{"公示 7月3日", []string{"公示", "7月3日"}},
		{"公示7月3号", []string{"公示", "7月3号"}},
		{"选举 2021-07-10 理事会11人", []string{"选举", "2021-07-10", "理事会", "11"}},
		{"选举 7.10 会长崔宏", []string{"选举", "7.10", "会长崔宏"}},
		{"代表40名", []string{"代表", "40"}},
		{"理事 五老5 贤达3 村干部3", []string{"理事", "五老", "5", "贤达", "3", "村干部", "3"}},
	} {
		if got := tokenize(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
