package dashboard

import "huanjie/campaign"

// uiText holds every word the dashboard shows, so the wording lives in one place.
// Templates read it as .T; the Go code formats the few sentences with numbers in them.
type uiText struct {
	Title            string // page title and heading
	Lang             string
	AsOf             string // before the "as of" time
	Community        string // header of the first column
	DueShort         string // before a due date in a column header
	Total            string
	AllFiled         string
	Problems         string
	Overdue          string
	FilterHint       string // above the totals: they filter when tapped
	NoneLate         string // a filter that matches nothing
	NoneProblems     string
	NoneComplete     string
	OwesHeading      string
	ProblemsHeading  string
	ReviewsHeading   string
	NothingOwed      string
	More             string // a card's link to the community's page
	TapForOriginal   string
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

var ui = uiText{
	Title:            "计生协换届进度",
	Lang:             "zh-CN",
	AsOf:             "数据截至",
	Community:        "社区",
	DueShort:         "截止",
	Total:            "社区总数",
	AllFiled:         "全部报齐",
	Problems:         "有问题",
	Overdue:          "有逾期",
	FilterHint:       "点数字只看这类社区，按最需关注的排在前面",
	NoneLate:         "没有逾期的社区。",
	NoneProblems:     "没有报送有问题的社区。",
	NoneComplete:     "还没有全部报齐的社区。",
	OwesHeading:      "还欠",
	ProblemsHeading:  "问题",
	ReviewsHeading:   "街道审核",
	NothingOwed:      "目前没有欠报的项目。",
	More:             "查看各项详情和照片 ›",
	TapForOriginal:   "点照片看原图（原图较大，建议在 Wi-Fi 下查看）。",
	Streets:          "街道",
	Back:             "‹ 返回总览",
	StepsHeading:     "各项报送",
	PhotosHeading:    campaign.ItemPhotos.Label(),
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
	fmtAsOf          = "%d年%d月%d日 %s %02d:%02d（北京时间）"
	fmtDue           = "%s截止"
	fmtStarts        = "%s开始"
	fmtWindow        = "%s开始，%s截止"
	fmtOverdueShort  = "逾期 %d\u00a0天" // in a table cell, where the icon already says 未报
	fmtLeftShort     = "还有 %d\u00a0天"
	txtTodayShort    = "今天截止"
	fmtFiledMeta     = "%s 报送 · %s"
	fmtPhotoCell     = "已收 %d\u00a0张"
	fmtCommunity     = "%s社区"
	fmtZipName       = "%s_%s社区_换届照片.zip"
	fmtReviewReason  = "%s，原因：%s"
	fmtPhotoAlt      = "第 %d 张：%s（点开看原图）"
	fmtProgress      = "已完成 %d/%d 项"
	fmtLateItems     = "逾期 %d 项"
	fmtProblemItems  = "%d 项有问题"
	fmtReturnedItems = "%d 项被退回"
	fmtNext          = "下一项：%s，%s"
	fmtContacts      = "联系人：%s"
	fmtNameTitle     = "%s（%s）"
	txtNoContact     = "联系人：还没有人绑定为本社区的报送人"
)

var weekdays = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}
