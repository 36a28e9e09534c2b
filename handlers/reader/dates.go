package reader

import (
	"strings"
	"time"
	"unicode/utf8"

	"huanjie/campaign"
)

// DateKind says how a date was written.
type DateKind int

const (
	// Full: with its year, 2021-07-02, 2021年7月2日, 二〇二一年七月二日.
	Full DateKind = iota + 1
	// MonthDay: 7月2日, 7.2, 7/2, 7-2, 七月六号; the year is the campaign's.
	MonthDay
	// DayOfMonth: 2号, 2日, 六号; the month is the clock's (or the range's, 7月2日-4日).
	DayOfMonth
	// Relative: 今天, 明天, 后天, 大后天, 昨天, 前天, 大前天.
	Relative
	// Weekday: 下周一, 本周五, 这周五, 上周三, 周三, 星期三, 礼拜三.
	Weekday
	// MonthOnly: 7月, 7月上旬, 2021年7月 — never a day; always Ambiguous.
	MonthOnly
)

// Direction is which way a sentence points in time.
type Direction int

const (
	Unknown Direction = iota // nothing says
	Past                     // 已参加, 开过了, 上周…
	Future                   // 将于, 准备, 计划…
)

// Role is what a date does in a sentence.
type Role int

const (
	NoRole Role = iota
	Start       // 从7月2日, 7月2日开始, 明天起, the first of a range
	End         // 到7月4日, the second of a range, 7月4日结束
)

// Clock is what dates are read against: the campaign's current day and year.
type Clock struct {
	Today campaign.Date
	// Year is the campaign's year: a date without a year takes it, and a written year more
	// than one year away from it is Invalid. 0: Today's year.
	Year int
	// Lean is how a bare weekday (周三) is read when the sentence does not say: Past for a
	// filing of something done (培训 已参加 周三), Future for something planned.
	Lean Direction
}

func (c Clock) year() int {
	if c.Year != 0 {
		return c.Year
	}
	return c.Today.Year
}

// Date is one date found in a sentence.
type Date struct {
	Text     string
	Pos, End int           // byte offsets of Text in Normalize(s)
	Day      campaign.Date // the reading; zero when Invalid, and for Ambiguous the likelier one or zero
	Kind     DateKind
	// Explicit: month and day were written (Full or MonthDay). Relative words, weekdays and a
	// bare 2号 are not explicit: a reply should say which day they were read as.
	Explicit   bool
	Role       Role
	Status     Status
	Why        string          // Ambiguous or Invalid: the reason in Chinese
	Candidates []campaign.Date // Ambiguous: the days it could mean

	week int          // Weekday: as token.week
	wd   time.Weekday // Weekday
}

// token is a date as written, before the clock resolves it.
type token struct {
	pos, end int
	kind     DateKind
	y, m, d  int
	rel      int          // Relative: days from today
	week     int          // Weekday: -1 上周, 0 本周, 1 下周, 2 bare
	wd       time.Weekday // Weekday
	monthRel int          // DayOfMonth: 下月 +1, 上月 -1
	hasMonth bool         // DayOfMonth: a month word was written (本月2号)
	status   Status
	why      string
	dot      bool // 7.2: a dot form the reader weighed
	asNumber bool // a dot form that is a number (or may be): Numbers reports it
	rangeEnd bool // the second day of 「2-4号」
}

// span is a stretch of text that is a date, for Numbers to skip.
type span struct {
	pos, end int
	asNumber bool // an ambiguous 「3.5」: Numbers reports it, Ambiguous
}

// dateSpans are the dates of normalised s as Numbers sees them.
func dateSpans(s string) []span {
	var out []span
	for _, t := range scanDates(s) {
		if t.dot && t.asNumber && t.status == Certain {
			continue // a decimal: Numbers reads it
		}
		out = append(out, span{t.pos, t.end, t.dot && t.asNumber})
	}
	return out
}

