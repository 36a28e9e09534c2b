package handlers

import (
	"fmt"
	"slices"
	"strings"

	"huanjie/campaign"
)

// command is one thing people can type. help (帮助) is generated from these.
type command struct {
	name    string
	aliases []string
	item    campaign.Item // the item a filing command files, for 哪些社区还没报 <事项>
	roles   []campaign.Role
	usage   string
	example string
	summary string
	run     func(r *request) (string, error)
}

var (
	secretaryOnly    = []campaign.Role{campaign.RoleSecretary}
	officeOnly       = []campaign.Role{campaign.RoleOffice}
	leadersAndOffice = []campaign.Role{campaign.RoleLeader, campaign.RoleOffice}
	anyKnown         = []campaign.Role{campaign.RoleSecretary, campaign.RoleOffice, campaign.RoleLeader}
	anyone           = []campaign.Role{campaign.RoleSecretary, campaign.RoleOffice, campaign.RoleLeader, ""}
)

func (c *command) allows(role campaign.Role) bool { return slices.Contains(c.roles, role) }

func (c *command) words() []string { return append([]string{c.name}, c.aliases...) }

func (b *Bot) registry() []*command {
	return []*command{
		// Community secretaries file.
		{name: "领导小组", aliases: []string{"成立领导小组", "换届领导小组"}, item: campaign.ItemLeadingGroup, roles: secretaryOnly,
			usage: "领导小组 组长 <姓名>", example: "领导小组 组长 崔宏", summary: "社区换届工作领导小组已成立", run: b.filer(b.fileLeadingGroup)},
		{name: "会员", aliases: []string{"会员数", "会员人数"}, item: campaign.ItemMembers, roles: secretaryOnly,
			usage: "会员 <会员数> 人口 <总人口>", example: "会员 320 人口 6200", summary: "会员数和总人口，自动算占比", run: b.filer(b.fileMembers)},
		{name: "培训", aliases: []string{"换届培训", "知识培训", "换届知识培训", "参加培训"}, item: campaign.ItemTraining, roles: secretaryOnly,
			usage: "培训 已参加 [日期]", example: "培训 已参加 7月6日", summary: "参加了街道的换届知识培训", run: b.fileDone(campaign.ItemTraining, "已参加", true)},
		{name: "代表", aliases: []string{"会员代表", "代表人数", "推选代表"}, item: campaign.ItemRepresentatives, roles: secretaryOnly,
			usage: "代表 <人数>（或：代表 会员大会）", example: "代表 50", summary: "推选的会员代表人数，按人口核对", run: b.filer(b.fileRepresentatives)},
		{name: "公示", aliases: []string{"名单公示", "公示开始", "代表公示"}, item: campaign.ItemPublicity, roles: secretaryOnly,
			usage: "公示 <开始日期>", example: "公示 7月2日", summary: "代表名单公示开始，自动算结束日", run: b.filer(b.filePublicity)},
		{name: "候选人", aliases: []string{"候选人名单", "报候选人"}, item: campaign.ItemCandidates, roles: secretaryOnly,
			usage: "候选人 会长 <姓名> 副会长 <姓名> 秘书长 <姓名> [理事 <姓名…>]", example: "候选人 会长 崔宏 副会长 王芳 秘书长 李丽", summary: "候选人名单，报街道初审", run: b.filer(b.fileCandidates)},
		{name: "选举", aliases: []string{"选举结果", "换届选举", "选举完成"}, item: campaign.ItemElection, roles: secretaryOnly,
			usage: "选举 <日期> 会长 <姓名> 副会长 <姓名> 秘书长 <姓名> 理事会 <人数>", example: "选举 7月10日 会长 崔宏 副会长 王芳 秘书长 李丽 理事会 11人", summary: "会员代表大会的日期和选举结果", run: b.filer(b.fileElection)},
		{name: "职责", aliases: []string{"职责落实", "分工", "岗位分工"}, item: campaign.ItemDuties, roles: secretaryOnly,
			usage: "职责 已落实", example: "职责 已落实", summary: "新班子开会分工、明确职责", run: b.fileDone(campaign.ItemDuties, "已落实", false)},
		{name: "新任培训", aliases: []string{"新当选培训", "新当选人员培训", "新班子培训"}, item: campaign.ItemOfficerTraining, roles: secretaryOnly,
			usage: "新任培训 已参加 [日期]", example: "新任培训 已参加 7月22日", summary: "新当选人员参加了协会知识培训", run: b.fileDone(campaign.ItemOfficerTraining, "已参加", true)},
		{name: "居规民约", aliases: []string{"修订居规民约", "居规"}, item: campaign.ItemRegulations, roles: secretaryOnly,
			usage: "居规民约 已修订 [日期]", example: "居规民约 已修订", summary: "计生居规民约已修订通过", run: b.fileDone(campaign.ItemRegulations, "已修订", false)},
		{name: "自查", aliases: []string{"自查完成"}, item: campaign.ItemSelfCheck, roles: secretaryOnly,
			usage: "自查 已完成", example: "自查 已完成", summary: "换届工作自查已完成", run: b.fileDone(campaign.ItemSelfCheck, "已完成", false)},
		{name: "总结", aliases: []string{"换届总结", "工作总结"}, item: campaign.ItemSummary, roles: secretaryOnly,
			usage: "总结 <总结正文>", example: "总结 7月10日召开会员代表大会，选举产生新一届理事会11人……", summary: "换届工作总结正文", run: b.filer(b.fileSummary)},
		{name: "删除照片", aliases: []string{"删照片"}, roles: secretaryOnly,
			usage: "删除照片 <编号>", example: "删除照片 3", summary: "删除一张已发的照片（编号见「照片」）", run: b.deletePhoto},
		{name: "撤销", aliases: []string{"撤回", "取消上一条"}, roles: secretaryOnly,
			usage: "撤销", example: "撤销", summary: "撤回本社区最近一次登记", run: b.undo},

		// The street office reviews.
		{name: "初审通过", aliases: []string{"通过初审", "初审同意"}, item: campaign.ReviewCandidates, roles: officeOnly,
			usage: "初审通过 <社区>", example: "初审通过 大辛", summary: "候选人名单通过初审", run: b.approveCandidates},
		{name: "退回", aliases: []string{"驳回", "打回"}, roles: officeOnly,
			usage: "退回 <社区> <原因>", example: "退回 大辛 副会长人选需调整", summary: "退回候选人名单或选举结果，写明原因", run: b.returnFiling},
		{name: "批复", aliases: []string{"批复备案", "同意备案"}, item: campaign.ReviewElection, roles: officeOnly,
			usage: "批复 <社区>", example: "批复 大辛", summary: "批复备案选举结果", run: b.approveElection},
		{name: "同意绑定", aliases: []string{"确认绑定"}, roles: officeOnly,
			usage: "同意绑定 <编号>", example: "同意绑定 1234", summary: "确认一位同事的身份绑定", run: b.approveBinding},
		{name: "待绑定", aliases: []string{"绑定申请"}, roles: officeOnly,
			usage: "待绑定", example: "待绑定", summary: "查看等待确认的绑定申请", run: b.pendingBindings},

		{name: "暂停提醒", aliases: []string{"停止提醒"}, roles: officeOnly,
			usage: "暂停提醒", example: "暂停提醒", summary: "暂停本街道的群提醒", run: b.pause(true)},
		{name: "恢复提醒", aliases: []string{"开启提醒"}, roles: officeOnly,
			usage: "恢复提醒", example: "恢复提醒", summary: "恢复本街道的群提醒", run: b.pause(false)},
		{name: "导出", aliases: []string{"导出表格", "导出Excel", "导出excel", "下载表格"}, roles: leadersAndOffice,
			usage: "导出", example: "导出", summary: "生成 Excel 进度表（每个社区一行）", run: b.exportWorkbook},
		{name: "催一下", aliases: []string{"催报", "催一催", "提醒一下"}, roles: leadersAndOffice,
			usage: "催一下 [事项]", example: "催一下 公示", summary: "马上在群里@还没报的社区", run: b.nudgeNow},

		// Everyone reads.
		{name: "照片", aliases: []string{"照片情况", "换届照片"}, item: campaign.ItemPhotos, roles: anyKnown,
			usage: "照片 [社区]（照片在单聊里直接发送）", example: "照片", summary: "已收到几张照片；照片请在单聊里发给我", run: b.listPhotos},
		{name: "照片打包", aliases: []string{"打包照片", "下载照片"}, roles: anyKnown,
			usage: "照片打包 <社区>", example: "照片打包 大辛", summary: "把一个社区的照片打包成 zip", run: b.packPhotos},
		{name: "图表", aliases: []string{"进度图", "进度图表"}, roles: anyKnown,
			usage: "图表", example: "图表", summary: "把各社区的进度画成图发到群里", run: b.progressChart},
		{name: "提醒计划", aliases: []string{"提醒安排", "提醒"}, roles: anyKnown,
			usage: "提醒计划", example: "提醒计划", summary: "接下来的群提醒，以及发送失败的", run: b.reminderPlan},
		{name: "哪些社区还没报", aliases: []string{"哪些社区没报", "谁还没报", "还没报", "未报", "缺报"}, roles: anyKnown,
			usage: "哪些社区还没报 [事项]", example: "哪些社区还没报 公示", summary: "列出缺报或逾期的社区", run: b.missing},
		{name: "进度", aliases: []string{"进度怎么样", "换届进度", "总体进度"}, roles: anyKnown,
			usage: "进度", example: "进度", summary: "每个社区一行：到了哪一步、有没有问题", run: b.progress},
		{name: "绑定", aliases: []string{"登记身份"}, roles: anyone,
			usage: "绑定 <社区> <职务>（街道办写：绑定 街道办 <职务>）", example: "绑定 大辛 秘书长", summary: "登记您的身份，由街道办确认", run: b.requestBinding},
		{name: "帮助", aliases: []string{"help", "命令", "菜单", "怎么用"}, roles: anyone,
			usage: "帮助", example: "帮助", summary: "查看命令", run: b.help},
	}
}

