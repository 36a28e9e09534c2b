package reader

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"huanjie/campaign"
)

func day(m, d int) campaign.Date { return campaign.Date{Year: 2021, Month: timeMonth(m), Day: d} }

// briefDates prints the dates of s: 7-06 for a certain day, ?7-07/7-14 for an ambiguous
// one, ! for an invalid one; S/E mark a range's start and end.
func briefDates(ds []Date) string {
	var parts []string
	for _, d := range ds {
		var p string
		switch d.Status {
		case Certain:
			p = fmt.Sprintf("%d-%02d", d.Day.Month, d.Day.Day)
			if d.Day.Year != 2021 {
				p = fmt.Sprintf("%d-", d.Day.Year) + p
			}
		case Ambiguous:
			var cs []string
			for _, c := range d.Candidates {
				cs = append(cs, fmt.Sprintf("%d-%02d", c.Month, c.Day))
			}
			p = "?" + strings.Join(cs, "/")
		case Invalid:
			p = "!"
		}
		switch d.Role {
		case Start:
			p += "S"
		case End:
			p += "E"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestDates(t *testing.T) {
	mon := Clock{Today: day(7, 5), Year: 2021} // Monday 7月5日
	thu := Clock{Today: day(7, 8), Year: 2021}
	fri2 := Clock{Today: day(7, 2), Year: 2021}
	for _, tc := range []struct {
		in   string
		c    Clock
		want string
	}{
		// The sentences, on 7月5日 and 7月8日.
		{"公示从明天开始", mon, "7-06S"},
		{"公示明天开始", mon, "7-06S"},
		{"公示 明天起", mon, "7-06S"},
		{"公示 6号", mon, "7-06"},
		{"公示 下周一", mon, "7-12"},
		{"公示 七月六日", mon, "7-06"},
		{"培训 已参加 七月七日", thu, "7-07"},
		// Absolute forms.
		{"7月2日", mon, "7-02"}, {"7月2号", mon, "7-02"}, {"7月2", mon, "7-02"},
		{"7.2", mon, "?7-02"}, {"公示 7.2", mon, "7-02"}, {"7.10", mon, "7-10"}, {"07.2", mon, "7-02"},
		{"7/2", mon, "7-02"}, {"7-2", mon, "7-02"}, {"7.3号", mon, "7-03"},
		{"2021-07-02", mon, "7-02"}, {"2021.7.2", mon, "7-02"}, {"2021/7/2", mon, "7-02"},
		{"2021年7月2日", mon, "7-02"}, {"二〇二一年七月二日", mon, "7-02"}, {"七月六号", mon, "7-06"},
		{"七月二十日", mon, "7-20"}, {"2020-07-02", mon, "2020-7-02"},
		// Ranges.
		{"7月2日-4日", mon, "7-02S 7-04E"}, {"7月5日至7月7日", mon, "7-05S 7-07E"},
		{"7.2-7.4", mon, "?7-02S 7-04E"}, {"公示7.2-7.4", mon, "7-02S 7-04E"}, {"2-4号", mon, "7-02S 7-04E"},
		// Relative.
		{"今天", mon, "7-05"}, {"明天", mon, "7-06"}, {"后天", mon, "7-07"}, {"大后天", mon, "7-08"},
		{"昨天", mon, "7-04"}, {"前天", mon, "7-03"}, {"大前天", mon, "7-02"},
		{"本周五", mon, "7-09"}, {"这周五", mon, "7-09"}, {"这个星期五", mon, "7-09"}, {"下周一", mon, "7-12"},
		{"下星期一", fri2, "7-05"}, {"下礼拜天", mon, "7-18"}, {"上周五", mon, "7-02"}, {"本周一", thu, "7-05"},
		{"本月6号", fri2, "7-06"}, {"下个月2号", mon, "8-02"}, {"上个月30号", fri2, "6-30"},
		// Bare weekdays: by the sentence's direction, else asked.
		{"周三", mon, "?6-30/7-07"}, {"星期三已参加", thu, "7-07"}, {"礼拜三参加了", thu, "7-07"},
		{"准备周三开", mon, "7-07"}, {"周三开始", mon, "7-07S"}, {"周三开始的", thu, "7-07S"}, {"周一", mon, "7-05"},
		{"培训 周三", thu, "?7-07/7-14"},
		// Bare days.
		{"30号", fri2, "?7-30/6-30"}, {"30号已参加", fri2, "6-30"}, {"1号已参加", mon, "7-01"}, {"3号开始", fri2, "7-03S"},
		// Invalid and never a day.
		{"2月30日", mon, "!"}, {"13月1日", mon, "!"}, {"7月32日", mon, "!"}, {"0000-07-02", mon, "!"},
		{"9999-12-31", mon, "!"}, {"2012-07-06", mon, "!"},
		{"7月", mon, "?"}, {"7月上旬", mon, "?"}, {"7月份", mon, "?"}, {"2021年7月", mon, "?"}, {"周末", mon, "?"},
		// A day written twice over: one date, asked back when the two disagree.
		{"今天7月5日", mon, "7-05"}, {"今天(7月5日)开始", mon, "7-05S"}, {"7月8日周四", mon, "7-08"},
		{"7月8日(星期四)开始", mon, "7-08S"}, {"周四(7月8日)", mon, "7-08"}, {"7月12日下周一", mon, "7-12"},
		{"今天周一", mon, "7-05"}, {"8号周四", mon, "7-08"}, {"7月8日周四到7月10日周六", mon, "7-08S 7-10E"},
		{"今天7月8日", mon, "?7-05/7-08"}, {"7月8日周五", mon, "?7-08"}, {"7月13日下周一", mon, "?7-13"}, {"7月19日下周一", mon, "?7-12/7-19"},
		{"今天周四", mon, "?7-05"},
		// About a day is no day.
		{"7月8日左右", mon, "?7-08"}, {"7月8日前后", mon, "?7-08"}, {"大约7月8日", mon, "?7-08"}, {"约 7月8日", mon, "?7-08"},
		{"到7月20日左右", mon, "?7-20E"}, {"7月8日之前", mon, "7-08"}, {"预约7月8日", mon, "7-08"},
		// Parts of a month without a day.
		{"月底", mon, "?"}, {"到月底", mon, "?E"}, {"本月底", mon, "?"}, {"下个月初", mon, "?"}, {"月中旬", mon, "?"},
		// Not dates.
		{"会员320人", mon, ""}, {"代表30-40人", mon, ""}, {"3号楼", mon, ""}, {"人口6200", mon, ""},
		{"会员 3.5", mon, ""}, {"占5.2%", mon, ""}, {"每周一", mon, ""},
	} {
		if got := briefDates(Dates(tc.in, tc.c)); got != tc.want {
			t.Errorf("Dates(%q) on %s = %q, want %q", tc.in, tc.c.Today, got, tc.want)
		}
	}
}

func TestDatesExplicitAndReasons(t *testing.T) {
	c := Clock{Today: day(7, 5), Year: 2021}
	for _, tc := range []struct {
		in       string
		explicit bool
		why      string
	}{
		{"7月6日", true, ""}, {"明天", false, ""}, {"6号", false, ""}, {"下周一", false, ""},
		{"0000-07-02", true, "年份「0000」不对"}, {"9999-12-31", true, "年份「9999」不对"},
		{"2月30日", true, "2月没有30日"}, {"3.5", true, "是日期（3月5日）还是数字"},
		{"周三", false, "是6月30日还是7月7日"},
		{"今天7月5日", true, ""}, {"今天周一", false, ""}, {"7月8日(周四)", true, ""},
		{"今天7月8日", true, "「今天」是7月5日，和「7月8日」不是同一天"},
		{"7月8日(周五)", true, "7月8日是星期四，和「周五」对不上"},
		{"7月8日左右", true, "「7月8日左右」不是确切的日期"}, {"月底", false, "「月底」没有写具体哪一天"},
	} {
		ds := Dates(tc.in, c)
		if len(ds) != 1 {
			t.Fatalf("Dates(%q) = %+v", tc.in, ds)
		}
		if ds[0].Explicit != tc.explicit || !strings.Contains(ds[0].Why, tc.why) || (tc.why == "") != (ds[0].Status == Certain) {
			t.Errorf("Dates(%q) = %+v, want explicit %v and a reason with %q", tc.in, ds[0], tc.explicit, tc.why)
		}
		if n := Normalize(tc.in); n[ds[0].Pos:ds[0].End] != ds[0].Text {
			t.Errorf("Dates(%q): position %d:%d is not %q", tc.in, ds[0].Pos, ds[0].End, ds[0].Text)
		}
	}
}

func timeMonth(m int) time.Month { return time.Month(m) }

// TestAbout: the one date a filing sentence is about, among the dates it reads.
func TestAbout(t *testing.T) {
	mon := Clock{Today: day(7, 5), Year: 2021}
	for _, tc := range []struct {
		text    string
		want    campaign.Date // zero: none
		several bool
	}{
		{"公示 7月2日", day(7, 2), false},
		{"公示从7月2日到7月4日", day(7, 2), false},
		{"公示到7月4日结束，7月2日开始", day(7, 2), false},
		{"公示到7月4日", campaign.Date{}, false},
		{"公示", campaign.Date{}, false},
		{"7月2日和7月6日都开过会", campaign.Date{}, true},
	} {
		var certain []Date
		for _, d := range Dates(tc.text, mon) {
			if d.Status == Certain {
				certain = append(certain, d)
			}
		}
		d, ok, several := About(certain)
		if ok != !tc.want.IsZero() || (ok && d.Day != tc.want) || several != tc.several {
			t.Errorf("%s: %v, ok %v, several %v; want %v, several %v", tc.text, d.Day, ok, several, tc.want, tc.several)
		}
	}
}
