package campaign

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Shanghai is the campaign's time zone; every date and deadline is read in it.
var Shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("campaign: time zone %s: %v (import time/tzdata)", name, err))
	}
	return loc
}

// Date is a civil date in Asia/Shanghai.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the Shanghai date of t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Shanghai).Date()
	return Date{y, m, d}
}

// ParseISODate reads "2021-07-03".
func ParseISODate(s string) (Date, error) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), Shanghai)
	if err != nil {
		return Date{}, fmt.Errorf("日期应写成 2021-07-03 的形式: %w", err)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Year == 0 }

// Time returns midnight of d in Shanghai.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Shanghai) }

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.days() < e.days() }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.days() > e.days() }

// DaysUntil returns how many days lie from d to e (negative if e is earlier).
func (d Date) DaysUntil(e Date) int { return e.days() - d.days() }

// days numbers the civil date in days since 1970-01-01 (Howard Hinnant's days_from_civil),
// so comparing dates needs no time zone arithmetic; dates must be valid ones.
func (d Date) days() int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// ISO formats d as 2021-07-03 (for storage).
func (d Date) ISO() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// String formats d the way people write it: 7月3日.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d月%d日", int(d.Month), d.Day)
}

// UnmarshalText reads an ISO date (2021-07-03), so Date works in YAML and JSON.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseISODate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalYAML reads an ISO date from YAML and names the line when it is wrong.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %q: %w", n.Line, n.Value, err)
	}
	return nil
}

// MarshalText writes d as an ISO date.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.ISO()), nil }