// match finds the command whose word begins the line, preferring the longest word, so
// "哪些社区还没报?" and "会员320" both find theirs.
func (b *Bot) match(line string) (*command, string) {
	var best *command
	bestWord := ""
	for _, c := range b.commands {
		for _, w := range c.words() {
			if strings.HasPrefix(line, w) && len(w) > len(bestWord) {
				best, bestWord = c, w
			}
		}
	}
	return best, bestWord
}

// nearest finds the command a mistyped line most likely meant, among those role may use.
func (b *Bot) nearest(line string, role campaign.Role) *command {
	first := []rune(strings.Fields(line + " ")[0])
	var best *command
	bestScore := 0
	for _, c := range b.commands {
		if !c.allows(role) {
			continue
		}
		for _, w := range c.words() {
			// Characters in common count most; among equals, the word closest in length.
			lw := []rune(w)
			s := sharedRunes(first, lw)*10 - abs(len(lw)-len(first))
			if sharedRunes(first, lw) > 0 && (best == nil || s > bestScore) {
				best, bestScore = c, s
			}
		}
	}
	return best
}

// sharedRunes counts the characters of w that also occur in s: a rough but robust
// likeness for short Chinese words ("会源" ~ "会员", "公式" ~ "公示").
func sharedRunes(s, w []rune) int {
	n := 0
	for _, r := range w {
		if slices.Contains(s, r) {
			n++
		}
	}
	return n
}

