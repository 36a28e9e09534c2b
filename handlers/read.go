package handlers

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"huanjie/campaign"
	"huanjie/handlers/reader"
)

// Reading a filing from a sentence. Each reader takes what the secretary wrote — a
// sentence, a voice transcription, a command line — and returns the value it holds, or a
// usage error that asks back for the one thing missing or unclear. Nothing is ever filled
// in: a number, a date or a name the reader is not certain of is asked back, and nothing
// is stored.

// countSlots are the counts each kind of filing takes, by the words that name them.
var (
	membersSlots = []reader.Slot{
		{Key: "members", Labels: []string{"会员", "会员数", "会员人数", "会员总数"}, Bare: true, Max: maxPopulation},
		{Key: "population", Labels: []string{"总人口", "人口", "常住人口", "户籍人口", "人口数"}, Max: maxPopulation},
	}
	representativesSlots = []reader.Slot{
		{Key: "count", Labels: []string{"代表", "会员代表", "代表人数", "会员代表人数"}, Bare: true, Max: maxRepresentatives},
	}
	councilSlots = []reader.Slot{
		{Key: "council", Labels: []string{"理事会", "理事", "理事会成员", "理事人数", "理事会人数", "理事会成员人数"}, Max: maxCouncil},
	}
)

// The largest counts that can be meant: a community is not a city, representatives are
// counted in tens, a council in ones. A larger number is a typo and is asked back.
const (
	maxPopulation      = 1_000_000
	maxRepresentatives = 1000
	maxCouncil         = 100
)

// counts places the sentence's numbers into slots, or asks back. Numbers that count a
// part of a fixed council make-up (五老5, 社会贤达 3) are the roster's, not a slot's.
func counts(r *request, slots []reader.Slot) (map[string]int, []string, error) {
	nums := slices.DeleteFunc(reader.Numbers(r.line), func(n reader.Number) bool { return makeupBefore(r, n.Pos) })
	a := reader.Assign(nums, slots)
	if len(a.Problems) > 0 {
		var why []string
		for _, p := range a.Problems {
			why = append(why, p.Why)
		}
		return nil, nil, badf("%s", strings.Join(why, "；"))
	}
	return a.Values, a.Missing, nil
}

func (b *Bot) readMembers(r *request) (campaign.Value, error) {
	v, missing, err := counts(r, membersSlots)
	if err != nil {
		return campaign.Value{}, err
	}
	for _, m := range missing {
		switch m {
		case "members":
			return campaign.Value{}, badf("缺少会员人数")
		case "population":
			return campaign.Value{}, badf("缺少总人口（会员占比按总人口算）")
		}
	}
	switch {
	case v["population"] == 0:
		return campaign.Value{}, badf("总人口不能是 0")
	case v["members"] > v["population"]:
		return campaign.Value{}, badf("会员 %d 人比总人口 %d 人还多，请核对", v["members"], v["population"])
	}
	return campaign.Value{Members: v["members"], Population: v["population"]}, nil
}

func (b *Bot) readRepresentatives(r *request) (campaign.Value, error) {
	v, missing, err := counts(r, representativesSlots)
	if err != nil {
		return campaign.Value{}, err
	}
	if len(missing) > 0 {
		if strings.Contains(r.line, "会员大会") {
			return campaign.Value{Assembly: true}, nil
		}
		return campaign.Value{}, badf("缺少代表人数")
	}
	if v["count"] == 0 {
		return campaign.Value{}, badf("代表人数不能是 0")
	}
	return campaign.Value{Count: v["count"]}, nil
}

// clock is what a filing's dates are read against. The sentence says which way a bare
// weekday points (已参加 周三); the command does not, so a bare one is asked back.
func (r *request) clock() reader.Clock {
	return reader.Clock{Today: r.today, Year: r.street.Year()}
}

