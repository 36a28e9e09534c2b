package campaign

import (
	"slices"
	"strings"
)

// Item names one thing a community must file. Which items a street requires, in which
// phase and by when is configuration (its steps); what each item is, how it is typed,
// checked and reviewed is the item table below.
type Item string

// The items of the 000 plan, in campaign order (000 §二, §四, §五).
const (
	ItemLeadingGroup      Item = "leading_group"      // 成立换届领导小组
	ItemMembers           Item = "members"            // 会员数与总人口
	ItemMemberGroups      Item = "member_groups"      // 会员登记和小组划分 (000 §二; 002 第四条)
	ItemContactHouseholds Item = "contact_households" // 会员联系户制度 (000 §四(二))
	ItemTraining          Item = "training"           // 换届知识培训
	ItemRepresentatives   Item = "representatives"    // 会员代表人数
	ItemPublicity         Item = "publicity"          // 代表名单公示
	ItemCandidates        Item = "candidates"         // 候选人名单（报街道初审）
	ItemElection          Item = "election"           // 选举结果（报街道批复备案）
	ItemDuties            Item = "duties"             // 职责落实
	ItemOfficerTraining   Item = "officer_training"   // 新当选人员培训
	ItemRegulations       Item = "regulations"        // 修订居规民约
	ItemSelfCheck         Item = "selfcheck"          // 自查
	ItemSummary           Item = "summary"            // 换届总结
	ItemPhotos            Item = "photos"             // 换届照片
)

// Kind is how an item is filed and what its value holds.
type Kind int

const (
	// KindDone is something done, on a day that may be given ("职责 已落实"); the day is
	// never in the future.
	KindDone Kind = iota
	// KindLeadingGroup names the group's leader (组长).
	KindLeadingGroup
	// KindMembers holds the member count and the total population.
	KindMembers
	// KindRepresentatives holds the representative count, or a 会员大会 instead.
	KindRepresentatives
	// KindPublicity holds the first day of the list's publicity; its end follows from the rules.
	KindPublicity
	// KindCandidates holds the candidates per office.
	KindCandidates
	// KindElection holds the day of the election and who was elected.
	KindElection
	// KindText holds a written text (the summary), kept apart from the compact value.
	KindText
	// KindPhotos is fulfilled by photos sent in the 1:1 chat; nothing is typed.
	KindPhotos
)

// Def is one row of the item table: everything the program knows about an item.
type Def struct {
	ID    Item
	Label string // what people call it: 会员数和总人口
	Kind  Kind
	// Words are the command words that file it; the first is the one shown in help. Each
	// word belongs to exactly one item (a test checks it).
	Words []string
	// DoneWord is what a KindDone filing says it is: 已参加, 已落实 …
	DoneWord string
	// Dated items (trainings) are judged by the day they happened, not the day filed.
	Dated bool
	// Usage and Example say how to file it in one line; Says is the same in a sentence, as
	// people write it; Help says what it is.
	Usage, Example, Says, Help string
	// SampleOf is the item whose step the sample day in Example and Says falls in (the
	// summary's 7月10日 is the election's day); "" is the item itself. See Street.Example.
	SampleOf Item
	// Review is how the street office reviews it (nil: not reviewed).
	Review *ReviewSpec
}

// ReviewSpec is how the street office reviews an item: the words of its approval, how
// its states are called, and what an approval requires.
type ReviewSpec struct {
	ID    Item   // the review's own id, for storage and the audit trail
	Label string // 候选人初审
	// Approve are the words of the office's approval command; the first is shown in help.
	Approve []string
	Verb    string // what approving does: 通过初审
	// How the states read, e.g. 待初审 / 初审已通过 / 初审被退回.
	Pending, Approved, Returned string
	// Notice tells the group an approval, %s being the community.
	Notice string
	// Strict approvals are refused while the filing has problems (批复 of an election);
	// otherwise the office may approve and is warned.
	Strict bool
}

