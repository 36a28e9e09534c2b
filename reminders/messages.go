package reminders

// The built-in wording of each reminder (Go templates); a street's config may override
// any of them under reminders.texts. Fields are those of textData.
const (
	defaultPhase        = "【换届提醒】「{{.Item}}」{{.When}}。{{if .Missing}}还有 {{.MissingCount}} 个社区未报。{{end}}报送方法：{{.HowTo}}"
	defaultNudge        = "【催报】「{{.Item}}」{{.When}}，以下社区还没报：{{.Communities}}。请尽快报送：{{.HowTo}}"
	defaultLate         = "【逾期汇总】「{{.Item}}」已于{{.Due}}截止，仍有 {{.MissingCount}} 个社区未报：{{.Communities}}。"
	defaultPublicityEnd = "【公示期满】{{.Communities}}社区的会员代表名单公示已于{{.End}}期满，可以召开会员代表大会选举了。选举后请报送：{{.HowTo}}"
	defaultMilestone    = "【换届提醒】{{.Item}}：{{.When}}。{{.Text}}"
)

// Titles of occurrences, shown in 提醒计划.
const (
	titlePhase        = "「%s」%s截止提醒"
	titleNudge        = "「%s」催报（@未报社区）"
	titleLate         = "「%s」逾期汇总（@领导）"
	titlePublicityEnd = "公示期满通知（%s）"
	titleMilestone    = "%s提醒"
)

// Reasons an occurrence was not sent.
const (
	reasonAllFiled   = "已全部报齐，无需提醒"
	reasonNobodyLate = "没有逾期的社区"
	reasonMissed     = "机器人停机错过了发送时间，已过时效，未补发"
	reasonPaused     = "提醒已暂停"
	reasonElected    = "这些社区都已报选举结果"
	reasonNoGroup    = "没有可发送的群"
)

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}
