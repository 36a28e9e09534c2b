package campaign

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
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
func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.Time().After(e.Time()) }

// DaysUntil returns how many days lie from d to e (negative if e is earlier).
func (d Date) DaysUntil(e Date) int {
	return int(math.Round(e.Time().Sub(d.Time()).Hours() / 24))
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

var (
	fullDate  = regexp.MustCompile(`^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?$`)
	shortDate = regexp.MustCompile(`^(\d{1,2})[-/.月](\d{1,2})[日号]?$`)
)

// relativeDays are the words people use for nearby days.
var relativeDays = map[string]int{"前天": -2, "昨天": -1, "今天": 0, "今日": 0, "明天": 1, "后天": 2}

// ParseDate reads a date as typed on a phone: 7月3日, 7月3号, 7-3, 7.3, 7/3,
// 2021-07-03, 2021年7月3日, 今天, 昨天, 明天. A date without a year takes year.
func ParseDate(s string, today Date, year int) (Date, bool) {
	s = strings.TrimSpace(s)
	if n, ok := relativeDays[s]; ok {
		return today.AddDays(n), true
	}
	var y, m, d int
	if g := fullDate.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else if g := shortDate.FindStringSubmatch(s); g != nil {
		y = year
		m, _ = strconv.Atoi(g[1])
		d, _ = strconv.Atoi(g[2])
	} else {
		return Date{}, false
	}
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return Date{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, Shanghai)
	if t.Day() != d { // 2月30日
		return Date{}, false
	}
	return Date{y, time.Month(m), d}, true
}

// LooksLikeDate reports whether s is written like a date, valid or not.
func LooksLikeDate(s string) bool {
	_, rel := relativeDays[s]
	return rel || fullDate.MatchString(s) || shortDate.MatchString(s)
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
