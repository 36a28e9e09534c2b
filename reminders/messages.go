package reminders

// The built-in wording of each reminder (Go templates); a street's config may override
// any of them under reminders.texts. Fields are those of textData.
const (
	// phaseHeading begins the built-in phase reminder; several on one morning share it.
	phaseHeading   = "【换届提醒】"
	defaultPhase   = phaseHeading + "「{{.Item}}」{{.When}}。{{if .Missing}}还有 {{.MissingCount}} 个社区未报。{{end}}报送方法：{{.HowTo}}"
	defaultOpening = "【阶段开始】{{.When}}起可以报送：\n{{.List}}\n报送方法：{{.HowTo}}"
	// defaultNudge is the morning message (and 催一下): .List has one line per community.
	defaultNudge = "【催报】{{if .Overdue}}以下社区有逾期未报的事项{{else}}以下社区还有事项没报{{end}}，请尽快报送：\n{{.List}}\n报送方法：{{.HowTo}}"
	// defaultLate is the leaders' part of the morning message: .List names what reached
	// the leaders' rung of the ladder today.
	defaultLate         = "【逾期汇总】以下社区逾期已满 {{.Workdays}} 个工作日，请领导督促：\n{{.List}}"
	defaultPublicityEnd = "【公示期满】{{.Communities}}社区的会员代表名单公示已于{{.End}}期满，可以召开会员代表大会选举了。选举后请报送：{{.HowTo}}"
	defaultMilestone    = "【换届提醒】{{.Item}}：{{.When}}。{{.Text}}"
)

// Pieces of the nudge's lines.
const (
	howToHelp          = "发「@%s 帮助」查看各项的格式"
	wordReturned       = "被退回"
	wordPhotosShort    = "还需 %d 张"
	lineCompact        = "%d 项未报，最久%s"
	lineMore           = "……还有 %d 个社区，发「@%s 哪些社区还没报」查看"
	lineDue            = "（%s截止）"
	noteAway           = "%s请假至%s"
	noteInstead        = "请%s代为报送"
	noteEscalated      = "已逾期 %d 个工作日，请%s督促"
	noteNoSecretary    = "没有登记秘书长，无人可提醒"
	noteAllAway        = "秘书长都在请假，无人可提醒"
	msgNobodyToMention = "⚠️ %s没有可以@的人，请%s联系落实。"
)

// Titles of occurrences, shown in 提醒计划.
const (
	titlePhase        = "%s截止提醒"
	titlePhaseItem    = "「%s」%s"
	titleOpening      = "阶段开始通知（%s）"
	titleNudge        = "每日催报（@逾期社区）"
	titlePublicityEnd = "公示期满通知（%s）"
	titleMilestone    = "%s提醒"
)

// Reasons an occurrence was not sent. The first three say there was nothing to send;
// the others that something should have gone out and did not.
const (
	reasonAllFiled   = "已全部报齐，无需提醒"
	reasonNobodyLate = "没有逾期的社区"
	reasonElected    = "这些社区都已报选举结果"
	reasonMissed     = "机器人停机错过了发送时间，已过时效，未补发"
	reasonPaused     = "提醒已暂停"
	reasonNoGroup    = "没有可发送的群"
)

// nothingToSend reports whether a skipped occurrence had nothing to send (not a miss).
func nothingToSend(reason string) bool {
	return reason == reasonAllFiled || reason == reasonNobodyLate || reason == reasonElected
}

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}
