package handlers

import (
	"slices"
	"strings"

	"huanjie/bot"
	"huanjie/campaign"
	"huanjie/handlers/reader"
)

// command is one thing people can type: its words, who may use it, how to use it, and
// what it does. 帮助 is generated from these, so usage and parsing cannot drift.
type command struct {
	name    string
	aliases []string
	item    *campaign.Def // the item a filing or review command is about
	roles   []campaign.Role
	usage   string
	example string
	// ahead: a day in a non-filing example (提醒计划 7月5日, 请假 … 到7月20日) becomes the
	// asker's today plus ahead days.
	ahead   int
	summary string
	run     func(r *request) (string, error)
	// asks: the command only reads — running it twice is harmless (see Bot.Question).
	asks bool
	// files: the command files an item, once per message however often it runs (see
	// Bot.Repeatable).
	files bool
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

// exampleIn is c's example for r: a filing's sample day moved into the street's plan,
// another command's to the asker's today (plus c.ahead days).
func (c *command) exampleIn(r *request) string {
	switch {
	case c.item != nil && r.street != nil:
		return r.street.Example(c.item)
	case r.today.IsZero():
		return c.example
	}
	return campaign.OnDay(c.example, r.today.AddDays(c.ahead))
}

// registry builds the command table: one filing command per item of the item table
// (photos are sent, not typed), one approval per reviewed item, then the rest.
func (b *Bot) registry() []*command {
	var cmds []*command
	for _, d := range campaign.Items() {
		if d.Kind == campaign.KindPhotos {
			continue
		}
		cmds = append(cmds, &command{name: d.Words[0], aliases: d.Words[1:], item: d, roles: secretaryOnly,
			usage: d.Usage, example: d.Example, summary: d.Help, run: b.filer(d), files: true})
	}
	cmds = append(cmds,
		&command{name: "删除照片", aliases: []string{"删照片"}, roles: secretaryOnly,
			usage: "删除照片 <编号>", example: "删除照片 3", summary: "删除一张已发的照片（编号见「照片」）", run: b.deletePhoto},
		&command{name: "撤销", aliases: []string{"撤回", "取消上一条"}, roles: secretaryOnly,
			usage: "撤销", example: "撤销", summary: "撤回本社区最近一次登记", run: b.undo},
		&command{name: "确认", aliases: []string{"确认撤销", "确定"}, roles: secretaryOnly,
			usage: "确认", example: "确认", summary: "确认我刚才请您核对的登记或撤销", run: b.confirm},
	)
	for _, d := range campaign.Items() {
		if rs := d.Review; rs != nil {
			cmds = append(cmds, &command{name: rs.Approve[0], aliases: rs.Approve[1:], item: d, roles: officeOnly,
				usage: rs.Approve[0] + " <社区>", example: rs.Approve[0] + " 大辛", summary: d.Label + rs.Verb, run: b.approve(d)})
		}
	}
	cmds = append(cmds,
		&command{name: "退回", aliases: []string{"驳回", "打回"}, roles: officeOnly,
			usage: "退回 <社区> [" + strings.Join(reviewedWords(), "|") + "] <原因>", example: "退回 大辛 副会长人选需调整",
			summary: "退回" + strings.Join(reviewedLabels(), "或") + "，写明原因", run: b.returnFiling},
		&command{name: "同意绑定", aliases: []string{"确认绑定"}, roles: officeOnly,
			usage: "同意绑定 <编号>", example: "同意绑定 1234", summary: "确认一位同事的身份绑定", run: b.approveBinding},
		&command{name: "待绑定", aliases: []string{"绑定申请"}, roles: officeOnly,
			usage: "待绑定", example: "待绑定", summary: "查看等待确认的绑定申请", run: b.pendingBindings, asks: true},
		&command{name: "暂停提醒", aliases: []string{"停止提醒"}, roles: officeOnly,
			usage: "暂停提醒", example: "暂停提醒", summary: "暂停本街道的群提醒", run: b.pause(true)},
		&command{name: "恢复提醒", aliases: []string{"开启提醒"}, roles: officeOnly,
			usage: "恢复提醒", example: "恢复提醒", summary: "恢复本街道的群提醒", run: b.pause(false)},
		&command{name: "导出", aliases: []string{"导出表格", "导出Excel", "导出excel", "下载表格"}, roles: leadersAndOffice,
			usage: "导出", example: "导出", summary: "生成 Excel 进度表（每个社区一行）", run: b.exportWorkbook},
		&command{name: "催一下", aliases: []string{"催报", "催一催", "提醒一下"}, roles: leadersAndOffice,
			usage: "催一下 [事项]", example: "催一下 公示", summary: "马上在群里@还没报的社区", run: b.nudgeNow},

		&command{name: "照片", aliases: []string{"照片情况", "换届照片"}, roles: anyKnown,
			usage: "照片 [社区]（照片在单聊里直接发送）", example: "照片", summary: "已收到几张照片；照片请在单聊里发给我", run: b.listPhotos, asks: true},
		&command{name: "照片打包", aliases: []string{"打包照片", "下载照片"}, roles: anyKnown,
			usage: "照片打包 <社区>", example: "照片打包 大辛", summary: "把一个社区的照片打包成 zip", run: b.packPhotos},
		&command{name: "图表", aliases: []string{"进度图", "进度图表"}, roles: anyKnown,
			usage: "图表", example: "图表", summary: "把各社区的进度画成图发到群里", run: b.progressChart},
		&command{name: "提醒计划", aliases: []string{"提醒安排", "提醒"}, roles: anyKnown,
			usage: "提醒计划 [日期]", example: "提醒计划 7月5日", summary: "接下来的群提醒，以及某天以来发了、没发出、失败的", run: b.reminderPlan, asks: true},
		&command{name: "哪些社区还没报", aliases: []string{"哪些社区没报", "谁还没报", "还没报", "未报", "缺报"}, roles: anyKnown,
			usage: "哪些社区还没报 [事项]", example: "哪些社区还没报 公示", summary: "列出缺报或逾期的社区", run: b.missing, asks: true},
		&command{name: "进度", aliases: []string{"进度怎么样", "换届进度", "总体进度"}, roles: anyKnown,
			usage: "进度", example: "进度", summary: "每个社区一行：到了哪一步、有没有问题", run: b.progress, asks: true},
		&command{name: "绑定", aliases: []string{"登记身份"}, roles: anyone,
			usage: "绑定 <社区> <职务>（街道办写：绑定 街道办 <职务>）", example: "绑定 大辛 秘书长", summary: "登记您的身份，由街道办确认", run: b.requestBinding},
		&command{name: "帮助", aliases: []string{"help", "命令", "菜单", "怎么用"}, roles: anyone,
			usage: "帮助", example: "帮助", summary: "查看命令", run: b.help, asks: true},
	)
	return cmds
}

// reviewedWords are the first words of the items the office reviews (候选人|选举).
func reviewedWords() []string {
	var out []string
	for _, d := range campaign.Items() {
		if d.Review != nil {
			out = append(out, d.Words[0])
		}
	}
	return out
}

func reviewedLabels() []string {
	var out []string
	for _, d := range campaign.Items() {
		if d.Review != nil {
			out = append(out, d.Label)
		}
	}
	return out
}

// indexWords builds the vocabularies the reader looks command words up in: one per role
// (what that person may ask for) and one of every word (to tell someone a command is not
// theirs). Each word names one command (a test checks it).
func (b *Bot) indexWords() {
	b.byName = map[string]*command{}
	vocab := map[campaign.Role]reader.Vocabulary{}
	all := reader.Vocabulary{}
	for _, c := range b.commands {
		b.byName[c.name] = c
		for _, w := range c.words() {
			all[w] = c.name
			for _, role := range c.roles {
				if vocab[role] == nil {
					vocab[role] = reader.Vocabulary{}
				}
				vocab[role][w] = c.name
			}
		}
	}
	b.allWords = reader.Compile(all)
	b.vocab = map[campaign.Role]*reader.Matcher{}
	for role, v := range vocab {
		b.vocab[role] = reader.Compile(v)
	}
	if b.vocab[""] == nil {
		b.vocab[""] = reader.Compile(reader.Vocabulary{})
	}
}

// find finds the command word anywhere in line — after a greeting, the community's name
// or 请登记 — among the commands role may use, else among all (so the reply can say whose
// command it is). The word that starts first wins, the longest there.
//
// A word of the role's that is part of a longer word of another command (绑定 in
// 同意绑定) is that other command, so the reply can say it is not the sender's.
func (b *Bot) find(line string, role campaign.Role) (*command, reader.Command) {
	any, anyOK := b.allWords.Find(line)
	own, ok := reader.Command{}, false
	if m := b.vocab[role]; m != nil {
		own, ok = m.Find(line)
	}
	if ok {
		// Another command's word around the sender's (同意绑定 around 绑定), or opening the
		// message as a command line does (免报 凤凰园 代表 … from a secretary), is that
		// command: the reply says whose it is rather than filing 代表.
		if anyOK && any.Key != own.Key && ((any.Pos <= own.Pos && any.End >= own.End) || (any.Pos == 0 && own.Pos > 0)) {
			return b.byName[any.Key], any
		}
		return b.byName[own.Key], own
	}
	if anyOK {
		return b.byName[any.Key], any
	}
	return nil, reader.Command{}
}

// CommandOf names the command a message asks for, as the handlers read it ("" when none):
// a bounded label for metrics that never carries what was typed.
func (b *Bot) CommandOf(m bot.Message) string {
	if c, _ := b.find(reader.Normalize(stripMentions(m.PlainText())), ""); c != nil {
		return c.name
	}
	return ""
}

// Question reports that m only asks — 进度, 哪些社区还没报, a community's card, 帮助, a
// line the bot does not understand — so that handling it twice changes nothing
// (bot.Questioner). It is a question when it is typed text and, whoever sends it, the
// command read from it is one that only reads, or none.
func (b *Bot) Question(m bot.Message) bool {
	if m.MsgType != "text" && m.MsgType != "voice" {
		return false
	}
	line := reader.Normalize(stripMentions(m.PlainText()))
	for role := range b.vocab {
		if c, _ := b.find(line, role); c != nil && !c.asks {
			return false
		}
	}
	return true
}

// Repeatable reports that handling m again — while the first handling runs, on another
// replica, or after it, whatever was filed, undone or confirmed in between — changes
// nothing the first did not (bot.Repeater): a question, or a filing, whose write, held
// confirmation and office notice are made once per message (the filing's version is its
// msgid). The URL callback then answers m first and records the answer after, as it
// does a question, instead of claiming m before it runs.
func (b *Bot) Repeatable(m bot.Message) bool {
	if m.MsgType != "text" && m.MsgType != "voice" {
		return false
	}
	line := reader.Normalize(stripMentions(m.PlainText()))
	for role := range b.vocab {
		if c, _ := b.find(line, role); c != nil && !c.asks && !c.files {
			return false
		}
	}
	return true
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

// sharedRunes counts the distinct characters of w that also occur in s: a rough but
// robust likeness for short Chinese words ("会源" ~ "会员", "公式" ~ "公示").
func sharedRunes(s, w []rune) int {
	n := 0
	for i, r := range w {
		if slices.Contains(s, r) && !slices.Contains(w[:i], r) {
			n++
		}
	}
	return n
}

// plannedItem finds the item a word names among the street's steps.
func plannedItem(r *request, word string) (*campaign.Def, bool) {
	d, _, ok := campaign.ItemByWord(word)
	if !ok {
		return nil, false
	}
	if _, planned := r.street.Step(d.ID); !planned {
		return nil, false
	}
	return d, true
}

// itemWords lists the words 哪些社区还没报 and 催一下 accept for a street.
func itemWords(r *request) string {
	var words []string
	for _, st := range r.street.Steps {
		if d, ok := campaign.Lookup(st.Item); ok {
			words = append(words, d.Words[0])
		}
	}
	return strings.Join(words, "、")
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