// commandForItem finds the filing command of an item word ("公示", "会员代表", "总结").
func (b *Bot) itemOfWord(word string) (campaign.Item, bool) {
	for _, c := range b.commands {
		if c.item == "" || strings.HasPrefix(string(c.item), "review.") {
			continue
		}
		for _, w := range c.words() {
			if word == w || strings.HasPrefix(word, w) {
				return c.item, true
			}
		}
		if word == c.item.Label() {
			return c.item, true
		}
	}
	return "", false
}

func (b *Bot) help(r *request) (string, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "**%s 命令**（在群里 @我 后输入）\n", b.Config.BotName)
	section := func(title string, kinds ...[]campaign.Role) {
		var lines []string
		for _, c := range b.commands {
			if !slices.ContainsFunc(kinds, func(k []campaign.Role) bool { return slices.Equal(k, c.roles) }) || c.name == "帮助" {
				continue
			}
			lines = append(lines, fmt.Sprintf("- **%s** %s\n  例：%s", c.name, c.summary, c.example))
		}
		if len(lines) > 0 {
			fmt.Fprintf(&sb, "\n**%s**\n%s\n", title, strings.Join(lines, "\n"))
		}
	}
	switch r.who.Role {
	case campaign.RoleSecretary:
		section("社区报送", secretaryOnly)
	case campaign.RoleOffice:
		section("街道办审核", officeOnly, leadersAndOffice)
	case campaign.RoleLeader:
		section("领导", leadersAndOffice)
	}
	section("查询和登记", anyKnown, anyone)
	sb.WriteString("\n发社区名（例如「大辛」）可查看该社区的详细情况。")
	if r.who.Role == campaign.RoleSecretary {
		sb.WriteString("数字、日期可以连写，如「会员320人口6200」；重新发送即可改正。")
	}
	return sb.String(), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