// theDate finds the one date a filing is about: the start of a range, else the only date
// that is not a range's end. ok is false when none was written; a date that is unclear,
// impossible, or outside the campaign is asked back.
func (b *Bot) theDate(r *request, past bool) (campaign.Date, bool, error) {
	var certain []reader.Date
	for _, d := range reader.Dates(r.line, r.clock()) {
		if d.Status != reader.Certain {
			return campaign.Date{}, false, badf("%s", d.Why)
		}
		certain = append(certain, d)
	}
	pick, ok, several := reader.About(certain)
	switch {
	case several:
		return campaign.Date{}, false, badf("写了几个日期，不知道是哪一天")
	case !ok:
		return campaign.Date{}, false, nil
	}
	day := pick.Day
	if err := inCampaign(r, pick); err != nil {
		return campaign.Date{}, false, err
	}
	if past && day.After(r.today) {
		return campaign.Date{}, false, badf(msgNotYet, day)
	}
	return day, true, nil
}

// inCampaign asks back a date far from the campaign: written out, more than a month
// before or after it (a late filing may stray a little); not written out (8号, 上个月8号,
// 下周一, read from today), outside it at all — that reading is most likely not what was
// meant.
func inCampaign(r *request, d reader.Date) error {
	day := d.Day
	first, last := r.street.Span()
	if (!first.IsZero() && day.Before(first.AddDays(-31))) || (!last.IsZero() && day.After(last.AddDays(31))) {
		return badf(msgOutsideCampaign, day, first, last)
	}
	if !d.Explicit && ((!first.IsZero() && day.Before(first)) || (!last.IsZero() && day.After(last))) {
		return badf(msgImplicitOutside, d.Text, day, first, last)
	}
	return nil
}

// dateNote says which day a date not written out (明天, 下周一, 6号) was read as.
func dateNote(r *request, day campaign.Date) string {
	for _, d := range reader.Dates(r.line, r.clock()) {
		if d.Status == reader.Certain && d.Day == day && !d.Explicit {
			return fmt.Sprintf(msgReadAs, d.Text, day, weekdays[day.Time().Weekday()])
		}
	}
	return ""
}

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

func (b *Bot) readPublicity(r *request) (campaign.Value, error) {
	start, ok, err := b.theDate(r, false)
	if err != nil {
		return campaign.Value{}, err
	}
	if !ok {
		return campaign.Value{}, badf("请写上公示开始的日期，例如「公示 7月2日」或「公示明天开始」")
	}
	// The end follows from the rules; a written end that is not theirs is not replaced
	// silently: which of the two is wrong is the sender's to say.
	days := r.street.Rules.PublicityDays
	for _, d := range reader.Dates(r.line, r.clock()) {
		switch {
		case d.Status != reader.Certain || d.Role != reader.End:
		case d.Day.Before(start):
			return campaign.Value{}, badf(msgPublicityBackwards, start, d.Day)
		case days > 0 && d.Day != r.street.Rules.PublicityEnd(start):
			return campaign.Value{}, badf(msgPublicityLength, start, d.Day, start.DaysUntil(d.Day)+1, days, r.street.Rules.PublicityEnd(start), start)
		}
	}
	return campaign.Value{Start: start}, nil
}

func (b *Bot) readElection(r *request) (campaign.Value, error) {
	day, ok, err := b.theDate(r, true)
	if err != nil {
		return campaign.Value{}, err
	}
	if !ok {
		return campaign.Value{}, badf("请写上会员代表大会召开的日期")
	}
	ro, err := b.readRoster(r, msgNoElected)
	if err != nil {
		return campaign.Value{}, err
	}
	v, _, err := counts(r, councilSlots)
	if err != nil {
		return campaign.Value{}, err
	}
	if n, ok := v["council"]; ok {
		ro.CouncilSize = n
	}
	return campaign.Value{Date: day, Roster: ro}, nil
}

// doneSignals say a thing is done; negations say it is not. 「好的」 answers a request
// (will do), 「好不好」 asks: only 「好了」 says done.
var (
	doneSignals = []string{"已", "了", "完成", "落实", "参加", "修订", "划分", "建立", "通过", "结束", "好了", "搞定", "完毕"}
	notDone     = []string{"未", "没", "还没", "尚未", "准备", "将", "计划"}
)

