package campaign

import "testing"

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

// TestDateArithmetic checks the day numbering against the time package across months,
// leap days and years.
func TestDayNumbers(t *testing.T) {
	base := Date{2019, 12, 25}
	for i := -800; i <= 800; i += 7 {
		d := base.AddDays(i)
		if got := base.DaysUntil(d); got != i {
			t.Fatalf("%v → %v: DaysUntil %d, want %d", base, d, got, i)
		}
		if (i < 0) != d.Before(base) || (i > 0) != d.After(base) {
			t.Fatalf("%v vs %v: Before/After wrong", d, base)
		}
	}
	if (Date{2024, 3, 1}).DaysUntil(Date{2024, 2, 29}) != -1 || (Date{1970, 1, 1}).days() != 0 {
		t.Fatal("leap day or epoch wrong")
	}
}