// items is the item table, in campaign order.
var items = []*Def{
	{ID: ItemLeadingGroup, Label: "成立领导小组", Kind: KindLeadingGroup,
		Words: []string{"领导小组", "成立领导小组", "换届领导小组"},
		Usage: "领导小组 组长 <姓名>", Example: "领导小组 组长 崔宏", Says: "我们社区的换届领导小组成立了，组长是崔宏", Help: "社区换届工作领导小组已成立"},
	{ID: ItemMembers, Label: "会员数和总人口", Kind: KindMembers,
		Words: []string{"会员", "会员数", "会员人数"},
		Usage: "会员 <会员数> 人口 <总人口>", Example: "会员 320 人口 6200", Says: "大辛社区会员320人，总人口6200人", Help: "会员数和总人口，自动算占比"},
	{ID: ItemMemberGroups, Label: "会员小组划分", Kind: KindDone, DoneWord: "已划分",
		Words: []string{"会员小组", "小组划分", "会员小组划分", "划分小组"},
		Usage: "会员小组 已划分", Example: "会员小组 已划分", Says: "会员小组已经划分好了", Help: "做好会员登记，按村（居）民小组划分会员小组"},
	{ID: ItemContactHouseholds, Label: "会员联系户制度", Kind: KindDone, DoneWord: "已建立",
		Words: []string{"联系户", "会员联系户", "联系户制度", "会员联系户制度"},
		Usage: "联系户 已建立", Example: "联系户 已建立", Says: "会员联系户制度已经建立", Help: "建立会员联系户制度"},
	{ID: ItemTraining, Label: "换届知识培训", Kind: KindDone, DoneWord: "已参加", Dated: true,
		Words: []string{"培训", "换届培训", "知识培训", "换届知识培训", "参加培训"},
		Usage: "培训 已参加 <日期>", Example: "培训 已参加 7月6日", Says: "7月6日参加了街道的换届培训", Help: "参加了街道的换届知识培训"},
	{ID: ItemRepresentatives, Label: "会员代表人数", Kind: KindRepresentatives,
		Words: []string{"代表", "会员代表", "代表人数", "推选代表", "会员代表人数"},
		Usage: "代表 <人数>（或：代表 会员大会）", Example: "代表 50", Says: "我们社区推选了会员代表50名", Help: "推选的会员代表人数，按人口核对"},
	{ID: ItemPublicity, Label: "代表名单公示", Kind: KindPublicity,
		Words: []string{"公示", "名单公示", "公示开始", "代表公示", "代表名单公示", "代表名单", "会员代表名单"},
		Usage: "公示 <开始日期>", Example: "公示 7月2日", Says: "代表名单公示从明天开始", Help: "代表名单公示开始，自动算结束日"},
	{ID: ItemCandidates, Label: "候选人名单", Kind: KindCandidates,
		Words: []string{"候选人", "候选人名单", "报候选人"},
		Usage: "候选人 会长 <姓名> 副会长 <姓名> 秘书长 <姓名> [理事 <姓名…>]", Example: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽",
		Says: "候选人：会长崔宏，副会长王芳，秘书长李丽", Help: "候选人名单，报街道初审",
		Review: &ReviewSpec{ID: "review.candidates", Label: "候选人初审",
			Approve: []string{"初审通过", "通过初审", "初审同意"}, Verb: "通过初审",
			Pending: "待初审", Approved: "初审已通过", Returned: "初审被退回",
			Notice: "【街道初审】%s社区的候选人名单已通过初审，请进行公示并筹备会员代表大会。"}},
	{ID: ItemElection, Label: "选举结果", Kind: KindElection,
		Words: []string{"选举", "选举结果", "换届选举", "选举完成", "会员代表大会", "代表大会"},
		Usage: "选举 <日期> 会长 <姓名> 副会长 <姓名> 秘书长 <姓名> 理事会 <人数>", Example: "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人",
		Says: "7月10日召开了会员代表大会，会长崔宏，副会长王芳，秘书长李丽，理事会11人", Help: "会员代表大会的日期和选举结果",
		Review: &ReviewSpec{ID: "review.election", Label: "批复备案",
			Approve: []string{"批复", "批复备案", "同意备案"}, Verb: "批复备案",
			Pending: "待批复", Approved: "已批复备案", Returned: "批复被退回",
			Notice: "【街道批复】%s社区的选举结果已批复备案。请新班子落实职责分工，参加新当选人员培训。",
			Strict: true}},
	{ID: ItemDuties, Label: "职责落实", Kind: KindDone, DoneWord: "已落实",
		Words: []string{"职责", "职责落实", "分工", "岗位分工"},
		Usage: "职责 已落实", Example: "职责 已落实", Says: "新班子已经开会分工，职责已落实", Help: "新班子开会分工、明确职责"},
	{ID: ItemOfficerTraining, Label: "新当选人员培训", Kind: KindDone, DoneWord: "已参加", Dated: true,
		Words: []string{"新任培训", "新当选培训", "新当选人员培训", "新班子培训"},
		Usage: "新任培训 已参加 <日期>", Example: "新任培训 已参加 7月22日", Says: "新当选人员培训已参加，时间是7月22日", Help: "新当选人员参加了协会知识培训"},
	{ID: ItemRegulations, Label: "修订居规民约", Kind: KindDone, DoneWord: "已修订",
		Words: []string{"居规民约", "修订居规民约", "居规"},
		Usage: "居规民约 已修订", Example: "居规民约 已修订", Says: "居规民约已修订通过", Help: "计生居规民约已修订通过"},
	{ID: ItemSelfCheck, Label: "自查", Kind: KindDone, DoneWord: "已完成",
		Words: []string{"自查", "自查完成"},
		Usage: "自查 已完成", Example: "自查 已完成", Says: "换届工作自查已完成", Help: "换届工作自查已完成"},
	{ID: ItemSummary, Label: "换届总结", Kind: KindText,
		Words: []string{"总结", "换届总结", "工作总结"},
		Usage: "总结 <总结正文>", Example: "总结 7月10日召开会员代表大会，选举产生新一届理事会11人……", Says: "总结：7月10日召开会员代表大会，选举产生新一届理事会……", Help: "换届工作总结正文",
		SampleOf: ItemElection},
	{ID: ItemPhotos, Label: "换届照片", Kind: KindPhotos,
		Words: []string{"照片", "换届照片"},
		Usage: "在与我的单聊里直接发送 JPG 照片", Example: "照片", Says: "（在单聊里直接发照片）", Help: "换届照片（在单聊里发送）"},
}