// Questions and refusals around a command word: 「会员数怎么报？」「选举了吗」「还没选举」
// 「不知道代表人数」 ask or say it is not done, they file nothing.
var (
	questionWords = []string{"吗", "怎么", "如何", "什么", "多少", "几号", "哪天", "哪一天", "是不是", "是否", "要不要",
		"能不能", "可不可以", "可以吗", "好不好", "对不对", "行不行", "有没有", "需不需要", "咋"}
	refusalWords = []string{"还没", "尚未", "不知道", "不清楚", "不确定", "没法", "还不"}
)

// asking reports a message that asks about item d, or says it is not done or not known,
// rather than filing it. A summary is long free text: only a short one that ends asking
// counts as a question.
func asking(r *request, d *campaign.Def) bool {
	raw := strings.TrimSpace(reader.Normalize(r.raw))
	if d.Kind == campaign.KindText {
		t := strings.TrimRight(raw, " 。！")
		return utf8.RuneCountInString(t) < 60 && (strings.HasSuffix(t, "？") || strings.HasSuffix(t, "吗") || strings.HasSuffix(t, "呢"))
	}
	if strings.Contains(raw, "？") {
		return true
	}
	for _, w := range questionWords {
		if strings.Contains(raw, w) {
			return true
		}
	}
	for _, w := range refusalWords {
		if strings.Contains(raw, w) {
			return true
		}
	}
	return false
}

// howToFile answers a question about item d: how to file it, and by when.
func howToFile(r *request, d *campaign.Def) string {
	due := ""
	if st, ok := r.street.Step(d.ID); ok && !st.Due.IsZero() {
		due = fmt.Sprintf(msgHowDue, st.Due)
	}
	return fmt.Sprintf(msgHowToFile, d.Label, d.Usage, r.street.Example(d), due) + "\n\n" + msgNothingStored
}

// doneOnly are what people write instead of a summary's text: 「已经写好了」「已完成」.
var (
	doneOnly  = []string{"写好", "写完", "完成", "已完成", "搞定", "弄好", "做好", "已提交", "提交", "已上交", "上交", "交了", "报了", "已报", "发了", "好了"}
	doneLeads = []string{"已经", "我们", "都", "总结", "工作", "的", "也", "早就", "早"}
)

// saysDoneOnly reports a text that begins by saying it is done (「已经写好了，明天交」)
// instead of being the text; 「选举已完成，理事会十一人」 begins with what was done.
func saysDoneOnly(text string) bool {
	t := reader.Normalize(text)
	for {
		u := strings.TrimLeft(t, " ，。：:")
		for _, w := range doneLeads {
			u = strings.TrimPrefix(u, w)
		}
		if u == t {
			break
		}
		t = u
	}
	return slices.ContainsFunc(doneOnly, func(w string) bool { return strings.HasPrefix(t, w) })
}

func (b *Bot) readDone(r *request, d *campaign.Def) (campaign.Value, error) {
	day, dated, err := b.theDate(r, true)
	if err != nil {
		return campaign.Value{}, err
	}
	text := r.rest + r.cmd.Before
	for _, w := range notDone {
		if strings.Contains(text, w) {
			return campaign.Value{}, badf("只在完成后登记，请完成后再发")
		}
	}
	said := dated || strings.Contains(r.cmd.Word, "完成")
	for _, w := range doneSignals {
		said = said || strings.Contains(text, w)
	}
	if !said {
		return campaign.Value{}, badf("是已经完成了吗？请写「%s」", r.street.Example(d))
	}
	if st, ok := r.street.Step(d.ID); ok && d.Dated && !dated && st.Overdue(r.today) {
		return campaign.Value{}, badf("截止日期%s已过，请写上是哪天完成的", st.Due)
	}
	return campaign.Value{Date: day}, nil
}

func (b *Bot) readLeadingGroup(r *request) (campaign.Value, error) {
	toks := rosterTokens(r.rest, []string{"组长"})
	for i, tok := range toks {
		if tok != "组长" {
			continue
		}
		name, why := nameAfter(toks, i)
		switch {
		case why != "":
			return campaign.Value{}, badf(msgLeaderNotAName, why)
		case name != "":
			return campaign.Value{Leader: name}, nil
		}
	}
	return campaign.Value{}, badf("请写上组长的姓名")
}