// About is the date a sentence is about, among its certain dates, as a filing reads it:
// the first that starts a range, else the only one that does not end a range. ok is false
// when there is none; several reports dates of which none is that one (「7月2日和7月5日」),
// which must be asked back.
func About(certain []Date) (d Date, ok, several bool) {
	var notEnd []Date
	for _, c := range certain {
		if c.Role == Start {
			return c, true, false
		}
		if c.Role != End {
			notEnd = append(notEnd, c)
		}
	}
	switch {
	case len(notEnd) == 1:
		return notEnd[0], true, false
	case len(certain) > 1:
		return Date{}, false, true
	}
	return Date{}, false, false
}

// Dates finds every date in s (normalised first; positions refer to Normalize(s)) and
// reads it against the clock. See the package comment for what is Ambiguous or Invalid.
func Dates(s string, c Clock) []Date {
	s = Normalize(s)
	toks := scanDates(s)
	dir := direction(s)
	if dir == Unknown {
		dir = c.Lean
	}
	var out []Date
	for i, t := range toks {
		if t.dot && t.asNumber && t.status == Certain {
			continue
		}
		d := resolve(s, t, c, dir)
		// 「7月2日-4日」「7月2日到4号」: the second takes the first's month.
		if t.kind == DayOfMonth && !t.hasMonth && i > 0 && len(out) > 0 && out[len(out)-1].End <= t.pos &&
			isRangeGap(s[out[len(out)-1].End:t.pos]) && !out[len(out)-1].Day.IsZero() {
			prev := out[len(out)-1].Day
			d = resolveDay(t, prev.Year, prev.Month, s[t.pos:t.end])
		}
		out = append(out, d)
	}
	out = mergeDoubled(s, out)
	for i := range out {
		approximate(s, &out[i])
	}
	assignRoles(s, out)
	return out
}

// isDay reports a date written as a day of the calendar (7月8日, 2021-07-08, 8号).
func isDay(d Date) bool { return d.Kind == Full || d.Kind == MonthDay || d.Kind == DayOfMonth }

// mergeDoubled joins a day written twice over, side by side — 「今天7月5日」「7月8日周四」
// 「7月8日（星期四）」「今天周一」 — into one date. When the two do not name the same day,
// the date is Ambiguous: which one was meant is not for the reader to choose.
func mergeDoubled(s string, ds []Date) []Date {
	var out []Date
	for _, d := range ds {
		if len(out) == 0 {
			out = append(out, d)
			continue
		}
		prev := out[len(out)-1]
		gap := s[prev.End:d.Pos]
		if strings.Trim(gap, " (，") != "" {
			out = append(out, d)
			continue
		}
		var anchor, word Date
		switch {
		case isDay(prev) && (d.Kind == Relative || d.Kind == Weekday):
			anchor, word = prev, d
		case isDay(d) && (prev.Kind == Relative || prev.Kind == Weekday):
			anchor, word = d, prev
		case prev.Kind == Relative && d.Kind == Weekday:
			anchor, word = prev, d
		case prev.Kind == Weekday && d.Kind == Relative:
			anchor, word = d, prev
		default:
			out = append(out, d)
			continue
		}
		m := anchor
		m.Pos, m.End = prev.Pos, d.End
		if strings.Contains(gap, "(") && strings.HasPrefix(s[m.End:], ")") {
			m.End++
		}
		m.Text = s[m.Pos:m.End]
		if anchor.Status == Certain {
			switch {
			case word.Kind == Weekday && anchor.Day.Time().Weekday() != word.wd:
				m.Status, m.Why = Ambiguous, whyWeekdayDisagrees(anchor.Day.String(), weekdayNames[anchor.Day.Time().Weekday()], word.Text)
				m.Day, m.Candidates = campaign.Date{}, []campaign.Date{anchor.Day}
			case word.Kind == Weekday && word.week == 2:
				// a bare weekday that is the day's own: nothing more to check
			case word.Status != Certain:
				m.Status, m.Why, m.Day = word.Status, word.Why, campaign.Date{}
			case word.Day != anchor.Day:
				m.Status, m.Why = Ambiguous, whyWordDisagrees(word.Text, word.Day.String(), anchor.Text)
				m.Day, m.Candidates = campaign.Date{}, []campaign.Date{word.Day, anchor.Day}
			}
		}
		out[len(out)-1] = m
	}
	return out
}

