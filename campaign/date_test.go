package campaign

import "testing"

func TestParseDate(t *testing.T) {
	today := Date{2021, 7, 5}
	for _, tc := range []struct {
		in   string
		want Date
		ok   bool
	}{
		{"7月3日", Date{2021, 7, 3}, true},
		{"7月3号", Date{2021, 7, 3}, true},
		{"7-3", Date{2021, 7, 3}, true},
		{"7.13", Date{2021, 7, 13}, true},
		{"07/03", Date{2021, 7, 3}, true},
		{"2021-07-03", Date{2021, 7, 3}, true},
		{"2021年7月3日", Date{2021, 7, 3}, true},
		{"今天", Date{2021, 7, 5}, true},
		{"昨天", Date{2021, 7, 4}, true},
		{"明天", Date{2021, 7, 6}, true},
		{"2月30日", Date{}, false},
		{"13月1日", Date{}, false},
		{"下周", Date{}, false},
		{"320", Date{}, false},
	} {
		got, ok := ParseDate(tc.in, today, 2021)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseDate(%q) = %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := Date{2021, 6, 29}
	if got := d.AddDays(3); got != (Date{2021, 7, 2}) {
		t.Fatalf("AddDays crosses the month wrongly: %v", got)
	}
	for _, tc := range []struct {
		to   Date
		want int
	}{{Date{2021, 7, 8}, 9}, {d, 0}, {Date{2021, 6, 24}, -5}, {Date{2021, 6, 28}, -1}} {
		if n := d.DaysUntil(tc.to); n != tc.want {
			t.Errorf("6月29日 → %v: DaysUntil = %d, want %d", tc.to, n, tc.want)
		}
	}
	if d.String() != "6月29日" || d.ISO() != "2021-06-29" {
		t.Fatalf("format: %s %s", d, d.ISO())
	}
}