// officeWords are the titles a list of people is labelled with, longest first.
var officeWords = []string{"副秘书长", "秘书长", "副会长", "会长", "理事会成员", "理事会", "理事"}

// fillers may stand between a title and a name: 会长是崔宏, 会长为崔宏, 会长：崔宏.
var fillers = map[string]bool{"是": true, "为": true, "由": true, "担任": true}

// notNames are words that stand among names in a sentence but are never a name: verbs,
// counts and connectives (「选举结果：会长崔宏…，理事会共11人，7月10日选举」).
var notNames = map[string]bool{
	"选举": true, "选举结果": true, "结果": true, "召开": true, "完成": true, "已完成": true, "当选": true,
	"大会": true, "会议": true, "名单": true, "人员": true, "成员": true, "时间": true, "日期": true,
	"开的": true, "开了": true, "举行": true, "进行": true, "聘任": true, "任命": true, "推选": true,
	"选出": true, "其中": true, "以上": true, "如下": true, "分别是": true, "分别为": true, "等": true,
	"共": true, "一共": true, "总共": true, "合计": true, "人": true, "名": true, "的": true,
}

// nameFirst rewrites 「选举崔宏为会长」 as 「会长 崔宏」: a name before its title.
var nameFirst = regexp.MustCompile(`(?:选举|推选|聘任|任命|选出|由)?([\p{Han}·]{2,12}?)(?:为|任|担任)(副秘书长|秘书长|副会长|会长)`)

// readRoster reads who holds or stands for each office, from the text after the command
// word, in any punctuation: 「会长 崔宏 副会长 王芳、刘强 秘书长：李丽」, 「会长崔宏副会长王芳」.
// Names keep their 「·」 (阿卜杜热合曼·艾买提江).
func (b *Bot) readRoster(r *request, none string) (campaign.Roster, error) {
	var ro campaign.Roster
	text := nameFirst.ReplaceAllString(withoutDates(r), " $2 $1 ")
	toks := rosterTokens(text, officeWords)
	var extra []string
	key := ""
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if isOffice(t) {
			key = t
			continue
		}
		if fillers[t] || notNames[t] {
			continue
		}
		if key == "" {
			continue // context before the first title: 选举是七月十号开的 …
		}
		if key == "理事会" || key == "理事会成员" || key == "理事" {
			if p, ok := r.street.Rules.Council.Part(t); ok && i+1 < len(toks) {
				if n, ok := number(strings.TrimRight(toks[i+1], "人名位")); ok {
					if ro.Makeup == nil {
						ro.Makeup = map[string]int{}
					}
					ro.Makeup[p.Name] += n
					i++
					continue
				}
			}
			if n, part, ok := makeupCount(r, t); ok {
				if ro.Makeup == nil {
					ro.Makeup = map[string]int{}
				}
				ro.Makeup[part] += n
				continue
			}
			if len(reader.Numbers(t)) > 0 {
				continue // the council's size (共11人, 十一个人), read by counts
			}
		}
		name, why := personName(t)
		if why != "" {
			return ro, badf(msgNotANameIn, key, why)
		}
		if name == "" {
			extra = append(extra, t)
			continue
		}
		t = name
		switch key {
		case "会长":
			ro.President = append(ro.President, t)
		case "副会长":
			ro.VicePresidents = append(ro.VicePresidents, t)
		case "秘书长":
			ro.SecretaryGeneral = append(ro.SecretaryGeneral, t)
		case "副秘书长":
			ro.DeputySecretary = append(ro.DeputySecretary, t)
		default:
			ro.Council = append(ro.Council, t)
		}
	}
	if ro.IsZero() && !hasCouncilCount(r) {
		return ro, badf("%s", none)
	}
	if len(extra) > 0 {
		return ro, badf("「%s」不知道是什么职务，请在姓名前写上会长、副会长、秘书长或理事", strings.Join(extra, " "))
	}
	return ro, nil
}

// makeupBefore reports whether a make-up part's name ends right before byte i of the line.
func makeupBefore(r *request, i int) bool {
	before := strings.TrimRight(r.line[:i], " ：:")
	for _, p := range r.street.Rules.Council.Makeup {
		for _, w := range append([]string{p.Name}, p.Aliases...) {
			if strings.HasSuffix(before, w) {
				return true
			}
		}
	}
	return false
}

