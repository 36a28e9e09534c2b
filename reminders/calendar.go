package reminders

import (
	"time"

	"huanjie/campaign"
	"huanjie/config"
)

// workdays tells working days from days off: weekends and listed holidays are off,
// listed make-up days (调休) are working days.
type workdays struct {
	off, work map[campaign.Date]bool
}

func newWorkdays(c config.Calendar) workdays {
	w := workdays{off: map[campaign.Date]bool{}, work: map[campaign.Date]bool{}}
	for _, d := range c.DaysOff {
		w.off[d] = true
	}
	for _, d := range c.Workdays {
		w.work[d] = true
	}
	return w
}

func (w workdays) isWorkday(d campaign.Date) bool {
	if w.work[d] {
		return true
	}
	if w.off[d] {
		return false
	}
	wd := d.Time().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// onOrBefore returns d, or the last working day before it.
func (w workdays) onOrBefore(d campaign.Date) campaign.Date {
	for i := 0; i < 30 && !w.isWorkday(d); i++ {
		d = d.AddDays(-1)
	}
	return d
}

// onOrAfter returns d, or the first working day after it.
func (w workdays) onOrAfter(d campaign.Date) campaign.Date {
	for i := 0; i < 30 && !w.isWorkday(d); i++ {
		d = d.AddDays(1)
	}
	return d
}

// nthAfter returns the n-th working day after d (n ≥ 1).
func (w workdays) nthAfter(d campaign.Date, n int) campaign.Date {
	for i := 0; n > 0 && i < 366; i++ {
		d = d.AddDays(1)
		if w.isWorkday(d) {
			n--
		}
	}
	return d
}

// CoversYear reports whether the calendar lists any day of year; the scheduler warns at
// start when the campaign's year is missing (holidays change every year).
func CoversYear(c config.Calendar, year int) bool {
	for _, d := range append(append([]campaign.Date{}, c.DaysOff...), c.Workdays...) {
		if d.Year == year {
			return true
		}
	}
	return false
}
