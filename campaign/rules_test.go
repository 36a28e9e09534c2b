package campaign

import (
	"strconv"
	"strings"
	"testing"
)

// chengxi2021 are the rules of the 城西 2021 plan (000 §二, §五).
var chengxi2021 = Rules{
	MemberShareMin:      0.05,
	RepresentativeBands: []Band{{999, 30}, {2000, 40}, {0, 50}},
	PublicityDays:       3,
	Council:             Council{Min: 9, Max: 11},
	Photos:              PhotoRule{Min: 6, Max: 10, Format: "jpg"},
}

func TestMemberShare(t *testing.T) {
	for _, tc := range []struct {
		members, population int
		share               string
		flag                string
	}{
		{320, 6200, "5.2%", ""},
		{310, 6200, "5%", ""},
		{300, 6200, "4.8%", "低于要求的 5%（至少需要 310 名会员）"},
		{50, 40, "125%", "超过了总人口"},
		{10, 0, "0%", "总人口必须大于 0"},
	} {
		share, flags := chengxi2021.MemberShare(tc.members, tc.population)
		if Percent(share) != tc.share {
			t.Errorf("%d/%d: share %s, want %s", tc.members, tc.population, Percent(share), tc.share)
		}
		joined := strings.Join(flags, ";")
		if (tc.flag == "") != (joined == "") || !strings.Contains(joined, tc.flag) {
			t.Errorf("%d/%d: flags %q, want %q", tc.members, tc.population, joined, tc.flag)
		}
	}
}

func TestRepresentativeBands(t *testing.T) {
	for _, tc := range []struct {
		population, want int
		band             string
	}{
		{800, 30, "1000 人以下"}, {999, 30, "1000 人以下"}, {1000, 40, "1000-2000 人"},
		{2000, 40, "1000-2000 人"}, {2001, 50, "2001 人以上"}, {12000, 50, "2001 人以上"},
	} {
		if got := chengxi2021.RepresentativesFor(tc.population); got != tc.want {
			t.Errorf("population %d: %d representatives, want %d", tc.population, got, tc.want)
		}
		if got := chengxi2021.BandText(tc.population); got != tc.band {
			t.Errorf("population %d: band %q, want %q", tc.population, got, tc.band)
		}
	}
	if f := chengxi2021.CheckRepresentatives(40, 1500); f != nil {
		t.Errorf("40 for 1500 is right, got %v", f)
	}
	if f := chengxi2021.CheckRepresentatives(30, 1500); len(f) != 1 || !strings.Contains(f[0], "对应会员代表 40 名") {
		t.Errorf("30 for 1500: %v", f)
	}
}

func TestCouncil(t *testing.T) {
	rng := Council{Min: 9, Max: 11}
	for size, bad := range map[int]bool{8: true, 9: false, 11: false, 12: true} {
		if got := len(rng.CheckSize(size)) > 0; got != bad {
			t.Errorf("size %d: flagged %v, want %v", size, got, bad)
		}
	}
	village := Council{Makeup: []MakeupPart{{"五老", 5, nil}, {"社会贤达", 3, []string{"贤达", "致富能人"}}, {"村干部", 3, nil}}}
	if f := village.CheckSize(11); f != nil {
		t.Errorf("11 fits 5-3-3: %v", f)
	}
	if p, ok := village.Part("贤达"); !ok || p.Name != "社会贤达" {
		t.Errorf("alias lookup: %v %v", p, ok)
	}
	f := village.CheckMakeup(map[string]int{"五老": 5, "社会贤达": 2, "村干部": 3})
	if len(f) != 1 || f[0] != "社会贤达应为 3 人，报的是 2 人" {
		t.Errorf("make-up flags: %q", f)
	}
	if d := village.Describe(); d != "五老 5 人、社会贤达 3 人、村干部 3 人" {
		t.Errorf("describe: %s", d)
	}
}

func TestPublicityEnd(t *testing.T) {
	if got := chengxi2021.PublicityEnd(Date{2021, 6, 30}); got != (Date{2021, 7, 2}) {
		t.Fatalf("3 days from 6-30 end on %v", got)
	}
}

func TestPercentAgainst(t *testing.T) {
	for _, tc := range []struct {
		share, threshold float64
		want             string
	}{
		{308.0 / 6200, 0.05, "4.97%"},
		{310.0 / 6200, 0.05, "5%"},
		{320.0 / 6200, 0.05, "5.2%"},
		{0.04999, 0.05, "4.99%"},
		{499999.0 / 10000000, 0.05, "4.99%"},
		{36.0 / 900, 0.05, "4%"},
		{0.049, 0.05, "4.9%"},
	} {
		if got := PercentAgainst(tc.share, tc.threshold); got != tc.want {
			t.Errorf("%v against %v: %s, want %s", tc.share, tc.threshold, got, tc.want)
		}
	}
	// Whatever the figures, the printed share is on the real share's side of 5%.
	for whole := 1; whole <= 3000; whole += 7 {
		for part := whole / 25; part <= whole/15; part++ {
			printed, _ := strconv.ParseFloat(strings.TrimSuffix(PercentAgainst(float64(part)/float64(whole), 0.05), "%"), 64)
			if (printed < 5) != (part*100 < 5*whole) {
				t.Fatalf("%d/%d printed %v%%, on the wrong side of 5%%", part, whole, printed)
			}
		}
	}
	// The verdict and the figure agree: a share below the threshold never prints as it.
	_, flags := chengxi2021.MemberShare(308, 6200)
	if len(flags) != 1 || !strings.Contains(flags[0], "4.97%") {
		t.Errorf("308/6200: %q, want the flag to say 4.97%%", flags)
	}
}