var (
	byID     = map[Item]*Def{}
	byReview = map[Item]*Def{}
	byWord   = map[string]*Def{}
	words    []string // every item word, longest first
)

func init() {
	for _, d := range items {
		byID[d.ID] = d
		if d.Review != nil {
			byReview[d.Review.ID] = d
		}
		for _, w := range d.Words {
			if other, dup := byWord[w]; dup {
				panic("campaign: item word " + w + " belongs to both " + string(other.ID) + " and " + string(d.ID))
			}
			byWord[w] = d
			words = append(words, w)
		}
	}
	slices.SortStableFunc(words, func(a, b string) int { return len(b) - len(a) })
}

// Items lists the item table in campaign order.
func Items() []*Def { return items }

// Lookup returns the definition of an item.
func Lookup(id Item) (*Def, bool) { d, ok := byID[id]; return d, ok }

// Def returns the item's definition; it panics for an item not in the table, which
// config validation rules out.
func (i Item) Def() *Def {
	d, ok := byID[i]
	if !ok {
		panic("campaign: unknown item " + string(i))
	}
	return d
}

// Known reports whether i is in the item table.
func (i Item) Known() bool { _, ok := byID[i]; return ok }

// Label is the Chinese name of an item (its id when unknown).
func (i Item) Label() string {
	if d, ok := byID[i]; ok {
		return d.Label
	}
	if d, ok := byReview[i]; ok {
		return d.Review.Label
	}
	return string(i)
}

// Reviewed returns the item a review id belongs to.
func Reviewed(review Item) (*Def, bool) { d, ok := byReview[review]; return d, ok }

// ItemByWord finds the item a word names: a command word, or the item's label. The
// longest word that begins s wins, so 「会员代表」 is the representatives and
// 「代表公示」 the publicity; the rest of s after the word is returned too.
func ItemByWord(s string) (d *Def, rest string, ok bool) {
	s = strings.TrimSpace(s)
	for _, w := range words {
		if strings.HasPrefix(s, w) {
			return byWord[w], s[len(w):], true
		}
	}
	for _, d := range items {
		if strings.HasPrefix(s, d.Label) {
			return d, s[len(d.Label):], true
		}
	}
	return nil, s, false
}

// ItemWords lists every item word, longest first.
func ItemWords() []string { return slices.Clone(words) }