var weekdayNames = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// Words that make a date approximate: 「7月8日左右」「大约7月8日」.
var (
	approxDateAfter  = []string{"左右", "前后"}
	approxDateBefore = []string{"大约", "大概", "大致", "约莫", "差不多", "估计"}
)

// approximate marks d Ambiguous when a word around it says it is only about that day;
// the word becomes part of d.
func approximate(s string, d *Date) {
	after := strings.TrimLeft(s[d.End:], " ")
	before := strings.TrimRight(s[:d.Pos], " ")
	found := false
	for _, w := range approxDateAfter {
		if strings.HasPrefix(after, w) {
			d.End = len(s) - len(after) + len(w)
			found = true
			break
		}
	}
	for _, w := range approxDateBefore {
		if strings.HasSuffix(before, w) {
			d.Pos = len(before) - len(w)
			found = true
			break
		}
	}
	if b, ok := strings.CutSuffix(before, "约"); ok && !found {
		if r, _ := utf8.DecodeLastRuneInString(b); b == "" || !isHan(r) {
			d.Pos = len(b)
			found = true
		}
	}
	if !found {
		return
	}
	d.Text = s[d.Pos:d.End]
	if d.Status == Certain {
		d.Candidates = []campaign.Date{d.Day}
	}
	d.Day = campaign.Date{}
	d.Status, d.Why = Ambiguous, whyApproxDate(d.Text)
}

// isRangeGap reports whether gap joins two dates into a range.
func isRangeGap(gap string) bool {
	switch strings.TrimSpace(gap) {
	case "-", "~", "到", "至", "—", "至到", "一直到":
		return true
	}
	return false
}

func assignRoles(s string, ds []Date) {
	for i := range ds {
		d := &ds[i]
		b := strings.TrimRight(before(s, d.Pos), " ")
		a := strings.TrimLeft(s[d.End:], " ")
		switch {
		case i > 0 && isRangeGap(s[ds[i-1].End:d.Pos]):
			d.Role = End
			ds[i-1].Role = Start
		case strings.HasPrefix(a, "开始") || strings.HasPrefix(a, "起") || strings.HasSuffix(b, "从") ||
			strings.HasSuffix(b, "自") || strings.HasSuffix(b, "由"):
			d.Role = Start
		case strings.HasPrefix(a, "结束") || strings.HasPrefix(a, "止") || strings.HasPrefix(a, "截止") ||
			strings.HasSuffix(b, "到") || strings.HasSuffix(b, "至"):
			d.Role = End
		}
	}
}

// direction reads whether s speaks of the past or of the future.
func direction(s string) Direction {
	past := containsAny(s, "已", "了", "过", "上周", "昨天", "前天", "开始的") || strings.HasSuffix(s, "的")
	future := containsAny(s, "将", "准备", "计划", "打算", "拟", "定于", "定在", "下周", "要开", "要在", "会在", "明天", "后天") ||
		(strings.Contains(s, "开始") && !containsAny(s, "开始的", "开始了"))
	switch {
	case past && !future:
		return Past
	case future && !past:
		return Future
	}
	return Unknown
}