// makeupCount reads a make-up part glued to its count: 五老5, 贤达2人.
func makeupCount(r *request, t string) (int, string, bool) {
	i := strings.IndexFunc(t, unicode.IsDigit)
	if i <= 0 {
		return 0, "", false
	}
	p, ok := r.street.Rules.Council.Part(t[:i])
	if !ok {
		return 0, "", false
	}
	n, ok := number(strings.TrimRight(t[i:], "人名位"))
	return n, p.Name, ok
}

func hasCouncilCount(r *request) bool {
	v, _, err := counts(r, councilSlots)
	return err == nil && v["council"] > 0
}

func isOffice(t string) bool {
	for _, w := range officeWords {
		if t == w {
			return true
		}
	}
	return false
}

// isCount reports a token that is a number, with or without its unit: 11, 11人, 十一人.
func isCount(t string) bool {
	ns := reader.Numbers(t)
	if len(ns) != 1 || ns[0].Pos != 0 {
		return false
	}
	rest := strings.TrimSpace(t[ns[0].End:])
	return rest == "" || (utf8.RuneCountInString(rest) == 1 && strings.Contains("人名位个", rest))
}

// isName reports a plausible person's name: letters only (Han, Latin, with 「·」), 2 to
// 20 of them.
func isName(t string) bool {
	n := utf8.RuneCountInString(t)
	if n < 2 || n > 20 {
		return false
	}
	for _, c := range t {
		if !unicode.IsLetter(c) && c != '·' {
			return false
		}
	}
	return true
}

// nameAfter is the name after the title at toks[i], skipping fillers (组长是崔宏), or why
// the word there is not a name (组长 待定, 组长 书记).
func nameAfter(toks []string, i int) (string, string) {
	for j := i + 1; j < len(toks); j++ {
		t := toks[j]
		if fillers[t] {
			continue
		}
		for f := range fillers {
			if rest, ok := strings.CutPrefix(t, f); ok && isName(rest) {
				t = rest
			}
		}
		return personName(t)
	}
	return "", ""
}

// Words that stand where a name should but are no person's name.
var (
	// honorifics after a name: 崔宏同志 is 崔宏.
	honorifics = []string{"同志", "女士", "先生"}
	// titlesBefore a name: 社区书记崔宏 is 崔宏; alone they name nobody.
	titlesBefore = []string{"社区党委书记", "社区党支部书记", "党委书记", "党支部书记", "社区书记", "居委会主任", "社区主任",
		"卫计主任", "书记", "主任"}
	// titlesAlone are offices or kinds of people, not a person: 会长 书记, 副会长 委员.
	titlesAlone = []string{"同志", "委员", "干部", "成员", "领导", "医生", "村医", "居民", "群众", "代表", "主任委员"}
	// placeholders say there is no name yet: 秘书长 待定.
	placeholders = []string{"待定", "暂定", "未定", "没定", "还没定", "未确定", "不确定", "再定", "另定", "待选", "待推选",
		"暂无", "暂缺", "空缺", "缺", "无", "没有", "暂时没有", "另行通知", "同上", "见上", "本人", "若干", "不详", "未知"}
	// doneWords say something is done, not who: 组长 已完成, 副会长 搞定.
	doneWords = []string{"完成", "搞定", "弄好", "做好", "好了", "成立", "落实", "已经", "选好", "选出", "定了", "OK", "ok", "好的"}
)

