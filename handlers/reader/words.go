package reader

import "strings"

// The small word lists the readers share. They describe how people write, not the
// campaign: which items exist and what they are called is the caller's vocabulary.

// countLabels name a number that follows them: 「会员320」「总人口 6200」「理事会十一人」.
var countLabels = sortLongestFirst([]string{
	"总人口", "人口", "常住人口", "户籍人口", "人口数", "总人数",
	"会员", "会员数", "会员人数", "会员总数", "会员代表", "会员代表人数",
	"代表", "代表人数",
	"理事会", "理事", "理事会成员", "理事人数", "理事会人数", "理事会成员人数",
	"会长", "副会长", "秘书长", "副秘书长", "组长", "副组长", "成员",
	"照片", "编号", "人数",
	// Counts that are not the community's total: named so they are not read as 人口.
	"流动人口", "外来人口", "育龄妇女", "党员",
	// Households, not people: 「会员户 320」「总户数2000户」 fill no count of people.
	"户数", "总户数", "会员户", "会员户数", "联系户", "会员联系户", "住户",
})

// dateContext words before 「3.5」 make it a date: 「公示 7.2」「培训于 7.6」.
var dateContext = sortLongestFirst([]string{
	"公示", "开始", "从", "自", "于", "日期", "时间", "培训", "参加", "参加了", "召开", "召开了",
	"选举", "举行", "举行了", "完成", "修订", "落实", "自查", "定于", "定在", "在", "是", "到", "至",
	"大会", "开会", "已参加", "已完成", "已修订", "已落实", "已召开", "起", "截止", "截至",
})

// fillers may stand between a label and its number: 「会员一共有320人」「人口是九百」,
// and make up voice transcriptions: 「嗯 那个 就是」.
var fillers = sortLongestFirst([]string{
	"是", "为", "有", "共", "一共", "总共", "共计", "合计", "计", "达", "达到", "现有", "目前", "现在",
	"啊", "呀", "呢", "吧", "嘛", "哈", "哦", "噢", "嗯", "呃", "额", "那个", "就是", "的话", "了", "的",
	"然后", "还有", "报", "报一下", "登记", "大概", "大约", "约", "将近", "差不多", "接近", "估计",
	"总共是", "一共是", "吧啊",
})

// approxBefore and approxAfter make a number approximate: 「大约三百」「三百多人」「300人左右」.
var (
	approxBefore = sortLongestFirst([]string{"约", "大约", "大概", "差不多", "将近", "接近", "估计", "估摸", "上", "好几", "近"})
	approxAfter  = sortLongestFirst([]string{"多", "余", "来", "几", "左右", "上下", "出头", "不到", "以上", "以下"})
)

// units may follow a number; the reader reports them so that 「5%」 is not taken for a count.
var units = sortLongestFirst([]string{"个人", "口人", "人次", "人", "名", "位", "个", "张", "户", "岁", "次", "份", "项", "%", "元", "年", "天", "点"})

// personUnits are the units a single Chinese digit needs to count as a number: 「一名」「三个人」.
var personUnits = map[string]bool{"人": true, "名": true, "位": true, "张": true, "户": true, "个人": true, "口人": true}

// connectors may follow a Chinese numeral glued to the next clause in a voice transcription:
// 「人口六千二百然后会员三百二」.
var connectors = sortLongestFirst([]string{"然后", "还有", "另外", "和", "跟", "以及", "其中", "我们", "现在", "吧", "啊", "呢", "了", "呀", "哈", "嘛", "的", "就", "都", "是", "嗯", "那个", "就是", "人口", "总人口", "会员", "代表", "理事", "并", "已"})

// ordinal marks 「第一」; never a count.
const ordinal = "第"

func sortLongestFirst(ws []string) []string {
	out := append([]string(nil), ws...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// suffixWord returns the longest word of ws that s ends with.
func suffixWord(s string, ws []string) string {
	for _, w := range ws {
		if strings.HasSuffix(s, w) {
			return w
		}
	}
	return ""
}

// prefixWord returns the longest word of ws that s begins with.
func prefixWord(s string, ws []string) string {
	for _, w := range ws {
		if strings.HasPrefix(s, w) {
			return w
		}
	}
	return ""
}

// lookbackLimit bounds how far back a label is searched, so long input stays linear.
const lookbackLimit = 60

// before returns at most lookbackLimit bytes of s ending at i, cut at a rune boundary.
func before(s string, i int) string {
	start := i - lookbackLimit
	if start < 0 {
		start = 0
	}
	for start < i && !utf8RuneStart(s[start]) {
		start++
	}
	return s[start:i]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// stripTail removes spaces, colons and filler words from the end of s, repeatedly.
func stripTail(s string) string {
	for {
		t := strings.TrimRight(s, " ：:")
		if f := suffixWord(t, fillers); f != "" {
			t = strings.TrimSuffix(t, f)
		}
		if t == s {
			return s
		}
		s = t
	}
}

// labelBefore is the count label that ends right before byte i of s, fillers skipped.
func labelBefore(s string, i int) string {
	return suffixWord(stripTail(before(s, i)), countLabels)
}

// dateWordBefore reports whether a date-context word ends right before byte i of s.
func dateWordBefore(s string, i int) bool {
	b := strings.TrimRight(before(s, i), " ：:")
	return suffixWord(b, dateContext) != ""
}