func containsAny(s string, ws ...string) bool {
	for _, w := range ws {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

func resolve(s string, t token, c Clock, dir Direction) Date {
	text := s[t.pos:t.end]
	d := Date{Text: text, Pos: t.pos, End: t.end, Kind: t.kind, Status: t.status, Why: t.why}
	if t.status != Certain && t.kind == MonthOnly {
		return d
	}
	switch t.kind {
	case Full:
		d.Explicit = true
		if t.y < c.year()-1 || t.y > c.year()+1 {
			d.Status, d.Why = Invalid, whyYear(t.y, c.year())
			return d
		}
		return checkDay(d, t.y, t.m, t.d)
	case MonthDay:
		d.Explicit = true
		if t.status != Certain {
			if day, ok := civil(c.year(), t.m, t.d); ok {
				d.Candidates = []campaign.Date{day}
			}
			return d
		}
		return checkDay(d, c.year(), t.m, t.d)
	case DayOfMonth:
		base := c.Today
		if base.IsZero() {
			d.Status, d.Why = Ambiguous, whyMonthOnly(text)
			return d
		}
		first := campaign.Date{Year: base.Year, Month: base.Month, Day: 1}
		if t.monthRel != 0 {
			first = campaign.DateOf(first.Time().AddDate(0, t.monthRel, 0))
		}
		r := resolveDay(t, first.Year, first.Month, text)
		if t.hasMonth || r.Status != Certain {
			return r
		}
		// A bare 30号: the nearest such day in the direction the sentence points; with no
		// direction, this month's — unless a neighbouring month's is nearer (30号 on 7月2日).
		prev := campaign.DateOf(first.Time().AddDate(0, -1, 0))
		next := campaign.DateOf(first.Time().AddDate(0, 1, 0))
		var alts []campaign.Date
		for _, m := range []campaign.Date{prev, first, next} {
			if a, ok := civil(m.Year, int(m.Month), t.d); ok {
				alts = append(alts, a)
			}
		}
		if dir != Unknown {
			var best campaign.Date
			for _, a := range alts {
				if (dir == Past && a.After(base)) || (dir == Future && a.Before(base)) {
					continue
				}
				if best.IsZero() || absDays(base, a) < absDays(base, best) {
					best = a
				}
			}
			if !best.IsZero() {
				r.Day = best
				return r
			}
		}
		for _, a := range alts {
			if absDays(base, a) < absDays(base, r.Day) {
				r.Status, r.Why = Ambiguous, whyDayOfMonth(text, r.Day.String(), a.String())
				r.Candidates = []campaign.Date{r.Day, a}
				r.Day = campaign.Date{}
				break
			}
		}
		return r
	case Relative:
		if c.Today.IsZero() {
			d.Status, d.Why = Ambiguous, whyMonthOnly(text)
			return d
		}
		d.Day = c.Today.AddDays(t.rel)
		return d
	case Weekday:
		d.week, d.wd = t.week, t.wd
		if c.Today.IsZero() {
			d.Status, d.Why = Ambiguous, whyMonthOnly(text)
			return d
		}
		if t.status != Certain {
			return d
		}
		// Weeks start on Monday, as on Chinese calendars.
		off := (int(c.Today.Time().Weekday()) + 6) % 7
		monday := c.Today.AddDays(-off)
		idx := (int(t.wd) + 6) % 7
		thisWeek := monday.AddDays(idx)
		switch t.week {
		case -1, 0, 1:
			d.Day = thisWeek.AddDays(7 * t.week)
			return d
		}
		// A bare weekday: the one on or before today when the sentence speaks of the past,
		// on or after today when it speaks of the future; else today, or ask.
		last := thisWeek
		if last.After(c.Today) {
			last = last.AddDays(-7)
		}
		next := thisWeek
		if next.Before(c.Today) {
			next = next.AddDays(7)
		}
		switch {
		case last == next:
			d.Day = last
		case dir == Past:
			d.Day = last
		case dir == Future:
			d.Day = next
		default:
			d.Status, d.Why = Ambiguous, whyWeekday(text, last.String(), next.String())
			d.Candidates = []campaign.Date{last, next}
		}
		return d
	}
	return d
}

func resolveDay(t token, y int, m time.Month, text string) Date {
	d := Date{Text: text, Pos: t.pos, End: t.end, Kind: DayOfMonth, Status: t.status, Why: t.why}
	if t.status != Certain {
		return d
	}
	return checkDay(d, y, int(m), t.d)
}

func absDays(a, b campaign.Date) int {
	n := a.DaysUntil(b)
	if n < 0 {
		return -n
	}
	return n
}

// checkDay fills d with y-m-day, or marks it Invalid when there is no such day.
func checkDay(d Date, y, m, day int) Date {
	v, ok := civil(y, m, day)
	if !ok {
		d.Status, d.Why = Invalid, whyNoSuchDay(m, day)
		return d
	}
	d.Day = v
	return d
}

// civil returns the date y-m-d if it exists.
func civil(y, m, d int) (campaign.Date, bool) {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return campaign.Date{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, campaign.Shanghai)
	if t.Day() != d {
		return campaign.Date{}, false
	}
	return campaign.Date{Year: y, Month: time.Month(m), Day: d}, true
}

var relativeWords = sortLongestFirst([]string{"大前天", "大后天", "前天", "昨天", "昨日", "今天", "今日", "今儿", "明天", "明日", "明儿", "后天"})

var relativeDays = map[string]int{"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0, "今儿": 0,
	"明天": 1, "明日": 1, "明儿": 1, "后天": 2, "大后天": 3}

// weekWords begin a weekday; the value is the week: -1 上周, 0 本周, 1 下周, 2 bare.
var weekWords = map[string]int{
	"下周": 1, "下个周": 1, "下星期": 1, "下个星期": 1, "下礼拜": 1, "下个礼拜": 1,
	"本周": 0, "这周": 0, "这个周": 0, "本星期": 0, "这星期": 0, "这个星期": 0, "这礼拜": 0, "这个礼拜": 0,
	"上周": -1, "上个周": -1, "上星期": -1, "上个星期": -1, "上礼拜": -1, "上个礼拜": -1,
	"周": 2, "星期": 2, "礼拜": 2,
}
var weekPrefixes = sortLongestFirst(keys(weekWords))

var weekdayChars = map[rune]time.Weekday{'一': time.Monday, '二': time.Tuesday, '三': time.Wednesday, '四': time.Thursday,
	'五': time.Friday, '六': time.Saturday, '日': time.Sunday, '天': time.Sunday, '1': time.Monday, '2': time.Tuesday,
	'3': time.Wednesday, '4': time.Thursday, '5': time.Friday, '6': time.Saturday, '7': time.Sunday}

var monthWords = map[string]int{"下个月": 1, "下月": 1, "上个月": -1, "上月": -1, "本月": 0, "这个月": 0, "这月": 0}
var monthPrefixes = sortLongestFirst(keys(monthWords))

// vagueParts of a month are not days: 7月上旬, 7月初, 7月底.
var vagueParts = sortLongestFirst([]string{"上旬", "中旬", "下旬", "初", "底", "末", "中", "份"})

// monthParts are parts of a month written without it: 到月底, 月初. Never a day.
var monthParts = sortLongestFirst([]string{"月底", "月末", "月初", "月上旬", "月中旬", "月下旬"})

// notDays follow a 号 that is a number, not a day: 3号楼, 49号文.
const notDays = "楼院线房门文床窗机车室栋单元"

func keys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// scanDates finds the dates written in normalised s, left to right, longest first.
func scanDates(s string) []token {
	var out []token
	prevRune := rune(0)
	for i := 0; i < len(s); {
		t, ok := dateAt(s, i, prevRune)
		if ok {
			out = append(out, t...)
			last := t[len(t)-1]
			prevRune, _ = utf8.DecodeLastRuneInString(s[:last.end])
			i = last.end
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		prevRune = r
		i += size
	}
	return out
}

// dateAt reads the date starting at byte i, if any (two tokens for 「2-4号」).
func dateAt(s string, i int, prev rune) ([]token, bool) {
	rest := s[i:]
	if w := prefixWord(rest, relativeWords); w != "" {
		return []token{{pos: i, end: i + len(w), kind: Relative, rel: relativeDays[w]}}, true
	}
	if w := prefixWord(rest, weekPrefixes); w != "" && !strings.HasSuffix(s[:i], "每") {
		r, size := utf8.DecodeRuneInString(rest[len(w):])
		if wd, ok := weekdayChars[r]; ok && !(r >= '1' && r <= '7' && w != "周") {
			end := i + len(w) + size
			if next, _ := utf8.DecodeRuneInString(s[end:]); !isDigit(next) {
				return []token{{pos: i, end: end, kind: Weekday, week: weekWords[w], wd: wd}}, true
			}
		}
		if r == '末' {
			end := i + len(w) + size
			return []token{{pos: i, end: end, kind: MonthOnly, status: Ambiguous, why: whyWeekend(s[i:end])}}, true
		}
	}
	if w := prefixWord(rest, monthPrefixes); w != "" {
		if p := prefixWord(rest[len(w):], vagueParts); p != "" {
			end := i + len(w) + len(p)
			return []token{{pos: i, end: end, kind: MonthOnly, status: Ambiguous, why: whyMonthOnly(s[i:end])}}, true
		}
		if d, j, ok, _ := readSmallInt(s, i+len(w)); ok && (strings.HasPrefix(s[j:], "号") || strings.HasPrefix(s[j:], "日")) {
			return []token{{pos: i, end: j + 3, kind: DayOfMonth, d: d, monthRel: monthWords[w], hasMonth: true}}, true
		}
	}
	if isDigit(prev) || prev == '.' || prev == ',' || (isCnNumeral(prev) && prev != '几') {
		return nil, false
	}
	if w := prefixWord(rest, monthParts); w != "" && prev != '个' {
		return []token{{pos: i, end: i + len(w), kind: MonthOnly, status: Ambiguous, why: whyMonthOnly(w)}}, true
	}
	a, j, ok, chinese := readSmallInt(s, i)
	if !ok {
		return nil, false
	}
	digitsA := j - i
	at := func(k int, w string) bool { return strings.HasPrefix(s[k:], w) }
	dayMark := func(k int) int { // the length of a 日/号 at k, 0 if none
		if at(k, "日") || at(k, "号") {
			return 3
		}
		return 0
	}
	// With a year: 2021-07-02, 2021.7.2, 2021/7/2, 2021年7月2日, 二〇二一年七月二日.
	if (digitsA == 4 && !chinese) || (chinese && a >= 1000 && a <= 9999) {
		for _, sep := range []string{"年", "-", "/", "."} {
			if !at(j, sep) {
				continue
			}
			m, k, ok, _ := readSmallInt(s, j+len(sep))
			if !ok {
				break
			}
			sep2 := sep
			if sep == "年" {
				sep2 = "月"
			}
			if !at(k, sep2) {
				if sep == "年" {
					return []token{{pos: i, end: k, kind: MonthOnly, status: Ambiguous, why: whyMonthOnly(s[i:k])}}, true
				}
				break
			}
			d, e, ok, _ := readSmallInt(s, k+len(sep2))
			if !ok {
				if sep == "年" {
					end := k + len(sep2)
					if p := prefixWord(s[end:], vagueParts); p != "" {
						end += len(p)
					}
					return []token{{pos: i, end: end, kind: MonthOnly, status: Ambiguous, why: whyMonthOnly(s[i:end])}}, true
				}
				break
			}
			if next, _ := utf8.DecodeRuneInString(s[e:]); isDigit(next) {
				break
			}
			e += dayMark(e)
			return []token{{pos: i, end: e, kind: Full, y: a, m: m, d: d}}, true
		}
		return nil, false
	}
	if a > 99 {
		return nil, false
	}
	// 7月2日, 七月六号, 7月2, 7月上旬.
	if at(j, "月") {
		k := j + len("月")
		d, e, ok, _ := readSmallInt(s, k)
		if ok {
			if next, _ := utf8.DecodeRuneInString(s[e:]); !isDigit(next) {
				e += dayMark(e)
				return []token{{pos: i, end: e, kind: MonthDay, m: a, d: d}}, true
			}
		}
		end := k
		if p := prefixWord(s[k:], vagueParts); p != "" {
			end += len(p)
		}
		if chinese && end == k {
			return nil, false // 一月 inside a word without a day is not worth a question
		}
		return []token{{pos: i, end: end, kind: MonthOnly, status: Ambiguous, why: whyMonthOnly(s[i:end])}}, true
	}
	// 7.2, 7/2, 7-2, 2-4号.
	if !chinese && digitsA <= 2 && j < len(s) && (s[j] == '.' || s[j] == '/' || s[j] == '-') {
		sep := s[j]
		b, e, ok, chB := readSmallInt(s, j+1)
		if !ok || chB || e-(j+1) > 2 {
			return nil, false
		}
		if next, _ := utf8.DecodeRuneInString(s[e:]); isDigit(next) || (e+1 < len(s) && s[e] == sep && isDigit(rune(s[e+1]))) {
			return nil, false // 7.2.1, 1-2-3
		}
		mark := dayMark(e)
		if sep == '-' && mark > 0 && a < b {
			// 2-4号: from the 2nd to the 4th.
			return []token{
				{pos: i, end: j, kind: DayOfMonth, d: a},
				{pos: j + 1, end: e + mark, kind: DayOfMonth, d: b, rangeEnd: true},
			}, true
		}
		t := token{pos: i, end: e + mark, kind: MonthDay, m: a, d: b}
		if mark > 0 {
			return []token{t}, true
		}
		after := s[e:]
		countUnit := prefixWord(after, units) != "" && !strings.HasPrefix(after, "年") && !strings.HasPrefix(after, "天") && !strings.HasPrefix(after, "点")
		switch sep {
		case '-', '/':
			if a > 12 || countUnit || b > 31 || a == 0 || b == 0 {
				return nil, false // 30-40: a range, Numbers says so
			}
			return []token{t}, true
		}
		// A dot: a date or a decimal?
		t.dot = true
		txt := s[i:e]
		switch {
		case countUnit, strings.HasPrefix(after, "万"), strings.HasPrefix(after, "千"), strings.HasPrefix(after, "百"):
			t.asNumber = true
		case labelBefore(s, i) != "":
			t.asNumber = true
		case a > 12 || a == 0 || b > 31 || b == 0:
			t.asNumber = true
		case dateWordBefore(s, i), afterRangeOfDates(s, i):
		case e-(j+1) == 2 || strings.HasPrefix(txt, "0"):
			// 7.10, 7.02, 07.2: nobody writes a count like that.
		default:
			t.asNumber = true
			t.status, t.why = Ambiguous, whyDotForm(txt)
		}
		return []token{t}, true
	}
	// 2号, 2日, 六号.
	if m := dayMark(j); m > 0 {
		next, _ := utf8.DecodeRuneInString(s[j+m:])
		if strings.ContainsRune(notDays, next) {
			return nil, false
		}
		if a < 1 || a > 31 {
			return []token{{pos: i, end: j + m, kind: DayOfMonth, d: a, status: Invalid, why: whyNoSuchDay(0, a)}}, true
		}
		return []token{{pos: i, end: j + m, kind: DayOfMonth, d: a}}, true
	}
	return nil, false
}

// readSmallInt reads a whole number of at most four Arabic digits, or a Chinese numeral
// of at most four characters made of digits and 十 (七, 十二, 二十六, 二〇二一), at byte i.
func readSmallInt(s string, i int) (v, end int, ok, chinese bool) {
	j := i
	for j < len(s) && j-i < 4 && isDigit(rune(s[j])) {
		v = v*10 + int(s[j]-'0')
		j++
	}
	if j > i {
		if j < len(s) && isDigit(rune(s[j])) {
			return 0, i, false, false
		}
		return v, j, true, false
	}
	var rs []rune
	k := i
	for k < len(s) && len(rs) < 5 {
		r, size := utf8.DecodeRuneInString(s[k:])
		if _, d := cnDigits[r]; !d && r != '十' {
			break
		}
		rs = append(rs, r)
		k += size
	}
	if len(rs) == 0 || len(rs) > 4 {
		return 0, i, false, false
	}
	val, n, _, approx, _, valid := parseNumeral(rs)
	if n != len(rs) || approx || !valid {
		return 0, i, false, false
	}
	return int(val), k, true, true
}

// afterRangeOfDates reports whether byte i follows 「7.2-」 or 「7月2日到」: the second half
// of a range of dates is a date too.
func afterRangeOfDates(s string, i int) bool {
	b := strings.TrimRight(before(s, i), " ")
	for _, c := range []string{"-", "~", "到", "至"} {
		if strings.HasSuffix(b, c) {
			r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(strings.TrimSuffix(b, c), " "))
			return isDigit(r) || r == '日' || r == '号'
		}
	}
	return false
}
