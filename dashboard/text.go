package dashboard

import "huanjie/campaign"

// uiText holds every word the dashboard shows, so the wording lives in one place.
// Templates read it as .T; the Go code formats the few sentences with numbers in them.
type uiText struct {
	Title            string // page title and heading
	Lang             string
	AsOf             string // before the "as of" time
	Legend           []legendEntry
	Community        string // header of the first column
	Candidates       string // 初审 column
	Election         string // 批复 column
	Photos           string // 照片 column
	DueShort         string // before a due date in a column header
	Total            string
	AllFiled         string
	Problems         string
	Overdue          string
	Unit             string // 个
	Streets          string // nav heading when there are several streets
	Back             string
	StepsHeading     string
	PhotosHeading    string
	DownloadZip      string
	NoPhotos         string
	PhotoRule        string // %d–%d 张
	PhotoCount       string // 已收 %d 张
	NotFoundTitle    string
	NotFound         string
	Unauthorized     string
	UnauthorizedHint string
	ServerError      string
	ReadOnly         string
	Footer           string
}

type legendEntry struct{ Icon, Text string }

// Status icons, the same as the chat uses (handlers/query.go).
const (
	iconFiled   = "✅"
	iconFlagged = "⚠️"
	iconOverdue = "⏰"
	iconOpen    = "⏳"
	iconIdle    = "▫️"
	iconNone    = "—"
)

var ui = uiText{
	Title:     "计生协换届进度",
	Lang:      "zh-CN",
	AsOf:      "数据截至",
	Community: "社区",
	Legend: []legendEntry{
		{iconFiled, "已报"}, {iconFlagged, "有问题"}, {iconOverdue, "逾期未报"},
		{iconOpen, "未到截止"}, {iconIdle, "未开始"},
	},
	Candidates:       "初审",
	Election:         "批复",
	Photos:           "照片",
	DueShort:         "截止",
	Total:            "社区总数",
	AllFiled:         "全部报齐",
	Problems:         "有问题",
	Overdue:          "有逾期",
	Unit:             "个",
	Streets:          "街道",
	Back:             "‹ 返回总览",
	StepsHeading:     "各项报送",
	PhotosHeading:    "换届照片",
	DownloadZip:      "下载全部照片（zip）",
	NoPhotos:         "还没有收到照片。",
	PhotoRule:        "要求 %d–%d 张",
	PhotoCount:       "已收 %d 张",
	NotFoundTitle:    "页面不存在",
	NotFound:         "没有找到这个页面，请从总览页重新进入。",
	Unauthorized:     "请使用街道办提供的带 token 的链接打开",
	UnauthorizedHint: "链接可能不完整或已更换，请向街道计生协办公室索取最新链接。",
	ServerError:      "暂时无法读取数据，请稍后刷新重试。",
	ReadOnly:         "本页只读，报送请在企业微信群里发给换届助手。",
	Footer:           "数据来自企业微信群里的报送，刷新页面可看最新情况。",
}

// Sentences with numbers, and the words of each state.
const (
	fmtAsOf         = "%d年%d月%d日 %s %02d:%02d（北京时间）"
	fmtDue          = "%s截止"
	fmtStarts       = "%s开始"
	fmtWindow       = "%s开始，%s截止"
	fmtOverdueDays  = "未报，已逾期 %d 天"
	fmtDaysLeft     = "未报，还有 %d 天"
	txtDueToday     = "未报，今天截止"
	fmtOverdueShort = "逾期 %d 天" // in a table cell, where the icon already says 未报
	fmtLeftShort    = "还有 %d 天"
	txtTodayShort   = "今天截止"
	fmtFiledMeta    = "%s 报送 · %s"
	fmtPhotoCell    = "%d/%s 张"
	fmtPhotoRange   = "%d–%d"
	fmtCommunity    = "%s社区"
	fmtZipName      = "%s_%s社区_换届照片.zip"
	fmtReviewReason = "%s，原因：%s"
	fmtPhotoAlt     = "第 %d 张：%s"
)

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}

// reviewWords say each review state in a table cell.
var reviewWords = map[campaign.Item]map[string]string{
	campaign.ItemCandidates: {campaign.ReviewPending: "待初审", campaign.ReviewApproved: "初审已通过", campaign.ReviewReturned: "初审被退回"},
	campaign.ItemElection:   {campaign.ReviewPending: "待批复", campaign.ReviewApproved: "已批复备案", campaign.ReviewReturned: "批复被退回"},
}