// personName reads a word written where a person's name goes: the name, with an
// honorific after it or a title before it left off (崔宏同志, 社区书记崔宏); or why it is
// no name (待定, 书记, 搞定, 两人, 王强等 …); or neither when it is not a word of letters.
func personName(t string) (name, why string) {
	for _, h := range honorifics {
		if rest, ok := strings.CutSuffix(t, h); ok && isName(rest) {
			t = rest
		}
	}
	for _, p := range titlesBefore {
		if rest, ok := strings.CutPrefix(t, p); ok && isName(rest) && !isTitleWord(rest) {
			t = rest
			break
		}
	}
	switch {
	case isTitleWord(t):
		return "", fmt.Sprintf(whyTitle, t)
	case slices.Contains(placeholders, t) || strings.HasPrefix(t, "待") || strings.HasPrefix(t, "暂"):
		return "", fmt.Sprintf(whyNotAName, t)
	case strings.HasPrefix(t, "已") || slices.ContainsFunc(doneWords, func(w string) bool { return strings.Contains(t, w) }):
		return "", fmt.Sprintf(whyNotAName, t)
	case isNumeralWord(t):
		return "", fmt.Sprintf(whyHeadcount, t)
	case strings.HasSuffix(t, "等") && isName(strings.TrimSuffix(t, "等")):
		return "", fmt.Sprintf(whyAndOthers, t)
	case utf8.RuneCountInString(t) == 2 && (strings.HasPrefix(t, "小") || strings.HasPrefix(t, "老")):
		return "", fmt.Sprintf(whyNickname, t)
	case !isName(t):
		return "", ""
	}
	return t, ""
}

func isTitleWord(t string) bool {
	return slices.Contains(titlesBefore, t) || slices.Contains(titlesAlone, t) || isOffice(t) ||
		t == "组长" || t == "副组长"
}

// isNumeralWord reports a word of Chinese numerals, with or without its unit: 两人, 五个, 十一.
func isNumeralWord(t string) bool {
	t = strings.TrimRight(t, "人名位个")
	if t == "" {
		return false
	}
	for _, c := range t {
		if !strings.ContainsRune("零〇一二两三四五六七八九十百千万几", c) {
			return false
		}
	}
	return true
}

// rosterTokens splits text into words at spaces and punctuation (not 「·」), with each
// title of titles a word of its own, so 「会长崔宏副会长王芳」 reads like 「会长 崔宏 副会长 王芳」.
func rosterTokens(text string, titles []string) []string {
	var b strings.Builder
	rs := []rune(text)
	for i := 0; i < len(rs); {
		if rs[i] == '·' {
			b.WriteRune(rs[i])
			i++
			continue
		}
		if unicode.IsSpace(rs[i]) || unicode.IsPunct(rs[i]) || unicode.IsSymbol(rs[i]) {
			b.WriteByte(' ')
			i++
			continue
		}
		matched := ""
		for _, t := range titles {
			if strings.HasPrefix(string(rs[i:min(len(rs), i+8)]), t) && len(t) > len(matched) {
				matched = t
			}
		}
		if matched != "" {
			b.WriteString(" " + matched + " ")
			i += utf8.RuneCountInString(matched)
			continue
		}
		b.WriteRune(rs[i])
		i++
	}
	return strings.Fields(b.String())
}

// withoutDates is the text after the command word with its dates blanked out.
func withoutDates(r *request) string {
	line := []byte(r.line)
	for _, d := range reader.Dates(r.line, r.clock()) {
		for i := d.Pos; i < d.End && i < len(line); i++ {
			line[i] = ' '
		}
	}
	if r.cmd.End <= len(line) {
		return string(line[r.cmd.End:])
	}
	return r.rest
}

// otherCommunity names a community other than the sender's written in the sentence ("" if
// none): a secretary files for their own community only.
func otherCommunity(r *request) string {
	for _, m := range reader.FindCommunities(r.line, r.street.CommunityNames()) {
		if m.Name != r.who.Community {
			return m.Name
		}
	}
	return ""
}

// communityArg matches the community a command names (typos and near sounds allowed,
// asked back), or a usage error listing the street's communities.
func communityArg(r *request, typed, example string) (string, error) {
	if strings.TrimSpace(typed) == "" {
		return "", badf(msgWhichCommunity, example)
	}
	switch m := reader.MatchCommunity(typed, r.street.CommunityNames()); m.Kind {
	case reader.Exact:
		return m.Name, nil
	case reader.Close, reader.Several:
		return "", askf("%s", m.Question())
	}
	return "", badf(msgNoSuchCommunity, r.street.Name, typed, strings.Join(r.street.CommunityNames(), "、"))
}
