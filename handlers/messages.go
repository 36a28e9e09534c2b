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

// Photos, exports and charts.
const (
	msgPhotosInGroup       = "照片请在与我（%s）的单聊里发送：群里我收不到图片。发「照片」可查看已收到几张。"
	msgPhotosSecretaryOnly = "照片由社区秘书长发送。"
	msgPhotosOff           = "照片功能没有启用。"
	msgPhotoDownloadFailed = "照片下载失败（已重试），没有保存，请重新发送这张照片。"
	msgPhotoRefused        = "%s。这张没有保存。"
	msgPhotoDuplicate      = "这张照片已经收到过了（第 %d 张），没有重复保存。"
	msgPhotoFull           = "已经有 %d 张照片，达到上限，这张没有保存。如需替换，请先发「删除照片 编号」。"
	msgPhotoReceived       = "已收到第 %d 张（还需 %d 张）"
	msgPhotoReceivedEnough = "已收到第 %d 张（已够数，最多还可以发 %d 张）"
	msgPhotoReceivedFull   = "已收到第 %d 张（已满 %d 张）"
	msgPhotoCount          = "**%s社区照片**：已收到 %d 张（需要 %d-%d 张 JPG）"
	msgPhotosHowTo         = "在与我（%s）的单聊里直接发送照片即可；发「删除照片 编号」可删除一张。"
	msgNoSuchPhoto         = "没有第 %d 张照片，发「照片」查看编号。"
	msgPhotoDeleted        = "已删除第 %d 张（%s），现在还有 %d 张。"
	msgNoPhotosYet         = "%s社区还没有照片。"
	msgFileLink            = "下载「%s」：%s（1 小时内有效）"
	msgFileSent            = "「%s」已发到群里。"
	msgFileSendFailed      = "文件发到群里时失败了，已记录，请稍后再试。"
	msgFileTooLarge        = "文件超过企业微信 20 MB 的限制，请在看板下载。"
	msgPhotosHowToFile     = "在与%s的单聊里直接发送 JPG 照片"
	msgWorkbookName        = "%s换届进度_%s.xlsx"
	msgExported            = "已生成%s换届进度表（%s）：汇总表 + 每个社区一行，有问题的格子标黄，逾期未报的标红。"
	msgChartName           = "%s换届进度_%s.png"
	msgChartMade           = "已生成%s换届进度图（%s）。"
	msgChartSent           = "进度图已发到群里。"
	msgFileNowhere         = "文件已生成，但本群没有配置推送 webhook，也没有下载地址，请联系管理员。"
)
