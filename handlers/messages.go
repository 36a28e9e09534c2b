package handlers

// Every sentence the bot says lives here, so wording can be reviewed in one place.
const (
	msgGreeting        = "您好，我是%s，负责计生协换届工作的登记和提醒。发「帮助」查看可用命令。"
	msgUnknownUser     = "您好，我还不认识您，所以不能办理这条命令，也没有保存任何内容。\n请先发送「绑定 社区名 职务」登记身份，例如「绑定 大辛 秘书长」，由%s确认后即可使用。"
	msgUnknownChat     = "这个群还没有加入换届工作配置，暂时不能使用。请管理员把本群的 chatid「%s」写进配置文件。"
	msgNoStreet        = "您好，我还不认识您。请在街道的换届工作群里 @我 发「绑定 社区名 职务」，例如「绑定 大辛 秘书长」。"
	msgNotUnderstood   = "没看懂「%s」，没有保存任何内容。"
	msgDidYouMean      = "您是不是想用「%s」？格式：%s\n例如：%s"
	msgSeeHelp         = "发「帮助」查看全部命令。"
	msgBadArgs         = "「%s」的格式不对：%s，没有保存任何内容。\n格式：%s\n例如：%s"
	msgForbidden       = "「%s」只有%s可以使用。您是%s，如有需要请联系%s。"
	msgSystemError     = "系统暂时出了点问题，刚才的内容没有保存，请稍后再发一次。如果一直不行，请联系%s。"
	msgFiled           = "**%s社区 · %s** 已登记"
	msgFiledFlagged    = "**%s社区 · %s** 已登记，但有问题："
	msgFixHint         = "改正后重新发送即可覆盖；发「撤销」可撤回这一条。"
	msgReplaced        = "（已覆盖上次的登记：%s）"
	msgLate            = "（提醒：本项截止日期是%s，已逾期 %d 天）"
	msgUndone          = "已撤销 **%s社区 · %s**：%s"
	msgUndoNowCurrent  = "现在的登记是：%s"
	msgUndoNowEmpty    = "现在该项没有登记。"
	msgNothingToUndo   = "%s社区没有可以撤销的登记。"
	msgWhichCommunity  = "请写上社区名，例如「%s」。"
	msgNoSuchCommunity = "%s没有「%s」社区。本街道的社区有：%s"
	msgRemindersOff    = "提醒功能没有启用。"
)

// Role names as people say them.
var roleNames = map[string]string{
	"secretary": "社区秘书长",
	"office":    "街道计生协办公室",
	"leader":    "领导小组成员",
	"":          "未登记人员",
}
